#!/usr/bin/env bash
# Regenerates the status page's screenshots in docs/images/: runs the demo
# (scripts/demo.sh) with one more endpoint, an SMS gateway that is down (nothing
# listens on its port; its messages wait and then give up), and has headless chromium
# save the overview, an order, the dead letters and an order on a phone-sized screen.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
config=config/screenshots.toml  # beside demo.toml, so its relative paths hold; not kept
trap 'rm -f "$config"' EXIT
sed -e 's#^initial_backoff = "1s"#initial_backoff = "1s"\nmax_backoff = "2s"\nmax_attempts = 3#' config/demo.toml > "$config"
cat >> "$config" <<'TOML'

[[endpoints]]
name = "sms"
url = "http://127.0.0.1:8097/hooks/sms"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
events = ["backorder.ready", "backorder.delayed"]
TOML
DEMO_CONFIG="$config" SCREENSHOTS=docs/images CI=1 bash scripts/demo.sh </dev/null
