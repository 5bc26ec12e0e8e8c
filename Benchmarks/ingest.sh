#!/usr/bin/env bash
# Ingest benchmark: the release build catching up on a file of mixed records.
# usage: Benchmarks/ingest.sh [COUNT]   (default 1,000,000)
# Prints records/s (from the daemon's own `event=ready … ms=` line) and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
swift build -c release --product backorderd >/dev/null
bin=.build/release/backorderd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/inbox"
python3 Benchmarks/gen_records.py "$count" "$work/inbox/feed.jsonl"
cat >"$work/bench.toml" <<TOML
[inbox]
directory = "$work/inbox"
[state]
directory = "$work/state"
TOML
size=$(stat -c %s "$work/inbox/feed.jsonl")
${PERF:-} "$bin" run --config "$work/bench.toml" 2>"$work/log" &
pid=$!
until grep -q "event=ready" "$work/log"; do
  kill -0 $pid 2>/dev/null || { cat "$work/log"; exit 1; }
  sleep 0.05
done
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
kill -TERM $pid; wait $pid || true
line=$(grep "event=ready" "$work/log")
ms=$(sed -E 's/.* ms=([0-9]+).*/\1/' <<<"$line")
records=$(sed -E 's/.* records=([0-9]+).*/\1/' <<<"$line")
rejected=$(sed -E 's/.* rejected=([0-9]+).*/\1/' <<<"$line")
echo "machine:   $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
echo "input:     $count lines, $((size / 1048576)) MiB"
echo "applied:   $records records, $rejected rejected, in $ms ms"
echo "rate:      $(( records * 1000 / (ms > 0 ? ms : 1) )) records/s"
echo "peak RSS:  $((hwm / 1024)) MiB ($hwm kB)"
