package debtorrent

import (
	"maps"
	"strconv"
	"time"

	"github.com/debtorrent/debtorrent/internal/aptproxy"
)

// ProxyStatus is a snapshot of a Proxy: what it served and where the
// packages came from, its swarms, mirrors and cache, and the recent
// requests. The proxy's /status.json serves the same figures (with the
// JSON names given in the field comments) and its dashboard shows them.
type ProxyStatus struct {
	// Time is when the snapshot was taken (UTC). JSON: time.
	Time time.Time
	// Uptime is how long the proxy has run. JSON: uptime_seconds.
	Uptime time.Duration
	// Mirrors maps each mirror name to its base URLs. JSON: mirrors.
	Mirrors map[string][]string
	// MirrorStates has the health of each mirror base URL, sorted by name
	// then URL. JSON: mirror_states.
	MirrorStates []ProxyMirrorStatus
	// Torrents are the swarms, one per Packages file, sorted by name.
	// JSON: torrents.
	Torrents []ProxyTorrentStatus
	// Requests counts every request answered, the status pages included.
	// JSON: requests.
	Requests int64
	// Errors counts answers with a status of 400 or more. JSON: errors.
	Errors int64
	// RequestsByCode counts requests by HTTP status code. JSON:
	// requests_by_code (keys are strings there).
	RequestsByCode map[int]int64
	// BytesServed counts body bytes answered to APT since start (the
	// status pages not included). JSON: bytes_served.
	BytesServed int64
	// BytesToday counts the same since local midnight. JSON: bytes_today.
	BytesToday int64
	// IndexBytes is the index files' (Release, Packages...) part of
	// BytesServed. JSON: index_bytes.
	IndexBytes int64
	// BytesFromMirrors counts bytes received from mirrors, index files and
	// packages. JSON: bytes_from_mirrors.
	BytesFromMirrors int64
	// DebsBySource counts .debs answered, by the source label of their
	// request (see ProxyRequestLog.Source). JSON: debs_by_source.
	DebsBySource map[string]int64
	// DebBytesBySource counts .deb bytes answered by where the bytes came
	// from: "peers", "mirror" or "cache". JSON: deb_bytes_by_source.
	DebBytesBySource map[string]int64
	// RateServed, RatePeers and RateMirror are bytes per second over the
	// last 30 seconds: answered to APT, .deb bytes from peers, from
	// mirrors. JSON: rate_served, rate_peers, rate_mirror.
	RateServed, RatePeers, RateMirror float64
	// Samples are the traffic of the last 15 minutes in 5-second
	// intervals, oldest first; the last is still running. JSON: samples.
	Samples []ProxySample
	// Engine holds the peer side's figures; nil when the proxy runs
	// without a Client. JSON: engine.
	Engine *ProxyEngineStatus
	// CacheBytes and CachePieces are the verified packages stored. JSON:
	// cache_bytes, cache_pieces.
	CacheBytes  int64
	CachePieces int
	// CacheCap is the byte cap on the package store (0: none or not
	// known). JSON: cache_cap.
	CacheCap int64
	// Evictions counts packages evicted to stay under CacheCap. JSON:
	// evictions.
	Evictions int64
	// Recent are the last requests to mirrors (at most 50), newest first.
	// JSON: recent.
	Recent []ProxyRequestLog
}

// ProxyEngineStatus is the peer side (the Client) of a ProxyStatus.
type ProxyEngineStatus struct {
	// Peers is the number of connected peers. JSON: peers.
	Peers int
	// BytesFromPeers counts payload bytes received from peers. JSON:
	// bytes_from_peers.
	BytesFromPeers int64
	// BytesToPeers counts payload bytes sent to peers. JSON: bytes_to_peers.
	BytesToPeers int64
	// BytesFromWeb counts bytes the engine fetched from mirrors (its web
	// source). JSON: bytes_from_web.
	BytesFromWeb int64
	// VerificationFailures counts pieces that failed their hash check.
	// JSON: verification_failures.
	VerificationFailures int64
	// BannedPeers counts peers banned for bad data or misbehaviour. JSON:
	// banned_peers.
	BannedPeers int64
}

// ProxyTorrentStatus is one swarm: the torrent made from one Packages file.
type ProxyTorrentStatus struct {
	// Name is origin/suite/component/binary-arch, e.g.
	// "Debian/bookworm/main/binary-amd64". JSON: name.
	Name string
	// InfoHash is the torrent's hex infohash. JSON: infohash.
	InfoHash string
	// Index is the Packages file it was made from, relative to the
	// suite's dists directory. JSON: index.
	Index string
	// Packages is the number of .debs it lists. JSON: packages.
	Packages int
	// Bytes is their total size. JSON: bytes.
	Bytes int64
	// PiecesWanted counts packages asked for. JSON: pieces_wanted.
	PiecesWanted int
	// PiecesDone counts packages verified and stored. JSON: pieces_done.
	PiecesDone int
	// Peers is the number of connected peers in the swarm. JSON: peers.
	Peers int
	// Machines is the number of distinct peer IP addresses in the swarm.
	// JSON: machines.
	Machines int
	// Added is when the torrent was made. JSON: added.
	Added time.Time
}

