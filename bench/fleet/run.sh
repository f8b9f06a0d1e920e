#!/bin/bash
# Fleet benchmark: N hosts, each running the debtorrent APT proxy, fetch the
# same set of packages from one rate-limited mirror at the same moment, in
# network namespaces joined by a bridge. Run by hand as root, not in CI.
# See bench/fleet/README.md for what the columns mean.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/fleet/run.sh [-n 8] [-host-rate 200mbit] [-mirror-rate 100mbit]
                          [-scenario all|staggered|direct|alone|every]
                          [-seed 1] [-packages 60] [-total 110] [-timeout 300]

Builds N hosts and a mirror in network namespaces (dtfleet-*) joined by a
bridge in its own namespace, shapes the links with tc tbf, runs the
debtorrent proxy on every host and times `apt-get install --download-only`
of the whole set on all hosts released at one moment.

  -n N             hosts (default 8; 2..100)
  -host-rate R     each host's uplink and downlink (tc rate, default 200mbit)
  -mirror-rate R   the mirror's uplink (default 100mbit)
  -scenario S      all:       all N hosts at once through their proxies
                   staggered: host 1 alone first, then the other N-1 at once
                   direct:    all N hosts at once straight from the mirror
                   alone:     one host through its proxy, then one host direct
                   every:     all of them (default)
  -seed S          seed of the package sizes (default 1)
  -packages K      packages in the set (default 60)
  -total MB        approximate size of the set in MB (default 110)
  -timeout SEC     limit on each apt-get and each wait (default 300)
  -h               this help

Needs root, ip, tc, apt-get, timeout and go. Everything it makes (namespaces,
processes, $TMPDIR/dtfleet.*) is removed on exit, also on Ctrl-C or error.
EOF
}

# ---- worker mode: runs inside a host's namespace -------------------------
# __worker FIFO READY OUT APTCONF TIMEOUT PKGFILE: open the barrier, say
# ready, wait for the release, time apt-get, write "T0 T1 RC" to OUT.
if [ "${1:-}" = __worker ]; then
	fifo=$2 ready=$3 out=$4 conf=$5 limit=$6 pkgfile=$7
	exec 3<"$fifo"
	: >"$ready"
	read -r _ <&3 || true
	t0=$(date +%s.%N)
	rc=0
	APT_CONFIG=$conf LC_ALL=C timeout "$limit" apt-get install --download-only -y $(cat "$pkgfile") \
		>"$out.log" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	echo "$t0 $t1 $rc" >"$out"
	exit 0
fi

# ---- options ---------------------------------------------------------------
CMDLINE="$0 $*"
N=8 HOST_RATE=200mbit MIRROR_RATE=100mbit SCENARIO=every SEED=1 NPKG=60 TOTAL=110 LIMIT=300
while [ $# -gt 0 ]; do
	case $1 in
	-h | -help | --help) usage; exit 0 ;;
	-n) N=$2; shift 2 ;;
	-host-rate) HOST_RATE=$2; shift 2 ;;
	-mirror-rate) MIRROR_RATE=$2; shift 2 ;;
	-scenario) SCENARIO=$2; shift 2 ;;
	-seed) SEED=$2; shift 2 ;;
	-packages) NPKG=$2; shift 2 ;;
	-total) TOTAL=$2; shift 2 ;;
	-timeout) LIMIT=$2; shift 2 ;;
	*) echo "run.sh: unknown argument $1 (try -h)" >&2; exit 2 ;;
	esac
done
case $SCENARIO in all | staggered | direct | alone | every) ;; *) echo "run.sh: unknown scenario $SCENARIO (try -h)" >&2; exit 2 ;; esac
case $N in '' | *[!0-9]*) echo "run.sh: -n wants a number" >&2; exit 2 ;; esac
if [ "$N" -lt 2 ] || [ "$N" -gt 100 ]; then echo "run.sh: -n must be 2..100" >&2; exit 2; fi
case $LIMIT in '' | *[!0-9]*) echo "run.sh: -timeout wants seconds" >&2; exit 2 ;; esac

