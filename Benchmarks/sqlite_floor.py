#!/usr/bin/env python3
"""The SQLite floor for stock records on this machine, without backorderd.

For each `stock` record of a change file: one point SELECT and one UPSERT on the
same WITHOUT ROWID table backorderd uses, in WAL mode, committed every 6,000
records. That is the least work per record that durable per-position state in
SQLite needs; the ingest benchmark cannot beat it by much.

usage: sqlite_floor.py FEED.jsonl
"""
import json
import os
import sqlite3
import sys
import tempfile
import time


def main() -> None:
    feed = sys.argv[1]
    stock = []
    with open(feed, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") == "stock":
                stock.append((r["sku"], r.get("location", "default"), r.get("on_hand", 0)))
    with tempfile.TemporaryDirectory() as d:
        c = sqlite3.connect(os.path.join(d, "floor.sqlite"), isolation_level=None)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
        c.execute(
            "CREATE TABLE position (sku TEXT NOT NULL, location TEXT NOT NULL, on_hand INTEGER NOT NULL DEFAULT 0,"
            " reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0), updated_at INTEGER NOT NULL,"
            " PRIMARY KEY (sku, location)) WITHOUT ROWID"
        )
        select = "SELECT on_hand, reserved, updated_at FROM position WHERE sku = ? AND location = ?"
        upsert = (
            "INSERT INTO position VALUES (?, ?, ?, 0, 1) ON CONFLICT (sku, location) DO UPDATE SET"
            " on_hand = excluded.on_hand, updated_at = excluded.updated_at"
        )
        t = time.perf_counter()
        for i in range(0, len(stock), 6000):
            c.execute("BEGIN")
            for sku, loc, on_hand in stock[i : i + 6000]:
                c.execute(select, (sku, loc)).fetchone()
                c.execute(upsert, (sku, loc, on_hand))
            c.execute("COMMIT")
        dt = time.perf_counter() - t
    print(f"{len(stock)} stock records: select+upsert in {dt:.2f} s = {len(stock) / dt:,.0f} records/s (Python's sqlite3)")


if __name__ == "__main__":
    main()
