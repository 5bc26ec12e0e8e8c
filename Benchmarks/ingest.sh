#!/usr/bin/env bash
# Ingest benchmark: the release build catching up on a file of mixed records, and in the
# same run a Python peer (Benchmarks/python_peer.py: state in dicts, dirty rows and the
# offset to SQLite every 10,000 records) on the same file; then a restart of the daemon
# on the state it made, timed to READY.
# usage: [BIN=path] Benchmarks/ingest.sh [COUNT]   (default 1,000,000)
# Prints records/s of both and their ratio, the daemon's peak RssAnon (sampled every
# millisecond from /proc by Benchmarks/peak_anon.py) and VmHWM, and the time from a
# restart to `event=ready`.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
[ -n "${BIN:-}" ] || swift build -c release --product backorderd >/dev/null
bin=${BIN:-.build/release/backorderd}  # BIN=path compares another build
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

# Runs the daemon until it is ready; leaves its log in $work/log.$1, its peak RssAnon (kB) in $work/anon.$1.
run_daemon() {
  "$bin" run --config "$work/bench.toml" 2>"$work/log.$1" &
  local pid=$!
  read -r peak hwm < <(python3 Benchmarks/peak_anon.py $pid "$work/log.$1") || { cat "$work/log.$1"; exit 1; }
  echo "$peak" > "$work/anon.$1"
  echo "$hwm" > "$work/hwm.$1"
  kill -TERM $pid; wait $pid || true
}

run_daemon first
line=$(grep "event=ready" "$work/log.first")
ms=$(sed -E 's/.* ms=([0-9]+).*/\1/' <<<"$line")
records=$(sed -E 's/.* records=([0-9]+).*/\1/' <<<"$line")
rejected=$(sed -E 's/.* rejected=([0-9]+).*/\1/' <<<"$line")
rate=$(( records * 1000 / (ms > 0 ? ms : 1) ))

run_daemon restart
restart_ms=$(grep "event=ready" "$work/log.restart" | sed -E 's/.* ms=([0-9]+).*/\1/')

peer=$(python3 Benchmarks/python_peer.py "$work/inbox/feed.jsonl" "$work/peer.sqlite")
peer_rate=$(sed -E 's/.* ([0-9]+) records\/s.*/\1/' <<<"$peer")

echo "machine:   $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
echo "input:     $count lines, $((size / 1048576)) MiB"
echo "daemon:    $records records, $rejected rejected, in $ms ms: $rate records/s"
echo "memory:    peak RssAnon $(( $(cat "$work/anon.first") / 1024 )) MiB, VmHWM $(( $(cat "$work/hwm.first") / 1024 )) MiB"
echo "$peer"
python3 -c "print(f'ratio:     {$rate / $peer_rate:.2f}x the Python peer')"
echo "restart:   READY after $restart_ms ms on that state (RssAnon $(( $(cat "$work/anon.restart") / 1024 )) MiB)"
