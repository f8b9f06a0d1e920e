// Package lsd implements BitTorrent Local Service Discovery (BEP 14): peers on
// one LAN announce the torrents they take part in to a multicast group
// (239.192.152.143:6771, or [ff15::efc0:988f]:6771 for IPv6) and learn of
// each other without a tracker or the DHT.
//
// The codec (Encode, Parse) is plain functions with hard limits: an announce
// is at most MaxDatagram bytes when sent and MaxParseDatagram when received,
// names at most MaxInfoHashes torrents, and every header is checked
// (the port is decimal in 1..65535, an infohash exactly 40 hex digits).
//
// A Service owns the sockets: one goroutine, Run, announces the torrents
// added to it (at once when added, then every Config.Interval, never more
// than once per Config.MinInterval per torrent) and delivers on Peers the
// announces other machines make for those torrents, ignoring its own by their
// cookie.
package lsd
