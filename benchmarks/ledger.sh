#!/usr/bin/env bash
# Ledger benchmark, figures only:
#   1. appends per second with 8 writers (each entry its own insert, as vault accesses record
#      them; the sequencer batches them into the Merkle log), and verify rate — SQLite and PostgreSQL;
#   2. the ledger's cost to tokenization: wrk (32 connections) against this build with the ledger
#      on and off (`--benchmark-without-ledger`, development only), same PostgreSQL, same run,
#      alternating twice. (The card-payment cost is in benchmarks/payments.sh.)
#
#   benchmarks/ledger.sh [SECONDS] [ENTRIES]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
ENTRIES=${2:-200000}

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product kessai >/dev/null
BIN=$(swift build -c release --show-bin-path)/kessai
source scripts/pg.sh
export PATH="$KESSAI_PG_BIN:$PATH"
WORK=$(mktemp -d /tmp/kessai-ledger-bench.XXXXXX)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; kessai_pg_stop; }
trap cleanup EXIT
PG="postgres://kessai@127.0.0.1:$KESSAI_PG_PORT"

echo "== ledger appends and verify ($ENTRIES entries, 8 writers)" >&2
"$BIN" bench ledger --data-dir "$WORK/sqlite" --entries "$ENTRIES" --writers 8 --log-level warning | sed 's/^/sqlite:   /'
createdb -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai ledgerbench
"$BIN" bench ledger --data-dir "$WORK/pg" --database-url "$PG/ledgerbench" --entries "$ENTRIES" --writers 8 --log-level warning | sed 's/^/postgres: /'

tokenize() {  # $1 label, $2 database, rest = extra serve flags
  local label=$1 database=$2 dir="$WORK/$1" port=18090
  shift 2
  createdb -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai "$database"
  "$BIN" serve --data-dir "$dir" --port $port --log-level warning --database-url "$PG/$database" "$@" >"$WORK/$label.out" 2>/dev/null &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
  export KESSAI_PK=$(awk '/publishable key:/ {print $3; exit}' "$WORK/$label.out")
  wrk -t2 -c32 -d3s -s benchmarks/tokenize.lua "http://127.0.0.1:$port/v1/payment_methods" >/dev/null
  wrk -t2 -c32 -d"${DURATION}s" -s benchmarks/tokenize.lua "http://127.0.0.1:$port/v1/payment_methods" | grep '^RESULT' | sed "s/^/$label /"
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
}
echo "== tokenization on PostgreSQL, ledger on and off, alternating" >&2
for round in 1 2; do
  tokenize "ledger_on_$round" "on$round"
  tokenize "ledger_off_$round" "off$round" --benchmark-without-ledger
done | tee "$WORK/tok.txt"
awk '/RESULT/ { split($4, r, "="); if ($1 ~ /on/) { on += r[2]; n_on++ } else { off += r[2]; n_off++ } }
     END { printf "\ntokenizations/s: ledger on %.0f, off %.0f; cost %.1f%% (target < 10%%)\n", on/n_on, off/n_off, 100 * (1 - (on/n_on)/(off/n_off)) }' "$WORK/tok.txt"
