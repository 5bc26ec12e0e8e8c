#!/usr/bin/env python3
"""The Python peer of the ingest benchmark: what a shop's developer would write in an
afternoon to do backorderd's core job on one change file.

State in dicts; every record applied in file order: stock counts and deltas, purchase
orders, backorder lines, fulfilment and cancellation; waiting lines served first come,
first served; a projected date from the open purchase orders; a "ready" or "delayed"
message (a JSON body) per changed line. Every 10,000 records the dirty rows, the new
messages and the file offset go to SQLite in one transaction (WAL, synchronous=NORMAL).

usage: python_peer.py FEED.jsonl STATE.sqlite   (prints records/s and peak RSS)
"""
import json
import resource
import sqlite3
import sys
import time

CHECKPOINT = 10_000


def main() -> None:
    feed, path = sys.argv[1], sys.argv[2]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript("""
        CREATE TABLE IF NOT EXISTS position (sku TEXT, location TEXT, on_hand INTEGER, reserved INTEGER,
            PRIMARY KEY (sku, location));
        CREATE TABLE IF NOT EXISTS line (order_id TEXT, line TEXT, sku TEXT, location TEXT, qty INTEGER,
            ordered_at TEXT, promised_at TEXT, estimate TEXT, status TEXT, customer TEXT, PRIMARY KEY (order_id, line));
        CREATE TABLE IF NOT EXISTS restock (po TEXT, sku TEXT, location TEXT, quantity INTEGER, expected_at TEXT,
            status TEXT, PRIMARY KEY (po, sku, location));
        CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, order_id TEXT, type TEXT, body TEXT);
        CREATE TABLE IF NOT EXISTS cursor (file TEXT PRIMARY KEY, offset INTEGER);
    """)
    positions = {}   # (sku, loc) -> [on_hand, reserved]
    lines = {}       # (order, line) -> dict
    waiting = {}     # (sku, loc) -> [line keys]
    orders = {}      # order -> [line keys]
    restocks = {}    # (po, sku, loc) -> dict
    by_position = {}  # (sku, loc) -> set of restock keys
    dirty_p, dirty_l, dirty_r, outbox = set(), set(), set(), []

    def settle(pos):
        p = positions.setdefault(pos, [0, 0])
        queue = waiting.get(pos, [])
        queue.sort(key=lambda k: (lines[k]["ordered_at"], k))
        still = []
        for k in queue:
            ln = lines[k]
            if ln["status"] != "waiting":
                continue
            if not still and p[0] - p[1] >= ln["qty"]:
                p[1] += ln["qty"]
                ln["status"] = "ready"
                dirty_l.add(k)
                outbox.append((k[0], "backorder.ready", json.dumps({"type": "backorder.ready", "order": k[0], "line": k[1]})))
            else:
                still.append(k)
        waiting[pos] = still
        dirty_p.add(pos)
        # projection: open purchase orders by date, in line order
        open_pos = sorted((restocks[r] for r in by_position.get(pos, ()) if restocks[r]["status"] == "open"),
                          key=lambda r: r["expected_at"])
        left = max(0, p[0] - p[1])
        i, supply = 0, (open_pos[0]["quantity"] if open_pos else 0)
        for k in still:
            ln = lines[k]
            need = ln["qty"] - min(left, ln["qty"])
            left = max(0, left - ln["qty"])
            date = None
            while need > 0 and i < len(open_pos):
                take = min(need, supply)
                need -= take
                supply -= take
                date = open_pos[i]["expected_at"]
                if supply == 0:
                    i += 1
                    supply = open_pos[i]["quantity"] if i < len(open_pos) else 0
            if need == 0 and date and date > ln["estimate"]:
                ln["estimate"] = date
                dirty_l.add(k)
                outbox.append((k[0], "backorder.delayed",
                               json.dumps({"type": "backorder.delayed", "order": k[0], "line": k[1], "expected_at": date})))

    def checkpoint(offset):
        db.execute("BEGIN")
        db.executemany("INSERT OR REPLACE INTO position VALUES (?,?,?,?)",
                       [(s, l, *positions[(s, l)]) for (s, l) in dirty_p])
        db.executemany("INSERT OR REPLACE INTO line VALUES (?,?,?,?,?,?,?,?,?,?)",
                       [(o, n, x["sku"], x["loc"], x["qty"], x["ordered_at"], x["promised_at"], x["estimate"], x["status"],
                         x["customer"]) for (o, n), x in ((k, lines[k]) for k in dirty_l)])
        db.executemany("INSERT OR REPLACE INTO restock VALUES (?,?,?,?,?,?)",
                       [(*k, r["quantity"], r["expected_at"], r["status"]) for k, r in ((k, restocks[k]) for k in dirty_r)])
        db.executemany("INSERT INTO outbox (order_id, type, body) VALUES (?,?,?)", outbox)
        db.execute("INSERT OR REPLACE INTO cursor VALUES (?,?)", (feed, offset))
        db.execute("COMMIT")
        dirty_p.clear(); dirty_l.clear(); dirty_r.clear(); outbox.clear()

    start = time.monotonic()
    count = 0
    offset = 0
    with open(feed, "rb") as f:
        for raw in f:
            offset += len(raw)
            try:
                r = json.loads(raw)
            except ValueError:
                continue
            t = r.get("type")
            pos = (str(r.get("sku")), r.get("location", "default"))
            if t == "stock":
                p = positions.setdefault(pos, [0, 0])
                p[0] = r["on_hand"] if "on_hand" in r else p[0] + r["delta"]
                settle(pos)
            elif t == "restock":
                key = (str(r["po"]), *pos)
                restocks[key] = {"quantity": r["quantity"], "expected_at": r["expected_at"], "status": r.get("status", "open")}
                by_position.setdefault(pos, set()).add(key)
                dirty_r.add(key)
                settle(pos)
            elif t == "backorder":
                key = (str(r["order"]), str(r["line"]))
                if key not in lines:
                    lines[key] = {"sku": pos[0], "loc": pos[1], "qty": r["qty"], "ordered_at": r["ordered_at"],
                                  "promised_at": r["promised_at"], "estimate": r["promised_at"], "status": "waiting",
                                  "customer": json.dumps(r.get("customer"))}
                    waiting.setdefault(pos, []).append(key)
                    orders.setdefault(key[0], []).append(key)
                    dirty_l.add(key)
                    settle(pos)
            elif t == "order":
                for key in orders.get(str(r["order"]), []):
                    ln = lines[key]
                    if ln["status"] in ("waiting", "ready"):
                        lpos = (ln["sku"], ln["loc"])
                        if ln["status"] == "ready":
                            p = positions[lpos]
                            p[1] -= ln["qty"]
                            if r["status"] == "fulfilled":
                                p[0] -= ln["qty"]
                        ln["status"] = r["status"]
                        dirty_l.add(key)
                        settle(lpos)
            count += 1
            if count % CHECKPOINT == 0:
                checkpoint(offset)
    checkpoint(offset)
    elapsed = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"python peer: {count} records in {elapsed * 1000:.0f} ms, {count / elapsed:.0f} records/s, peak RSS {peak // 1024} MiB")


if __name__ == "__main__":
    main()
