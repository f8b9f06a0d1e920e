#!/usr/bin/env bash
# ci-check.sh: build the Debian package, inspect it, install it, verify its
# unit, run the installed proxy as an unprivileged user against a loopback
# mirror and fetch one .deb through it, then purge it and check nothing is
# left. Run as root on Debian (.ci/run does). Fails loudly on any error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/.." && pwd)"
work="$(mktemp -d)"
chmod 755 "$work" # the proxy runs as nobody below
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf -- '--- %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
fail() { echo "package check FAILED: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (it installs and purges the package)"

say "build"
deb="$(bash "$here/build-deb.sh" "$work/dist")"
[ -f "$deb" ] || fail "build-deb.sh made no package"
case "$(basename "$deb")" in debtorrent_*_"$(dpkg --print-architecture)".deb) ;; *) fail "unexpected name $(basename "$deb")" ;; esac
echo "$deb"

say "inspect"
dpkg-deb -I "$deb"
dpkg-deb -c "$deb" | tee "$work/contents"
for f in ./usr/bin/debtorrent ./usr/bin/debtorrent-torrent ./usr/bin/debtorrent-tracker ./usr/lib/apt/methods/debtorrent \
  ./usr/lib/debtorrent/apt-proxy-detect ./lib/systemd/system/debtorrent.service ./etc/default/debtorrent \
  ./etc/apt/apt.conf.d/30debtorrent-proxy ./usr/share/doc/debtorrent/copyright; do
  grep -q " $f\$" "$work/contents" || fail "the package lacks $f"
done
if command -v lintian >/dev/null; then
  # Errors fail the build; warnings are printed.
  rc=0
  lintian --fail-on error "$deb" >"$work/lintian" 2>&1 || rc=$?
  grep -v 'running with root privileges' "$work/lintian" || echo "lintian: no tags"
  [ "$rc" = 0 ] || fail "lintian reports errors (above), exit $rc"
else
  echo "lintian not installed: skipped"
fi

say "install"
dpkg -i "$deb"
dpkg -s debtorrent | grep -q '^Status: install ok installed' || fail "dpkg does not list debtorrent as installed"
grep -Ev '^\s*(//|$)' /etc/apt/apt.conf.d/30debtorrent-proxy && fail "the APT snippet is active as installed"
apt-config dump | grep -qi 'Acquire::http::Proxy' && fail "APT got a proxy setting from the package as installed"

say "systemd-analyze verify"
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze not installed (apt-get install systemd): skipped"
elif out=$(systemd-analyze verify /lib/systemd/system/debtorrent.service 2>&1); then
  [ -z "$out" ] || echo "$out"
  echo "unit verified"
else
  echo "$out"
  # Without systemd as PID 1 some containers cannot load units at all; only
  # that is tolerated, any complaint about the unit itself fails.
  if echo "$out" | grep -q 'debtorrent.service'; then fail "systemd-analyze rejects the unit"; fi
  echo "systemd-analyze cannot run here (no systemd manager in this container): skipped"
fi

say "run as nobody against a loopback mirror"
(cd "$top" && go build -o "$work/smoke" ./packaging/smoke)
mkdir -p "$work/mirror"
"$work/smoke" -dir "$work/mirror" -info "$work/mirror.env" &
pids+=($!)
for _ in $(seq 100); do [ -f "$work/mirror.env" ] && break; sleep 0.1; done
[ -f "$work/mirror.env" ] || fail "the test mirror did not start"
# shellcheck disable=SC1091
. "$work/mirror.env"
cache="$work/cache"
install -d -o nobody -g nogroup "$cache"
setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
  /usr/bin/debtorrent -listen 127.0.0.1:0 -peer-listen 127.0.0.1:0 -tracker-listen= -import= \
  -cache "$cache" -mirror "test=$MIRROR" >"$work/proxy.out" 2>"$work/proxy.err" &
pids+=($!)
proxy=""
for _ in $(seq 100); do
  proxy=$(sed -n 's/^debtorrent proxy listening on //p' "$work/proxy.out")
  [ -n "$proxy" ] && break
  kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/proxy.err" >&2; fail "the proxy exited"; }
  sleep 0.1
done
[ -n "$proxy" ] || { cat "$work/proxy.err" >&2; fail "the proxy did not start"; }
echo "proxy on $proxy (pid ${pids[-1]}, user $(ps -o user= -p "${pids[-1]}"))"
[ "$(ps -o user= -p "${pids[-1]}")" = nobody ] || fail "the proxy does not run as nobody"
base="http://$proxy/test"
curl -fsS -o /dev/null "$base/dists/bookworm/Release"
curl -fsS -o /dev/null "$base/$INDEX"
curl -fsS --max-time 60 -o "$work/got.deb" "$base/$DEB"
echo "$SHA256  $work/got.deb" | sha256sum -c - || fail "the .deb fetched through the proxy has the wrong SHA256"
curl -fsS -o /dev/null "http://$proxy/" || fail "no dashboard"
curl -fsS "http://$proxy/metrics" | grep -q '^debtorrent_requests_total{code="200"}' || fail "no metrics"
[ -n "$(find "$cache" -user nobody -type f | head -1)" ] || fail "the proxy wrote nothing to its cache as nobody"
kill "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null || true

say "purge"
dpkg -L debtorrent | grep -v '^/\.$' >"$work/files"
# What the service would have made: cache and state.
install -d /var/cache/debtorrent/packages /var/lib/debtorrent
touch /var/cache/debtorrent/packages/x /var/lib/debtorrent/x
dpkg -P debtorrent
dpkg -s debtorrent >/dev/null 2>&1 && fail "debtorrent still known to dpkg after purge"
left=""
while read -r f; do
  if [ -d "$f" ]; then
    # Shared directories (/usr/bin, /etc/default...) stay; ours must go.
    case "$f" in */debtorrent) left="$left $f" ;; esac
  elif [ -e "$f" ] || [ -L "$f" ]; then
    left="$left $f"
  fi
done <"$work/files"
for f in /var/cache/debtorrent /var/lib/debtorrent /etc/default/debtorrent /etc/apt/apt.conf.d/30debtorrent-proxy \
  /etc/systemd/system/multi-user.target.wants/debtorrent.service /var/lib/systemd/deb-systemd-helper-enabled/debtorrent.service; do
  [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
[ -z "$left" ] || fail "left behind after purge:$left"
say "package check passed"
