#!/usr/bin/env bash
# Formats the Swift sources with the toolchain's swift-format (.swift-format).
#   scripts/format.sh          rewrite in place
#   scripts/format.sh --check  fail, listing the files, if anything is not formatted
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.swift')
if [ "${1:-}" = "--check" ]; then
  status=0
  for f in $files; do
    if ! swift format format --configuration .swift-format "$f" | cmp -s - "$f"; then
      echo "not formatted: $f" >&2
      status=1
    fi
  done
  [ $status = 0 ] && echo "format: ok" >&2
  exit $status
fi
swift format format --configuration .swift-format --in-place $files
