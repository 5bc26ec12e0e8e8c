#!/usr/bin/env bash
# Burst benchmark: 50,000 waiting orders over 5,000 SKUs; one stock file makes them all
# ready at once. Times from dropping the file until all 50,000 messages are queued
# (outbox rows committed), with one endpoint subscribed to backorder.ready, and prints
# the rendering cost per message from the daemon's own checkpoint lines.
# usage: [BIN=path] Benchmarks/burst.sh [ORDERS] [SKUS]
set -euo pipefail
cd "$(dirname "$0")/.."
orders=${1:-50000}
skus=${2:-5000}
dpkg-query -W -f='${Status}' sqlite3 2>/dev/null | grep -q "install ok installed" || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
[ -n "${BIN:-}" ] || swift build -c release --product backorderd >/dev/null
bin=${BIN:-.build/release/backorderd}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap "kill \$pid 2>/dev/null; echo kept \$work" EXIT
mkdir -p "$work/inbox"
cat >"$work/bench.toml" <<TOML
[inbox]
directory = "$work/inbox"
[state]
directory = "$work/state"
[[endpoints]]
name = "email"
url = "http://127.0.0.1:9/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["backorder.ready"]
TOML
chmod 600 "$work/bench.toml"
python3 - "$orders" "$skus" "$work" <<'PY'
import sys
orders, skus, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(f"{work}/inbox/orders.jsonl", "w") as f:
    for i in range(orders):
        f.write(f'{{"type":"backorder","order":"O-{i:06d}","line":"1","sku":"SKU-{i % skus:05d}","location":"store","qty":1,'
                f'"ordered_at":"2026-11-20T10:00:00Z","promised_at":"2030-12-01","customer":{{"id":"C-{i}","name":"Customer {i}",'
                f'"email":"c{i}@example.com","locale":"en"}}}}\n')
per = -(-orders // skus)
with open(f"{work}/stock.jsonl", "w") as f:
    for s in range(skus):
        f.write(f'{{"type":"stock","sku":"SKU-{s:05d}","location":"store","on_hand":{per}}}\n')
PY
BACKORDERD_LOG_LEVEL=debug ${PERF:-} "$bin" run --config "$work/bench.toml" 2>"$work/log" &
pid=$!
until grep -q "event=ready" "$work/log"; do kill -0 $pid || { cat "$work/log"; exit 1; }; sleep 0.05; done
start=$(date +%s%N)
mv "$work/stock.jsonl" "$work/inbox/stock.jsonl"
db="$work/state/backorderd.sqlite"
until [ "$(sqlite3 "$db" "SELECT COUNT(*) FROM outbox WHERE type = 'backorder.ready'" 2>/dev/null || echo 0)" -ge "$orders" ]; do
  kill -0 $pid || { cat "$work/log"; exit 1; }
  sleep 0.02
done
end=$(date +%s%N)
# The checkpoint's own line follows its commit.
until grep -qE "event=checkpoint .*messages=[1-9]" "$work/log"; do sleep 0.05; done
ms=$(( (end - start) / 1000000 ))
render_us=$(grep "event=checkpoint" "$work/log" | sed -nE 's/.*render_us=([0-9]+).*/\1/p' | awk '{s += $1} END {print s + 0}')
echo "machine:   $(nproc) cores, $(uname -m)"
echo "burst:     $orders orders over $skus SKUs made ready by one file"
echo "queued:    all $orders messages committed $ms ms after the drop: $(( orders * 1000 / (ms > 0 ? ms : 1) )) messages/s"
echo "rendering: $(( render_us / orders )) µs a message ($(( render_us / 1000 )) ms in all)"
