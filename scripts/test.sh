#!/usr/bin/env bash
# The test command: installs what is missing (chromium too, for the browser test), builds everything (the tests spawn the
# real binary), runs every test, checks the systemd unit, fuzzes each parser and the
# decision core for a short while (FUZZ_SECONDS, default 20 each), and builds, installs
# and removes the Debian package in a throwaway root (as root; through sudo otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
swift build --build-tests
swift test --skip-build "$@"
bash scripts/check-unit.sh
bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/test-package.sh
else
  # Built as this user, installed as root: sudo's secure_path has no Swift, and what
  # root builds in the clone would stay root's.
  deb=$(bash scripts/package-deb.sh .build/deb | tail -1)
  sudo env "PATH=/usr/local/sbin:/usr/sbin:/sbin:$PATH" bash scripts/test-package.sh "$(realpath "$deb")"
fi
