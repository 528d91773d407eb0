#!/usr/bin/env bash
# Runs every test:
#   1. the Swift suites (Swift Testing) on SQLite and, against a throwaway PostgreSQL cluster
#      started from the Debian package on a loopback port, on PostgreSQL;
#   2. the end-to-end tests: the official Stripe Python library (PyPI `stripe`) against real
#      `kessai serve` processes on both databases, with leak scans of the data directory,
#      a pg_dump and the server logs; and the browser tests: the demo shop, kessai.js and
#      hosted checkout in Debian's headless Chromium driven by selenium (PyPI). Screenshots
#      land in .build/artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== format"
bash scripts/format.sh --check

echo "== build"
swift build --build-tests

echo "== PostgreSQL"
source scripts/pg.sh
export PATH="$KESSAI_PG_BIN:$PATH"

echo "== Swift suites (SQLite and PostgreSQL)"
KESSAI_TEST_DATABASE_URL="$KESSAI_PG_URL" swift test

echo "== browser (Debian's chromium and chromium-driver) and patator"
if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi ipagothic; then
  echo "test.sh: installing chromium, chromium-driver and a Japanese font from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-ipafont-gothic >/dev/null
fi
if [ ! -x /usr/bin/patator ]; then
  echo "test.sh: installing patator (the console's brute-force test) from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends patator >/dev/null
fi

echo "== end-to-end (official Stripe library, real servers, headless Chromium)"
VENV=${KESSAI_VENV:-.build/venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# Always: a venv made before a requirement was added gets it now (a no-op when satisfied).
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r e2e/requirements.txt
KESSAI_E2E_PG_URL="$KESSAI_PG_URL" "$VENV/bin/pytest" -q -p no:cacheprovider e2e
