#!/bin/sh
# Swarm benchmark: debtorrent against aria2c and libtorrent-rasterbar, one
# seed to 1 and to 3 leechers of a 512 MiB torrent on loopback, in one run.
# Needs: go, aria2 (aria2c), python3-libtorrent, /usr/bin/time (package time).
# Usage: bench/swarm/run.sh [SIZE_MIB [LEECHERS...]]   (defaults: 512 1 3)
# The data lives in ${WORK:-/tmp/dtbench-swarm} and is reused between runs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${WORK:-/tmp/dtbench-swarm}
size=${1:-512}
[ $# -gt 0 ] && shift
mkdir -p "$work"
(cd "$here/../.." && go build -o "$work/dtbench" ./bench/swarm/dtbench)
exec /usr/bin/python3 "$here/bench.py" "$work/dtbench" "$work" "$size" "$@"
