"""PostgreSQL, MariaDB and Redis servers of the demo's own, from the machine's binaries, in a directory of the demo.

The machine's services trust every local login (PostgreSQL) or have TLS off (MariaDB), so the demo runs its own:
SCRAM or native password authentication, TLS from a CA made here, free ports on 127.0.0.1. `stop()` ends them.
"""

import datetime
import glob
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import ipaddress
import pymongo


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, what, log):
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{what} did not start; see {log}")


def write_certificates(directory, ip="127.0.0.1"):
    """ca.pem, server.pem and server.key for localhost and 127.0.0.1 (and `ip`)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rotor demo CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    addresses = {"127.0.0.1", ip}
    san = x509.SubjectAlternativeName([x509.DNSName("localhost")] + [x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(addresses)])
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=2)).add_extension(san, critical=False)
            .sign(ca_key, hashes.SHA256()))
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    os.chmod(directory / "server.key", 0o600)


def stop_process(process):
    """Ends a server: asked to stop, killed if it has not within 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def as_user(user, command):
    return ["runuser", "-u", user, "--", *command] if os.geteuid() == 0 else command


class Postgres:
    """A PostgreSQL server of the demo's own. With md5=True, users log in with md5 and passwords are stored as md5
    hashes: the stand-in for Amazon Redshift, whose documented password form is 'md5' || md5(password || user)."""

    def __init__(self, directory, md5=False):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True)
        write_certificates(self.dir)
        bin_dir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.psql = f"{bin_dir}/psql"
        self.pg_ctl = f"{bin_dir}/pg_ctl"
        self.port = free_port()
        shutil.chown(self.dir, "postgres", "postgres") if os.geteuid() == 0 else None
        for name in ("ca.pem", "server.pem", "server.key"):
            shutil.chown(self.dir / name, "postgres", "postgres") if os.geteuid() == 0 else None
        subprocess.run(as_user("postgres", [f"{bin_dir}/initdb", "-D", str(self.dir / "data"), "-U", "postgres",
                                            "--auth-local=trust", "--auth-host=" + ("md5" if md5 else "scram-sha-256"), "--no-sync"]),
                       check=True, capture_output=True)
        with open(self.dir / "data/postgresql.conf", "a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                       f"ssl = on\nssl_cert_file = '{self.dir}/server.pem'\nssl_key_file = '{self.dir}/server.key'\nfsync = off\n"
                       + ("password_encryption = md5\n" if md5 else ""))
        subprocess.run(as_user("postgres", [self.pg_ctl, "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-w", "start"]),
                       check=True, capture_output=True)

    def sql(self, statement, database="postgres"):
        subprocess.run(as_user("postgres", [self.psql, "-h", str(self.dir), "-p", str(self.port), "-U", "postgres", "-d", database,
                                            "-v", "ON_ERROR_STOP=1", "-q", "-c", statement]), check=True, capture_output=True)

    def logs_in(self, user, password, database="postgres"):
        dsn = (f"host=127.0.0.1 port={self.port} user={user} dbname={database} sslmode=verify-full "
               f"sslrootcert={self.dir / 'ca.pem'}")
        result = subprocess.run([self.psql, dsn, "-tAc", "SELECT 1"], env=dict(os.environ, PGPASSWORD=password), capture_output=True)
        return result.returncode == 0

    def stop(self):
        subprocess.run(as_user("postgres", [self.pg_ctl, "-D", str(self.dir / "data"), "-m", "fast", "stop"]), capture_output=True)


class MariaDB:
    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True)
        write_certificates(self.dir)
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "mysql:mysql", str(self.dir)], check=True)
        self.port = free_port()
        self.socket = self.dir / "mysqld.sock"
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={self.dir / 'data'}", "--user=mysql",
                        "--auth-root-authentication-method=normal", "--skip-test-db"], check=True, capture_output=True)
        self.process = subprocess.Popen(
            ["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={self.dir / 'data'}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.socket}", f"--pid-file={self.dir / 'mysqld.pid'}",
             f"--log-error={self.dir / 'error.log'}", f"--ssl-ca={self.dir / 'ca.pem'}",
             f"--ssl-cert={self.dir / 'server.pem'}", f"--ssl-key={self.dir / 'server.key'}", "--user=mysql", "--skip-name-resolve"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.port, "mariadbd", self.dir / "error.log")

    def sql(self, statement):
        subprocess.run(["mariadb", f"--socket={self.socket}", "-u", "root", "-e", statement], check=True, capture_output=True)

    def logs_in(self, user, password):
        result = subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(self.port), "-u", user, f"--ssl-ca={self.dir / 'ca.pem'}",
                                 "--ssl-verify-server-cert", "-e", "SELECT 1"], env=dict(os.environ, MYSQL_PWD=password),
                                capture_output=True)
        return result.returncode == 0

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


