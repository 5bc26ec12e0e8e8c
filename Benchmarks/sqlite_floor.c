/* The SQLite floor in C: for N stock records over 10,000 SKUs x 20 locations, one
 * SELECT and one UPSERT per record on a (sku, location)-keyed table (WITHOUT ROWID, no
 * other index), 10,000 records per transaction, WAL, synchronous=NORMAL. Nothing else:
 * no parsing, no decisions, no outbox. The ceiling for durable per-record state in
 * SQLite on this machine.
 *
 * build: cc -O2 -o sqlite_floor Benchmarks/sqlite_floor.c -lsqlite3   (libsqlite3-dev)
 * usage: sqlite_floor [N] [DB]   (default 1,000,000 records, /tmp/sqlite_floor.db)
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    const char *path = argc > 2 ? argv[2] : "/tmp/sqlite_floor.db";
    char side[4096];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path); unlink(side);
    snprintf(side, sizeof side, "%s-shm", path); unlink(side);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) { fprintf(stderr, "cannot open %s\n", path); return 1; }
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE position (sku TEXT NOT NULL, location TEXT NOT NULL, on_hand INTEGER NOT NULL DEFAULT 0,"
                     " reserved INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL, PRIMARY KEY (sku, location)) WITHOUT ROWID;", 0, 0, 0);
    sqlite3_stmt *sel, *up;
    sqlite3_prepare_v2(db, "SELECT on_hand, reserved FROM position WHERE sku = ? AND location = ?", -1, &sel, 0);
    sqlite3_prepare_v2(db, "INSERT INTO position (sku, location, on_hand, updated_at) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (sku, location) DO UPDATE SET on_hand = excluded.on_hand, updated_at = excluded.updated_at", -1, &up, 0);
    srand(42);
    char sku[16], loc[16];
    double t0 = now();
    sqlite3_exec(db, "BEGIN", 0, 0, 0);
    for (long i = 0; i < n; i++) {
        int l1 = snprintf(sku, sizeof sku, "SKU-%05d", rand() % 10000);
        int l2 = snprintf(loc, sizeof loc, "store-%02d", rand() % 20);
        sqlite3_bind_text(sel, 1, sku, l1, SQLITE_STATIC); sqlite3_bind_text(sel, 2, loc, l2, SQLITE_STATIC);
        long onhand = 0;
        if (sqlite3_step(sel) == SQLITE_ROW) onhand = sqlite3_column_int64(sel, 0);
        sqlite3_reset(sel);
        sqlite3_bind_text(up, 1, sku, l1, SQLITE_STATIC); sqlite3_bind_text(up, 2, loc, l2, SQLITE_STATIC);
        sqlite3_bind_int64(up, 3, onhand + 1); sqlite3_bind_int64(up, 4, i);
        sqlite3_step(up); sqlite3_reset(up);
        if (i % 10000 == 9999) { sqlite3_exec(db, "COMMIT; BEGIN", 0, 0, 0); }
    }
    sqlite3_exec(db, "COMMIT", 0, 0, 0);
    double dt = now() - t0;
    printf("%.0f records/s (%ld in %.2f s)\n", n / dt, n, dt);
    return 0;
}
