#!/usr/bin/env python3
"""`make demo`: rotor end to end on this machine, on embedded defaults.

Starts cargo-lambda's Lambda emulator, rotor's local Secrets Manager endpoint on a manual clock, and PostgreSQL,
MariaDB and Redis servers of the demo's own (TLS from a CA made here; the machine's services trust local logins or
have TLS off), a second PostgreSQL with md5 logins standing in for Amazon Redshift, and a MongoDB-wire server
(SecantusDB) standing in for Amazon DocumentDB, with the endpoint serving ElastiCache's user and AUTH-token calls over
the demo's Redis. Runs ten rotation functions against them and creates ten secrets, each with a daily schedule: a
PostgreSQL single user, PostgreSQL alternating users, a Redshift user (on the stand-in), DocumentDB-style alternating
users (AWS's MongoDB secret, on the stand-in), a MariaDB single user, a Redis ACL user whose password the admin sets, an ElastiCache
user whose password ModifyUser sets and an ElastiCache replication group's AUTH token that ModifyReplicationGroup
ROTATEs (all three keep the previous one until the next rotation), a generated API key, an IAM user's
access key (moto serving IAM and STS with request signing checked), and, where Samba's AD DC runs (as root), an
AWS Directory Service user (the endpoint's ResetUserPassword over a Samba domain, proved by its KDC, with its keytab)
and a self-managed Active Directory account changing its own password over LDAPS; and a PostgreSQL
credential in a Parameter Store SecureString, rotated by rotate-postgres on a daily schedule. Then it
moves the clock forward day by day; after each scheduled rotation it shows every secret's versions and labels
and proves the current credentials log in. Values are never printed. Stops everything it started.
"""

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).parent))
from databases import MariaDB, MongoDB, Postgres, Redis, Samba, free_port, wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "debug"
STATE = ROOT / ".rotor" / "demo"
CLOCK_START = "2026-01-01T00:00:00Z"
DAYS = 3


def step(text):
    bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    print(f"\n{bold}==> {text}{plain}", flush=True)


def password():
    return secrets.token_urlsafe(24)


