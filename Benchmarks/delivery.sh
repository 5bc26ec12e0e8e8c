#!/usr/bin/env bash
# Delivery benchmark: 100,000 queued messages (~700-byte bodies) delivered by the daemon
# to nginx on loopback (answering 204), compared in the same run, against the same nginx,
# with a bare libcurl multi loop (Benchmarks/curl_loop.c: the ceiling for any libcurl
# sender) and with wrk (the server's ceiling).
# usage: Benchmarks/delivery.sh [MESSAGES] [CONCURRENCY]
set -euo pipefail
. "$(dirname "$0")/wait_delivered.sh"
. "$(dirname "$0")/nginx.sh"
cd "$(dirname "$0")/.."
n=${1:-100000}
conc=${2:-64}
for pkg in nginx-light wrk sqlite3 libcurl4-openssl-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="${need:-} $pkg"
done
if [ -n "${need:-}" ]; then apt-get update -qq && apt-get install -y -qq $need >/dev/null; fi
[ -n "${BIN:-}" ] || swift build -c release --product backorderd >/dev/null
bin=${BIN:-.build/release/backorderd}  # BIN=path compares another build
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
cleanup() { [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"; }
[ -n "${KEEP:-}" ] || trap cleanup EXIT
cc -O2 -o "$work/curl_loop" Benchmarks/curl_loop.c -lcurl

# 1. Queue the messages: ingest N orders that all become ready, with the endpoint's
#    receiver not yet listening (so they stay queued), then stop the daemon.
mkdir -p "$work/inbox"
python3 - "$n" "$work/inbox/orders.jsonl" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
with open(out, "w") as f:
    for i in range(n):
        f.write(f'{{"type":"backorder","order":"O-{i:07d}","line":"1","sku":"SKU-{i % 500:04d}","location":"store-01","qty":1,'
                f'"ordered_at":"2026-11-01T10:00:00Z","promised_at":"2030-12-01","customer":{{"id":"C-{i}","name":"Customer {i}",'
                f'"email":"c{i}@example.com","phone":"+1555{i:07d}","locale":"en"}}}}\n')
    for s in range(500):
        f.write(f'{{"type":"stock","sku":"SKU-{s:04d}","location":"store-01","on_hand":{n}}}\n')
PY
cat > "$work/b.toml" <<TOML
[inbox]
directory = "$work/inbox"
[state]
directory = "$work/state"
[policy]
low_stock_threshold = 0
[delivery]
concurrency = $conc
initial_backoff = "1h"
[[endpoints]]
name = "bench"
url = "http://127.0.0.1:$port/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["backorder.ready"]
max_in_flight = $conc
TOML
chmod 600 "$work/b.toml"
"$bin" run --config "$work/b.toml" 2>"$work/ingest.log" &
pid=$!
until grep -q "event=ready" "$work/ingest.log"; do sleep 0.2; done
kill -TERM $pid; wait $pid || true
sqlite3 "$work/state/backorderd.sqlite" "UPDATE outbox SET state='pending', attempts=0, next_attempt_at=0, last_error=NULL;"
queued=$(sqlite3 "$work/state/backorderd.sqlite" "SELECT COUNT(*) FROM outbox")
body=$(sqlite3 "$work/state/backorderd.sqlite" "SELECT AVG(LENGTH(body)) FROM outbox_body")

# 2. nginx answering 204 on loopback.
start_nginx "$work" $port

# 3. The daemon: time from start until every message is delivered.
start=$(date +%s.%N)
${PERF:-} env ${BENCH_ENV:-X=1} "$bin" run --config "$work/b.toml" 2>"$work/deliver.log" &
pid=$!
wait_delivered "$work/state/backorderd.sqlite"
end=$(date +%s.%N)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
kill -TERM $pid; wait $pid || true
daemon=$(python3 -c "print(round($queued / ($end - $start)))")

# 4. The bare libcurl loop and wrk, against the same nginx.
loop=$("$work/curl_loop" "http://127.0.0.1:$port/hook" "$n" "$conc")
python3 -c "print('wrk.method = \"POST\"\nwrk.body = \"{\\\\\"a\\\\\":\\\\\"' + 'x' * 692 + '\\\\\"}\"\nwrk.headers[\"Content-Type\"] = \"application/json\"')" > "$work/post.lua"
wrkrate=$(wrk -t1 -c"$conc" -d5s -s "$work/post.lua" "http://127.0.0.1:$port/hook" | awk '/Requests\/sec/ {printf "%.0f", $2}')

echo "machine:     $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
echo "messages:    $queued queued, average body $(printf %.0f "$body") bytes, concurrency $conc"
echo "daemon:      $daemon messages/s (signing, durable queue, logging), peak RSS $((hwm / 1024)) MiB"
echo "curl loop:   $loop POSTs/s (bare libcurl multi, one thread)"
echo "wrk:         $wrkrate requests/s (nginx ceiling)"
echo "ratios:      daemon/curl loop = $(python3 -c "print(f'{$daemon / $loop:.0%}')"), daemon/wrk = $(python3 -c "print(f'{$daemon / $wrkrate:.0%}')")"
[ -z "${KEEP:-}" ] || echo "kept:        $work (its nginx still runs; Benchmarks/redeliver.sh $work re-delivers)"
