#!/usr/bin/env bash
# The sentinel's cost to card payments: payments per second (create + confirm, automatic
# capture; 32 wrk clients on loopback) with the sentinel on and off, alternated on,off,on,off in
# the same run on SQLite, and the ratio. The sentinel's rules count incrementally from a cursor
# over new ledger entries; they never rescan the ledger.
#
#   benchmarks/sentinel.sh [SECONDS] [BINARY]    (default 10 s per run; a release build of kessai)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
BIN=${2:-}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
if [ -z "$BIN" ]; then
  swift build -c release --product kessai >/dev/null
  BIN=$(swift build -c release --show-bin-path)/kessai
fi
WORK=$(mktemp -d /tmp/kessai-sentinel-bench.XXXXXX)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

run() {  # $1 = label, $2 = on|off
  local dir="$WORK/$1" port=18090
  mkdir -p "$dir"
  "$BIN" serve --data-dir "$dir" --port "$port" --log-level warning --sentinel "$2" >"$dir/out" 2>"$dir/err" &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
  export KESSAI_PK=$(awk '/publishable key:/ {print $3; exit}' "$dir/out")
  export KESSAI_SK=$(awk '/secret key:/ {print $3; exit}' "$dir/out")
  export KESSAI_PM=$(curl -sf "http://127.0.0.1:$port/v1/payment_methods" -u "$KESSAI_PK:" -d type=card \
    -d 'card[number]=4242424242424242' -d 'card[exp_month]=12' -d 'card[exp_year]=2030' | sed 's/.*"id":"\(pm_[A-Za-z0-9]*\)".*/\1/')
  wrk -t2 -c32 -d3s -s benchmarks/payments.lua "http://127.0.0.1:$port/v1/payment_intents" >/dev/null
  wrk -t2 -c32 -d"${DURATION}s" -s benchmarks/payments.lua "http://127.0.0.1:$port/v1/payment_intents" | grep '^RESULT' | sed "s/^/$1 /"
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
}

RESULTS=$(for round in 1 2; do run "on-$round" on; run "off-$round" off; done)
rate() { echo "$RESULTS" | awk -v p="$1" '$1 ~ "^"p {for (i = 2; i <= NF; i++) if ($i ~ /^rps=/) {split($i, a, "="); s += a[2]; n++}} END {printf "%.1f", s / n}'; }
echo "$RESULTS"
ON=$(rate on-); OFF=$(rate off-)
awk -v on="$ON" -v off="$OFF" 'BEGIN {printf "card payments per second: sentinel on %.1f, off %.1f; cost %.1f%% (target under 5%%)\n", on, off, 100 * (off - on) / off}'
