#!/usr/bin/env bash
# The demo: builds backorderd, runs it on config/demo.toml with a fresh .demo/ folder,
# and feeds the sample change files in config/samples/ into its inbox a few seconds
# apart. Watch the log lines; Ctrl-C stops it (SIGINT is a graceful stop).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 >/dev/null; }
swift build --product backorderd
bin=.build/debug/backorderd
rm -rf .demo && mkdir -p .demo/inbox
chmod 600 config/demo.toml 2>/dev/null || true
"$bin" check --config config/demo.toml
"$bin" receive --listen 127.0.0.1:8099 --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw &
rpid=$!
"$bin" run --config config/demo.toml &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null; kill $rpid 2>/dev/null' EXIT
sleep 1
# The samples' dates are relative to today: @DATE:+3@ is three days from now.
expand() {
  python3 - "$1" <<'PY'
import datetime, re, sys
now = datetime.datetime.now(datetime.timezone.utc)
text = open(sys.argv[1], encoding="utf-8").read()
text = re.sub(r"@DATE:([+-]\d+)@", lambda m: (now + datetime.timedelta(days=int(m.group(1)))).strftime("%Y-%m-%d"), text)
text = re.sub(r"@TIME:([+-]\d+)@", lambda m: (now + datetime.timedelta(days=int(m.group(1)))).strftime("%Y-%m-%dT%H:%M:%SZ"), text)
sys.stdout.write(text)
PY
}
for f in config/samples/*; do
  name=$(basename "$f")
  echo "--- dropping $name into the inbox" >&2
  expand "$f" > ".demo/inbox/$name.part" && mv ".demo/inbox/$name.part" ".demo/inbox/$name"
  sleep 3
done
echo "--- state after the samples (sqlite3 .demo/state/backorderd.sqlite):" >&2
command -v sqlite3 >/dev/null && sqlite3 -header -column .demo/state/backorderd.sqlite \
  "SELECT sku, location, on_hand, reserved FROM position; SELECT order_id, line, sku, qty, status FROM order_line; SELECT endpoint, type, order_key, state FROM outbox;" >&2 || true
echo "--- rejected lines: .demo/state/rejected.jsonl" >&2
cat .demo/state/rejected.jsonl >&2
if [ -t 0 ] && [ -z "${CI:-}" ]; then
  echo "--- the daemon keeps running; drop more files into .demo/inbox, Ctrl-C to stop" >&2
  wait $pid
fi
