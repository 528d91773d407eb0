#!/usr/bin/env bash
# Ledger benchmark, figures only:
#   1. appends per second with 8 writers (each entry its own insert, as vault accesses record
#      them; the sequencer batches them into the Merkle log), and verify rate (three runs) — SQLite
#      and PostgreSQL — beside the time each engine's own client takes just to read the same rows;
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

# Baseline in the same run: only reading the same columns of every entry with each engine's own
# client (no hashing, no checks), best of three. verify time / read time says what the checks cost.
command -v sqlite3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; }
COLUMNS_SQL="SELECT seq, time, actor_kind, actor_id, action, merchant_id, token, request_id, body, leaf_hash, chain_hash FROM ledger_entries ORDER BY seq"
best_of_three() {
  local best=
  for _ in 1 2 3; do
    local start end took
    start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N)
    took=$(awk "BEGIN { print $end - $start }")
    if [ -z "$best" ] || awk "BEGIN { exit !($took < $best) }"; then best=$took; fi
  done
  echo "$best"
}
SQLITE_READ=$(best_of_three sqlite3 "$WORK/sqlite/kessai.sqlite" "$COLUMNS_SQL")
PG_READ=$(best_of_three psql -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai -d ledgerbench -qAt -c "\\copy ($COLUMNS_SQL) TO '/dev/null'")
printf "baseline: sqlite3 CLI reads the %d entries in %.2f s (%.0f rows/s); psql \\copy in %.2f s (%.0f rows/s)\n" \
  "$ENTRIES" "$SQLITE_READ" "$(awk "BEGIN { print $ENTRIES / $SQLITE_READ }")" "$PG_READ" "$(awk "BEGIN { print $ENTRIES / $PG_READ }")"

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
