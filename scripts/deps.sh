#!/usr/bin/env bash
# Installs the system packages backorderd builds against, when any is missing;
# with --test, also what the tests use (chromium, for the status page's browser test;
# PostgreSQL's server, which the tests start as throwaway clusters of their own).
set -euo pipefail
packages=(libcurl4-openssl-dev libsqlite3-dev pkg-config)
[ "${1:-}" = "--test" ] && packages+=(chromium postgresql)
need=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi
