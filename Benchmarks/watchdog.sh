#!/usr/bin/env bash
# The release daemon under a simulated systemd watchdog (WatchdogSec=30s, as the unit
# ships) for DURATION seconds while product launches arrive on one SKU:
#   1. 100,000 pre-orders at one instant whose ids do not sort as they arrive
#      ("O9999" before "O10000"), no stock and no purchase order;
#   2. a purchase order for all of them, and 10,000 more at the same instant, which
#      fall in the middle of the list behind it: the worst shape, each line re-projects
#      the lines after it (minutes of CPU, decided in slices of Engine.decideBudget);
#   3. every LAUNCH_EVERY seconds 10,000 more, later, and stock that readies 2,000;
# every message is delivered to a local receiver. Prints the largest gap between two
# WATCHDOG=1 pings (systemd kills at 30 s) and exits 1 when it reached 30 s or the
# daemon logged watchdog_withheld.
# usage: Benchmarks/watchdog.sh [DURATION] [LAUNCH_EVERY]   (default 1800 s, 120 s)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-1800}
every=${2:-120}
swift build -c release --product backorderd >/dev/null
bin=$PWD/.build/release/backorderd
work=$(mktemp -d)
mkdir -p "$work/inbox"
cleanup() { kill "$daemon" "$listener" "$receiver" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# The notify socket: records the time of every datagram with WATCHDOG=1.
python3 - "$work/notify" "$work/pings" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w", buffering=1) as out:
    while True:
        data = s.recv(65536).decode(errors="replace")
        if "WATCHDOG=1" in data:
            out.write(f"{time.monotonic():.3f}\n")
PY
listener=$!
# The receiver: 204 for everything, on as many threads as it needs.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$port" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
receiver=$!
cat > "$work/c.toml" <<TOML
[inbox]
directory = "$work/inbox"
[state]
directory = "$work/state"
[[endpoints]]
name = "email"
url = "http://127.0.0.1:$port/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["backorder.ready", "backorder.partially_ready"]
TOML
chmod 600 "$work/c.toml"
sleep 0.5
NOTIFY_SOCKET="$work/notify" WATCHDOG_USEC=30000000 "$bin" run --config "$work/c.toml" 2> "$work/log" &
daemon=$!

launch() {  # file number, first order, count, ordered_at, extra first line (JSON or ""), on_hand after ("" for none)
  python3 - "$work/inbox/.l$1" "$2" "$3" "$4" "$5" "$6" <<'PY'
import json, sys
path, first, n, at, extra, stock = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
with open(path, "w") as f:
    if extra:
        f.write(extra + "\n")
    for i in range(first, first + n):
        f.write(json.dumps({"type": "backorder", "order": f"O{i}", "line": "1", "sku": "PHONE", "qty": 1,
                            "ordered_at": at, "promised_at": "2027-03-10",
                            "customer": {"id": f"C{i}", "email": f"c{i}@example.com"}}) + "\n")
    if stock:
        f.write(json.dumps({"type": "stock", "sku": "PHONE", "on_hand": int(stock)}) + "\n")
PY
  mv "$work/inbox/.l$1" "$work/inbox/l$1.jsonl"
}
start=$(date +%s)
launch 0 0 100000 2026-11-01T00:00:00Z "" ""
sleep 5
launch 1 100000 10000 2026-11-01T00:00:00Z '{"type":"restock","po":"PO-1","sku":"PHONE","quantity":10000000,"expected_at":"2027-02-01"}' ""
k=2; next=110000; stock=0
while (( $(date +%s) - start < duration )); do
  kill -0 "$daemon" || { echo "the daemon exited"; tail -20 "$work/log"; exit 1; }
  sleep "$every"
  stock=$((stock + 2000))
  launch "$k" "$next" 10000 "2026-11-$(printf %02d $((k + 1)))T00:00:00Z" "" "$stock"
  k=$((k + 1)); next=$((next + 10000))
done
kill -TERM "$daemon"; wait "$daemon" || true
grep -o "event=[a-z_]*" "$work/log" | sort | uniq -c | sort -rn | head -8
python3 - "$work/pings" "$duration" "$next" "$(grep -c 'event=watchdog_withheld' "$work/log" || true)" "$(grep -c 'event=delivered' "$work/log" || true)" <<'PY'
import sys
t = [float(x) for x in open(sys.argv[1])]
gaps = [b - a for a, b in zip(t, t[1:])]
worst = max(gaps) if gaps else float("inf")
print(f"watchdog: {len(t)} pings in {sys.argv[2]} s, largest gap {worst:.1f} s (systemd kills at 30 s); "
      f"{sys.argv[3]} pre-orders on one SKU; watchdog_withheld: {sys.argv[4]}; delivered log lines: {sys.argv[5]}")
sys.exit(0 if worst < 30 and sys.argv[4] == "0" else 1)
PY
