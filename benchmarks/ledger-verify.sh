#!/usr/bin/env bash
# What the sentinel's scheduled ledger verification costs card payments while it runs, and how
# long one takes. A ledger of ENTRIES entries is built once (`kessai bench ledger`); each run
# starts a server on a copy of it and makes card payments (create + confirm, automatic capture;
# 32 wrk clients on loopback) for SECONDS, alternating
#   idle:      the sentinel on, its next verification an hour away,
#   verifying: the sentinel on with --ledger-verify-interval 5, so a verification of the whole
#              ledger is under way for nearly the whole run (one starts whenever the last one
#              began 5 s or more ago),
# (in both, the sentinel's ledger cursor starts at the end of the built ledger, so its rules
# count only the payments' entries and the verification is the one difference)
# on SQLite, twice each, and prints payments per second, the ratio, and each verification's size
# and duration from ledger_verifications. Production verifies hourly (3600 s): the cost per hour
# is one verification's duration at that ratio.
#
#   benchmarks/ledger-verify.sh [SECONDS] [ENTRIES] [BINARY]   (default 20 s, 2,000,000 entries; a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20}
ENTRIES=${2:-2000000}
BIN=${3:-}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v sqlite3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; }
if [ -z "$BIN" ]; then
  swift build -c release --product kessai >/dev/null
  BIN=$(swift build -c release --show-bin-path)/kessai
fi
WORK=$(mktemp -d /tmp/kessai-verify-bench.XXXXXX)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

echo "building a ledger of $ENTRIES entries"
"$BIN" bench ledger --data-dir "$WORK/base" --entries "$ENTRIES" --log-level warning | grep -E '^ledger (appends|verify)'
sqlite3 "$WORK/base/kessai.sqlite" "INSERT INTO sentinel_state (name, value) SELECT 'ledger_seq', MAX(seq) FROM ledger_entries"

run() {  # $1 = label, then the server's sentinel flags
  local label=$1 dir="$WORK/$1" port=18091
  shift
  rm -rf "$dir"
  cp -r "$WORK/base" "$dir"
  # The last scheduled verification began now: an idle run waits an hour for the next.
  sqlite3 "$dir/kessai.sqlite" "INSERT INTO sentinel_state (name, value) VALUES ('ledger_verify_started', CAST(strftime('%s', 'now') AS INTEGER))"
  "$BIN" serve --data-dir "$dir" --port "$port" --log-level warning "$@" >"$dir/out" 2>"$dir/err" &
  SERVER_PID=$!
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
  export KESSAI_PK=$(awk '/publishable key:/ {print $3; exit}' "$dir/out")
  export KESSAI_SK=$(awk '/secret key:/ {print $3; exit}' "$dir/out")
  export KESSAI_PM=$(curl -sf "http://127.0.0.1:$port/v1/payment_methods" -u "$KESSAI_PK:" -d type=card \
    -d 'card[number]=4242424242424242' -d 'card[exp_month]=12' -d 'card[exp_year]=2030' | sed 's/.*"id":"\(pm_[A-Za-z0-9]*\)".*/\1/')
  wrk -t2 -c32 -d3s -s benchmarks/payments.lua "http://127.0.0.1:$port/v1/payment_intents" >/dev/null
  wrk -t2 -c32 -d"${DURATION}s" -s benchmarks/payments.lua "http://127.0.0.1:$port/v1/payment_intents" | grep '^RESULT' | sed "s/^/$label /"
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=
  grep -E 'error|critical' "$dir/err" | sed 's/^[^ ]* //' | cut -c1-200 | sort | uniq -c | sort -rn | head -5 | sed "s/^/$label server log: /" >&2 || true
  sqlite3 "$dir/kessai.sqlite" "SELECT size, duration_ms, findings FROM ledger_verifications ORDER BY finished_at" \
    | awk -F'|' -v l="$label" '{printf "%s verification: %d entries in %.2f s (%.0f entries/s), %d finding(s)\n", l, $1, $2 / 1000, $1 / ($2 / 1000 + 1e-9), $3}' >&2
}

RESULTS=$(for round in 1 2; do run "idle-$round" --ledger-verify-interval 3600; run "verifying-$round" --ledger-verify-interval 5; done)
rate() { echo "$RESULTS" | awk -v p="$1" '$1 ~ "^"p {for (i = 2; i <= NF; i++) if ($i ~ /^rps=/) {split($i, a, "="); s += a[2]; n++}} END {printf "%.1f", s / n}'; }
echo "$RESULTS"
IDLE=$(rate idle-); VERIFYING=$(rate verifying-)
awk -v v="$VERIFYING" -v idle="$IDLE" 'BEGIN {printf "card payments per second: while verifying %.1f, not verifying %.1f; %.1f%% fewer while a verification runs\n", v, idle, 100 * (idle - v) / idle}'
