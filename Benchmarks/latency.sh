#!/usr/bin/env bash
# Latency benchmark: append to receiver, 1,000 single-line appends (see latency.py),
# once with each order on its own SKU and once with all orders on one hot SKU.
# usage: Benchmarks/latency.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product backorderd >/dev/null
echo "machine:  $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
python3 Benchmarks/latency.py .build/release/backorderd "${1:-1000}"
python3 Benchmarks/latency.py .build/release/backorderd "${1:-1000}" --hot
