#!/usr/bin/env bash
# Latency benchmark: append to receiver, 1,000 single-line appends (see latency.py),
# once with each order on its own SKU and once with all orders on one hot SKU.
# usage: [BIN=path] Benchmarks/latency.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${BIN:-}" ] || swift build -c release --product backorderd >/dev/null
bin=${BIN:-.build/release/backorderd}  # BIN=path compares another build
echo "machine:  $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
python3 Benchmarks/latency.py "$bin" "${1:-1000}"
python3 Benchmarks/latency.py "$bin" "${1:-1000}" --hot
