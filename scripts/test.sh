#!/usr/bin/env bash
# The test command: installs what is missing, builds everything (the tests spawn the
# real binary), runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
swift build --build-tests
swift test --skip-build "$@"
bash scripts/check-unit.sh
