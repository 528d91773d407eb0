#!/usr/bin/env bash
# Exposure-scope benchmark, figures only: builds a ledger of READS card reads (vault.decrypt
# entries over 50 merchants, CARDS cards and 8 gateway processes) with the ledger's own
# sequencer, checkpoints it, then times `ExposureScope` for one process over the whole window —
# verification up to the checkpoint included — and prints its peak memory; on SQLite and on
# PostgreSQL. Beside it, in the same run, the time each engine's own client needs just to read the
# rows the scope reads (no parsing, no hashing), best of three.
#
#   benchmarks/scope.sh [READS] [CARDS]          (the issue's target: 10,000,000 reads in < 60 s)
set -euo pipefail
cd "$(dirname "$0")/.."
READS=${1:-10000000}
CARDS=${2:-1000000}

command -v sqlite3 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; }
swift build -c release --product kessai >/dev/null
BIN=$(swift build -c release --show-bin-path)/kessai
source scripts/pg.sh
export PATH="$KESSAI_PG_BIN:$PATH"
WORK=$(mktemp -d /tmp/kessai-scope-bench.XXXXXX)
cleanup() { rm -rf "$WORK"; kessai_pg_stop; }
trap cleanup EXIT
PG="postgres://kessai@127.0.0.1:$KESSAI_PG_PORT"
# The rows the scope streams: the window's card reads, in ledger order (the verifier reads every
# entry besides; the baseline for that is benchmarks/ledger.sh).
READ_SQL="SELECT seq, body FROM ledger_entries WHERE action = 'vault.decrypt' AND time >= 1800000000000 ORDER BY seq"
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

echo "== SQLite: $READS reads, $CARDS cards" >&2
"$BIN" bench scope --data-dir "$WORK/sqlite" --reads "$READS" --cards "$CARDS" --log-level warning | sed 's/^/sqlite:   /'
"$BIN" bench scope --data-dir "$WORK/sqlite" --reads "$READS" --cards "$CARDS" --log-level warning --reuse | sed 's/^/sqlite:   (again) /'
SQLITE_READ=$(best_of_three sqlite3 "$WORK/sqlite/kessai.sqlite" "$READ_SQL")
printf "sqlite:   baseline: the sqlite3 CLI reads the same %d rows in %.1f s\n" "$READS" "$SQLITE_READ"
rm -rf "$WORK/sqlite"

echo "== PostgreSQL: $READS reads, $CARDS cards" >&2
createdb -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai scopebench
"$BIN" bench scope --data-dir "$WORK/pg" --database-url "$PG/scopebench" --reads "$READS" --cards "$CARDS" --log-level warning | sed 's/^/postgres: /'
"$BIN" bench scope --data-dir "$WORK/pg" --database-url "$PG/scopebench" --reads "$READS" --cards "$CARDS" --log-level warning --reuse | sed 's/^/postgres: (again) /'
PG_READ=$(best_of_three psql -h 127.0.0.1 -p "$KESSAI_PG_PORT" -U kessai -d scopebench -qAt -c "\\copy ($READ_SQL) TO '/dev/null'")
printf "postgres: baseline: psql \\\\copy reads the same %d rows in %.1f s\n" "$READS" "$PG_READ"
