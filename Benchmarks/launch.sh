#!/usr/bin/env bash
# A product launch: N and 4N pre-orders on one SKU behind one purchase order that covers
# them all, each `replay`ed by the release build in the same run. Prints both times and
# their ratio: linear decisions take about 4x (quadratic ones took 16x).
# usage: Benchmarks/launch.sh [N]   (default 25,000: 25,000 and 100,000 lines)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-25000}
swift build -c release --product backorderd >/dev/null
bin=.build/release/backorderd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gen() {  # count, file
  python3 - "$1" "$2" <<'PY'
import datetime, json, sys
n, path = int(sys.argv[1]), sys.argv[2]
t0 = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
with open(path, "w") as f:
    f.write(json.dumps({"type": "restock", "po": "PO-LAUNCH", "sku": "PHONE", "quantity": 1000000, "expected_at": "2027-01-20"}) + "\n")
    f.write(json.dumps({"type": "stock", "sku": "PHONE", "on_hand": 0}) + "\n")
    for i in range(n):
        t = (t0 + datetime.timedelta(seconds=i * 10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        f.write(json.dumps({"type": "backorder", "order": f"O{i}", "line": "1", "sku": "PHONE", "qty": 1, "ordered_at": t,
                            "promised_at": "2027-01-10", "customer": {"id": f"C{i}", "email": f"c{i}@example.com"}}) + "\n")
PY
}
printf '[inbox]\ndirectory = "%s/inbox"\n[state]\ndirectory = "%s/state"\n' "$work" "$work" > "$work/c.toml"
run() {  # count -> milliseconds
  gen "$1" "$work/launch-$1.jsonl"
  local start end
  start=$(date +%s%N)
  "$bin" replay --config "$work/c.toml" --now 2026-12-02T00:00:00Z --json "$work/launch-$1.jsonl" > "$work/out" 2>/dev/null
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}
a=$(run "$n")
b=$(run $((4 * n)))
echo "launch: $n pre-orders in $a ms, $((4 * n)) in $b ms ($(wc -l < "$work/out") messages: delays and long waits): ratio $(python3 -c "print(f'{$b / max($a, 1):.2f}')")x for 4x the lines"
