#!/usr/bin/env bash
# Tokenization throughput: see benchmarks/http.sh.   benchmarks/tokenize.sh [SECONDS]
exec "$(dirname "$0")/http.sh" tokenize "$@"
