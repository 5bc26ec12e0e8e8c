#!/usr/bin/env python3
"""Generates a mixed change file for the ingest benchmark.

About 60 % stock, 20 % backorder, 10 % restock and 10 % order records over
10,000 SKUs x 20 locations, deterministic for a given seed.

usage: gen_records.py COUNT OUT.jsonl [SEED]
"""
import random
import sys


def main() -> None:
    count = int(sys.argv[1])
    out = sys.argv[2]
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 42)
    skus, locations = 10_000, 20
    orders = []
    with open(out, "w", encoding="utf-8") as f:
        for i in range(count):
            r = rnd.random()
            sku = f"SKU-{rnd.randrange(skus):05d}"
            loc = f"store-{rnd.randrange(locations):02d}"
            if r < 0.60:
                if rnd.random() < 0.5:
                    f.write(f'{{"type":"stock","sku":"{sku}","location":"{loc}","on_hand":{rnd.randrange(0, 40)}}}\n')
                else:
                    f.write(f'{{"type":"stock","sku":"{sku}","location":"{loc}","delta":{rnd.randrange(-5, 10)}}}\n')
            elif r < 0.80:
                order = f"O-{i:07d}"
                orders.append(order)
                day = 1 + rnd.randrange(28)
                f.write(
                    f'{{"type":"backorder","order":"{order}","line":"1","sku":"{sku}","location":"{loc}",'
                    f'"qty":{1 + rnd.randrange(3)},"ordered_at":"2026-11-{day:02d}T10:00:00Z",'
                    f'"promised_at":"2026-12-{day:02d}","customer":{{"id":"C-{i}","name":"Customer {i}",'
                    f'"email":"c{i}@example.com","phone":"+1555{i:07d}","locale":"en"}}}}\n'
                )
            elif r < 0.90:
                f.write(
                    f'{{"type":"restock","po":"PO-{i}","sku":"{sku}","location":"{loc}",'
                    f'"quantity":{5 + rnd.randrange(50)},"expected_at":"2026-12-{1 + rnd.randrange(28):02d}T00:00:00Z"}}\n'
                )
            else:
                if orders:
                    order = orders[rnd.randrange(len(orders))]
                else:
                    order = "O-missing"
                status = "fulfilled" if rnd.random() < 0.7 else "cancelled"
                f.write(f'{{"type":"order","order":"{order}","status":"{status}"}}\n')


if __name__ == "__main__":
    main()
