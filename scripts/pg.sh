#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster from the Debian package on a loopback port, for tests and
# benchmarks. Source it: it exports KESSAI_PG_URL (a superuser URL on database "postgres"),
# KESSAI_PG_PORT and KESSAI_PG_BIN, and stops and removes the cluster when the shell exits.
set -euo pipefail

KESSAI_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$KESSAI_PG_BIN" ]; then
  echo "pg.sh: installing PostgreSQL from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  KESSAI_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

KESSAI_PG_PORT=${KESSAI_PG_PORT:-54329}
while (echo >/dev/tcp/127.0.0.1/$KESSAI_PG_PORT) 2>/dev/null; do KESSAI_PG_PORT=$((KESSAI_PG_PORT + 1)); done

KESSAI_PG_DIR=$(mktemp -d /tmp/kessai-pg.XXXXXX)
as_pg() {
  # initdb refuses to run as root; run the cluster as the postgres system user then.
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown -R postgres "$KESSAI_PG_DIR"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
as_pg "$KESSAI_PG_BIN/initdb" -D "$KESSAI_PG_DIR/data" -U kessai --auth=trust -E UTF8 --no-locale >"$KESSAI_PG_DIR/initdb.log"
as_pg "$KESSAI_PG_BIN/pg_ctl" -D "$KESSAI_PG_DIR/data" -l "$KESSAI_PG_DIR/server.log" -w \
  -o "-p $KESSAI_PG_PORT -k $KESSAI_PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null

kessai_pg_stop() {
  as_pg "$KESSAI_PG_BIN/pg_ctl" -D "$KESSAI_PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$KESSAI_PG_DIR"
}
trap kessai_pg_stop EXIT

KESSAI_PG_URL="postgres://kessai@127.0.0.1:$KESSAI_PG_PORT/postgres"
export KESSAI_PG_URL KESSAI_PG_PORT KESSAI_PG_BIN KESSAI_PG_DIR
echo "pg.sh: PostgreSQL $("$KESSAI_PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$KESSAI_PG_PORT" >&2
