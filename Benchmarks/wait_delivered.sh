# Sourced by delivery.sh and redeliver.sh.
# wait_delivered DB — returns once no message of the outbox in DB is pending or in
# flight. Polled from one long-lived sqlite3 (a process per poll, 20 times a second,
# took CPU from the daemon), one row or none per state, each through its index.
wait_delivered() {
  coproc POLL { sqlite3 "$1" 2>/dev/null; }
  local left
  while :; do
    echo "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE state = 'pending' LIMIT 1))
                 + (SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE state = 'in_flight' LIMIT 1));" >&"${POLL[1]}"
    read -r left <&"${POLL[0]}" || left=1
    [ "$left" = "0" ] && break
    sleep 0.05
  done
  kill "$POLL_PID" 2>/dev/null || true
}
