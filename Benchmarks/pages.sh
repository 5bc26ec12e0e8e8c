#!/usr/bin/env bash
# Status page benchmark: on a state with about 200,000 order lines and over 100,000
# outbox rows (the 1,000,000-record ingest file, every message pending for an endpoint
# that is down), times each page, then measures ingest and delivery with and without a
# browser reloading the overview and an order page ten times a second (runs alternate:
# quiet, loaded, quiet, loaded).
# usage: Benchmarks/pages.sh [COUNT]   (default 1,000,000 records)
set -euo pipefail
. "$(dirname "$0")/nginx.sh"
cd "$(dirname "$0")/.."
count=${1:-1000000}
for pkg in nginx-light sqlite3 curl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="${need:-} $pkg"
done
if [ -n "${need:-}" ]; then apt-get update -qq && apt-get install -y -qq $need >/dev/null; fi
swift build -c release --product backorderd >/dev/null
bin=.build/release/backorderd
work=$(mktemp -d)
http=$((20000 + RANDOM % 20000)); hook=$((http + 1))
cleanup() { [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/inbox" "$work/more"
python3 Benchmarks/gen_records.py "$count" "$work/inbox/feed.jsonl"
python3 Benchmarks/gen_records.py $((count / 5)) "$work/more/more.jsonl" 7
config() {  # config STATE_DIR HOOK_URL
  cat > "$work/b.toml" <<TOML
[inbox]
directory = "$work/inbox"
[state]
directory = "$1"
[delivery]
initial_backoff = "1h"
max_backoff = "1h"
concurrency = 64
[http]
listen = "127.0.0.1:$http"
[[endpoints]]
name = "email"
url = "$2"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["backorder.ready", "backorder.partially_ready", "backorder.delayed", "backorder.overdue", "backorder.long_wait", "stock.low", "stock.out", "stock.oversold"]
max_in_flight = 64
TOML
  chmod 600 "$work/b.toml"
}
start_daemon() {  # start_daemon LOG; leaves $pid
  "$bin" run --config "$work/b.toml" 2>"$1" &
  pid=$!
  until grep -q "event=ready" "$1"; do kill -0 $pid 2>/dev/null || { cat "$1"; exit 1; }; sleep 0.05; done
}
stop_daemon() { kill -TERM $pid; wait $pid || true; }

# 1. The state: the whole file, every message left pending (the receiver is down).
config "$work/state" "http://127.0.0.1:1/hook"
start_daemon "$work/build.log"; stop_daemon
db="$work/state/backorderd.sqlite"
sqlite3 "$db" "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = 0, last_error = NULL"
lines=$(sqlite3 "$db" "SELECT COUNT(*) FROM order_line")
outbox=$(sqlite3 "$db" "SELECT COUNT(*) FROM outbox")
order=$(sqlite3 "$db" "SELECT order_id FROM order_line WHERE status = 'waiting' LIMIT 1")
customer=$(sqlite3 "$db" "SELECT customer_id FROM order_line WHERE order_id = '$order' LIMIT 1")
webhook=$(sqlite3 "$db" "SELECT webhook_id FROM outbox ORDER BY id DESC LIMIT 1")
sqlite3 "$db" "UPDATE outbox SET state = 'dead' WHERE id % 50 = 0"
cp -a "$work/state" "$work/pristine"

# 2. Each page, 20 times, on a daemon that is idle but for the page; with the receiver
#    still down, nothing is delivered (the messages wait an hour after a failure).
start_daemon "$work/pages.log"
echo "machine:   $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
echo "state:     $lines order lines, $outbox outbox rows (every 50th dead)"
for path in "/" "/orders/$order" "/orders?q=$customer" "/orders?q=$webhook" "/dead-letters" "/dead-letters?endpoint=email&type=backorder.ready" "/metrics"; do
  for i in $(seq 20); do curl -s -o /dev/null -w "%{time_total}\n" "http://127.0.0.1:$http$path"; done | sort -n |
    awk -v p="$path" '{ t[NR] = $1 * 1000 } END { printf "page:      %-52s median %6.1f ms, max %6.1f ms\n", p, t[int((NR + 1) / 2)], t[NR] }'
done
stop_daemon

# A browser on the page: the overview and the order, alternately, ten times a second.
reload() {
  while :; do
    curl -s -o /dev/null "http://127.0.0.1:$http/" 2>/dev/null || true; sleep 0.1
    curl -s -o /dev/null "http://127.0.0.1:$http/orders/$order" 2>/dev/null || true; sleep 0.1
  done
}

# 3. Ingest: a restart with 20 % more records to read, quiet and under reloads.
ingest() {  # ingest quiet|loaded
  rm -rf "$work/state"; cp -a "$work/pristine" "$work/state"
  cp "$work/more/more.jsonl" "$work/inbox/more-$RANDOM.jsonl"
  config "$work/state" "http://127.0.0.1:1/hook"
  local rpid=""
  if [ "$1" = loaded ]; then reload & rpid=$!; fi
  start_daemon "$work/ingest.log"
  [ -n "$rpid" ] && kill $rpid
  stop_daemon
  rm -f "$work"/inbox/more-*.jsonl
  local line; line=$(grep "event=ready" "$work/ingest.log")
  echo "$1 $(sed -E 's/.* ms=([0-9]+).*/\1/' <<<"$line") $(sed -E 's/.* records=([0-9]+).*/\1/' <<<"$line")"
}
for mode in quiet loaded quiet loaded; do
  read -r m ms records < <(ingest $mode)
  echo "ingest:    $m  $records records in $ms ms to READY (state load included): $((records * 1000 / (ms > 0 ? ms : 1))) records/s"
done

# 4. Delivery: every pending message to nginx answering 204, quiet and under reloads.
start_nginx "$work" $hook
for mode in quiet loaded quiet loaded; do
  rm -rf "$work/state"; cp -a "$work/pristine" "$work/state"
  config "$work/state" "http://127.0.0.1:$hook/hook"
  pending=$(sqlite3 "$work/state/backorderd.sqlite" "SELECT COUNT(*) FROM outbox WHERE state = 'pending'")
  rpid=""
  [ "$mode" = loaded ] && { reload & rpid=$!; }
  begin=$(date +%s.%N)
  "$bin" run --config "$work/b.toml" 2>"$work/deliver.log" &
  pid=$!
  until [ "$(sqlite3 "$work/state/backorderd.sqlite" "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending') OR EXISTS (SELECT 1 FROM outbox WHERE state = 'in_flight')" 2>/dev/null)" = 0 ]; do
    sleep 0.1
  done
  end=$(date +%s.%N)
  [ -n "$rpid" ] && kill $rpid
  stop_daemon
  echo "delivery:  $mode  $pending messages: $(python3 -c "print(round($pending / ($end - $begin)))") messages/s"
done
