// Package aptproxy holds the APT-facing helpers of the debtorrent proxy:
// routing to configured mirrors only (forward-proxy absolute URLs or a
// /<mirror-name>/ path prefix), index files passed through an on-disk cache
// with the right freshness rule for each, Packages files turned into Debian
// torrent descriptions as they pass, pool files that no torrent lists, and the
// status pages. It does not fetch the .debs a torrent lists: the root
// package's Proxy owns that path and calls these helpers, each of which
// returns an answer without calling back.
package aptproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/internal/indexcache"
	"github.com/debtorrent/debtorrent/internal/pipeline"
	"github.com/debtorrent/debtorrent/websource"
)

// Defaults of Config's durations.
const (
	// DefaultDebTimeout bounds getting one unlisted pool file; past it the
	// request fails with 504.
	DefaultDebTimeout = 30 * time.Minute
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
	// Cache keeps index files.
	Cache *indexcache.Cache
	// HTTPClient relays pool files no torrent lists (nil: one with the
	// cache's transport that follows no redirect out of Mirrors).
	HTTPClient *http.Client
	// OnTorrent is called (from a goroutine of the Server) with each torrent
	// made from a Packages file, and the older torrent of the same index it
	// replaces (or nil).
	OnTorrent func(t, replaced *Torrent)
	// Engine reports peer-side figures for the status pages (may be nil).
	Engine func() EngineStatus
	// MirrorStats reports the counters of the mirrors .debs are fetched
	// from, for the status pages (may be nil).
	MirrorStats func() []websource.MirrorStats
	// Usage reports the bytes and pieces of the package store, for the
	// status pages (may be nil).
	Usage func() (bytes int64, pieces int)
	// Architectures are the machine's Debian architectures ("amd64"): the
	// Packages indexes of every Release that passes get torrents for these
	// (and indexes that have a torrent follow new versions). Empty: only the
	// indexes APT fetches through the proxy.
	Architectures []string
	// AptLists is APT's lists directory (/var/lib/apt/lists), where a
	// Packages file APT already holds is taken from instead of the mirror
	// (""; never).
	AptLists string
	// StateDir keeps what must survive a restart: the Releases seen, whose
	// swarms a restarted proxy joins at once ("": nothing is kept).
	StateDir string
	// DebTimeout bounds an unlisted pool file; IndexTimeout an index file;
	// BuildWait how long a pool request waits for Packages files still
	// being turned into torrents; JoinDelay how long the proxy waits for APT
	// before it fetches a Packages file for a swarm. See the defaults.
	DebTimeout, IndexTimeout, BuildWait, JoinDelay time.Duration
	// Logger receives logs (nil: none).
	Logger *slog.Logger
}

// Server holds the proxy's routing table, index cache, torrent
// descriptions and statistics. Its methods may be called concurrently. Make
// it with New; Close it to wait for its background work.
type Server struct {
	cfg      Config
	log      *slog.Logger
	archives *archives
	stats    *stats
	suites   *suites
	// mirrorState follows which mirrors can be reached.
	mirrorState *mirrorStates
	ctx         context.Context
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	started     time.Time
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Mirrors == nil || cfg.Cache == nil {
		return nil, errors.New("aptproxy: Mirrors and Cache are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.DebTimeout, DefaultDebTimeout)
	def(&cfg.IndexTimeout, DefaultIndexTimeout)
	def(&cfg.BuildWait, DefaultBuildWait)
	def(&cfg.JoinDelay, DefaultJoinDelay)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Transport: indexcache.NewTransport()}
	}
	hc := *cfg.HTTPClient // never change the caller's client
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 || !cfg.Mirrors.AllowRedirect(via[len(via)-1].URL, req.URL) {
			return http.ErrUseLastResponse // the 3xx goes to APT as it came
		}
		return nil
	}
	cfg.HTTPClient = &hc
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	suitesFile := ""
	if cfg.StateDir != "" {
		suitesFile = filepath.Join(cfg.StateDir, "releases.json")
	}
	s := &Server{cfg: cfg, log: log, archives: newArchives(), stats: newStats(), suites: loadSuites(suitesFile),
		mirrorState: newMirrorStates(log), ctx: ctx, cancel: cancel, started: time.Now()}
	return s, nil
}

