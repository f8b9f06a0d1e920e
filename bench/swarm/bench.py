"""Swarm benchmark: one seed to N leechers of one torrent on loopback, for
debtorrent (bench/swarm/dtbench), aria2c and libtorrent-rasterbar
(bench/swarm/lt_node.py), side by side in one run.

For every engine and swarm size it measures, per run:
  wall   from starting the leechers to the last one finishing;
  ttfb   from starting the leechers to the first byte written under any
         leecher's directory (polled every 5 ms);
  cpu    user+system seconds of the seed and all leechers, per GB delivered;
  rss    the largest peak resident set of any leecher (and of the seed).
Every leecher's data is compared with the seed's byte for byte afterwards.
"debtorrent-mem" runs debtorrent with pieces kept in memory (dtbench -mem):
the engine alone, without the disk store; its RSS holds the data and is not
comparable, and its leechers' data is verified by piece hashes only.

Usage: bench.py DTBENCH WORKDIR SIZE_MIB LEECHERS...   (run.sh sets these)
"""
import filecmp
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TRACKER = 18000
SEED_PORT = 18001
LT = ["/usr/bin/python3", os.path.join(HERE, "lt_node.py")]
ARIA = ["aria2c", "--no-conf", "--interface=127.0.0.1", "--enable-dht=false", "--enable-dht6=false",
        "--bt-enable-lpd=false", "--enable-peer-exchange=false", "--file-allocation=none",
        "--summary-interval=0", "--console-log-level=error", "--bt-stop-timeout=0",
        "--check-certificate=false"]


