package debtorrent

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults of Config and WebConfig, used for zero fields.
const (
	// DefaultListenAddr is where the Client accepts peers: every interface,
	// a port chosen by the system (read it back with Client.Addr).
	DefaultListenAddr = ":0"
	// DefaultMaxConns bounds the peer connections of all torrents together.
	DefaultMaxConns = 200
	// DefaultMaxConnsPerTorrent bounds the peer connections of one torrent.
	DefaultMaxConnsPerTorrent = 50
	// DefaultDataDir is where the default storage keeps pieces.
	DefaultDataDir = "."
	// DefaultMaxConnsPerAddress bounds one torrent's peer connections from
	// one address (IPv4 address, IPv6 /64): several clients behind one NAT
	// are normal, fifty are an attack.
	DefaultMaxConnsPerAddress = 4
	// DefaultMaxConnsPerAddressTotal bounds the peer connections from one
	// address over all torrents: a neighbour shares one connection with
	// us in each of the proxy's torrents (one per Packages file, a few
	// dozen), and one address should not take every MaxConns slot.
	DefaultMaxConnsPerAddressTotal = 64
	// DefaultIdlePeerTimeout is how long a peer may be of no use (neither
	// side interested, no block either way) before its slot may go to a
	// new peer when the torrent is full.
	DefaultIdlePeerTimeout = 30 * time.Second
	// DefaultRequestQueueTime is how much data, in seconds of a peer's
	// measured rate, is kept requested from it beyond one round trip.
	DefaultRequestQueueTime = time.Second
)

// Config configures a Client. The zero value works: every zero field takes
// the default named in its comment.
type Config struct {
	// ListenAddr is the TCP address peers connect to (DefaultListenAddr,
	// ":0"). Embedders that must be reachable on a known port set it.
	ListenAddr string
	// PeerID is the ID this client gives in handshakes. Zero: a random ID
	// starting with peerwire.PeerIDPrefix.
	PeerID [20]byte
	// MaxConns bounds peer connections over all torrents
	// (DefaultMaxConns, 200).
	MaxConns int
	// MaxConnsPerTorrent bounds one torrent's peer connections
	// (DefaultMaxConnsPerTorrent, 50).
	MaxConnsPerTorrent int
	// MaxConnsPerAddress bounds one torrent's peer connections from one
	// address (DefaultMaxConnsPerAddress, 4); more are refused. An address
	// is an IPv4 address or an IPv6 /64; loopback and link-local
	// connections count by ip:port unless BanLoopbackByIP.
	MaxConnsPerAddress int
	// MaxConnsPerAddressTotal bounds the peer connections from one address
	// over all torrents (DefaultMaxConnsPerAddressTotal, 64).
	MaxConnsPerAddressTotal int
	// IdlePeerTimeout: when a torrent is at MaxConnsPerTorrent and a new
	// peer arrives, the peer connected longest ago that has been of no use
	// for this long (neither side interested, no block either way) is
	// dropped for it; with none, the newcomer is refused
	// (DefaultIdlePeerTimeout, 30 s).
	IdlePeerTimeout time.Duration
	// BanLoopbackByIP makes bans and per-address limits apply to loopback
	// and link-local addresses by IP, as to others. By default those go
	// by ip:port (and peer ID), since several honest peers on one host or
	// link share the address: a liar there is refused when it comes back
	// with the same peer ID, not with a new one from a new port. Tests
	// that want the strict behaviour set it.
	BanLoopbackByIP bool
	// UploadRate caps the bytes per second sent to peers, over all
	// torrents. 0: unlimited.
	UploadRate int64
	// DownloadRate caps the bytes per second read from peers, over all
	// torrents. 0: unlimited. Web sources are not capped by it.
	DownloadRate int64
	// Storage keeps the pieces. Nil: OpenDiskStorage(DataDir), opened by
	// New and closed by Close. A Storage given here is not closed by the
	// Client.
	Storage Storage
	// DataDir is the directory of the default storage (DefaultDataDir, the
	// current directory). Ignored when Storage is set.
	DataDir string
	// Logger receives the engine's logs (nil: discarded).
	Logger *slog.Logger
	// HTTPClient announces to HTTP trackers (nil: http.DefaultClient).
	HTTPClient *http.Client
	// RequestQueueTime sizes each peer's request queue: the Client keeps
	// rate × (round trip + RequestQueueTime) bytes requested from a peer,
	// between 4 and 500 blocks (DefaultRequestQueueTime, 1 s).
	RequestQueueTime time.Duration
	// Web tunes how web sources (mirrors, url-lists) share work with peers.
	Web WebConfig
	// LocalDiscovery announces every torrent on the LAN and dials the
	// machines that announce the same ones (BEP 14 local service
	// discovery, multicast on the interface of the default route). Off in
	// the zero Config, so that a library user (and every test) stays off
	// the network unless it asks; the proxy example turns it on.
	LocalDiscovery bool
}