// ProxyMirrorStatus is what the proxy knows of one mirror base URL.
type ProxyMirrorStatus struct {
	// Name is the mirror's name (the path prefix of requests). JSON: name.
	Name string
	// URL is the base URL. JSON: url.
	URL string
	// State is "up" (the last request worked), "down" (it failed) or ""
	// (not used yet); other words may appear (shown as they are). JSON:
	// state.
	State string
	// LastError is the last failure's one-line reason, kept after the
	// mirror recovers ("" if none). JSON: last_error.
	LastError string
	// Since is when State last changed (zero: never used). JSON: since.
	Since time.Time
}

// ProxySample is the traffic of one 5-second interval.
type ProxySample struct {
	// Start is the start of the interval. JSON: start.
	Start time.Time
	// Served counts body bytes answered to APT. JSON: served.
	Served int64
	// Peers and Mirror count .deb bytes brought in from peers and from
	// mirrors. JSON: peers, mirror.
	Peers, Mirror int64
}

// ProxyRequestLog is one request the proxy answered.
type ProxyRequestLog struct {
	// Time is when the answer was ready (UTC). JSON: time.
	Time time.Time
	// Method is the HTTP method. JSON: method.
	Method string
	// URL is the URL as APT sent it. JSON: url.
	URL string
	// Status is the HTTP status answered. JSON: status.
	Status int
	// Bytes is the body length answered (0 for HEAD). JSON: bytes.
	Bytes int64
	// Source says where the answer came from: "cache" (already stored),
	// "peers", "mirror", "mixed" (peers and mirror), "unlisted" (a pool
	// file no torrent lists), "index", "refused", "self" or "error".
	// JSON: source.
	Source string
	// Duration is the time to the answer's head. JSON: duration_seconds.
	Duration time.Duration
}

// Status returns a snapshot of the proxy's state.
func (p *Proxy) Status() ProxyStatus { return proxyStatusFrom(p.srv.Status()) }

// proxyStatusFrom converts the internal status; nothing of s is shared.
func proxyStatusFrom(s aptproxy.Status) ProxyStatus {
	out := ProxyStatus{
		Time: s.Time, Uptime: time.Duration(s.Uptime * float64(time.Second)),
		Mirrors:  map[string][]string{},
		Requests: s.Requests, Errors: s.Errors, RequestsByCode: map[int]int64{},
		BytesServed: s.BytesServed, BytesToday: s.BytesToday, IndexBytes: s.IndexBytes, BytesFromMirrors: s.BytesFromMirrors,
		DebsBySource: maps.Clone(s.DebsBySource), DebBytesBySource: maps.Clone(s.DebBytesBySource),
		RateServed: s.RateServed, RatePeers: s.RatePeers, RateMirror: s.RateMirror,
		CacheBytes: s.CacheBytes, CachePieces: s.CachePieces, CacheCap: s.CacheCap, Evictions: s.Evictions,
	}
	if out.DebsBySource == nil {
		out.DebsBySource = map[string]int64{}
	}
	if out.DebBytesBySource == nil {
		out.DebBytesBySource = map[string]int64{}
	}
	for name, urls := range s.Mirrors {
		out.Mirrors[name] = append([]string(nil), urls...)
	}
	for code, n := range s.RequestsByCode {
		if c, err := strconv.Atoi(code); err == nil {
			out.RequestsByCode[c] += n
		}
	}
	for _, m := range s.MirrorStates {
		out.MirrorStates = append(out.MirrorStates, ProxyMirrorStatus{Name: m.Name, URL: m.URL, State: m.State, LastError: m.LastError, Since: m.Since})
	}
	for _, t := range s.Torrents {
		out.Torrents = append(out.Torrents, ProxyTorrentStatus{Name: t.Name, InfoHash: t.InfoHash, Index: t.Index, Packages: t.Packages, Bytes: t.Bytes,
			PiecesWanted: t.PiecesWanted, PiecesDone: t.PiecesDone, Peers: t.Peers, Machines: t.Machines, Added: t.Added})
	}
	for _, x := range s.Samples {
		out.Samples = append(out.Samples, ProxySample{Start: x.Start, Served: x.Served, Peers: x.Peers, Mirror: x.Mirror})
	}
	if e := s.Engine; e != nil {
		out.Engine = &ProxyEngineStatus{Peers: e.Peers, BytesFromPeers: e.BytesFromPeers, BytesToPeers: e.BytesToPeers, BytesFromWeb: e.BytesFromWeb,
			VerificationFailures: e.VerificationFailures, BannedPeers: e.BannedPeers}
	}
	for _, r := range s.Recent {
		out.Recent = append(out.Recent, ProxyRequestLog{Time: r.Time, Method: r.Method, URL: r.URL, Status: r.Status, Bytes: r.Bytes, Source: r.Source,
			Duration: time.Duration(r.Duration * float64(time.Second))})
	}
	return out
}