class Redis:
    """redis-server with TLS for clients, ACL users from a file (`default` off), nothing on disk. Its plaintext port, on
    127.0.0.1 and behind the same ACL, is the local endpoint's: where ElastiCache's ModifyUser applies passwords."""

    def __init__(self, directory, admin_password):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True)
        write_certificates(self.dir)
        self.port, self.plain_port = free_port(), free_port()
        digest = hashlib.sha256(admin_password.encode()).hexdigest()
        (self.dir / "users.acl").write_text(f"user default off\nuser rotor_admin on #{digest} ~* &* +@all\n")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.plain_port), "--tls-port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--aclfile", str(self.dir / "users.acl"),
             "--logfile", str(self.dir / "redis.log"), "--tls-auth-clients", "no",
             "--tls-cert-file", str(self.dir / "server.pem"), "--tls-key-file", str(self.dir / "server.key"),
             "--tls-ca-cert-file", str(self.dir / "ca.pem")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.port, "redis-server", self.dir / "redis.log")

    def cli(self, user, password, *command):
        return subprocess.run(["redis-cli", "--tls", "--cacert", str(self.dir / "ca.pem"), "-h", "127.0.0.1", "-p", str(self.port),
                               "--user", user, "--no-auth-warning", *command], env=dict(os.environ, REDISCLI_AUTH=password),
                              capture_output=True, text=True)

    def logs_in(self, user, password):
        result = self.cli(user, password, "PING")
        return result.returncode == 0 and result.stdout.strip() == "PONG"

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


class MongoDB:
    """A MongoDB-wire server of the demo's own, standing in for Amazon DocumentDB: SecantusDB from PyPI (the repo's
    venv), SCRAM over TLS. It has no localhost exception, so the admin is created in a first run without
    authentication, and the server is then started again with --auth and TLS."""

    def __init__(self, directory, admin, admin_password):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True)
        write_certificates(self.dir)
        (self.dir / "secantusd.toml").write_text("")  # no configuration of the machine's is read
        self.port = free_port()
        server = Path(sys.executable).parent / "secantusd-py"
        base = [str(server), "--config", str(self.dir / "secantusd.toml"), "--host", "127.0.0.1", "--port", str(self.port),
                "--storage-path", str(self.dir / "data"), "--standalone"]
        with open(self.dir / "boot.log", "w") as log:
            boot = subprocess.Popen(base, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.port, "SecantusDB (first run)", self.dir / "boot.log")
        with pymongo.MongoClient("127.0.0.1", self.port, directConnection=True) as client:
            client.admin.command("createUser", admin, pwd=admin_password, roles=[{"role": "userAdminAnyDatabase", "db": "admin"}])
        boot.terminate()
        boot.wait(timeout=30)
        with open(self.dir / "server.log", "w") as log:
            self.process = subprocess.Popen(base + ["--auth", "--tls-cert-file", str(self.dir / "server.pem"),
                                                    "--tls-key-file", str(self.dir / "server.key")],
                                            stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.port, "SecantusDB", self.dir / "server.log")

    def client(self, user, password):
        return pymongo.MongoClient("localhost", self.port, tls=True, tlsCAFile=str(self.dir / "ca.pem"), username=user,
                                   password=password, authSource="admin", directConnection=True, serverSelectionTimeoutMS=5000)

    def logs_in(self, user, password):
        try:
            with self.client(user, password) as client:
                client.admin.command("connectionStatus")
            return True
        except pymongo.errors.OperationFailure:
            return False

    def stop(self):
        stop_process(self.process)


