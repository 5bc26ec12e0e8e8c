#!/usr/bin/env bash
# The PostgreSQL backend beside SQLite, same run, same file: the release build catching
# up on COUNT mixed records on each (SQLite first, then PostgreSQL, then SQLite again);
# READY after a restart on each state; then `migrate --from-sqlite` of the SQLite state
# into an empty database, timed, and `status --json` compared on both.
# The server is a throwaway cluster on this machine (Debian's postgresql, default
# durability settings: fsync and synchronous_commit on), as the postgres user.
# usage: [BIN=path] Benchmarks/postgres.sh [COUNT]   (default 1,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000}
[ -n "${BIN:-}" ] || swift build -c release --product backorderd >/dev/null
bin=${BIN:-.build/release/backorderd}
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d)
chmod 755 "$work"
port=$(( 20000 + RANDOM % 10000 ))
cleanup() {
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/pg" && chown postgres "$work/pg" && touch "$work/pg.log" && chown postgres "$work/pg.log"
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -A trust -U postgres -E UTF8 --locale=C >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=''" start >/dev/null
db() { runuser -u postgres -- "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$1"; echo "postgresql://postgres@127.0.0.1:$port/$1?sslmode=disable"; }
mkdir -p "$work/inbox"
python3 Benchmarks/gen_records.py "$count" "$work/inbox/feed.jsonl"

# config NAME [STATE LINES]: a configuration with its own state directory.
config() {
  printf '[inbox]\ndirectory = "%s/inbox"\n[state]\ndirectory = "%s/state.%s"\n%s\n' "$work" "$work" "$1" "${2:-}" >"$work/$1.toml"
}
# ready NAME: runs the daemon on NAME's configuration until READY; prints its ms.
ready() {
  "$bin" run --config "$work/$1.toml" 2>"$work/log.$1" &
  local pid=$!
  for _ in $(seq 1 6000); do grep -q "event=ready" "$work/log.$1" && break; kill -0 $pid 2>/dev/null || { cat "$work/log.$1"; exit 1; }; sleep 0.1; done
  kill -TERM $pid; wait $pid || true
  grep "event=ready" "$work/log.$1" | sed -E 's/.* ms=([0-9]+).*/\1/'
}
config sqlite1
config postgres "backend = \"postgres\"
url = \"$(db ingest)\""
config sqlite2
declare -A rate restart
for name in sqlite1 postgres sqlite2; do
  ms=$(ready $name)
  rate[$name]=$(( count * 1000 / (ms > 0 ? ms : 1) ))
  echo "$name: $count records in $ms ms: ${rate[$name]} records/s"
  cp "$work/log.$name" "$work/log.$name.first"
  restart[$name]=$(ready $name)
  echo "$name: READY after a restart in ${restart[$name]} ms"
done
python3 -c "print(f'ratio: PostgreSQL {${rate[postgres]} / ${rate[sqlite1]}:.2f}x and {${rate[postgres]} / ${rate[sqlite2]}:.2f}x the SQLite backend')"

config migrated "backend = \"postgres\"
url = \"$(db migrated)\""
start=$(date +%s%N)
"$bin" migrate --from-sqlite "$work/state.sqlite1" --config "$work/migrated.toml" | sed 's/^/migrate: /'
echo "migrate: $(( ($(date +%s%N) - start) / 1000000 )) ms wall"
"$bin" status --json --config "$work/sqlite1.toml" >"$work/status.sqlite"
"$bin" status --json --config "$work/migrated.toml" >"$work/status.migrated"
if cmp -s "$work/status.sqlite" "$work/status.migrated"; then echo "status --json: identical after migrate"; else echo "status --json: DIFFERS"; diff "$work/status.sqlite" "$work/status.migrated" | head -20; fi
ms=$(ready migrated)
echo "migrated: READY on the copied state in $ms ms"
