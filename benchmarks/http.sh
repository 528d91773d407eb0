#!/usr/bin/env bash
# Throughput over HTTP on loopback: 32 concurrent clients (wrk) against a release `kessai serve`,
# on SQLite and on PostgreSQL, with pgbench (tpcb-like, 8 clients) on the same PostgreSQL in the
# same run as the baseline, and each again with the ledger off to show the ledger's cost.
# Prints one table; nothing is timed inside tests.
#
#   benchmarks/http.sh tokenize [SECONDS]   POST /v1/payment_methods (publishable key)
#   benchmarks/http.sh payments [SECONDS]   POST /v1/payment_intents with confirm=true and
#                                           automatic capture: one card payment per request
#   (default 15 seconds per measurement; tokenize.sh and payments.sh are shortcuts)
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIO=${1:?tokenize or payments}
DURATION=${2:-15}
case "$SCENARIO" in
  tokenize) PATH_UNDER_TEST=/v1/payment_methods; LABEL="tokenize" ;;
  payments) PATH_UNDER_TEST=/v1/payment_intents; LABEL="card payment" ;;
  *) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product kessai >/dev/null
BIN=$(swift build -c release --show-bin-path)/kessai

source scripts/pg.sh
export PATH="$KESSAI_PG_BIN:$PATH"
WORK=$(mktemp -d /tmp/kessai-bench.XXXXXX)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; kessai_pg_stop; }
trap cleanup EXIT

echo "== pgbench baseline (tpcb-like, scale 10, 8 clients, ${DURATION}s)" >&2
createdb -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai pgbench
pgbench -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai -i -s 10 -q pgbench >/dev/null 2>&1
psql -q -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai postgres -c CHECKPOINT
PGBENCH_TPS=$(pgbench -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai -c 8 -j 2 -T "$DURATION" pgbench 2>/dev/null \
  | awk '/^tps/ {print $3; exit}')

run_kessai() {  # $1 = label, rest = extra serve flags
  local label=$1; shift
  local port=18080 dir="$WORK/$label"
  mkdir -p "$dir"
  # Each run starts after a checkpoint, so none of them pays for the WAL an earlier one wrote.
  psql -q -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai postgres -c CHECKPOINT
  "$BIN" serve --data-dir "$dir" --port "$port" --log-level warning "$@" >"$dir/out" 2>"$dir/err" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
  export KESSAI_PK=$(awk '/publishable key:/ {print $3; exit}' "$dir/out")
  export KESSAI_SK=$(awk '/secret key:/ {print $3; exit}' "$dir/out")
  # The payments scenario pays with one stored card again and again (the code is used by the
  # first authorization only, as in a merchant's repeat purchases).
  export KESSAI_PM=$(curl -sf "http://127.0.0.1:$port/v1/payment_methods" -u "$KESSAI_PK:" -d type=card \
    -d 'card[number]=4242424242424242' -d 'card[exp_month]=12' -d 'card[exp_year]=2030' | sed 's/.*"id":"\(pm_[A-Za-z0-9]*\)".*/\1/')
  # Warm up, then measure.
  wrk -t2 -c32 -d3s -s "benchmarks/$SCENARIO.lua" "http://127.0.0.1:$port$PATH_UNDER_TEST" >/dev/null
  local result
  result=$(wrk -t2 -c32 -d"${DURATION}s" -s "benchmarks/$SCENARIO.lua" "http://127.0.0.1:$port$PATH_UNDER_TEST" | grep '^RESULT')
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
  echo "$label $result"
}

echo "== kessai on SQLite (32 clients, ${DURATION}s)" >&2
SQLITE=$(run_kessai sqlite)
echo "== kessai on PostgreSQL (32 clients, ${DURATION}s)" >&2
createdb -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai kessai_bench
POSTGRES=$(run_kessai postgres --database-url "postgres://kessai@127.0.0.1:$KESSAI_PG_PORT/kessai_bench")

# The ledger's cost: the same runs with the ledger off (--benchmark-without-ledger, a
# development-only switch), as the baseline of "card-payment throughput, ledger on vs off".
echo "== kessai on SQLite, ledger off (32 clients, ${DURATION}s)" >&2
SQLITE_OFF=$(run_kessai sqlite-ledger-off --benchmark-without-ledger)
echo "== kessai on PostgreSQL, ledger off (32 clients, ${DURATION}s)" >&2
createdb -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai kessai_bench_off
POSTGRES_OFF=$(run_kessai postgres-ledger-off --benchmark-without-ledger --database-url "postgres://kessai@127.0.0.1:$KESSAI_PG_PORT/kessai_bench_off")

field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
echo
printf "%-26s %12s %10s %10s %8s\n" "measurement" "per second" "p50 ms" "p99 ms" "errors"
printf "%-26s %12s %10s %10s %8s\n" "pgbench tpcb-like, 8 cl." "$PGBENCH_TPS" "-" "-" "-"
for line in "$SQLITE" "$POSTGRES" "$SQLITE_OFF" "$POSTGRES_OFF"; do
  label=${line%% *}
  printf "%-26s %12s %10s %10s %8s\n" "$LABEL, $label, 32 cl." "$(field "$line" rps)" "$(field "$line" p50_ms)" "$(field "$line" p99_ms)" "$(field "$line" errors)"
done
awk -v k="$(field "$POSTGRES" rps)" -v p="$PGBENCH_TPS" -v l="$LABEL" 'BEGIN { printf "\nPostgreSQL %s per second / pgbench TPS = %.2f (target >= 0.5)\n", l, k / p }'
awk -v on="$(field "$SQLITE" rps)" -v off="$(field "$SQLITE_OFF" rps)" -v l="$LABEL" \
  'BEGIN { printf "ledger cost on SQLite: %s per second %.0f with the ledger, %.0f without = %.1f%% (target < 10%%)\n", l, on, off, (1 - on / off) * 100 }'
awk -v on="$(field "$POSTGRES" rps)" -v off="$(field "$POSTGRES_OFF" rps)" -v l="$LABEL" \
  'BEGIN { printf "ledger cost on PostgreSQL: %s per second %.0f with the ledger, %.0f without = %.1f%% (target < 10%%)\n", l, on, off, (1 - on / off) * 100 }'
