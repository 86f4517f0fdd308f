#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL cluster on 127.0.0.1.
#
#   scripts/with-postgres.sh COMMAND [ARGS...]
#
# Starts a cluster in a temporary directory on a free port, exports DATABASE_URL, runs the
# command, and always stops and deletes the cluster. Installs Debian's postgresql when initdb
# is not found. PostgreSQL refuses to run as root: then the cluster runs as the 'postgres'
# user (created when missing).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

find_bin() {
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ]; then echo "$d"; return; fi
  done
}

PGBIN="$(find_bin)"
if [ -z "$PGBIN" ]; then
  echo "with-postgres: initdb not found; installing Debian's postgresql" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  PGBIN="$(find_bin)"
  [ -n "$PGBIN" ] || { echo "with-postgres: no initdb after installing postgresql" >&2; exit 1; }
fi

AS=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  AS=(runuser -u postgres --)
fi

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
TMP="$(mktemp -d -t celltrial-pg.XXXXXX)"
DATA="$TMP/data"
mkdir -p "$DATA"
chmod 755 "$TMP"
if [ ${#AS[@]} -gt 0 ]; then chown -R postgres "$TMP"; fi

cleanup() {
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

"${AS[@]}" "$PGBIN/initdb" -D "$DATA" -U celltrial --auth=trust -E UTF8 --locale=C.UTF-8 >"$TMP/initdb.log" 2>&1 \
  || "${AS[@]}" "$PGBIN/initdb" -D "$DATA" -U celltrial --auth=trust -E UTF8 --no-locale >"$TMP/initdb.log" 2>&1 \
  || { cat "$TMP/initdb.log" >&2; exit 1; }
# A throw-away cluster needs no durability: tests are not disk-bound. PG_OPTIONS="" keeps
# PostgreSQL's durable defaults (for benchmarks).
PG_OPTIONS="${PG_OPTIONS--c fsync=off -c synchronous_commit=off -c full_page_writes=off}"
"${AS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -l "$TMP/server.log" -w \
  -o "-h 127.0.0.1 -p $PORT -k $TMP -c max_connections=200 $PG_OPTIONS" \
  start >/dev/null || { cat "$TMP/server.log" >&2; exit 1; }

# Tests create their own database (test_postgres) next to the default 'postgres' one.
export DATABASE_URL="postgresql://celltrial@127.0.0.1:$PORT/postgres"
echo "with-postgres: $DATABASE_URL (data in $TMP)" >&2
set +e
"$@"
status=$?
set -e
exit $status
