package debtorrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debtorrent/debtorrent/debsource"
	"github.com/debtorrent/debtorrent/internal/aptproxy"
	"github.com/debtorrent/debtorrent/internal/indexcache"
	"github.com/debtorrent/debtorrent/internal/pipeline"
	"github.com/debtorrent/debtorrent/websource"
)

// Proxy is the HTTP face of debtorrent for APT: an http.Handler, and a
// pipelining server (Serve, Run) that reads APT's pipelined requests ahead,
// works on all of them at once and answers in order. It reaches only its
// configured mirrors, caches index files, turns Packages files into
// torrents for the Client, and serves .debs once verified.
//
// Requests come two ways: as a forward proxy (Acquire::http::Proxy
// "http://127.0.0.1:9988"; APT sends absolute URLs) or by path prefix
// (deb http://127.0.0.1:9988/<mirror-name>/debian bookworm main). Requests
// for the proxy itself get the status pages: / (HTML), /status.json and
// /metrics (Prometheus).
//
// A .deb that a torrent lists is asked of the Client's Torrent
// (Torrent.ReadPiece, with PeerWait as its deadline): the torrent's peers
// and its web source, the mirror, share the work by the engine's hand-over
// rule, and the mirror is reached by no other road. Without a Client, the
// .deb is fetched from the mirror whole into the ContentStorage. Either way
// APT gets it only once its SHA256 is verified.
//
// APT pipelines up to 10 requests per connection by default; to let it send
// more at once, raise both Acquire::http::Pipeline-Depth and
// Acquire::Max-Pipeline-Depth (e.g. "32", the proxy's default read-ahead,
// ProxyConfig.PipelineDepth). A .deb is answered once verified, so its first
// byte comes when the whole file is in: for packages that take longer than
// APT's Acquire::http::Timeout to fetch, raise that timeout.
type Proxy struct {
	// Set by NewProxy, then read-only.
	cfg     ProxyConfig
	log     *slog.Logger
	srv     *aptproxy.Server // routing, indexes, torrent descriptions, status pages
	pipe    *pipeline.Server
	handler http.Handler // APT's requests under net/http
	client  *Client      // nil: the mirror only
	storage ContentStorage
	ownsSt  bool
	sources *webSources    // one web source per archive
	mirror  *mirrorFetcher // the road for .debs without a Client
	mirrors []ProxyMirror

	evictions   atomic.Int64 // pieces the storage removed (past its cap, or bad)
	aborted     abortedSet   // .debs whose last streamed answer was cut short
	stopObserve func()

	closeOnce sync.Once
	closeErr  error
}

var _ http.Handler = (*Proxy)(nil)