// Start begins the background work that needs the caller's hooks in place:
// joining, in the background, the swarms of the Releases seen before a
// restart (OnTorrent is called for each).
func (s *Server) Start() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.rejoin()
	}()
}

// Close stops background work (torrent building, Packages fetches) and
// waits for it.
func (s *Server) Close() error {
	s.cancel()
	s.cfg.Cache.Close()
	s.wg.Wait()
	return nil
}

// Torrents returns the torrents made so far.
func (s *Server) Torrents() []*Torrent { return s.archives.list() }

// Resolve maps a request to a configured mirror's file; the error wraps
// ErrSelf for the proxy's own pages and ErrNotAllowed (or an unsafe-path
// error) for anything else.
func (s *Server) Resolve(r *http.Request) (Target, error) { return s.cfg.Mirrors.Resolve(r) }

// Refuse answers a request that Resolve refused, or one with a method the
// proxy does not forward.
func Refuse(r *http.Request, err error) *pipeline.Response {
	if err == nil {
		return pipeline.Text(http.StatusMethodNotAllowed, "debtorrent: only GET and HEAD are proxied")
	}
	return pipeline.Text(http.StatusForbidden, "debtorrent: forbidden: "+err.Error())
}

// FindPool returns the torrent and file index that list a pool file. While
// torrents are being built it waits for them (up to BuildWait), since APT may
// ask for a package right after the Packages file that lists it.
func (s *Server) FindPool(ctx context.Context, t Target) (*Torrent, int, bool) {
	return s.archives.find(ctx, t.ArchiveKey(), t.Path.Path, s.cfg.BuildWait)
}

// Record counts an answered request for the status pages; source says where
// its body came from.
func (s *Server) Record(r *http.Request, resp *pipeline.Response, source string, d time.Duration) {
	s.stats.record(r, resp, source, d)
}

// DebServed counts a .deb served from source.
func (s *Server) DebServed(source string) { s.stats.debServed(source) }

// noCache reports whether the client asked for a revalidated answer.
func noCache(r *http.Request) bool {
	cc := strings.ToLower(r.Header.Get("Cache-Control"))
	return strings.Contains(cc, "no-cache") || strings.Contains(cc, "max-age=0") || strings.EqualFold(r.Header.Get("Pragma"), "no-cache")
}

// UpstreamError turns a failure to get a file into the answer APT
// understands: upstream's own status (404 stays 404), 504 when time ran out,
// 502 otherwise; always with a one-line reason.
func UpstreamError(ctx context.Context, what string, err error) *pipeline.Response {
	var se *indexcache.StatusError
	switch {
	case errors.As(err, &se) && se.Location != "" && se.Status >= 300 && se.Status < 400:
		// A redirect out of the configured mirrors is not followed: APT
		// gets it as it came, and comes back through the proxy (which
		// refuses it, with a reason, if it leads nowhere configured).
		resp := pipeline.Text(se.Status, fmt.Sprintf("debtorrent: upstream redirects %s to %s", what, se.Location))
		resp.Header.Set("Location", se.Location)
		return resp
	case errors.As(err, &se):
		return pipeline.Text(se.Status, fmt.Sprintf("debtorrent: upstream answered %d %s for %s", se.Status, http.StatusText(se.Status), what))
	case isNotFound(err):
		return pipeline.Text(http.StatusNotFound, "debtorrent: no mirror has "+what)
	case errors.Is(err, websource.ErrBadData):
		return pipeline.Text(http.StatusBadGateway, "debtorrent: every mirror served a wrong "+what+" (checked against its SHA256); not asking again for a while")
	case errors.Is(err, indexcache.ErrMismatch):
		return pipeline.Text(http.StatusBadGateway, "debtorrent: the mirror served a wrong "+what+": "+oneLine(err.Error()))
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return pipeline.Text(http.StatusGatewayTimeout, "debtorrent: timed out getting "+what)
	case unreachable(err):
		return pipeline.Text(http.StatusBadGateway, "debtorrent: the mirror cannot be reached for "+what+": "+RootCause(err))
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
