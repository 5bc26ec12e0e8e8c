#!/usr/bin/env bash
# The demo: builds backorderd, runs it on config/demo.toml with a fresh .demo/ folder,
# and feeds the sample change files in config/samples/ into its inbox a few seconds
# apart. Watch the log lines; Ctrl-C stops it (SIGINT is a graceful stop).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
swift build --product backorderd
bin=.build/debug/backorderd
rm -rf .demo && mkdir -p .demo/inbox
"$bin" check --config config/demo.toml
"$bin" run --config config/demo.toml &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
sleep 1
for f in config/samples/*; do
  echo "--- dropping $(basename "$f") into the inbox" >&2
  cp "$f" ".demo/inbox/$(basename "$f").part" && mv ".demo/inbox/$(basename "$f").part" ".demo/inbox/$(basename "$f")"
  sleep 2
done
echo "--- state after the samples (sqlite3 .demo/state/backorderd.sqlite):" >&2
command -v sqlite3 >/dev/null && sqlite3 -header -column .demo/state/backorderd.sqlite \
  "SELECT sku, location, on_hand, reserved FROM position; SELECT order_id, line, sku, qty, status FROM order_line;" >&2 || true
echo "--- rejected lines: .demo/state/rejected.jsonl" >&2
cat .demo/state/rejected.jsonl >&2
if [ -t 0 ] && [ -z "${CI:-}" ]; then
  echo "--- the daemon keeps running; drop more files into .demo/inbox, Ctrl-C to stop" >&2
  wait $pid
fi
