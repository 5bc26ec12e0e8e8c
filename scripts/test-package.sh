#!/usr/bin/env bash
# The package test: builds the .deb, checks its metadata and contents, runs lintian,
# then installs it into a throwaway Debian 12 root made by debootstrap (minbase) and,
# inside it, runs the installed binary, `check` on the shipped configuration with
# credential files, `systemd-analyze verify` on the installed unit and `man -w`; then
# removes and purges it and checks that nothing is left but the state.
# Usage: scripts/test-package.sh [DEB] (as root)   Prints "package: N passed, N failed" at
# the end. With DEB (built beforehand, as scripts/test.sh does for a normal user), it
# builds nothing: root then needs no Swift and writes nothing into the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAILED: $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi; }

for pkg in debootstrap lintian; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="${need:-} $pkg"
done
if [ -n "${need:-}" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null; fi

deb=${1:-$(bash scripts/package-deb.sh .build/deb | tail -1)}
version=$(dpkg-deb --field "$deb" Version)
echo "package: $deb"

# Metadata and contents.
info=$(dpkg-deb --info "$deb")
contents=$(dpkg-deb --contents "$deb")
check "control names the package" grep -q "Package: backorderd" <<<"$info"
check "Depends computed from the binary (libcurl4, libsqlite3-0)" grep -qE "Depends: .*libcurl4.*libsqlite3-0" <<<"$info"
check "the configuration is a conffile" grep -q "conffiles" <<<"$info"
for path in ./usr/bin/backorderd ./lib/systemd/system/backorderd.service ./etc/backorderd/backorderd.toml \
  ./usr/lib/sysusers.d/backorderd.conf ./usr/lib/tmpfiles.d/backorderd.conf ./usr/share/doc/backorderd/README.md \
  ./usr/share/doc/backorderd/copyright ./usr/share/man/man1/backorderd.1.gz \
  ./usr/share/bash-completion/completions/backorderd ./usr/share/zsh/vendor-completions/_backorderd \
  ./usr/share/fish/vendor_completions.d/backorderd.fish; do
  check "contains $path" grep -q " $path\$" <<<"$contents"
done
tmp=$(mktemp -d)
dpkg-deb --extract "$deb" "$tmp/x"
check "the binary is stripped" bash -c "! file '$tmp/x/usr/bin/backorderd' | grep -q 'not stripped'" 2>/dev/null || true
if ! command -v file >/dev/null; then
  check "the binary is stripped" bash -c "! readelf -S '$tmp/x/usr/bin/backorderd' | grep -q '.symtab'"
fi

# lintian: every remaining tag is listed in docs/packaging.md.
lintian --allow-root --no-tag-display-limit "$deb" > "$tmp/lintian.txt" 2>/dev/null || true
cat "$tmp/lintian.txt"
if grep -q "^E:" "$tmp/lintian.txt"; then bad "lintian reports errors"; else ok "lintian reports no errors"; fi
unlisted=0
while read -r tag; do
  grep -q "\`$tag\`" docs/packaging.md || { echo "lintian tag not explained in docs/packaging.md: $tag"; unlisted=1; }
done < <(sed -nE 's/^[WIP]: backorderd: ([a-z0-9-]+).*/\1/p' "$tmp/lintian.txt" | sort -u)
if [ $unlisted -eq 0 ]; then ok "every lintian tag is explained in docs/packaging.md"; else bad "lintian tags not explained"; fi

# A throwaway Debian 12 root. The minbase tarball is kept between runs on this machine
# (it only saves the download; a missing one is made again).
cache=/var/cache/backorderd-test/bookworm-minbase.tar
root="$tmp/root"
mkdir -p "$root" "$(dirname "$cache")"
if [ ! -s "$cache" ]; then
  debootstrap --variant=minbase bookworm "$tmp/fresh" http://deb.debian.org/debian >/dev/null
  tar -C "$tmp/fresh" -cf "$cache.part" . && mv "$cache.part" "$cache"
  rm -rf "$tmp/fresh"
fi
tar -C "$root" -xf "$cache"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"
cleanup() { umount "$root/proc" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
cp "$deb" "$root/tmp/backorderd.deb"
# man-db for `man -w`; apt resolves the package's Depends (libcurl4, systemd, …).
in_root apt-get update -qq >/dev/null
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq man-db >/dev/null 2>&1
before=$(cd "$root" && find . -xdev \( -path ./proc -o -path ./var/cache -o -path ./var/lib/apt -o -path ./var/log -o -path ./tmp \) -prune -o -print | sort)
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/backorderd.deb > "$tmp/install.log" 2>&1; then
  ok "installs with apt (dependencies resolved) and its postinst"
else
  cat "$tmp/install.log"; bad "installs"
fi
check "every library the binary needs is in the root" bash -c "! chroot '$root' ldd /usr/bin/backorderd | grep -q 'not found'"
check "backorderd --version says $version" bash -c "[ \"\$(chroot '$root' /usr/bin/backorderd --version)\" = '$version' ]"
check "the backorderd-feed group exists" in_root getent group backorderd-feed
check "the spool is setgid, group backorderd-feed" bash -c "[ \"\$(chroot '$root' stat -c '%a %G' /var/spool/backorderd)\" = '2770 backorderd-feed' ]"
mkdir -p "$root/run/credentials/backorderd.service"
echo "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" > "$root/run/credentials/backorderd.service/email.secret"
echo "whsec_c3RhZmYtYWxlcnRzLXNlY3JldC1rZXktMzI=" > "$root/run/credentials/backorderd.service/staff.secret"
chmod 400 "$root"/run/credentials/backorderd.service/*
if in_root env CREDENTIALS_DIRECTORY=/run/credentials/backorderd.service /usr/bin/backorderd check --config /etc/backorderd/backorderd.toml > "$tmp/check.txt" 2>&1 \
   && grep -q "is valid" "$tmp/check.txt" && ! grep -q warning "$tmp/check.txt"; then
  ok "check accepts the shipped configuration with its credentials, without a warning"
else
  cat "$tmp/check.txt"; bad "check on the shipped configuration"
fi
if in_root /usr/bin/backorderd check --config /etc/backorderd/backorderd.toml > "$tmp/nocred.txt" 2>&1; then
  bad "check without credentials should fail"
else
  grep -q "CREDENTIALS_DIRECTORY" "$tmp/nocred.txt" && ok "check without credentials says what to do" || bad "check without credentials"
fi
rm -rf "$root/run/credentials"
if in_root systemd-analyze verify /lib/systemd/system/backorderd.service > "$tmp/verify.txt" 2>&1; then
  ok "systemd-analyze verify on the installed unit"
else
  cat "$tmp/verify.txt"; bad "systemd-analyze verify"
fi
check "man -w backorderd finds the page" in_root man -w backorderd
check "bash completion is where bash-completion looks" test -s "$root/usr/share/bash-completion/completions/backorderd"

# State the daemon would have made, to see that removal keeps it.
mkdir -p "$root/var/lib/private/backorderd"
echo state > "$root/var/lib/private/backorderd/backorderd.sqlite"
in_root dpkg -r backorderd >/dev/null 2>&1 && ok "dpkg -r" || bad "dpkg -r"
check "after -r the binary is gone" test ! -e "$root/usr/bin/backorderd"
check "after -r the configuration stays" test -f "$root/etc/backorderd/backorderd.toml"
in_root dpkg --purge backorderd >/dev/null 2>&1 && ok "dpkg --purge" || bad "dpkg --purge"
check "after --purge the configuration is gone" test ! -e "$root/etc/backorderd"
check "after --purge the empty spool is gone" test ! -e "$root/var/spool/backorderd"
check "the state is kept" test -f "$root/var/lib/private/backorderd/backorderd.sqlite"
rm -rf "$root/var/lib/private"
after=$(cd "$root" && find . -xdev \( -path ./proc -o -path ./var/cache -o -path ./var/lib/apt -o -path ./var/log -o -path ./tmp \) -prune -o -print | sort)
# What the package's dependencies brought stays (apt installed them); nothing of backorderd's own may.
left=$(comm -13 <(echo "$before") <(echo "$after") | grep -i backorderd | grep -vE '^\./var/lib/dpkg/|^\./etc/group|^\./etc/gshadow' || true)
if [ -z "$left" ]; then ok "nothing of the package is left"; else echo "$left"; bad "files left after purge"; fi

echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