# rate_bps R: bytes per second of a tc rate such as 200mbit, 1gbit, 500kbit.
rate_bps() {
	awk -v r="$1" 'BEGIN {
		if (match(r, /^[0-9.]+/) == 0) exit 1
		n = substr(r, 1, RLENGTH); u = tolower(substr(r, RLENGTH + 1))
		m["bit"] = 1; m["kbit"] = 1e3; m["mbit"] = 1e6; m["gbit"] = 1e9
		if (!(u in m)) exit 1
		printf "%.0f\n", n * m[u] / 8 }'
}
U_HOST=$(rate_bps "$HOST_RATE") || { echo "run.sh: bad -host-rate $HOST_RATE: want e.g. 200mbit" >&2; exit 2; }
U_MIRROR=$(rate_bps "$MIRROR_RATE") || { echo "run.sh: bad -mirror-rate $MIRROR_RATE: want e.g. 100mbit" >&2; exit 2; }

# ---- preconditions ---------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	echo "run.sh: must run as root (it makes network namespaces): sudo $0 $*" >&2
	exit 1
fi
missing=""
for t in ip tc apt-get timeout go awk; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
if [ -n "$missing" ]; then
	echo "run.sh: missing:$missing (apt-get install iproute2 apt coreutils gawk; Go from go.dev)" >&2
	exit 1
fi
if ip netns list | grep -q '^dtfleet-'; then
	echo "run.sh: namespaces dtfleet-* exist already (another run?); remove them with: ip netns del NAME" >&2
	exit 1
fi

SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
REPO=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dtfleet.XXXXXX")
chmod 755 "$TMP"
BR=dtfleet-br
MNS=dtfleet-m
MIP=10.77.0.2
MPORT=8080
PIDS=() # every background process this script started

hostns() { echo "dtfleet-h$1"; }
hostip() { echo "10.77.0.$((10 + $1))"; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for ns in $(ip netns list 2>/dev/null | awk '/^dtfleet-/ {print $1}'); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
	done
	for p in "${PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$p" 2>/dev/null || true
	done
	for ns in $(ip netns list 2>/dev/null | awk '/^dtfleet-/ {print $1}'); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "# $*"; }

# waitfor SECONDS WHAT CMD...: run CMD every 0.2 s until it succeeds.
waitfor() {
	local limit=$1 what=$2 end=$((SECONDS + $1))
	shift 2
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $end ]; then
			echo "run.sh: timed out after ${limit}s waiting for $what" >&2
			return 1
		fi
		sleep 0.2
	done
}

# ---- build -----------------------------------------------------------------
say "building the proxy and the mirror in $TMP"
(cd "$REPO" && go build -o "$TMP/debtorrent-proxy" ./examples/proxy && go build -o "$TMP/fleet-mirror" ./bench/fleet/mirror)
PROXY=$TMP/debtorrent-proxy
MBIN=$TMP/fleet-mirror

# ---- network ---------------------------------------------------------------
# shape NS DEV RATE: limit DEV's egress in NS to RATE.
shape() {
	ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "$3" burst 64kb latency 20ms
}

say "network: bridge in $BR, mirror $MIP (uplink $MIRROR_RATE), $N hosts 10.77.0.11.. (up/down $HOST_RATE)"
ip netns add "$BR"
ip -n "$BR" link set lo up
ip -n "$BR" link add br0 type bridge
ip -n "$BR" link set br0 up
# plug NS IFACE-IN-BRIDGE IP: a veth from NS's eth0 to the bridge.
plug() {
	ip netns add "$1"
	ip -n "$1" link set lo up
	ip link add eth0 netns "$1" type veth peer name "$2" netns "$BR"
	ip -n "$BR" link set "$2" master br0 up
	ip -n "$1" addr add "$3/24" dev eth0
	ip -n "$1" link set eth0 up
}
plug "$MNS" vm "$MIP"
shape "$MNS" eth0 "$MIRROR_RATE"
for i in $(seq 1 "$N"); do
	plug "$(hostns "$i")" "vh$i" "$(hostip "$i")"
	shape "$(hostns "$i")" eth0 "$HOST_RATE" # uplink
	shape "$BR" "vh$i" "$HOST_RATE"           # downlink