def main():
    started = time.time()
    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    invoke_port, endpoint_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{endpoint_port}"
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="AKIDROTORDEMO", AWS_SECRET_ACCESS_KEY="rotor-demo-not-a-secret")
    processes, servers = [], []

    def start(args, log, extra_env=None):
        with open(STATE / log, "w") as out:
            processes.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=dict(env, **(extra_env or {})), cwd=ROOT))

    try:
        step("starting PostgreSQL, MariaDB and Redis (the demo's own, TLS on, password authentication)")
        pg = Postgres(STATE / "postgres")
        servers.append(pg)
        # Amazon Redshift's stand-in: PostgreSQL with md5 logins, Redshift's documented password form.
        rs = Postgres(STATE / "redshift", md5=True)
        servers.append(rs)
        maria = MariaDB(STATE / "mariadb")
        servers.append(maria)
        redis_admin_password = password()
        redis = Redis(STATE / "redis", redis_admin_password)
        servers.append(redis)
        # Amazon DocumentDB's stand-in: SecantusDB, a MongoDB-wire server (SCRAM over TLS).
        docdb_admin_password = password()
        docdb = MongoDB(STATE / "documentdb", "rotor_admin", docdb_admin_password)
        servers.append(docdb)
        print(f"DocumentDB's stand-in (SecantusDB, SCRAM over TLS) on 127.0.0.1:{docdb.port}")
        # An Active Directory domain (Samba's AD DC), which the endpoint serves as Directory Service directory d-0123456789.
        samba_missing = Samba.available()
        samba = None
        if samba_missing:
            print(f"no Active Directory domain: {samba_missing}; the directory secrets are left out")
        else:
            samba = Samba(STATE / "samba")
            servers.append(samba)
            print(f"Active Directory domain ROTOR.DEMO (Samba AD DC): LDAPS on {samba.ip}:636, its KDC on port {samba.kdc_port}")
        print(f"PostgreSQL on 127.0.0.1:{pg.port}, Redshift's stand-in (PostgreSQL, md5 logins) on 127.0.0.1:{rs.port}, "
              f"MariaDB on 127.0.0.1:{maria.port}, Redis (TLS) on 127.0.0.1:{redis.port}")

        step(f"starting cargo-lambda's Lambda emulator (127.0.0.1:{invoke_port}) and rotor's endpoint ({endpoint}, clock at {CLOCK_START})")
        start([str(ROOT / ".venv/bin/cargo-lambda"), "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(invoke_port)],
              "cargo-lambda.log")
        wait_for(invoke_port, "cargo lambda watch", STATE / "cargo-lambda.log")
        start([str(BIN / "rotatectl"), "serve", "--port", str(endpoint_port), "--state-dir", str(STATE / "state"),
               "--invoke-endpoint", f"http://127.0.0.1:{invoke_port}", "--manual-clock", CLOCK_START,
               # ElastiCache's user and AUTH-token calls, over the demo's Redis as the cache (its password from the environment:
               # a command line is readable by every local user).
               "--elasticache-redis", f"redis://rotor_admin@127.0.0.1:{redis.plain_port}",
               "--elasticache-endpoint", f"127.0.0.1:{redis.port}", "--elasticache-modify-ms", "500",
               # Directory Service over the domain: ResetUserPassword over LDAPS as its administrator.
               *([] if samba is None else [
                   "--directory-ldap", f"ldaps://Administrator%40rotor.demo@{samba.ip}:636",
                   "--directory-ldap-password-file", str(samba.dir / "admin-password"),
                   "--directory-ca", str(samba.dir / "tls" / "ca.pem"), "--directory-name", "rotor.demo",
                   "--directory-short-name", "DEMO"])], "endpoint.log",
              {"ROTOR_ELASTICACHE_REDIS_PASSWORD": redis_admin_password})
        wait_for(endpoint_port, "rotatectl serve", STATE / "endpoint.log")

        # IAM and STS: moto's server, checking signatures and policies after its first three (setup) calls.
        moto_port = free_port()
        moto = f"http://127.0.0.1:{moto_port}"
        start([str(ROOT / ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)], "moto.log",
              {"INITIAL_NO_AUTH_ACTION_COUNT": "3"})
        wait_for(moto_port, "moto_server", STATE / "moto.log")
        iam_as = lambda key: boto3.client("iam", endpoint_url=moto, region_name="us-east-1",
                                          aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        setup = iam_as({"AccessKeyId": "AKIDROTORDEMO", "SecretAccessKey": "rotor-demo-not-a-secret"})
        setup.create_user(UserName="demo-admin")
        setup.put_user_policy(UserName="demo-admin", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        iam = iam_as(setup.create_access_key(UserName="demo-admin")["AccessKey"])
        iam.create_user(UserName="rotor-function")
        iam.put_user_policy(UserName="rotor-function", PolicyName="rotate-keys", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                "iam:GetUser", "iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:TagUser"]}]}))
        function_key = iam.create_access_key(UserName="rotor-function")["AccessKey"]
        iam.create_user(UserName="ci-deployer", Path="/rotor/")
        deployer_key = iam.create_access_key(UserName="ci-deployer")["AccessKey"]
        print(f"moto (IAM, STS) on {moto}: IAM user /rotor/ci-deployer with one access key")

        runtime = lambda name: {"AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{invoke_port}/.rt/{name}", "AWS_LAMBDA_FUNCTION_NAME": name,
                                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST"}
        functions = {
            "rotate-postgres": {"TLS_CA_BUNDLE": str(pg.dir / "ca.pem")},
            "rotate-postgres-alternating": {"TLS_CA_BUNDLE": str(pg.dir / "ca.pem"),
                                            "ADMIN_SECRET_ARNS": "arn:aws:secretsmanager:us-east-1:123456789012:secret:demo/postgres-admin-*"},
            "rotate-redshift": {"TLS_CA_BUNDLE": str(rs.dir / "ca.pem")},
            "rotate-mysql": {"TLS_CA_BUNDLE": str(maria.dir / "ca.pem")},
            "rotate-mongodb-alternating": {"TLS_CA_BUNDLE": str(docdb.dir / "ca.pem"),
                                           "ADMIN_SECRET_ARNS": "arn:aws:secretsmanager:us-east-1:123456789012:secret:demo/documentdb-admin-*"},
            "rotate-redis": {"TLS_CA_BUNDLE": str(redis.dir / "ca.pem"), "ROTATION_STRATEGY": "admin",
                             "ADMIN_SECRET_ARNS": "arn:aws:secretsmanager:us-east-1:123456789012:secret:demo/redis-admin-*"},
            "rotate-elasticache": {"TLS_CA_BUNDLE": str(redis.dir / "ca.pem"), "WAITING_RETRY_INTERVAL_IN_SECONDS": "1",
                                   "ELASTICACHE_USER_ARNS": "arn:aws:elasticache:us-east-1:123456789012:user:demo-*"},
            "rotate-elasticache-auth-token": {"TLS_CA_BUNDLE": str(redis.dir / "ca.pem"), "WAITING_RETRY_INTERVAL_IN_SECONDS": "1",
                                              "ELASTICACHE_REPLICATION_GROUP_ARNS": "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:demo-*"},
            "rotate-custom": {"GENERATED_KEY": "api_key", "GENERATED_FORMAT": "base64url", "GENERATED_BYTES": "32"},
            "rotate-iam-access-key": {"AWS_ENDPOINT_URL_IAM": moto, "AWS_ENDPOINT_URL_STS": moto, "IAM_USER_PATH": "/rotor/",
                                      "AWS_ACCESS_KEY_ID": function_key["AccessKeyId"],
                                      "AWS_SECRET_ACCESS_KEY": function_key["SecretAccessKey"]},
        }
        if samba is not None:
            functions["rotate-directory"] = {"DIRECTORY_IDS": "d-0123456789", "KERBEROS_PORT": str(samba.kdc_port),
                                             "TLS_CA_BUNDLE": str(samba.dir / "tls" / "ca.pem"), "KEYTAB_FIELD": "keytabContents",
                                             "WAITING_RETRY_INTERVAL_IN_SECONDS": "1"}
            functions["rotate-ldap"] = {"TLS_CA_BUNDLE": str(samba.dir / "tls" / "ca.pem"), "LDAP_USER_BASE_DN": "OU=DEMO,DC=rotor,DC=demo"}
        step("starting the rotation functions: " + ", ".join(functions))
        for name, extra in functions.items():
            start([str(BIN / name)], f"{name}.log", dict(runtime(name), **extra))

        step("creating database users and their secrets")
        admin_password, single_password, team_password, shop_password = password(), password(), password(), password()
        pg.sql(f"CREATE ROLE rotor_admin LOGIN CREATEROLE PASSWORD '{admin_password}'")
        pg.sql(f"CREATE ROLE app LOGIN PASSWORD '{single_password}'")
        pg.sql(f"CREATE ROLE team LOGIN PASSWORD '{team_password}'")
        # The admin owns what the users are granted, so it can grant the same to the alternating user's clone.
        pg.sql("CREATE TABLE orders (id int); ALTER TABLE orders OWNER TO rotor_admin; GRANT SELECT ON orders TO team")
        analyst_password = password()
        # As Redshift takes it: the md5 hash of the password and the user name, never the password itself.
        rs.sql("CREATE USER analyst PASSWORD 'md5" + hashlib.md5((analyst_password + "analyst").encode()).hexdigest() + "'")
        maria.sql(f"CREATE USER 'shop'@'%' IDENTIFIED BY '{shop_password}'")
        # As DocumentDB keeps them: users in admin, granted roles on their own database.
        orders_password = password()
        with docdb.client("rotor_admin", docdb_admin_password) as client:
            client.admin.command("createUser", "orders", pwd=orders_password, roles=[{"role": "readWrite", "db": "orders"}])
        cache_password = password()
        redis.cli("rotor_admin", redis_admin_password, "ACL", "SETUSER", "cache", "on",
                  "#" + hashlib.sha256(cache_password.encode()).hexdigest(), "~cache:*", "+@read", "+@write", "+ping")
        sessions_password = password()
        elasticache = boto3.client("elasticache", endpoint_url=endpoint, region_name="us-east-1",
                                   aws_access_key_id="AKIDROTORDEMO", aws_secret_access_key="rotor-demo-not-a-secret")
        sessions = elasticache.create_user(UserId="demo-sessions", UserName="sessions", Engine="redis",
                                           AccessString="on ~session:* +@read +@write +ping", Passwords=[sessions_password])
        elasticache.create_user_group(UserGroupId="demo-cache-users", Engine="redis", UserIds=["demo-sessions"])
        # A replication group clients reach with an AUTH token (the demo Redis's default user): letters and digits.
        auth_token = secrets.token_hex(20)
        auth_group = elasticache.create_replication_group(
            ReplicationGroupId="demo-auth-cache", ReplicationGroupDescription="a cache reached with an AUTH token",
            AuthToken=auth_token, TransitEncryptionEnabled=True)["ReplicationGroup"]
        sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="AKIDROTORDEMO", aws_secret_access_key="rotor-demo-not-a-secret")
        pg_secret = {"engine": "postgres", "host": "127.0.0.1", "port": pg.port, "dbname": "postgres"}
        admin_arn = sm.create_secret(Name="demo/postgres-admin", SecretString=json.dumps(dict(pg_secret, username="rotor_admin", password=admin_password)))["ARN"]
        docdb_secret = {"engine": "mongo", "host": "127.0.0.1", "port": docdb.port, "ssl": True}
        docdb_admin_arn = sm.create_secret(Name="demo/documentdb-admin", SecretString=json.dumps(
            dict(docdb_secret, username="rotor_admin", password=docdb_admin_password)))["ARN"]
        redis_secret = {"engine": "redis", "host": "127.0.0.1", "port": redis.port}
        redis_admin_arn = sm.create_secret(Name="demo/redis-admin", SecretString=json.dumps(dict(redis_secret, username="rotor_admin", password=redis_admin_password)))["ARN"]
        demo = {
            "demo/postgres-app": ("rotate-postgres", dict(pg_secret, username="app", password=single_password)),
            "demo/postgres-team": ("rotate-postgres-alternating", dict(pg_secret, username="team", password=team_password, masterarn=admin_arn)),
            # AWS's Redshift secret (port 5439 and database dev by default; the stand-in's are given).
            "demo/redshift-analyst": ("rotate-redshift", {"engine": "redshift", "host": "127.0.0.1", "port": rs.port,
                                                          "dbname": "postgres", "username": "analyst", "password": analyst_password}),
            "demo/mariadb-shop": ("rotate-mysql", {"engine": "mariadb", "host": "127.0.0.1", "port": maria.port, "username": "shop", "password": shop_password}),
            # AWS's MongoDB secret, as the console writes it for DocumentDB; the admin keeps orders and
            # orders_clone alike (their roles) on every rotation.
            "demo/documentdb-orders": ("rotate-mongodb-alternating", dict(docdb_secret, username="orders", password=orders_password,
                                                                          masterarn=docdb_admin_arn)),
            "demo/redis-cache": ("rotate-redis", dict(redis_secret, username="cache", password=cache_password, masterarn=redis_admin_arn)),
            # AWS's ElastiCache secret: no host; the function finds the cache through the user's user group.
            "demo/elasticache-sessions": ("rotate-elasticache", {"user_arn": sessions["ARN"], "username": "sessions", "password": sessions_password}),
            # The group's ARN and its token; the function logs in where DescribeReplicationGroups says the group is.
            "demo/elasticache-auth-token": ("rotate-elasticache-auth-token", {"replication_group_arn": auth_group["ARN"], "password": auth_token}),
            "demo/api-key": ("rotate-custom", {"api_key": secrets.token_urlsafe(32), "vendor": "acme"}),
            "demo/iam-ci-deployer": ("rotate-iam-access-key", {"type": "aws-iam-access-key", "user_name": "ci-deployer",
                                                               "access_key_id": deployer_key["AccessKeyId"],
                                                               "secret_access_key": deployer_key["SecretAccessKey"]}),
        }
        if samba is not None:
            app_svc_password, web_svc_password = password(), password()
            samba.create_user("app-svc", app_svc_password)
            samba.create_user("web-svc", web_svc_password)
            # AWS's Active Directory secret: Directory Service resets the password, the domain's KDC proves it, and the
            # keytab of each new password is written beside it.
            demo["demo/directory-app-svc"] = ("rotate-directory", {"awsSeamlessDomainDirectoryId": "d-0123456789",
                                                                   "awsSeamlessDomainUsername": "app-svc",
                                                                   "awsSeamlessDomainPassword": app_svc_password})
            # A self-managed domain's account changing its own password (unicodePwd) over LDAPS, named by its UPN.
            demo["demo/ldap-web-svc"] = ("rotate-ldap", {"engine": "activedirectory", "host": samba.ip, "port": 636,
                                                         "username": "web-svc@rotor.demo", "password": web_svc_password})
        for name, (function, value) in demo.items():
            sm.create_secret(Name=name, SecretString=json.dumps(value))
            sm.rotate_secret(SecretId=name, RotationLambdaARN=f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
                             RotationRules={"ScheduleExpression": "rate(1 day)", "Duration": "2h"}, RotateImmediately=False)
        for name in demo:
            record = last_rotation(endpoint, name)
            print(f"{name:<34} configuration test (testSecret with the current credential): {record['state']}")

        # A PostgreSQL credential in a Parameter Store SecureString, rotated by the same rotate-postgres on a
        # schedule (EventBridge Scheduler's part is the endpoint's /_rotor/schedules).
        reporting_password, parameter = password(), "/rotor/demo/postgres-reporting"
        pg.sql(f"CREATE ROLE reporting LOGIN PASSWORD '{reporting_password}'")
        ssm = boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="AKIDROTORDEMO", aws_secret_access_key="rotor-demo-not-a-secret")
        # Bound to its function as a secret is: rotate-postgres rotates only parameters tagged for it.
        ssm.put_parameter(Name=parameter, Type="SecureString",
                          Value=json.dumps(dict(pg_secret, username="reporting", password=reporting_password)),
                          Tags=[{"Key": "rotor:function", "Value": "postgres"}])
        request = urllib.request.Request(f"{endpoint}/_rotor/schedules", headers={"content-type": "application/json"},
                                         data=json.dumps({"ParameterName": parameter, "FunctionName": "rotate-postgres",
                                                          "ScheduleExpression": "rate(1 day)"}).encode())
        urllib.request.urlopen(request)
        print(f"{parameter} (SecureString) scheduled on rotate-postgres, rate(1 day)")

        def signs_in(value):
            sts = boto3.client("sts", endpoint_url=moto, region_name="us-east-1", aws_access_key_id=value["access_key_id"],
                               aws_secret_access_key=value["secret_access_key"])
            try:
                return sts.get_caller_identity()["Arn"].endswith("/ci-deployer")
            except Exception:  # noqa: BLE001 - any refusal means the key does not sign in
                return False

        def logs_in(name, value):
            if "access_key_id" in value:
                keys = len(iam.list_access_keys(UserName=value["user_name"])["AccessKeyMetadata"])
                return f"signs in as the user ({keys} keys)" if signs_in(value) else "DOES NOT SIGN IN"
            if "awsSeamlessDomainUsername" in value:
                logs = samba.logs_in(value["awsSeamlessDomainUsername"], value["awsSeamlessDomainPassword"])
                return ("binds; keytab written" if "keytabContents" in value else "binds") if logs else "DOES NOT BIND"
            if value.get("engine") == "activedirectory":
                return "binds" if samba.logs_in(value["username"].split("@")[0], value["password"]) else "DOES NOT BIND"
            if "replication_group_arn" in value:
                return "logs in (AUTH)" if redis.logs_in("default", value["password"]) else "DOES NOT LOG IN"
            if "user_arn" in value:
                check = redis.logs_in
            elif "engine" not in value:
                return "n/a (no system to log in to)"
            else:
                check = {"postgres": pg.logs_in, "redshift": rs.logs_in, "redis": redis.logs_in, "mongo": docdb.logs_in}.get(value["engine"], maria.logs_in)
            return "logs in" if check(value["username"], value["password"]) else "DOES NOT LOG IN"

        for day in range(1, DAYS + 1):
            step(f"day {day}: the clock moves 24 hours; the schedules rotate every secret")
            request = urllib.request.Request(f"{endpoint}/_rotor/clock", data=json.dumps({"seconds": 86400, "wait": True}).encode(),
                                             headers={"content-type": "application/json"})
            answer = json.load(urllib.request.urlopen(request))
            print(f"rotations run: {answer['rotations_started']}")
            print(f"{'secret':<34} {'AWSCURRENT':<10} {'AWSPREVIOUS':<11} {'user':<12} current credential")
            for name in demo:
                stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
                holder = lambda label: next((v[:8] for v, s in stages.items() if label in s), "-")
                value = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
                user = value.get("username", value.get("user_name", value.get("awsSeamlessDomainUsername",
                                 "default" if "replication_group_arn" in value else "-")))
                print(f"{name:<34} {holder('AWSCURRENT'):<10} {holder('AWSPREVIOUS'):<11} {user:<12} {logs_in(name, value)}")
            history = ssm.get_parameter_history(Name=parameter)["Parameters"]
            at = lambda label: next((f"v{v['Version']}" for v in history if label in v.get("Labels", [])), "-")
            value = json.loads(ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"])
            print(f"{'ssm:' + parameter:<34} {at('current'):<10} {at('previous'):<11} {value['username']:<12} "
                  f"{'logs in' if pg.logs_in(value['username'], value['password']) else 'DOES NOT LOG IN'} (newest v{history[-1]['Version']})")
            # Redis and ElastiCache users hold two passwords, an AUTH-token group two tokens, an IAM user two keys:
            # clients still holding the previous AWSCURRENT keep working until the next rotation.
            for name in ("demo/redis-cache", "demo/elasticache-sessions", "demo/elasticache-auth-token", "demo/iam-ci-deployer"):
                previous = json.loads(sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"])
                print(f"{name:<34} AWSPREVIOUS (what clients may still cache): {logs_in(name, previous)}")
        step("rotatectl status demo/postgres-team (alternating users: team and team_clone take turns)")
        subprocess.run([str(BIN / "rotatectl"), "status", "demo/postgres-team"], env=env, check=True)
        report = STATE / "fleet-report.html"
        step("rotatectl report --html: the fleet against a 90-day policy, as a page that needs no network")
        # Its exit code is 1 when anything violates the policy: here the admin secrets, which the demo does not
        # schedule for rotation.
        subprocess.run([str(BIN / "rotatectl"), "report", "--endpoint-url", endpoint, "--html", str(report)], env=env,
                       check=False)
        if not report.exists():
            sys.exit("rotatectl report wrote no HTML report")
        step(f"done in {time.time() - started:.0f} s; logs and the audit log are in {STATE.relative_to(ROOT)}/; "
             f"the fleet report is {report.relative_to(ROOT)} (open file://{report})")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        for server in servers:
            server.stop()


def last_rotation(endpoint, secret):
    """The endpoint's record of the secret's last rotation, once it has finished."""
    deadline = time.time() + 60
    while time.time() < deadline:
        with urllib.request.urlopen(f"{endpoint}/_rotor/rotations/{secret}") as answer:
            record = json.load(answer)["LastRotation"]
        if record and record["state"] != "running":
            return record
        time.sleep(0.05)
    sys.exit("the rotation did not finish")


if __name__ == "__main__":
    main()
