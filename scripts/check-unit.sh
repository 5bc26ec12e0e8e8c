#!/usr/bin/env bash
# Checks systemd/backorderd.service: `systemd-analyze verify` (with the built binary in
# place of /usr/bin/backorderd) and a security exposure of 1.5 or lower.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null; then echo "check-unit: systemd-analyze not installed, skipping" >&2; exit 0; fi
bin=$(pwd)/.build/debug/backorderd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/bin/backorderd|$bin|g" systemd/backorderd.service > "$tmp/backorderd.service"
systemd-analyze verify "$tmp/backorderd.service"
score=$(systemd-analyze security --offline=true systemd/backorderd.service 2>/dev/null | grep 'Overall exposure level' | grep -oE '[0-9]+\.[0-9]+' | head -1)
echo "check-unit: verify passed; security exposure $score (limit 1.5)"
python3 -c "import sys; sys.exit(0 if float('$score') <= 1.5 else 1)"