done

# ---- mirror ----------------------------------------------------------------
say "building the archive (seed $SEED, $NPKG packages, ~$TOTAL MB)"
mkdir -p "$TMP/mirror"
ip netns exec "$MNS" "$MBIN" -dir "$TMP/mirror" -listen "$MIP:$MPORT" -stats 127.0.0.1:8081 \
	-seed "$SEED" -n "$NPKG" -total "$TOTAL" >"$TMP/mirror/out.log" 2>&1 &
PIDS+=($!)
if ! waitfor 300 "the mirror to build and serve its archive" grep -q '^serving' "$TMP/mirror/out.log"; then
	tail -n 20 "$TMP/mirror/out.log" | sed 's/^/#   mirror: /' >&2
	exit 1
fi
grep -v '^serving' "$TMP/mirror/out.log"
PKGFILE=$TMP/mirror/packages.txt
F=$(cat "$TMP/mirror/set-size.txt")
for i in 1 "$N"; do
	waitfor 10 "host $i to reach the mirror" ip netns exec "$(hostns "$i")" "$MBIN" \
		-query "http://$MIP:$MPORT/debian/dists/bookworm/Release"
done

# mirror_tx: bytes sent on the mirror's link (everything: headers, indexes).
mirror_tx() { ip netns exec "$MNS" cat /sys/class/net/eth0/statistics/tx_bytes; }
mirror_debs() { ip netns exec "$MNS" "$MBIN" -query http://127.0.0.1:8081/stats | awk '$1 == "deb_bytes" {print $2}'; }

# ---- hosts -----------------------------------------------------------------
# aptroot I MODE: a throwaway APT root for host I; MODE proxy or direct.
aptroot() {
	local d=$TMP/h$1/apt src
	rm -rf "$d"
	mkdir -p "$d"/etc/apt/{apt.conf.d,preferences.d,trusted.gpg.d,sources.list.d} "$d"/var/lib/apt/lists/partial \
		"$d"/var/cache/apt/archives/partial "$d"/var/lib/dpkg "$d"/var/log/apt
	: >"$d/var/lib/dpkg/status"
	if [ "$2" = proxy ]; then
		src="deb [trusted=yes] http://127.0.0.1:9988/test/debian bookworm main"
	else
		src="deb [trusted=yes] http://$MIP:$MPORT/debian bookworm main"
	fi
	echo "$src" >"$d/etc/apt/sources.list"
	cat >"$d/apt.conf" <<EOF
Dir "$d/";
Dir::State "var/lib/apt/";
Dir::State::status "$d/var/lib/dpkg/status";
Dir::Cache "var/cache/apt/";
Dir::Etc "etc/apt/";
Dir::Etc::sourcelist "$d/etc/apt/sources.list";
Dir::Etc::sourceparts "$d/etc/apt/sources.list.d";
Dir::Etc::parts "$d/etc/apt/apt.conf.d";
Dir::Etc::preferencesparts "$d/etc/apt/preferences.d";
Dir::Etc::trustedparts "$d/etc/apt/trusted.gpg.d";
Dir::Log "$d/var/log/apt";
Dir::Bin::Methods "/usr/lib/apt/methods";
Dir::Bin::dpkg "/usr/bin/dpkg";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
Debug::NoLocking "true";
Acquire::Languages "none";
Acquire::IndexTargets::deb::Translations::DefaultEnabled "false";
Acquire::Check-Valid-Until "false";
Acquire::Retries "0";
Acquire::http::Proxy "DIRECT";
EOF
}

# proxy_status I: host I's proxy's /status.json.
proxy_status() { ip netns exec "$(hostns "$1")" "$MBIN" -query http://127.0.0.1:9988/status.json; }
# json_int KEY: the first integer value of "KEY" in the JSON on stdin.
json_int() { tr -d ' \n' | awk -v k="\"$1\":" '{ i = index($0, k); if (i) { s = substr($0, i + length(k)); match(s, /^[0-9]+/); print substr(s, 1, RLENGTH) } }'; }

# start_proxies K: a fresh proxy on hosts 1..K; host 1 runs the tracker.
start_proxies() {
	local i ns args
	for i in $(seq 1 "$1"); do
		ns=$(hostns "$i")
		rm -rf "$TMP/h$i/cache"
		mkdir -p "$TMP/h$i/cache"
		args=(-listen 127.0.0.1:9988 -peer-listen "$(hostip "$i"):6881" -cache "$TMP/h$i/cache" -import ""
			-mirror "test=http://$MIP:$MPORT/")
		if [ "$i" = 1 ]; then
			args+=(-tracker-listen "$(hostip 1):6969")
		else
			args+=(-tracker-listen "" -tracker "http://$(hostip 1):6969/announce")
		fi
		ip netns exec "$ns" "$PROXY" "${args[@]}" >"$TMP/h$i/proxy.log" 2>&1 &
		PIDS+=($!)
		echo $! >"$TMP/h$i/proxy.pid"
	done
	for i in $(seq 1 "$1"); do
		if ! waitfor 30 "the proxy of host $i" proxy_status "$i"; then
			tail -n 20 "$TMP/h$i/proxy.log" | sed "s/^/#   h$i proxy: /" >&2
			return 1
		fi
	done
}

stop_proxies() {
	local i p
	for i in $(seq 1 "$N"); do
		[ -f "$TMP/h$i/proxy.pid" ] || continue
		p=$(cat "$TMP/h$i/proxy.pid")
		kill "$p" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
		rm -f "$TMP/h$i/proxy.pid"
	done
}

# update HOSTS...: apt-get update on the hosts at once; fail on any error.
update() {
	local i pids=() rc=0 hosts=("$@")
	for i in "$@"; do
		APT_CONFIG=$TMP/h$i/apt/apt.conf LC_ALL=C timeout "$LIMIT" ip netns exec "$(hostns "$i")" \
			apt-get update >"$TMP/h$i/update.log" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		if ! wait "${pids[$i]}"; then
			rc=1
			echo "run.sh: apt-get update failed on host ${hosts[$i]}:" >&2
			tail -n 5 "$TMP/h${hosts[$i]}/update.log" >&2
		fi
	done
	return $rc
}

# await_peers K HOSTS...: wait (at most 20 s) until each host's engine has
# at least K peers; report what it has.
await_peers() {
	local want=$1 i end=$((SECONDS + 20)) got line
	shift
	while :; do
		line="" got=1
		for i in "$@"; do
			p=$(proxy_status "$i" | json_int peers || true)
			line="$line h$i=${p:-?}"
			[ "${p:-0}" -ge "$want" ] || got=0
		done
		if [ $got = 1 ] || [ $SECONDS -ge $end ]; then break; fi
		sleep 0.5
	done
	say "peers before release:$line"
}

# release TAG HOSTS...: run apt-get install of the set on the hosts, all
# released at one moment; results in $TMP/res.TAG.I.
release() {
	local tag=$1 i pids=() fifo=$TMP/barrier.$1
	shift
	rm -f "$fifo"
	mkfifo "$fifo"
	exec 9<>"$fifo"
	for i in "$@"; do
		rm -f "$TMP/ready.$tag.$i" "$TMP/res.$tag.$i"
		ip netns exec "$(hostns "$i")" bash "$SELF" __worker "$fifo" "$TMP/ready.$tag.$i" "$TMP/res.$tag.$i" \
			"$TMP/h$i/apt/apt.conf" "$LIMIT" "$PKGFILE" 9>&- &
		pids+=($!)
	done
	for i in "$@"; do
		waitfor 30 "host $i to reach the barrier" test -e "$TMP/ready.$tag.$i"
	done
	LOAD0=$(cut -d' ' -f1 /proc/loadavg)
	TX0=$(mirror_tx)
	exec 9>&- # the last writer closes: every worker's read returns at once
	(while :; do cut -d' ' -f1 /proc/loadavg; sleep 1; done) >"$TMP/load.$tag" &
	local sampler=$!
	PIDS+=($sampler)
	for p in "${pids[@]}"; do wait "$p" || true; done
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	LOAD1=$(cut -d' ' -f1 /proc/loadavg)
	TX1=$(mirror_tx)
	LOADMAX=$(sort -g "$TMP/load.$tag" | tail -n1)
}

# bound N_DOWN SERVERS_UP TOTAL_UP: Kumar & Ross's fluid lower bound on the
# time for N_DOWN hosts to get F bytes: max(F/SERVERS_UP, N_DOWN*F/TOTAL_UP,
# F/d_min), rates in bytes/s.
bound() {
	awk -v n="$1" -v s="$2" -v u="$3" -v f="$F" -v d="$U_HOST" 'BEGIN {
		t = f / s; if (n * f / u > t) t = n * f / u; if (f / d > t) t = f / d; printf "%.1f\n", t }'
}

RESULTS=$TMP/results.txt
: >"$RESULTS"

# report SCENARIO TAG BOUND DEB_BYTES PROXY HOSTS...: the per-host table of
# one release and a summary line into $RESULTS.
report() {
	local scen=$1 tag=$2 b=$3 debs=$4 mode=$5 i t0 t1 rc wall n ok slow=0 from_peers from_web to_peers st copies
	shift 5
	printf '%-10s %4s %8s %6s %5s %10s %10s %10s\n' scenario host wall_s rc debs peers_MB mirror_MB sent_MB
	for i in "$@"; do
		read -r t0 t1 rc <"$TMP/res.$tag.$i" || { t0=0 t1=0 rc=timeout; }
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
		n=$(find "$TMP/h$i/apt/var/cache/apt/archives" -maxdepth 1 -name '*.deb' | wc -l)
		from_peers=- from_web=- to_peers=-
		if [ "$mode" = proxy ]; then
			st=$(proxy_status "$i" || true)
			from_peers=$(echo "$st" | json_int bytes_from_peers | awk '{printf "%.1f", $1 / 1e6}')
			from_web=$(echo "$st" | json_int bytes_from_mirrors | awk '{printf "%.1f", $1 / 1e6}')
			to_peers=$(echo "$st" | json_int bytes_to_peers | awk '{printf "%.1f", $1 / 1e6}')
		fi
		printf '%-10s %4s %8s %6s %5s %10s %10s %10s\n' "$scen" "h$i" "$wall" "$rc" "$n/$NPKG" "$from_peers" "$from_web" "$to_peers"
		[ "$rc" = 0 ] && [ "$n" = "$NPKG" ] || ok=fail
		slow=$(awk -v a="$slow" -v b="$wall" 'BEGIN {print (b > a) ? b : a}')
		if [ "$rc" != 0 ]; then tail -n 3 "$TMP/res.$tag.$i.log" | sed "s/^/#   h$i: /"; fi
	done
	copies=$(awk -v a="$debs" -v f="$F" 'BEGIN {printf "%.2f", a / f}')
	local link
	link=$(awk -v a="$TX0" -v b="$TX1" -v f="$F" 'BEGIN {printf "%.2f", (b - a) / f}')
	local ratio
	ratio=$(awk -v a="$slow" -v b="$b" 'BEGIN {printf "%.2f", a / b}')
	say "$scen: hosts $# slowest ${slow}s bound ${b}s slowest/bound $ratio mirror .deb bytes $debs = $copies copies, link $link copies; load $LOAD0 -> $LOAD1 (max $LOADMAX)${ok:+ FAILED}"
	printf '| %s | %d | %s | %s | %s | %s | %s | %s → %s (max %s) |%s\n' "$scen" "$#" "$slow" "$b" "$ratio" "$copies" "$link" \
		"$LOAD0" "$LOAD1" "$LOADMAX" "${ok:+ failed}" >>"$RESULTS"
}

ALL_HOSTS=$(seq 1 "$N")
NF=$(awk -v n="$N" -v f="$F" 'BEGIN {print n * f}')

run_all() {
	say "scenario all: $N hosts through their proxies at once"
	start_proxies "$N"
	for i in $ALL_HOSTS; do aptroot "$i" proxy; done
	update $ALL_HOSTS
	await_peers $((N - 1)) $ALL_HOSTS
	local before after
	before=$(mirror_debs)
	release all $ALL_HOSTS
	after=$(mirror_debs)
	report all all "$(bound "$N" "$U_MIRROR" $((U_MIRROR + N * U_HOST)))" $((after - before)) proxy $ALL_HOSTS
	stop_proxies
}

run_staggered() {
	say "scenario staggered: host 1 alone, then hosts 2..$N at once (all proxies running)"
	start_proxies "$N"
	for i in $ALL_HOSTS; do aptroot "$i" proxy; done
	update $ALL_HOSTS
	await_peers $((N - 1)) $ALL_HOSTS
	local before mid after rest
	rest=$(seq 2 "$N")
	before=$(mirror_debs)
	release stag1 1
	mid=$(mirror_debs)
	report "stag-first" stag1 "$(bound 1 "$U_MIRROR" $((U_MIRROR + N * U_HOST)))" $((mid - before)) proxy 1
	local sent0 sent1
	sent0=$(proxy_status 1 | json_int bytes_to_peers || true)
	release stag2 $rest
	after=$(mirror_debs)
	sent1=$(proxy_status 1 | json_int bytes_to_peers || true)
	say "host 1 (holding the set) sent $(awk -v a="$sent0" -v b="$sent1" 'BEGIN {printf "%.1f", (b - a) / 1e6}') MB to peers during the second release"
	# host 1 holds the whole set: it serves alongside the mirror.
	report staggered stag2 "$(bound $((N - 1)) $((U_MIRROR + U_HOST)) $((U_MIRROR + N * U_HOST)))" $((after - mid)) proxy $rest
	stop_proxies
}

run_direct() {
	say "scenario direct: $N hosts straight from the mirror at once (client-server bound $(bound "$N" "$U_MIRROR" "$U_MIRROR")s)"
	for i in $ALL_HOSTS; do aptroot "$i" direct; done
	update $ALL_HOSTS
	local before after
	before=$(mirror_debs)
	release direct $ALL_HOSTS
	after=$(mirror_debs)
	report direct direct "$(bound "$N" "$U_MIRROR" $((U_MIRROR + N * U_HOST)))" $((after - before)) direct $ALL_HOSTS
}

run_alone() {
	say "scenario alone: host 1 through its proxy (no peers), then host 1 direct"
	start_proxies 1
	aptroot 1 proxy
	update 1
	local before after b
	b=$(bound 1 "$U_MIRROR" $((U_MIRROR + U_HOST)))
	before=$(mirror_debs)
	release alone1 1
	after=$(mirror_debs)
	report alone-proxy alone1 "$b" $((after - before)) proxy 1
	stop_proxies
	aptroot 1 direct
	update 1
	before=$(mirror_debs)
	release alone2 1
	after=$(mirror_debs)
	report alone-direct alone2 "$b" $((after - before)) direct 1
}

say "command: $CMDLINE"
say "set F = $F bytes; N=$N host-rate=$HOST_RATE mirror-rate=$MIRROR_RATE; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
case $SCENARIO in
every) run_direct; run_all; run_staggered; run_alone ;;
*) "run_$SCENARIO" ;;
esac

echo
echo "| scenario | hosts | slowest s | bound s | slowest/bound | mirror copies | link copies | load avg (start → end, max) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
cat "$RESULTS"
if grep -q 'failed$' "$RESULTS"; then
	echo "run.sh: some hosts failed (rc or a missing .deb above); the figures of those rows do not count" >&2
	exit 1
fi
