#!/usr/bin/env bash
# Prints the SHA-384 (base64) of every script under web/, as Sources/HTTP/ScriptInventory.swift
# lists them. With --write, puts the current hashes into ScriptInventory.swift (for scripts
# already listed): changing a payment-page script means committing its new hash with it, where
# the reviewer sees both.
set -euo pipefail
cd "$(dirname "$0")/.."
find web -name '*.js' -type f | sort | while read -r file; do
    printf '%s  sha384-%s\n' "${file#web/}" "$(openssl dgst -sha384 -binary "$file" | openssl base64 -A)"
done
if [ "${1:-}" = "--write" ]; then
    python3 - <<'PY'
import base64, hashlib, re
path = "Sources/HTTP/ScriptInventory.swift"
text = open(path).read()
def replace(match):
    digest = base64.b64encode(hashlib.sha384(open("web/" + match.group(2), "rb").read()).digest()).decode()
    return f'{match.group(1)}{match.group(2)}{match.group(3)}{digest}"'
text = re.sub(r'(file: ")([^"]+)(",\s*\n\s*sha384: ")[^"]*"', replace, text)
open(path, "w").write(text)
PY
    echo "updated Sources/HTTP/ScriptInventory.swift"
fi
