"""One libtorrent-rasterbar node for bench/swarm/bench.py: seed or leech a
.torrent on loopback with DHT, LSD, UPnP and NAT-PMP off.

    lt_node.py seed  TORRENT DIR PORT   # prints "ready", seeds until killed
    lt_node.py leech TORRENT DIR PORT   # exits 0 once every piece is had
"""
import sys
import time

import libtorrent as lt


def main():
    role, torrent, save, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:%d" % port,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        # TCP only, as the other engines: uTP between two libtorrents on
        # loopback was seen to crawl at ~10 MB/s here.
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "alert_mask": 0,
    })
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent)
    atp.save_path = save
    h = ses.add_torrent(atp)
    if role == "seed":
        # Let it check the data first (as the other seeds have theirs
        # verified before the clock starts): seed_mode's lazy checks were
        # found to slow it down a lot here.
        while not h.status().is_seeding:
            time.sleep(0.01)
        print("ready", flush=True)
        while True:
            time.sleep(3600)
    while not h.status().is_seeding:
        time.sleep(0.01)
    ses.pause()


if __name__ == "__main__":
    main()
