// Package aptproxy is the APT-facing half of the debtorrent proxy: it
// routes requests to configured mirrors only (forward-proxy absolute URLs or
// a /<mirror-name>/ path prefix), passes index files through an on-disk
// cache with the right freshness rule for each, turns Packages files into
// Debian torrents as they pass, and answers .deb requests from the verified
// store once a Fetcher (peers, the mirror) has brought them in. Its Server is
// a pipeline.Handler, so pipelined requests are all worked on at once.
package aptproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/debsource"
	"github.com/debtorrent/debtorrent/internal/indexcache"
	"github.com/debtorrent/debtorrent/internal/pipeline"
)

// Defaults of Config's durations.
const (
	// DefaultDebTimeout bounds getting one .deb (peers and mirror); past it
	// the request fails with 504.
	DefaultDebTimeout = 30 * time.Minute
	// DefaultPeerWait is how long the Fetcher (peers) may take before the
	// mirror is asked directly.
	DefaultPeerWait = 20 * time.Second
	// DefaultIndexTimeout bounds getting one index file.
	DefaultIndexTimeout = 10 * time.Minute
	// DefaultBuildWait is how long a .deb request waits for Packages files
	// still being turned into torrents before it is treated as unlisted.
	DefaultBuildWait = 10 * time.Second
)

// Config configures a Server.
type Config struct {
	// Mirrors are the only upstreams reachable.
	Mirrors *Mirrors
	// Cache keeps index files and unlisted pool files.
	Cache *indexcache.Cache
	// Store keeps verified .debs.
	Store Store
	// Mirror fetches .debs from the mirror: the path with no peers, and the
	// fallback.
	Mirror *MirrorFetcher
	// Fetcher, when set, is asked first for listed .debs (the engine:
	// peers with the mirror as web source). Nil: the mirror only.
	Fetcher Fetcher
	// OnTorrent is called (from a goroutine of the Server) with each torrent
	// made from a Packages file, and the older torrent of the same index it
	// replaces (or nil).
	OnTorrent func(t, replaced *Torrent)
	// Engine reports peer-side figures for the status pages (may be nil).
	Engine func() EngineStatus
	// DebTimeout, PeerWait, IndexTimeout, BuildWait: see the defaults.
	DebTimeout, PeerWait, IndexTimeout, BuildWait time.Duration
	// Logger receives logs (nil: none).
	Logger *slog.Logger
}

// Server answers APT's requests. Make it with New; Close it to wait for
// its background work.
type Server struct {
	cfg      Config
	log      *slog.Logger
	archives *archives
	stats    *stats
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	started  time.Time
}

var _ pipeline.Handler = (*Server)(nil)

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Mirrors == nil || cfg.Cache == nil || cfg.Store == nil || cfg.Mirror == nil {
		return nil, errors.New("aptproxy: Mirrors, Cache, Store and Mirror are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.DebTimeout, DefaultDebTimeout)
	def(&cfg.PeerWait, DefaultPeerWait)
	def(&cfg.IndexTimeout, DefaultIndexTimeout)
	def(&cfg.BuildWait, DefaultBuildWait)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, log: log, archives: newArchives(), stats: newStats(), ctx: ctx, cancel: cancel, started: time.Now()}, nil
}

// Close stops background work (torrent building, fetches nobody waits
// for) and waits for it.
func (s *Server) Close() error {
	s.cancel()
	s.cfg.Cache.Close()
	s.cfg.Mirror.Close()
	s.wg.Wait()
	return nil
}

// Torrents returns the torrents made so far.
func (s *Server) Torrents() []*Torrent { return s.archives.list() }

// Handle implements pipeline.Handler.
func (s *Server) Handle(ctx context.Context, r *http.Request) *pipeline.Response {
	start := time.Now()
	resp, source := s.route(ctx, r)
	s.stats.record(r, resp, source, time.Since(start))
	return resp
}

func (s *Server) route(ctx context.Context, r *http.Request) (*pipeline.Response, string) {
	t, err := s.cfg.Mirrors.Resolve(r)
	switch {
	case errors.Is(err, ErrSelf):
		return s.serveSelf(r), "self"
	case err != nil:
		return pipeline.Text(http.StatusForbidden, "debtorrent: forbidden: "+err.Error()), "refused"
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return pipeline.Text(http.StatusMethodNotAllowed, "debtorrent: only GET and HEAD are proxied"), "refused"
	}
	switch t.Path.Kind {
	case debsource.KindPool:
		return s.servePool(ctx, r, t)
	default:
		return s.serveIndex(ctx, r, t), "index"
	}
}

// noCache reports whether the client asked for a revalidated answer.
func noCache(r *http.Request) bool {
	cc := strings.ToLower(r.Header.Get("Cache-Control"))
	return strings.Contains(cc, "no-cache") || strings.Contains(cc, "max-age=0") || strings.EqualFold(r.Header.Get("Pragma"), "no-cache")
}

// upstreamError turns a failure to get a file into the answer APT
// understands: upstream's own status (404 stays 404), 504 when time ran out,
// 502 otherwise; always with a one-line reason.
func upstreamError(ctx context.Context, what string, err error) *pipeline.Response {
	var se *indexcache.StatusError
	switch {
	case errors.As(err, &se):
		return pipeline.Text(se.Status, fmt.Sprintf("debtorrent: upstream answered %d %s for %s", se.Status, http.StatusText(se.Status), what))
	case isNotFound(err):
		return pipeline.Text(http.StatusNotFound, "debtorrent: no mirror has "+what)
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return pipeline.Text(http.StatusGatewayTimeout, "debtorrent: timed out getting "+what)
	default:
		return pipeline.Text(http.StatusBadGateway, "debtorrent: every source failed for "+what+": "+oneLine(err.Error()))
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
