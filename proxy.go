package debtorrent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"

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
// APT pipelines up to 10 requests per connection by default; to let it send
// more at once, raise both Acquire::http::Pipeline-Depth and
// Acquire::Max-Pipeline-Depth (e.g. "32", the proxy's default read-ahead,
// ProxyConfig.PipelineDepth). A .deb is answered once verified, so its first
// byte comes when the whole file is in: for packages that take longer than
// APT's Acquire::http::Timeout to fetch, raise that timeout.
type Proxy struct {
	cfg     ProxyConfig
	log     *slog.Logger
	srv     *aptproxy.Server
	handler http.Handler
	pipe    *pipeline.Server
	mirror  *aptproxy.MirrorFetcher
	storage *DiskStorage
	ownsSt  bool
	mirrors []ProxyMirror

	mu       sync.Mutex
	torrents map[string]*Torrent // Client torrents by hex infohash
	closed   bool
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
	if cfg.SourcesRoot == "" {
		cfg.SourcesRoot = "/"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{cfg: cfg, log: log, torrents: map[string]*Torrent{}}
	ms, err := p.buildMirrors()
	if err != nil {
		return nil, err
	}
	table, err := aptproxy.NewMirrors(ms)
	if err != nil {
		return nil, fmt.Errorf("debtorrent: proxy: %w", err)
	}
	cache, err := indexcache.Open(filepath.Join(cfg.CacheDir, "index"), indexcache.Options{Client: cfg.HTTPClient, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("debtorrent: proxy: %w", err)
	}
	if cfg.Client != nil {
		ds, ok := cfg.Client.Storage().(*DiskStorage)
		if !ok {
			return nil, errors.New("debtorrent: proxy: the Client's Storage must be a *DiskStorage (the proxy serves packages by SHA256)")
		}
		p.storage = ds
	} else {
		ds, err := OpenDiskStorage(filepath.Join(cfg.CacheDir, "packages"), DiskOptions{MaxBytes: cfg.CacheSize, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("debtorrent: proxy: %w", err)
		}
		p.storage, p.ownsSt = ds, true
	}
	st := proxyStore{p.storage}
	p.mirror = aptproxy.NewMirrorFetcher(st, websource.Options{Client: cfg.HTTPClient, Logger: log})
	acfg := aptproxy.Config{Mirrors: table, Cache: cache, Store: st, Mirror: p.mirror,
		PeerWait: cfg.PeerWait, DebTimeout: cfg.DebTimeout, Logger: log}
	if cfg.Client != nil {
		acfg.Fetcher = clientFetcher{p}
		acfg.OnTorrent = p.onTorrent
		acfg.Engine = p.engineStatus
	}
	p.srv, err = aptproxy.New(acfg)
	if err != nil {
		if p.ownsSt {
			p.storage.Close()
		}
		return nil, fmt.Errorf("debtorrent: proxy: %w", err)
	}
	p.handler = pipeline.Adapt(p.srv)
	p.pipe = &pipeline.Server{Handler: p.srv, Depth: cfg.PipelineDepth, Logger: log}
	return p, nil
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
func (p *Proxy) Import(ctx context.Context, dir string) (ImportStats, error) {
	return p.storage.Import(ctx, dir)
}

// Close stops serving, waits for background work and closes the store the
// proxy opened (not the Client).
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.pipe.Close()
	p.srv.Close()
	p.mirror.Close()
	if p.ownsSt {
		return p.storage.Close()
	}
	return nil
}
