#!/usr/bin/env bash
# The demo: builds backorderd, runs it on config/demo.toml with a fresh .demo/ folder,
# and feeds the sample change files in config/samples/ into its inbox a few seconds
# apart. Watch the log lines, and the status page at http://127.0.0.1:8098/; Ctrl-C
# stops it (SIGINT is a graceful stop).
# DEMO_CONFIG=FILE runs another configuration (scripts/screenshots.sh uses one);
# SCREENSHOTS=DIR saves PNGs of the status page there once the samples are in.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 >/dev/null; }
swift build --product backorderd
bin=.build/debug/backorderd
rm -rf .demo && mkdir -p .demo/inbox
config=${DEMO_CONFIG:-config/demo.toml}
chmod 600 "$config" 2>/dev/null || true
"$bin" check --config "$config"
"$bin" receive --listen 127.0.0.1:8099 --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw &
rpid=$!
"$bin" run --config "$config" &
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
echo "--- state after the samples (backorderd status, and one order's story):" >&2
"$bin" status --config "$config" >&2
"$bin" order --config "$config" O-1001 >&2
echo "--- rejected lines: .demo/state/rejected.jsonl" >&2
cat .demo/state/rejected.jsonl >&2
if [ -n "${SCREENSHOTS:-}" ]; then
  mkdir -p "$SCREENSHOTS"
  shot() {  # shot FILE WIDTH HEIGHT PATH
    chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars --user-data-dir="$(mktemp -d)" \
      --window-size="$2,$3" --screenshot="$SCREENSHOTS/$1" "http://127.0.0.1:8098$4" 2>/dev/null
  }
  shot status-overview.png 1200 1000 /
  shot status-order.png 1200 700 /orders/O-1001
  shot status-dead-letters.png 1200 600 /dead-letters
  shot status-order-phone.png 390 1100 /orders/O-1001
  echo "--- screenshots in $SCREENSHOTS" >&2
fi
if [ -t 0 ] && [ -z "${CI:-}" ]; then
  echo "--- the daemon keeps running; drop more files into .demo/inbox, see http://127.0.0.1:8098/, Ctrl-C to stop" >&2
  wait $pid
fi