class Samba:
    """A Samba Active Directory domain controller of the demo's own (Debian's samba-ad-dc, which make installs):
    provisioned into its directory, serving its KDC on a free port and LDAPS on 636 of a loopback address of its own
    (Samba 4.17 always serves LDAP on 389 and 636; adding the address to `lo` needs root), the password policy relaxed
    so the demo may rotate at once. `available()` says why it cannot run here, if it cannot."""

    REALM = "ROTOR.DEMO"

    @staticmethod
    def available():
        if os.geteuid() != 0:
            return "provisioning a domain and adding a loopback address need root"
        if not (shutil.which("samba") and shutil.which("samba-tool")):
            return "samba-ad-dc is not installed"
        return None

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True)
        digest = hashlib.sha256(str(self.dir.resolve()).encode()).digest()
        self.ip = f"127.0.{200 + digest[0] % 50}.{2 + digest[1] % 250}"
        shown = subprocess.run(["ip", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True).stdout
        if f"inet {self.ip}/" not in shown:
            subprocess.run(["ip", "addr", "add", f"{self.ip}/32", "dev", "lo"], check=True)
        self.admin_password = "Adm1n-" + os.urandom(12).hex()
        subprocess.run(["samba-tool", "domain", "provision", "-s", "/dev/null", "--realm", self.REALM, "--domain", "DEMO",
                        "--server-role=dc", "--dns-backend=NONE", "--use-rfc2307", "--host-name=dc1",
                        f"--adminpass={self.admin_password}", f"--targetdir={self.dir}",
                        f"--option=interfaces={self.ip}", "--option=bind interfaces only=yes"],
                       check=True, capture_output=True)
        tls = self.dir / "tls"
        tls.mkdir()
        write_certificates(tls, self.ip)
        self.kdc_port, kpasswd_port = free_port(), free_port()
        conf = self.dir / "etc" / "smb.conf"
        lines = conf.read_text().splitlines()
        lines = [("\tserver services = kdc, ldap" if l.strip().startswith("server services") else l) for l in lines]
        extra = [f"\tkrb5 port = {self.kdc_port}", f"\tkpasswd port = {kpasswd_port}", f"\tpid directory = {self.dir}/run",
                 f"\tncalrpc dir = {self.dir}/run/ncalrpc", f"\twinbindd socket directory = {self.dir}/run/winbindd",
                 f"\tlog file = {self.dir}/log/samba.log", "\ttls enabled = yes", f"\ttls keyfile = {tls}/server.key",
                 f"\ttls certfile = {tls}/server.pem", f"\ttls cafile = {tls}/ca.pem"]
        at = lines.index("[global]") + 1
        conf.write_text("\n".join(lines[:at] + extra + lines[at:]) + "\n")
        for sub in ("run", "log", "cache"):
            (self.dir / sub).mkdir(exist_ok=True)
        self.tool("domain", "passwordsettings", "set", "--complexity=off", "--min-pwd-age=0", "--max-pwd-age=0",
                  "--history-length=0", "--min-pwd-length=1")
        # AWS Managed Microsoft AD's own OU, named after the NetBIOS name: the users Directory Service resets.
        self.tool("ou", "create", "OU=DEMO,DC=rotor,DC=demo")
        (self.dir / "admin-password").write_text(self.admin_password)
        os.chmod(self.dir / "admin-password", 0o600)
        with open(self.dir / "log" / "stdout.log", "w") as log:
            self.process = subprocess.Popen(["samba", "-s", str(conf), "-i", "-M", "single", "--no-process-group"],
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex((self.ip, 636)) == 0:
                    return
            time.sleep(0.1)
        raise SystemExit(f"Samba did not start; see {self.dir}/log")

    def tool(self, *args):
        subprocess.run(["samba-tool", *args, "-s", str(self.dir / "etc" / "smb.conf")], check=True, capture_output=True)

    def create_user(self, name, password, ou="DEMO"):
        self.tool("user", "create", name, password, f"--userou=OU={ou}")

    def logs_in(self, name, password):
        """An LDAPS bind as name@rotor.demo, verified by the demo's CA."""
        import ldap3
        tls = ldap3.Tls(ca_certs_file=str(self.dir / "tls" / "ca.pem"), validate=__import__("ssl").CERT_REQUIRED)
        server = ldap3.Server(self.ip, port=636, use_ssl=True, tls=tls, connect_timeout=5)
        try:
            with ldap3.Connection(server, user=f"{name}@rotor.demo", password=password, auto_bind=True):
                return True
        except ldap3.core.exceptions.LDAPException:
            return False

    def stop(self):
        stop_process(self.process)
