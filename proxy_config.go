package debtorrent

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/debtorrent/debtorrent/websource"
)

// Defaults of ProxyConfig.
const (
	// DefaultProxyListenAddr is where the example proxy listens for APT.
	DefaultProxyListenAddr = "127.0.0.1:9988"
	// DefaultProxyPeerWait is how long a .deb that peers have may take from
	// them before the engine's hand-over rule gives the rest to the mirror if
	// peers would miss it (the deadline of Torrent.WaitPiece). It is not a
	// second road to the mirror: the engine's web source is the only one.
	DefaultProxyPeerWait = 20 * time.Second
	// DefaultProxyDebTimeout bounds getting one .deb; past it APT gets 504.
	DefaultProxyDebTimeout = 30 * time.Minute
	// DefaultProxyPipelineDepth is how many requests of one APT connection
	// are read ahead and worked on at once.
	DefaultProxyPipelineDepth = 32
	// DefaultProxyIndexCacheSize caps the index cache (Release, Packages
	// and other index files, and unlisted pool files): a few suites of
	// every architecture fit many times over.
	DefaultProxyIndexCacheSize = 4 << 30
)

// ProxyMirror is an upstream a Proxy may reach.
type ProxyMirror struct {
	// Name is the first path component of path-prefix requests:
	// http://proxy/<Name>/... reaches URLs[0]/...
	Name string
	// URLs are base URLs serving the same files, tried in order.
	URLs []string
	// Prefixes, if any, limit the reachable paths under the bases (e.g.
	// "debian/"); empty: every path.
	Prefixes []string
}

// ProxyConfig configures a Proxy. Zero fields take the defaults named in
// their comments.
type ProxyConfig struct {
	// Mirrors are the only upstreams reachable through the proxy. Empty:
	// the APT sources of the machine (SourcesRoot), one mirror per host,
	// named by the host and limited to the archive roots the sources name.
	Mirrors []ProxyMirror
	// AddMirrors are added to the APT sources' mirrors (ignored when
	// Mirrors is set).
	AddMirrors []ProxyMirror
	// SourcesRoot is the system root whose /etc/apt sources are read when
	// Mirrors is empty ("/").
	SourcesRoot string
	// Architectures are the machine's Debian architectures: for every
	// Release APT fetches through the proxy, the Packages indexes of these
	// architectures join their swarms, even when APT does not fetch them
	// because its own copy is current. Nil: dpkg's architectures
	// (dpkg --print-architecture and --print-foreign-architectures); empty
	// and non-nil: only the indexes APT fetches through the proxy.
	Architectures []string
	// AptLists is APT's lists directory; a Packages file APT already holds
	// there (the exact one the Release vouches for) is read instead of being
	// fetched from the mirror. "": SourcesRoot/var/lib/apt/lists.
	AptLists string
	// CacheDir holds the index cache and, when neither Client nor Storage
	// is set, the package store. Required.
	CacheDir string
	// CacheSize caps the package store the proxy opens itself (Client and
	// Storage nil) in bytes; least recently used packages are evicted past
	// it. 0: no cap.
	CacheSize int64
	// Client is the engine: Packages files become its torrents and .debs
	// are wanted from its swarms (peers, with the mirror as the torrents'
	// web source). Its Storage must be a ContentStorage (DiskStorage is
	// one). Nil: .debs come from the mirror only.
	Client *Client
	// IndexCacheSize caps the index cache in bytes; least recently used
	// files are evicted past it (DefaultProxyIndexCacheSize; negative: no
	// cap).
	IndexCacheSize int64
	// Hostnames are names, besides IP addresses and localhost, under which
	// the status pages answer (a DNS-rebinding page cannot use an IP
	// address, so its requests are refused).
	Hostnames []string
	// Storage keeps the .debs when Client is nil (a Client brings its own).
	// Nil: a DiskStorage in CacheDir/packages, capped at CacheSize.
	Storage ContentStorage
	// WebSource makes the web source of an archive from its root URLs on
	// the mirror's bases (one per archive, shared by its torrents and by
	// mirror-only fetches). Nil: websource.NewHTTP with HTTPClient.
	WebSource func(rootURLs []string) (websource.WebSource, error)
	// Trackers are announce URLs given to every torrent added to Client.
	Trackers []string
	// HTTPClient sends upstream requests. Nil: a client with dial and
	// header timeouts, pooled connections and no transparent gzip.
	HTTPClient *http.Client
	// PeerWait is the deadline a .deb request gives the engine
	// (DefaultProxyPeerWait): see that constant.
	PeerWait time.Duration
	// DebTimeout bounds getting one .deb (DefaultProxyDebTimeout); past it
	// APT gets 504.
	DebTimeout time.Duration
	// PipelineDepth is the read-ahead per APT connection
	// (DefaultProxyPipelineDepth).
	PipelineDepth int
	// Logger receives the proxy's logs (nil: discarded).
	Logger *slog.Logger
}
