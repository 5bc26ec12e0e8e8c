#!/usr/bin/env bash
# Checks systemd/backorderd.service: `systemd-analyze verify` (with the built binary in
# place of /usr/bin/backorderd), and its security exposure: at most 1.1 as shipped,
# at most 1.0 with the IP allow-list drop-in of systemd/examples/ip-allow.conf (the
# receivers' addresses are the admin's to fill in, so the shipped unit cannot carry one).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null; then echo "check-unit: systemd-analyze not installed, skipping" >&2; exit 0; fi
bin=$(pwd)/.build/debug/backorderd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/bin/backorderd|$bin|g" systemd/backorderd.service > "$tmp/backorderd.service"
systemd-analyze verify "$tmp/backorderd.service"
exposure() { systemd-analyze security --offline=true "$1" 2>/dev/null | grep 'Overall exposure level' | grep -oE '[0-9]+\.[0-9]+' | head -1; }
shipped=$(exposure systemd/backorderd.service)
mkdir -p "$tmp/with-dropin"
{ cat systemd/backorderd.service; grep -v '^\[Service\]' systemd/examples/ip-allow.conf | sed -n '/^[A-Z]/p' | sed '1i [Service]'; } > "$tmp/with-dropin/backorderd.service"
allowed=$(exposure "$tmp/with-dropin/backorderd.service")
echo "check-unit: verify passed; security exposure $shipped as shipped (limit 1.1), $allowed with the IP allow-list drop-in (limit 1.0)"
python3 -c "import sys; sys.exit(0 if float('$shipped') <= 1.1 and float('$allowed') <= 1.0 else 1)"
