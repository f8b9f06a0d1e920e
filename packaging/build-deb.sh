#!/usr/bin/env bash
# build-deb.sh: build debtorrent_<version>_<arch>.deb with dpkg-deb, from
# this checkout. Nothing is fetched but Go modules.
#
#   packaging/build-deb.sh [OUTDIR]        (default OUTDIR: ./dist)
#
# Version: packaging/VERSION, or the tag when HEAD is tagged (v1.2.3 ->
# 1.2.3), with "+git<date>.<commit>" added for untagged commits.
# Architecture: dpkg's (DEB_ARCH overrides: amd64, arm64, i386, armhf...).
# Maintainer: $DEBFULLNAME <$DEBEMAIL>, else the default below.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/.." && pwd)"
out="$(mkdir -p "${1:-$top/dist}" && cd "${1:-$top/dist}" && pwd)"

# Version.
if tag=$(git -C "$top" describe --tags --exact-match 2>/dev/null); then
  version="${tag#v}"
else
  base="$(tr -d ' \n' <"$here/VERSION")"
  when="$(git -C "$top" log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null || date -u +%Y%m%d)"
  commit="$(git -C "$top" rev-parse --short=10 HEAD 2>/dev/null || echo unknown)"
  version="$base+git$when.$commit"
fi
[[ "$version" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || { echo "build-deb: bad Debian version '$version'" >&2; exit 1; }

# Architecture, and Go's name for it.
arch="${DEB_ARCH:-$(dpkg --print-architecture)}"
goarm=""
case "$arch" in
  amd64 | arm64 | ppc64el | s390x | riscv64 | mips64el) goarch="${arch/ppc64el/ppc64le}"; goarch="${goarch/mips64el/mips64le}" ;;
  i386) goarch=386 ;;
  armhf) goarch=arm goarm=7 ;;
  armel) goarch=arm goarm=5 ;;
  *) echo "build-deb: no Go architecture for Debian's $arch" >&2; exit 1 ;;
esac
maintainer="${DEBFULLNAME:-The debtorrent authors} <${DEBEMAIL:-debtorrent-authors@users.noreply.github.com}>"

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
pkg="$root/pkg"
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/lib/apt/methods" "$pkg/usr/lib/debtorrent" \
  "$pkg/lib/systemd/system" "$pkg/etc/default" "$pkg/etc/apt/apt.conf.d" \
  "$pkg/usr/share/doc/debtorrent" "$pkg/usr/share/man/man1" "$pkg/usr/share/lintian/overrides"

# Binaries: static, stripped, reproducible paths; one go build for all four
# (it shares the work and runs in parallel).
(cd "$top" && CGO_ENABLED=0 GOOS=linux GOARCH="$goarch" GOARM="$goarm" \
  go build -trimpath -buildvcs=false -ldflags="-s -w -buildid=" -o "$root/bin/" \
  ./examples/proxy ./examples/torrent ./examples/tracker ./examples/apt-method)
install -m 755 "$root/bin/proxy" "$pkg/usr/bin/debtorrent"
install -m 755 "$root/bin/torrent" "$pkg/usr/bin/debtorrent-torrent"
install -m 755 "$root/bin/tracker" "$pkg/usr/bin/debtorrent-tracker"
install -m 755 "$root/bin/apt-method" "$pkg/usr/lib/apt/methods/debtorrent"

install -m 644 "$here/files/debtorrent.service" "$pkg/lib/systemd/system/debtorrent.service"
install -m 644 "$here/files/default" "$pkg/etc/default/debtorrent"
install -m 644 "$here/files/30debtorrent-proxy" "$pkg/etc/apt/apt.conf.d/30debtorrent-proxy"
install -m 755 "$here/files/apt-proxy-detect" "$pkg/usr/lib/debtorrent/apt-proxy-detect"
for m in "$here"/man/*.1; do
  gzip -9n <"$m" >"$pkg/usr/share/man/man1/$(basename "$m").gz"
done
install -m 644 "$here/files/lintian-overrides" "$pkg/usr/share/lintian/overrides/debtorrent"
install -m 644 "$here/debian/copyright" "$pkg/usr/share/doc/debtorrent/copyright"
{
  printf 'debtorrent (%s) unstable; urgency=medium\n\n' "$version"
  printf '  * Built by packaging/build-deb.sh from commit\n    %s.\n\n' "$(git -C "$top" rev-parse HEAD 2>/dev/null || echo unknown)"
  printf ' -- %s  %s\n' "$maintainer" "$(date -R -d "@$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)")"
} | gzip -9n >"$pkg/usr/share/doc/debtorrent/changelog.gz" # a native package

# Control area.
for f in postinst prerm postrm; do install -m 755 "$here/debian/$f" "$pkg/DEBIAN/$f"; done
install -m 644 "$here/debian/conffiles" "$pkg/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s|@MAINTAINER@|$maintainer|" \
  "$here/debian/control.in" >"$pkg/DEBIAN/control"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 644 "$pkg/DEBIAN/md5sums"

deb="$out/debtorrent_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
