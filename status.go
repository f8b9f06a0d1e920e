package debtorrent

import (
	"maps"
	"strconv"
	"time"

	"github.com/debtorrent/debtorrent/internal/aptproxy"
)

// ProxyStatus is a snapshot of a Proxy: what it served and where the
// packages came from, its swarms, mirrors and cache, and the recent
// requests. The proxy's /status.json serves it (decode it into a
// ProxyStatus) and its dashboard shows it.
type ProxyStatus struct {
	// Time is when the snapshot was taken (UTC).
	Time time.Time `json:"time"`
	// Uptime is how long the proxy has run, in seconds.
	Uptime float64 `json:"uptime_seconds"`
	// Mirrors maps each mirror name to its base URLs.
	Mirrors map[string][]string `json:"mirrors"`
	// MirrorStates has the health of each mirror base URL, sorted by name
	// then URL.
	MirrorStates []ProxyMirrorStatus `json:"mirror_states"`
	// Torrents are the swarms, one per Packages file, sorted by name.
	Torrents []ProxyTorrentStatus `json:"torrents"`
	// Requests counts every request answered, the status pages included.
	Requests int64 `json:"requests"`
	// Errors counts answers with a status of 400 or more.
	Errors int64 `json:"errors"`
	// RequestsByCode counts requests by HTTP status code.
	RequestsByCode map[int]int64 `json:"requests_by_code"`
	// BytesServed counts body bytes answered to APT since start (the
	// status pages not included).
	BytesServed int64 `json:"bytes_served"`
	// BytesToday counts the same since local midnight.
	BytesToday int64 `json:"bytes_today"`
	// IndexBytes is the index files' (Release, Packages...) part of
	// BytesServed.
	IndexBytes int64 `json:"index_bytes"`
	// BytesFromMirrors counts bytes received from mirrors, index files and
	// packages.
	BytesFromMirrors int64 `json:"bytes_from_mirrors"`
	// DebsBySource counts .debs answered, by the source label of their
	// request (see ProxyRequestLog.Source).
	DebsBySource map[string]int64 `json:"debs_by_source"`
	// DebBytesBySource counts .deb bytes answered by where the bytes came
	// from: "peers", "mirror" or "cache".
	DebBytesBySource map[string]int64 `json:"deb_bytes_by_source"`
	// RateServed, RatePeers and RateMirror are bytes per second over the
	// last 30 seconds: answered to APT, .deb bytes from peers, from
	// mirrors.
	RateServed float64 `json:"rate_served"`
	RatePeers  float64 `json:"rate_peers"`
	RateMirror float64 `json:"rate_mirror"`
	// Samples are the traffic of the last 15 minutes in 5-second
	// intervals, oldest first; the last is still running.
	Samples []ProxySample `json:"samples"`
	// Engine holds the peer side's figures; nil when the proxy runs
	// without a Client.
	Engine *ProxyEngineStatus `json:"engine,omitempty"`
	// CacheBytes and CachePieces are the verified packages stored.
	CacheBytes  int64 `json:"cache_bytes"`
	CachePieces int   `json:"cache_pieces"`
	// CacheCap is the byte cap on the package store (0: none or not
	// known).
	CacheCap int64 `json:"cache_cap"`
	// Evictions counts packages evicted to stay under CacheCap.
	Evictions int64 `json:"evictions"`
	// Recent are the last requests to mirrors (at most 50), newest first.
	Recent []ProxyRequestLog `json:"recent"`
}

// ProxyEngineStatus is the peer side (the Client) of a ProxyStatus.
type ProxyEngineStatus struct {
	// Peers is the number of connected peers.
	Peers int `json:"peers"`
	// BytesFromPeers counts payload bytes received from peers.
	BytesFromPeers int64 `json:"bytes_from_peers"`
	// BytesToPeers counts payload bytes sent to peers.
	BytesToPeers int64 `json:"bytes_to_peers"`
	// BytesFromWeb counts bytes the engine fetched from mirrors (its web
	// source).
	BytesFromWeb int64 `json:"bytes_from_web"`
	// VerificationFailures counts pieces that failed their hash check.
	VerificationFailures int64 `json:"verification_failures"`
	// BannedPeers counts peers banned for bad data or misbehaviour.
	BannedPeers int64 `json:"banned_peers"`
}

// ProxyTorrentStatus is one swarm: the torrent made from one Packages file.
type ProxyTorrentStatus struct {
	// Name is origin/suite/component/binary-arch, e.g.
	// "Debian/bookworm/main/binary-amd64".
	Name string `json:"name"`
	// InfoHash is the torrent's hex infohash.
	InfoHash string `json:"infohash"`
	// Index is the Packages file it was made from, relative to the
	// suite's dists directory.
	Index string `json:"index"`
	// Packages is the number of .debs it lists.
	Packages int `json:"packages"`
	// Bytes is their total size.
	Bytes int64 `json:"bytes"`
	// PiecesWanted counts packages asked for.
	PiecesWanted int `json:"pieces_wanted"`
	// PiecesDone counts packages verified and stored.
	PiecesDone int `json:"pieces_done"`
	// Peers is the number of connected peers in the swarm.
	Peers int `json:"peers"`
	// Machines is the number of distinct peer IP addresses in the swarm.
	Machines int `json:"machines"`
	// Added is when the torrent was made.
	Added time.Time `json:"added"`
}

// ProxyMirrorStatus is what the proxy knows of one mirror base URL.
type ProxyMirrorStatus struct {
	// Name is the mirror's name (the path prefix of requests).
	Name string `json:"name"`
	// URL is the base URL.
	URL string `json:"url"`
	// State is "up" (the last request worked), "down" (it failed) or ""
	// (not used yet); other words may appear (shown as they are).
	State string `json:"state"`
	// LastError is the last failure's one-line reason, kept after the
	// mirror recovers ("" if none).
	LastError string `json:"last_error"`
	// Since is when State last changed (zero: never used).
	Since time.Time `json:"since"`
}

// ProxySample is the traffic of one 5-second interval.
type ProxySample struct {
	// Start is the start of the interval.
	Start time.Time `json:"start"`
	// Served counts body bytes answered to APT.
	Served int64 `json:"served"`
	// Peers and Mirror count .deb bytes brought in from peers and from
	// mirrors.
	Peers  int64 `json:"peers"`
	Mirror int64 `json:"mirror"`
}

// ProxyRequestLog is one request the proxy answered.
type ProxyRequestLog struct {
	// Time is when the answer was ready (UTC).
	Time time.Time `json:"time"`
	// Method is the HTTP method.
	Method string `json:"method"`
	// URL is the URL as APT sent it.
	URL string `json:"url"`
	// Status is the HTTP status answered.
	Status int `json:"status"`
	// Bytes is the body length answered (0 for HEAD).
	Bytes int64 `json:"bytes"`
	// Source says where the answer came from: "cache" (already stored),
	// "peers", "mirror", "mixed" (peers and mirror), "unlisted" (a pool
	// file no torrent lists), "index", "refused", "self" or "error".
	Source string `json:"source"`
	// Duration is the time to the answer's head, in seconds.
	Duration float64 `json:"duration_seconds"`
}

// Status returns a snapshot of the proxy's state.
func (p *Proxy) Status() ProxyStatus { return proxyStatusFrom(p.srv.Status()) }

// proxyStatusFrom converts the internal status; nothing of s is shared.
func proxyStatusFrom(s aptproxy.Status) ProxyStatus {
	out := ProxyStatus{
		Time: s.Time, Uptime: s.Uptime,
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
			Duration: r.Duration})
	}
	return out
}