def wait_port(port, proc, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("process exited early: %s" % proc.args)
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("port %d never opened" % port)


def wait_line(proc, word):
    for line in proc.stdout:
        if word in line:
            return
    raise RuntimeError("%s never said %r" % (proc.args, word))


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tck


def proc_hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def disk_bytes(d):
    """Bytes of payload on disk under a leecher's directory: the torrent's
    files, and debtorrent's pieces in progress (piece-*), not bookkeeping."""
    n = 0
    for root, _, files in os.walk(d):
        for f in files:
            if not (f.startswith("piece-") or os.sep + "payload" in root):
                continue
            try:
                n += os.lstat(os.path.join(root, f)).st_blocks
            except OSError:
                pass
    return n


def seed_cmd(engine, dtbench, torrent, seeddir):
    if engine == "debtorrent":
        return [dtbench, "seed", "-dir", seeddir, "-torrent", torrent, "-listen", "127.0.0.1:%d" % SEED_PORT]
    if engine == "debtorrent-mem":
        return [dtbench, "seed", "-mem", "-dir", seeddir, "-torrent", torrent, "-listen", "127.0.0.1:%d" % SEED_PORT]
    if engine == "aria2c":
        return ARIA + ["--listen-port=%d" % SEED_PORT, "--bt-seed-unverified=true", "--seed-ratio=0.0",
                       "--dir=" + seeddir, torrent]
    return LT + ["seed", torrent, seeddir, str(SEED_PORT)]


def leech_cmd(engine, dtbench, torrent, d, port):
    if engine == "debtorrent":
        return [dtbench, "leech", "-dir", d, "-torrent", torrent, "-listen", "127.0.0.1:%d" % port]
    if engine == "debtorrent-mem":
        return [dtbench, "leech", "-mem", "-dir", d, "-torrent", torrent, "-listen", "127.0.0.1:%d" % port]
    if engine == "aria2c":
        return ARIA + ["--listen-port=%d" % port, "--seed-time=0", "--dir=" + d, torrent]
    return LT + ["leech", torrent, d, str(port)]


def run(engine, dtbench, work, torrent, seeddir, n):
    tracker = subprocess.Popen([dtbench, "tracker", "-listen", "127.0.0.1:%d" % TRACKER],
                               stdout=subprocess.PIPE, text=True)
    wait_line(tracker, "ready")
    seed = subprocess.Popen(seed_cmd(engine, dtbench, torrent, seeddir), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    if engine == "aria2c":
        wait_port(SEED_PORT, seed)
        time.sleep(1.5)  # aria2c announces on its one-second tick, after listening
    else:
        wait_line(seed, "ready")
    seed_cpu0 = proc_cpu(seed.pid)
    dirs, procs, times = [], [], []
    for i in range(n):
        d = os.path.join(work, "%s-leech%d" % (engine, i))
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        dirs.append(d)
    t0 = time.time()
    for i, d in enumerate(dirs):
        tf = os.path.join(work, "time-%d.txt" % i)
        times.append(tf)
        out = open(os.path.join(work, "out-%d.txt" % i), "w")
        procs.append(subprocess.Popen(["/usr/bin/time", "-f", "%U %S %M", "-o", tf] +
                                      leech_cmd(engine, dtbench, torrent, d, 18010 + i),
                                      stdout=out, stderr=subprocess.DEVNULL))
    ttfb = None
    while any(p.poll() is None for p in procs):
        if ttfb is None and any(disk_bytes(d) > 0 for d in dirs):
            ttfb = time.time() - t0
        time.sleep(0.005)
    wall = time.time() - t0
    seed_cpu = proc_cpu(seed.pid) - seed_cpu0
    seed_rss = proc_hwm(seed.pid)
    seed.send_signal(signal.SIGTERM)
    seed.wait()
    tracker.send_signal(signal.SIGTERM)
    tracker.wait()
    for p in procs:
        if p.returncode != 0:
            raise RuntimeError("%s leecher failed with %d" % (engine, p.returncode))
    if engine == "debtorrent-mem":
        # Nothing reaches the disk: take the leechers' own first-byte times.
        ttfb = min(float(open(os.path.join(work, "out-%d.txt" % i)).read().split()[1]) for i in range(n))
    cpu, rss = seed_cpu, 0
    for tf in times:
        u, s, m = open(tf).read().split()[-3:]
        cpu += float(u) + float(s)
        rss = max(rss, int(m))
    for d in dirs if engine != "debtorrent-mem" else []:
        for root, _, files in os.walk(os.path.join(seeddir, "payload")):
            for f in files:
                a = os.path.join(root, f)
                b = os.path.join(d, os.path.relpath(a, seeddir))
                if not filecmp.cmp(a, b, shallow=False):
                    raise RuntimeError("%s: %s differs from the seed's" % (engine, b))
    for d in dirs:
        shutil.rmtree(d)
    return {"wall": wall, "ttfb": ttfb or wall, "cpu": cpu, "rss": rss / 1024, "seed_rss": seed_rss / 1024}


def main():
    dtbench, work, size_mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
    counts = [int(x) for x in sys.argv[4:]] or [1, 3]
    seeddir = os.path.join(work, "seed")
    data = os.path.join(seeddir, "payload", "data.bin")
    torrent = os.path.join(work, "payload.torrent")
    if not os.path.exists(data) or os.path.getsize(data) != size_mib << 20:
        shutil.rmtree(seeddir, ignore_errors=True)
        os.makedirs(os.path.dirname(data))
        with open(data, "wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(1 << 20))
        subprocess.check_call([dtbench, "create", "-dir", os.path.join(seeddir, "payload"), "-torrent",
                               torrent, "-announce", "http://127.0.0.1:%d/announce" % TRACKER])
    gb = size_mib / 1024
    engines = os.environ.get("ENGINES", "debtorrent aria2c libtorrent debtorrent-mem").split()
    print("1 seed -> N leechers of %d MiB on loopback; ratios are debtorrent / other (below 1: debtorrent better)" % size_mib)
    for n in counts:
        res = {e: run(e, dtbench, work, torrent, seeddir, n) for e in engines}
        print("\n1 -> %d" % n)
        print("%-11s %8s %8s %9s %10s %10s %9s" % ("engine", "wall s", "ttfb s", "MB/s", "cpu s/GB", "rss MiB", "seed MiB"))
        for e in engines:
            r = res[e]
            print("%-11s %8.2f %8.3f %9.0f %10.2f %10.0f %9.0f" % (
                e, r["wall"], r["ttfb"], n * size_mib * 1.048576 / r["wall"], r["cpu"] / (gb * n), r["rss"], r["seed_rss"]))
        ours = res.get("debtorrent")
        for e in [e for e in engines if ours and not e.startswith("debtorrent")]:
            r = res[e]
            print("ratio vs %-10s wall %.2f  ttfb %.2f  cpu/GB %.2f  rss %.2f" % (
                e, ours["wall"] / r["wall"], ours["ttfb"] / r["ttfb"], ours["cpu"] / r["cpu"], ours["rss"] / r["rss"]))


if __name__ == "__main__":
    main()
