#!/usr/bin/env bash
# Start to READY with N one-line files in the inbox: the release build's first start
# (reads them all) and a restart on that state, timed to `event=ready`.
# usage: Benchmarks/many_files.sh [N]   (default 40,000)   BIN=path overrides the binary
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-40000}
if [ -z "${BIN:-}" ]; then swift build -c release --product backorderd >/dev/null; BIN=.build/release/backorderd; fi
w=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$w"' EXIT
mkdir -p "$w/inbox"
python3 - "$w/inbox" "$n" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(f"{d}/f{i:06d}.jsonl", "w") as f:
        f.write('{"type":"stock","sku":"S%d","on_hand":%d}\n' % (i % 100, i % 7))
PY
printf '[inbox]\ndirectory = "%s/inbox"\n[state]\ndirectory = "%s/state"\n' "$w" "$w" > "$w/c.toml"
ready() {  # log -> ms to event=ready
  local s e
  s=$(date +%s%N)
  "$BIN" run --config "$w/c.toml" > "$1" 2>&1 & pid=$!
  until grep -q "event=ready" "$1"; do sleep 0.05; done
  e=$(date +%s%N)
  kill -TERM "$pid"; wait "$pid" || true; pid=
  echo $(( (e - s) / 1000000 ))
}
first=$(ready "$w/log1")
again=$(ready "$w/log2")
echo "$n files: first start to READY $first ms, restart $again ms"
