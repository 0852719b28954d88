#!/usr/bin/env bash
# `stop`: stops the database, MongoDB-wire, Redis/Valkey and Samba servers the tests started under target/ (they
# start them on first use and share them between tests).
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
  stop)
    # PostgreSQL, and the md5 PostgreSQL standing in for Redshift (postgres_server.rs).
    for dir in target/rotor-pg target/rotor-pg-md5; do
      [ -f "$dir/data/postmaster.pid" ] || continue
      pg_ctl=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_ctl
      if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
      else "$pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true; fi
      rm -f "$dir/port"
    done
    if [ -f target/rotor-mariadb/mysqld.pid ]; then
      kill "$(cat target/rotor-mariadb/mysqld.pid)" 2>/dev/null || true
      for _ in $(seq 50); do [ -f target/rotor-mariadb/mysqld.pid ] || break; sleep 0.1; done
      rm -f target/rotor-mariadb/port
    fi
    # Each Redis-protocol variant's server (redis_server.rs's `Variant`).
    for dir in target/rotor-redis target/rotor-redis-6.2 target/rotor-valkey; do
      [ -f "$dir/redis.pid" ] || continue
      kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
      for _ in $(seq 50); do [ -f "$dir/redis.pid" ] || break; sleep 0.1; done
      rm -f "$dir/ports"
    done
    # SecantusDB, standing in for DocumentDB/MongoDB (mongodb_server.rs): it takes a few seconds to close its storage.
    if [ -f target/rotor-mongodb/server.pid ]; then
      pid=$(cat target/rotor-mongodb/server.pid)
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f target/rotor-mongodb/port
    fi
    # Samba's domain controller (samba_server.rs): its KDC and LDAP server, on the tests' domain. (Each test's
    # OpenLDAP slapd, slapd_server.rs, stops with its test.)
    if [ -f target/rotor-samba/run/samba.pid ]; then
      pid=$(cat target/rotor-samba/run/samba.pid)
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f target/rotor-samba/kdc-port
    fi
    ;;
  *) echo "usage: $0 stop" >&2; exit 2 ;;
esac