// WebConfig tunes the use of a torrent's web source. Zero fields take the
// defaults named in their comments; see Torrent for the rule they feed.
type WebConfig struct {
	// MaxFetches bounds concurrent fetches per torrent (4).
	MaxFetches int
	// MaxRun bounds the bytes of one fetch; a whole piece that fits is
	// fetched with one request (0: 64 MiB).
	MaxRun int64
	// Tick is how often the loop evaluates the hand-over rule, starts web
	// fetches that became due (retry delays, NormalDelay), looks for
	// stalled peers and dials more (200 ms). The rule is also evaluated at
	// once whenever a piece is waited for and when a fetch ends.
	Tick time.Duration
	// Grace is how long peers have to deliver a first byte of an urgent
	// piece they were asked for before they count as infinitely slow
	// (500 ms).
	Grace time.Duration
	// Hysteresis: an urgent piece is handed to the web source when the
	// peers' estimated time to finish it exceeds Hysteresis times the web
	// source's (1.5).
	Hysteresis float64
	// AssumedRate is the web source's rate in bytes per second before it
	// has been measured (10 MB/s).
	AssumedRate float64
	// AssumedLatency is the web source's time to first byte before it has
	// been measured (100 ms).
	AssumedLatency time.Duration
	// NormalDelay: a wanted non-urgent piece that no connected peer has
	// goes to the web source once the torrent has been running this long
	// (5 s). Negative: non-urgent pieces never go to the web.
	NormalDelay time.Duration
}

func (c Config) withDefaults() Config {
	if c.ListenAddr == "" {
		c.ListenAddr = DefaultListenAddr
	}
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxConnsPerTorrent <= 0 {
		c.MaxConnsPerTorrent = DefaultMaxConnsPerTorrent
	}
	if c.MaxConnsPerAddress <= 0 {
		c.MaxConnsPerAddress = DefaultMaxConnsPerAddress
	}
	if c.MaxConnsPerAddressTotal <= 0 {
		c.MaxConnsPerAddressTotal = DefaultMaxConnsPerAddressTotal
	}
	if c.IdlePeerTimeout <= 0 {
		c.IdlePeerTimeout = DefaultIdlePeerTimeout
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	if c.RequestQueueTime <= 0 {
		c.RequestQueueTime = DefaultRequestQueueTime
	}
	c.Web = c.Web.withDefaults()
	return c
}

func (w WebConfig) withDefaults() WebConfig {
	if w.MaxFetches <= 0 {
		w.MaxFetches = 4
	}
	if w.MaxRun <= 0 {
		w.MaxRun = 64 << 20
	}
	if w.Tick <= 0 {
		w.Tick = 200 * time.Millisecond
	}
	if w.Grace <= 0 {
		w.Grace = 500 * time.Millisecond
	}
	if w.Hysteresis <= 0 {
		w.Hysteresis = 1.5
	}
	if w.AssumedRate <= 0 {
		w.AssumedRate = 10e6
	}
	if w.AssumedLatency <= 0 {
		w.AssumedLatency = 100 * time.Millisecond
	}
	if w.NormalDelay == 0 {
		w.NormalDelay = 5 * time.Second
	}
	return w
}