// NewProxy makes a Proxy. Close it when done.
func NewProxy(cfg ProxyConfig) (*Proxy, error) {
	if cfg.CacheDir == "" {
		return nil, errors.New("debtorrent: proxy: CacheDir is required")
	}
	if cfg.PeerWait <= 0 {
		cfg.PeerWait = DefaultProxyPeerWait
	}
	if cfg.DebTimeout <= 0 {
		cfg.DebTimeout = DefaultProxyDebTimeout
	}
	if cfg.PipelineDepth <= 0 {
		cfg.PipelineDepth = DefaultProxyPipelineDepth
	}
	if cfg.IndexCacheSize == 0 {
		cfg.IndexCacheSize = DefaultProxyIndexCacheSize
	}
	if cfg.SourcesRoot == "" {
		cfg.SourcesRoot = "/"
	}
	if cfg.AptLists == "" {
		cfg.AptLists = filepath.Join(cfg.SourcesRoot, "var/lib/apt/lists")
	}
	if cfg.Architectures == nil {
		cfg.Architectures = dpkgArchitectures()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{cfg: cfg, log: log, client: cfg.Client}
	ms, err := p.buildMirrors()
	if err != nil {
		return nil, err
	}
	table, err := aptproxy.NewMirrors(ms)
	if err != nil {
		return nil, fmt.Errorf("debtorrent: proxy: %w", err)
	}
	if err := p.openStorage(); err != nil {
		return nil, err
	}
	table.SelfHosts = cfg.Hostnames
	cache, err := indexcache.Open(filepath.Join(cfg.CacheDir, "index"), indexcache.Options{Client: cfg.HTTPClient, Logger: log,
		MaxBytes: max(cfg.IndexCacheSize, 0), AllowRedirect: table.AllowRedirect})
	if err != nil {
		p.closeStorage()
		return nil, fmt.Errorf("debtorrent: proxy: %w", err)
	}
	p.mirror = newMirrorFetcher(p.storage, log)
	// The web sources are made on first use, after srv exists; the status
	// pages ask for their counters through this closure.
	acfg := aptproxy.Config{Mirrors: table, Cache: cache, HTTPClient: cfg.HTTPClient, DebTimeout: cfg.DebTimeout, Logger: log,
		MirrorStats: func() []websource.MirrorStats { return p.sources.stats() }, Architectures: cfg.Architectures, AptLists: cfg.AptLists, StateDir: cfg.CacheDir}
	if u, ok := p.storage.(interface{ Usage() (int64, int) }); ok {
		acfg.Usage = u.Usage
	}
	if p.client != nil {
		acfg.OnTorrent = p.joinSwarm
		acfg.Engine = p.engineStatus
	}
	p.srv, err = aptproxy.New(acfg)
	if err != nil {
		cache.Close()
		p.closeStorage()
		return nil, fmt.Errorf("debtorrent: proxy: %w", err)
	}
	p.sources = newWebSources(cfg.WebSource, p.srv, cfg.HTTPClient, table.AllowRedirect, log)
	h := aptHandler{p}
	p.handler = pipeline.Adapt(h)
	p.pipe = &pipeline.Server{Handler: h, Depth: cfg.PipelineDepth, Logger: log}
	p.watchEvictions()
	p.srv.Start()
	return p, nil
}

// openStorage finds the ContentStorage the proxy serves .debs from: the
// Client's, the one configured, or its own in CacheDir/packages.
func (p *Proxy) openStorage() error {
	switch {
	case p.client != nil:
		cs, ok := p.client.Storage().(ContentStorage)
		if !ok {
			return fmt.Errorf("debtorrent: proxy: the Client's Storage (%T) does not keep pieces by SHA256 (ContentStorage); use DiskStorage or implement ContentStorage", p.client.Storage())
		}
		p.storage = cs
	case p.cfg.Storage != nil:
		p.storage = p.cfg.Storage
	default:
		ds, err := OpenDiskStorage(filepath.Join(p.cfg.CacheDir, "packages"), DiskOptions{MaxBytes: p.cfg.CacheSize, Logger: p.log})
		if err != nil {
			return fmt.Errorf("debtorrent: proxy: %w", err)
		}
		p.storage, p.ownsSt = ds, true
	}
	return nil
}

func (p *Proxy) closeStorage() error {
	if p.ownsSt {
		return p.storage.Close()
	}
	return nil
}

// buildMirrors turns the configuration into the mirror table.
func (p *Proxy) buildMirrors() ([]*aptproxy.Mirror, error) {
	var out []*aptproxy.Mirror
	add := func(list []ProxyMirror) error {
		for _, pm := range list {
			m, err := aptproxy.NewMirror(pm.Name, pm.URLs...)
			if err != nil {
				return fmt.Errorf("debtorrent: proxy: %w", err)
			}
			m.Prefixes = pm.Prefixes
			out = append(out, m)
		}
		return nil
	}
	if len(p.cfg.Mirrors) > 0 {
		if err := add(p.cfg.Mirrors); err != nil {
			return nil, err
		}
	} else {
		ms, notes, err := aptproxy.MirrorsFromAPT(p.cfg.SourcesRoot)
		if err != nil {
			return nil, fmt.Errorf("debtorrent: proxy: %w", err)
		}
		for _, n := range notes {
			p.log.Info("debtorrent: proxy: APT source left out", "why", n)
		}
		out = ms
		if err := add(p.cfg.AddMirrors); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, errors.New("debtorrent: proxy: no mirrors: give some, or add http sources to APT")
	}
	for _, m := range out {
		pm := ProxyMirror{Name: m.Name, Prefixes: m.Prefixes}
		for _, u := range m.URLs {
			pm.URLs = append(pm.URLs, u.String())
		}
		p.mirrors = append(p.mirrors, pm)
	}
	return out, nil
}

// Mirrors returns the mirrors the proxy reaches.
func (p *Proxy) Mirrors() []ProxyMirror { return append([]ProxyMirror(nil), p.mirrors...) }

// aptHandler answers APT's requests: the pipeline.Handler of the Proxy.
type aptHandler struct{ p *Proxy }

// Handle implements pipeline.Handler.
func (h aptHandler) Handle(ctx context.Context, r *http.Request) *pipeline.Response {
	start := time.Now()
	var later string // the source a streamed answer learns once sent
	resp, source := h.p.route(ctx, r, &later)
	if resp.Status >= 400 && ctx.Err() == nil {
		h.p.log.Warn("debtorrent: proxy: request failed", "url", r.URL.String(), "status", resp.Status, "reason", resp.Reason, "source", source)
	}
	if resp.Body == nil {
		h.p.srv.Record(r, resp, source, time.Since(start))
		return resp
	}
	// Logged once sent: its time is the whole transfer, and a streamed
	// .deb knows only then where its bytes came from.
	resp.Body = &recordOnClose{ReadCloser: resp.Body, record: func() {
		if later != "" {
			source = later
		}
		h.p.srv.Record(r, resp, source, time.Since(start))
	}}
	return resp
}

// route is the request path: a mirror's file is an index (through the
// cache), a pool file a torrent lists (a .deb: serveDeb), or a pool file
// none lists (through the cache). It says where the answer came from.
func (p *Proxy) route(ctx context.Context, r *http.Request, later *string) (*pipeline.Response, string) {
	if r.Method == http.MethodConnect {
		return p.serveConnect(ctx, r)
	}
	t, err := p.srv.Resolve(r)
	switch {
	case errors.Is(err, aptproxy.ErrSelf):
		return p.srv.ServeSelf(r), "self"
	case err != nil:
		return aptproxy.Refuse(r, err), "refused"
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		return aptproxy.Refuse(r, nil), "refused"
	case t.Path.Kind != debsource.KindPool:
		return p.srv.ServeIndex(ctx, r, t), "index"
	}
	tor, file, listed := p.srv.FindPool(ctx, t)
	if !listed {
		return p.srv.ServeUnlisted(ctx, r, t), "unlisted"
	}
	return p.serveDeb(ctx, r, t, tor, file, later)
}

// recordOnClose runs record once, after the body is closed.
type recordOnClose struct {
	io.ReadCloser
	record func()
	once   sync.Once
}

func (c *recordOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.once.Do(c.record)
	return err
}

// ServeHTTP implements http.Handler. Under net/http a connection's
// pipelined requests are answered one after another; Serve works on them
// at once.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// Serve answers APT on ln, with pipelining, until Close.
func (p *Proxy) Serve(ln net.Listener) error {
	err := p.pipe.Serve(ln)
	if errors.Is(err, pipeline.ErrServerClosed) {
		return nil
	}
	return err
}

// Run listens on addr and serves until ctx ends, then closes the proxy.
func (p *Proxy) Run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debtorrent: proxy: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- p.Serve(ln) }()
	select {
	case <-ctx.Done():
		p.Close()
		<-errc
		return nil
	case err := <-errc:
		p.Close()
		return err
	}
}

