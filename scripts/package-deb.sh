#!/usr/bin/env bash
# Builds backorderd_VERSION_amd64.deb with dpkg-deb from a release build (the Swift
# runtime and Foundation linked in statically, so the package depends only on Debian's
# libraries). Usage: scripts/package-deb.sh [OUTPUT_DIR]   (default: .build/deb)
# Prints the path of the package it made.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.build/deb}
bash scripts/deps.sh
need=()
for pkg in dpkg-dev binutils; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi

# A build folder of its own: linking the runtime in statically is not part of what
# SwiftPM compares to decide a binary is up to date, so a shared folder could hand over
# a dynamically linked one.
static=(-c release --product backorderd --static-swift-stdlib --scratch-path .build-static)
swift build "${static[@]}" >&2
bin=$(swift build "${static[@]}" --show-bin-path)/backorderd
if ldd "$bin" | grep -q "libswiftCore"; then echo "package-deb: $bin links the Swift runtime dynamically" >&2; exit 1; fi
version=$("$bin" --version)
arch=$(dpkg --print-architecture)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
pkg="$root/pkg"

install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/backorderd" \
  "$pkg/usr/lib/sysusers.d" "$pkg/usr/lib/tmpfiles.d" "$pkg/usr/share/doc/backorderd/docs" \
  "$pkg/usr/share/doc/backorderd/examples" "$pkg/usr/share/man/man1" \
  "$pkg/usr/share/bash-completion/completions" "$pkg/usr/share/zsh/vendor-completions" \
  "$pkg/usr/share/fish/vendor_completions.d"

install -m 755 "$bin" "$pkg/usr/bin/backorderd"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/backorderd"
install -m 644 systemd/backorderd.service "$pkg/lib/systemd/system/backorderd.service"
install -m 644 config/backorderd.toml "$pkg/etc/backorderd/backorderd.toml"
install -m 644 systemd/examples/ip-allow.conf "$pkg/usr/share/doc/backorderd/examples/ip-allow.conf"
cat > "$pkg/usr/lib/sysusers.d/backorderd.conf" <<'EOF'
# The group whose members may drop change files into /var/spool/backorderd, and
# through which the daemon (SupplementaryGroups=backorderd-feed) reads them.
g backorderd-feed -
EOF
cat > "$pkg/usr/lib/tmpfiles.d/backorderd.conf" <<'EOF'
# The inbox: setgid, so files dropped there belong to backorderd-feed.
d /var/spool/backorderd 2770 root backorderd-feed -
EOF
chmod 644 "$pkg/usr/lib/sysusers.d/backorderd.conf" "$pkg/usr/lib/tmpfiles.d/backorderd.conf"

# Documentation: the README and docs/, in the same layout as the repository.
install -m 644 README.md "$pkg/usr/share/doc/backorderd/README.md"
install -m 644 docs/*.md "$pkg/usr/share/doc/backorderd/docs/"

cat > "$pkg/usr/share/doc/backorderd/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: backorderd
Source: the backorderd repository

Files: *
Copyright: 2026 the backorderd authors
License: proprietary
 All rights reserved. The statically linked Swift runtime and Foundation are
 Copyright Apple Inc. and the Swift project authors, Apache-2.0 with Runtime Library
 Exception; on Debian systems the Apache license is in
 /usr/share/common-licenses/Apache-2.0.
EOF
printf 'backorderd (%s) stable; urgency=medium\n\n  * Release %s.\n\n -- backorderd maintainers <ops@backorderd.invalid>  %s\n' \
  "$version" "$version" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")" \
  | gzip -9n > "$pkg/usr/share/doc/backorderd/changelog.gz"

# The man page and completions come from the command's own definition.
man_dir="$root/man"
mkdir -p "$man_dir"
# (The plugin runs the command's debug build for its help text: the same text, and
# already built by the tests.)
swift package --allow-writing-to-directory "$man_dir" generate-manual --configuration debug --output-directory "$man_dir" \
  --authors "the backorderd authors" --section 1 >&2 2>/dev/null || true
if [ -f "$man_dir/backorderd.1" ]; then
  for page in "$man_dir"/*.1; do gzip -9n -c "$page" > "$pkg/usr/share/man/man1/$(basename "$page").gz"; done
else
  echo "package-deb: the generate-manual plugin made no page" >&2
  exit 1
fi
"$bin" --generate-completion-script bash | sed '1{/^#!/d}' > "$pkg/usr/share/bash-completion/completions/backorderd"
"$bin" --generate-completion-script zsh > "$pkg/usr/share/zsh/vendor-completions/_backorderd"
"$bin" --generate-completion-script fish > "$pkg/usr/share/fish/vendor_completions.d/backorderd.fish"
chmod 644 "$pkg"/usr/share/*/completions/* "$pkg"/usr/share/zsh/vendor-completions/* "$pkg"/usr/share/fish/vendor_completions.d/* 2>/dev/null || true

# Depends: what the binary links against, as dpkg-shlibdeps finds it.
mkdir -p "$root/shlib/debian"
printf 'Source: backorderd\n\nPackage: backorderd\nArchitecture: any\n' > "$root/shlib/debian/control"
depends=$(cd "$root/shlib" && dpkg-shlibdeps -O "$pkg/usr/bin/backorderd" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "package-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<EOF
Package: backorderd
Version: $version
Architecture: $arch
Maintainer: backorderd maintainers <ops@backorderd.invalid>
Installed-Size: $size
Depends: $depends, procps, systemd (>= 249)
Section: net
Priority: optional
Homepage: https://backorderd.invalid/
Description: tells customers about their backorders, and staff about their stock
 backorderd watches the inventory change files a POS, ERP or web shop writes,
 tracks every backordered order line, and tells customers through webhook
 receivers (which send e-mail or SMS) when their items can ship, when an
 estimate slips or passes, and when the wait is long enough to offer a
 cancellation. It alerts staff when stock runs low, runs out, or is oversold.
EOF
echo "/etc/backorderd/backorderd.toml" > "$pkg/DEBIAN/conffiles"
cat > "$pkg/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# Creates the feed group and the spool, and tells systemd about the unit. Nothing is
# enabled or started: the administrator does that once the configuration is written.
set -e
if [ "$1" = "configure" ]; then
    if [ -d /run/systemd/system ] || command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers backorderd.conf
        systemd-tmpfiles --create backorderd.conf
    else
        getent group backorderd-feed >/dev/null || groupadd --system backorderd-feed
        install -d -m 2770 -g backorderd-feed /var/spool/backorderd
    fi
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
    fi
fi
exit 0
EOF
cat > "$pkg/DEBIAN/prerm" <<'EOF'
#!/bin/sh
# Stops the daemon before its files go away (on removal, not on upgrade).
set -e
if [ "$1" = "remove" ] && [ -d /run/systemd/system ]; then
    deb-systemd-invoke stop backorderd.service >/dev/null 2>&1 || systemctl stop backorderd.service >/dev/null 2>&1 || true
fi
exit 0
EOF
cat > "$pkg/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# On purge, removes the spool if nothing is left in it. The state under
# /var/lib/private/backorderd and the backorderd-feed group are kept, as Debian keeps data.
set -e
if [ "$1" = "purge" ]; then
    rmdir /var/spool/backorderd 2>/dev/null || true
    rmdir /etc/backorderd 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
exit 0
EOF
chmod 755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/prerm" "$pkg/DEBIAN/postrm"
chmod 644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/conffiles"
(cd "$pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$pkg/DEBIAN/md5sums"
chmod 644 "$pkg/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/backorderd_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
echo "$deb"
