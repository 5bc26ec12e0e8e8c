#!/usr/bin/env bash
# Re-delivers the messages of a kept delivery benchmark and shows where the CPU went:
# the rate, the machine's busy share, and CPU seconds and context switches
# (voluntary, involuntary) per thread of the daemon (curl, dispatch, …) and nginx.
# Make the directory once with `KEEP=1 Benchmarks/delivery.sh 50000` (it prints the
# path); its nginx is left running (after a reboot: `nginx -c DIR/nginx.conf -p DIR/nginx`).
# usage: Benchmarks/redeliver.sh DIR [BINARY]
set -euo pipefail
. "$(dirname "$0")/wait_delivered.sh"
w=$1; bin=${2:-.build/release/backorderd}
db=$w/state/backorderd.sqlite
# The first time, keep a snapshot of the queued state; start each run from it.
[ -f "$w/snap.sqlite" ] || { sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null; cp "$db" "$w/snap.sqlite"; }
rm -f "$db-wal" "$db-shm"; cp "$w/snap.sqlite" "$db"
sqlite3 "$db" "UPDATE outbox SET state='pending', attempts=0, next_attempt_at=0, last_error=NULL, delivered_at=NULL;
               PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
queued=$(sqlite3 "$db" "SELECT COUNT(*) FROM outbox")
ng=$(pgrep -f "nginx: worker" | head -1)
ng0=$(awk '{print $14+$15}' "/proc/$ng/stat"); cpu0=$(head -1 /proc/stat)
start=$(date +%s.%N)
"$bin" run --config "$w/b.toml" 2>"$w/deliver.log" &
pid=$!
wait_delivered "$db"
end=$(date +%s.%N)
cpu1=$(head -1 /proc/stat); ng1=$(awk '{print $14+$15}' "/proc/$ng/stat")
python3 -c "a='$cpu0'.split()[1:];b='$cpu1'.split()[1:];d=[int(y)-int(x) for x,y in zip(a,b)];t=sum(d);print(f'machine: busy {100*(t-d[3]-d[4])/t:.0f}% (user {100*d[0]/t:.0f}, system {100*d[2]/t:.0f}, softirq {100*d[6]/t:.0f}, steal {100*d[7]/t:.0f})')"
echo "nginx:   $(python3 -c "print(f'{($ng1 - $ng0) / 100:.2f} s cpu, {($ng1 - $ng0) * 10000 / $queued:.0f} µs a request')")"
for t in /proc/$pid/task/*; do
  [ -r "$t/stat" ] || continue
  awk -v n="$(cat "$t/comm")" -v q="$queued" '{printf "%-16s %5.2f s cpu, %3.0f µs a message, switches ", n, ($14+$15)/100, ($14+$15)*10000/q}' "$t/stat"
  grep ctxt "$t/status" | awk '{printf "%s ", $2}'; echo
done | sort -k2 -nr | head -4
kill -TERM $pid; wait $pid || true
python3 -c "d=$end-$start; print(f'daemon:  {$queued/d:.0f} messages/s ({$queued} in {d:.2f} s)')"
