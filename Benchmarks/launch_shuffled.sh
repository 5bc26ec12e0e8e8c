#!/usr/bin/env bash
# A launch the daemon itself ingests: N pre-orders on one SKU at one instant, ids "O0"…
# which do not sort as they arrive ("O9999" after "O10000"), then a stock count; with
# PO=1 a purchase order covering them all comes first (the slow shape: each line put in
# the middle re-projects the lines after it). Prints the time from the file's arrival to
# every line applied, read off `backorderd status`.
# usage: [PO=1] [BIN=path] Benchmarks/launch_shuffled.sh [N]   (default 100,000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
if [[ -z "${BIN:-}" ]]; then swift build -c release --product backorderd >/dev/null; fi
bin=${BIN:-$PWD/.build/release/backorderd}
work=$(mktemp -d)
mkdir -p "$work/inbox"
printf '[inbox]\ndirectory = "%s/inbox"\n[state]\ndirectory = "%s/state"\n' "$work" "$work" > "$work/c.toml"
"$bin" run --config "$work/c.toml" 2> "$work/log" &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
python3 - "$work/.x" "$n" "${PO:-0}" <<'PY'
import json, sys
path, n, po = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
with open(path, "w") as f:
    if po:
        f.write(json.dumps({"type": "restock", "po": "PO-1", "sku": "PHONE", "quantity": 10 * n, "expected_at": "2027-01-20"}) + "\n")
    for i in range(n):
        f.write(json.dumps({"type": "backorder", "order": f"O{i}", "line": "1", "sku": "PHONE", "qty": 1,
                            "ordered_at": "2026-11-01T00:00:00Z", "promised_at": "2027-01-10",
                            "customer": {"id": f"C{i}", "email": f"c{i}@example.com"}}) + "\n")
    f.write(json.dumps({"type": "stock", "sku": "PHONE", "on_hand": 2000}) + "\n")
PY
lines=$(( n + 1 + ${PO:-0} ))
sleep 1
start=$(date +%s%N)
mv "$work/.x" "$work/inbox/a.jsonl"
until "$bin" status --config "$work/c.toml" 2>/dev/null | grep -q "a.jsonl: $lines lines"; do sleep 0.1; done
end=$(date +%s%N)
echo "launch (ids that do not sort, one instant$([[ "${PO:-0}" == 1 ]] && echo ', behind a purchase order')): $n pre-orders applied in $(( (end - start) / 1000000 )) ms"
