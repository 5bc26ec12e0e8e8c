#!/usr/bin/env python3
"""Latency benchmark: a record appended to a change file, to its webhook at a receiver.

Starts a receiver on loopback (in this process, so one clock times both ends), starts
the daemon (release build) on a fresh inbox with COUNT orders waiting for one SKU, then
appends COUNT stock lines one at a time; each makes the next order ready. Reports p50,
p90, p99 and max from the append's write() to the receiver's arrival.

With --hot, every order waits for the same SKU (the worst case: each append's
transaction loads the SKU's remaining waiting lines); by default each order waits for
its own SKU.

usage: latency.py BINARY [COUNT] [--hot]
"""
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

binary = sys.argv[1]
args = [a for a in sys.argv[2:] if not a.startswith("--")]
count = int(args[0]) if args else 1000
hot = "--hot" in sys.argv
sku = (lambda i: "HOT") if hot else (lambda i: f"SKU-{i:05d}")
arrived = {}
cond = threading.Condition()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        t = time.monotonic()
        order = json.loads(body)["data"]["order"]
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()
        with cond:
            arrived[order] = t
            cond.notify_all()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
port = server.server_address[1]
threading.Thread(target=server.serve_forever, daemon=True).start()

with tempfile.TemporaryDirectory() as work:
    inbox = os.path.join(work, "inbox")
    os.mkdir(inbox)
    cfg = os.path.join(work, "b.toml")
    with open(cfg, "w") as f:
        f.write(f"""[inbox]
directory = "{inbox}"
[state]
directory = "{work}/state"
[policy]
low_stock_threshold = 0
[[endpoints]]
name = "bench"
url = "http://127.0.0.1:{port}/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["backorder.ready"]
""")
    os.chmod(cfg, 0o600)
    with open(os.path.join(inbox, "orders.jsonl"), "w") as f:
        for i in range(count):
            f.write(json.dumps({"type": "backorder", "order": f"O-{i:05d}", "line": "1", "sku": sku(i), "qty": 1,
                                "ordered_at": f"2026-11-01T00:00:{i % 60:02d}Z".replace("T00:00", f"T{i // 3600:02d}:{i // 60 % 60:02d}"),
                                "promised_at": "2030-01-01", "customer": {"id": f"C{i}"}}) + "\n")
        for i in range(1 if hot else count):
            f.write(json.dumps({"type": "stock", "sku": sku(i), "on_hand": 0}) + "\n")
    log = open(os.path.join(work, "daemon.log"), "w")
    daemon = subprocess.Popen([binary, "run", "--config", cfg], stderr=log, stdout=log)
    try:
        deadline = time.time() + 120
        while "event=ready" not in open(os.path.join(work, "daemon.log")).read():
            if time.time() > deadline:
                sys.exit("daemon did not start")
            time.sleep(0.05)
        feed = os.path.join(inbox, "stock.jsonl")
        fd = os.open(feed, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        latencies = []
        for i in range(count):
            order = f"O-{i:05d}"
            line = (json.dumps({"type": "stock", "sku": sku(i), "delta": 1}) + "\n").encode()
            t0 = time.monotonic()
            os.write(fd, line)
            with cond:
                if not cond.wait_for(lambda: order in arrived, timeout=10):
                    sys.exit(f"{order} never arrived")
            latencies.append((arrived[order] - t0) * 1000)
        os.close(fd)
    finally:
        daemon.terminate()
        daemon.wait()
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
    print(f"appends:  {count}, one at a time, each making one order ready "
          f"({'all orders waiting for one SKU' if hot else 'each order waiting for its own SKU'})")
    print(f"latency:  p50 {q(0.50):.2f} ms, p90 {q(0.90):.2f} ms, p99 {q(0.99):.2f} ms, max {latencies[-1]:.2f} ms "
          f"(mean {statistics.mean(latencies):.2f} ms)")