// Import adds the .deb files of dir (e.g. /var/cache/apt/archives) to the
// package store, so that they are served and seeded without downloading.
// It needs a DiskStorage.
func (p *Proxy) Import(ctx context.Context, dir string) (ImportStats, error) {
	ds, ok := p.storage.(*DiskStorage)
	if !ok {
		return ImportStats{}, fmt.Errorf("debtorrent: proxy: import needs a DiskStorage, not %T", p.storage)
	}
	return ds.Import(ctx, dir)
}

// Close stops serving, waits for background work and closes the storage
// the proxy opened (not the Client, nor a Storage it was given).
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.stopObserve()
		p.pipe.Close()
		p.srv.Close()
		p.mirror.close()
		p.sources.close()
		p.closeErr = p.closeStorage()
	})
	return p.closeErr
}

// dpkgArchitectures asks dpkg for the machine's architectures, native
// first; none when dpkg cannot say.
func dpkgArchitectures() []string {
	out, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		return []string{}
	}
	archs := strings.Fields(string(out))
	if out, err := exec.Command("dpkg", "--print-foreign-architectures").Output(); err == nil {
		archs = append(archs, strings.Fields(string(out))...)
	}
	return archs
}

// parseURL parses a mirror's base URL.
func parseURL(raw string) (*url.URL, error) { return url.Parse(raw) }

// watchEvictions counts the pieces the storage removes, for the status
// pages (with the cap, when the proxy opened the storage itself).
func (p *Proxy) watchEvictions() {
	p.stopObserve = p.storage.Observe(func(_ [32]byte, have bool) {
		if !have {
			p.evictions.Add(1)
		}
	})
	var capBytes int64
	if p.ownsSt {
		capBytes = p.cfg.CacheSize
	}
	p.srv.SetCacheStats(func() (int64, int64) { return capBytes, p.evictions.Load() })
}
