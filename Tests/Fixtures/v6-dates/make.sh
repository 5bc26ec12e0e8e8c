#!/usr/bin/env bash
# Makes Tests/Fixtures/v6-dates/backorderd.sqlite: a state written by the release before
# calendar dates (schema v6, commit 253a2a8), which stored a bare date as midnight UTC.
#   git worktree add /tmp/prev 253a2a8 && (cd /tmp/prev && swift build --product backorderd)
#   Tests/Fixtures/v6-dates/make.sh /tmp/prev/.build/debug/backorderd
# The upgrade test (BinaryTests.aStateFromTheReleaseBeforeDatesTellsTheRightDays) opens a
# copy with the current build.
set -euo pipefail
bin=${1:?usage: make.sh PATH-TO-THE-PREVIOUS-BACKORDERD}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/inbox"
cat > "$work/backorderd.toml" <<TOML
[inbox]
directory = "$work/inbox"
settle = "100ms"
[state]
directory = "$work/state"
TOML
"$bin" run --config "$work/backorderd.toml" > "$work/log" 2>&1 &
pid=$!
sleep 2
cp "$here/feed.jsonl" "$work/inbox/.feed.tmp"
mv "$work/inbox/.feed.tmp" "$work/inbox/feed.jsonl"
sleep 3
kill -TERM "$pid"; wait "$pid" || true
pid=
python3 - "$work/state/backorderd.sqlite" "$here/backorderd.sqlite" <<'PY'
import os, sqlite3, sys
src, dst = sys.argv[1:]
if os.path.exists(dst): os.remove(dst)
db = sqlite3.connect(src)
db.execute("VACUUM INTO ?", (dst,))
lines = db.execute("SELECT order_id, promised_at, estimate_at FROM order_line ORDER BY order_id").fetchall()
print("lines:", lines)
PY
