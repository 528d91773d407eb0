#!/usr/bin/env bash
# Card payments per second (create + confirm, automatic capture): see benchmarks/http.sh.
#   benchmarks/payments.sh [SECONDS]
exec "$(dirname "$0")/http.sh" payments "$@"
