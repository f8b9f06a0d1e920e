// Package indexcache keeps the files a proxy passes through on disk: APT's
// index files (InRelease, Release, Packages, by-hash names, pdiffs) and pool
// files no torrent lists. Each Get says how fresh the answer must be:
// revalidated with upstream (If-Modified-Since, If-None-Match), immutable
// (by-hash and pool names never change content), or valid while a check on
// its size and SHA256 holds (an index the current Release lists). A burst of
// identical requests makes one upstream fetch, files are written to a
// temporary name and renamed, and upstream status codes come back as
// *StatusError so the caller can pass them on.
package indexcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Mode says when a cached copy may be served without asking upstream.
type Mode uint8

const (
	// Revalidate asks upstream every time with a conditional request
	// (Release files, indexes no Release vouches for).
	Revalidate Mode = iota
	// Immutable serves a cached copy whenever there is one (by-hash names,
	// pool files: their content never changes).
	Immutable
	// Validated serves a cached copy while Request.Valid accepts it (an
	// index whose size and SHA256 the current Release lists), and fetches
	// it afresh otherwise.
	Validated
)

// Defaults for Options.
const (
	// DefaultFetchTimeout bounds one upstream fetch, start to end.
	DefaultFetchTimeout = 10 * time.Minute
	// DefaultIdleTimeout aborts an upstream response that delivers nothing
	// for this long.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultMaxFileBytes is the largest file cached (larger: an error).
	DefaultMaxFileBytes = 4 << 30
)

// Options configure a Cache.
type Options struct {
	// Client sends upstream requests (default: a client whose transport
	// has dial and response-header timeouts and no transparent gzip).
	Client *http.Client
	// FetchTimeout, IdleTimeout and MaxFileBytes: see the defaults.
	FetchTimeout, IdleTimeout time.Duration
	MaxFileBytes              int64
	// UserAgent is sent upstream (default "debtorrent").
	UserAgent string
	// Logger receives debug logs (default: none).
	Logger *slog.Logger
}

// Request names what to get.
type Request struct {
	// Key identifies the file in the cache (e.g. mirror name + path).
	Key string
	// URLs are the upstream URLs, tried in order when one fails (transport
	// error or 5xx) or has no such file.
	URLs []string
	// Mode decides when the cached copy is good enough.
	Mode Mode
	// Valid accepts a cached copy in Validated mode.
	Valid func(Meta) bool
	// NoCache forces a conditional request upstream even in Validated
	// mode (the client sent Cache-Control: max-age=0 or no-cache).
	// Immutable files are still served from the cache: their name is their
	// content.
	NoCache bool
}

// StatusError reports an upstream answer other than 200 or 304.
type StatusError struct {
	// URL asked, Status answered.
	URL    string
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("indexcache: %s: upstream answered %d %s", e.URL, e.Status, http.StatusText(e.Status))
}

// Cache is a directory of cached upstream files. Safe for concurrent use.
type Cache struct {
	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	dir    string
	opts   Options
	group  singleflight.Group
	log    *slog.Logger

	joined  atomic.Int64 // Gets that joined a flight (for tests)
	fetched atomic.Int64 // body bytes received from upstream
}

// BytesFetched returns the body bytes received from upstream so far.
func (c *Cache) BytesFetched() int64 { return c.fetched.Load() }

// Open returns a cache in dir, creating it.
func Open(dir string, opts Options) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("indexcache: %w", err)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Transport: defaultTransport()}
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "debtorrent"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Cache{ctx: ctx, cancel: cancel, dir: dir, opts: opts, log: log}, nil
}

// Close stops upstream fetches in progress and closes idle upstream
// connections. Files already cached stay.
func (c *Cache) Close() error {
	c.cancel()
	c.opts.Client.CloseIdleConnections()
	return nil
}

// Peek returns the cached copy of key without asking upstream, or false.
func (c *Cache) Peek(key string) (*Entry, bool) {
	e, err := openEntry(keyPath(c.dir, key))
	if err != nil {
		return nil, false
	}
	return e, true
}

// Get returns the file, from the cache or upstream as req.Mode allows. An
// upstream answer other than 200/304 is a *StatusError. When upstream cannot
// be reached at all, a cached copy is served if there is one.
func (c *Cache) Get(ctx context.Context, req Request) (*Entry, error) {
	path := keyPath(c.dir, req.Key)
	if e, err := openEntry(path); err == nil {
		switch {
		case req.Mode == Immutable:
			return e, nil
		case req.Mode == Validated && !req.NoCache && req.Valid != nil && req.Valid(e.Meta):
			return e, nil
		}
		e.Close()
	}
	ch := c.group.DoChan(req.Key, func() (any, error) {
		// The fetch outlives the request that started it: others may be
		// waiting for it, and the cache keeps what it brings.
		fctx, cancel := context.WithTimeout(c.ctx, c.opts.FetchTimeout)
		defer cancel()
		return c.fetch(fctx, path, req)
	})
	c.joined.Add(1)
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		e, err := openEntry(path)
		if err != nil {
			return nil, fmt.Errorf("indexcache: %s vanished after fetch: %w", req.Key, err)
		}
		e.Revalidated = true
		return e, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("indexcache: get %s: %w", req.Key, ctx.Err())
	}
}

// fetch asks upstream (URLs in order) and updates the cache file.
func (c *Cache) fetch(ctx context.Context, path string, req Request) (any, error) {
	old, err := openEntry(path)
	if err != nil {
		old = nil
	} else {
		defer old.Close()
		if req.Mode == Validated && (req.Valid == nil || !req.Valid(old.Meta)) {
			old.Close()
			old = nil // stale for sure: ask for the whole file
		}
	}
	var errs []error
	var status *StatusError
	for _, u := range req.URLs {
		err := c.fetchOne(ctx, path, u, old)
		if err == nil {
			return nil, nil
		}
		errs = append(errs, err)
		var se *StatusError
		if errors.As(err, &se) {
			if status == nil || se.Status == http.StatusNotFound || se.Status == http.StatusGone {
				status = se
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	if status != nil && status.Status < 500 {
		return nil, status // a truthful "no such file" (or 403...) from upstream
	}
	if old != nil && req.Mode != Validated {
		c.log.Debug("indexcache: upstream failed, serving cached copy", "key", req.Key, "err", errors.Join(errs...))
		return nil, nil
	}
	if status != nil {
		return nil, status
	}
	return nil, fmt.Errorf("indexcache: every upstream failed for %s: %w", req.Key, errors.Join(errs...))
}

// fetchOne fetches u, conditionally when old is set, into path.
func (c *Cache) fetchOne(ctx context.Context, path, u string, old *Entry) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("indexcache: %w", err)
	}
	hreq.Header.Set("User-Agent", c.opts.UserAgent)
	if old != nil {
		if old.Meta.LastModified != "" {
			hreq.Header.Set("If-Modified-Since", old.Meta.LastModified)
		}
		if old.Meta.ETag != "" {
			hreq.Header.Set("If-None-Match", old.Meta.ETag)
		}
	}
	resp, err := c.opts.Client.Do(hreq)
	if err != nil {
		return fmt.Errorf("indexcache: GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && old != nil:
		m := old.Meta
		m.Fetched = time.Now().UTC()
		if v := resp.Header.Get("ETag"); v != "" {
			m.ETag = v
		}
		if err := writeMetaOnly(filepath.Dir(path), path, old, m); err != nil {
			c.log.Debug("indexcache: update metadata", "url", u, "err", err)
		}
		return nil
	case resp.StatusCode != http.StatusOK:
		return &StatusError{URL: u, Status: resp.StatusCode}
	}
	if resp.ContentLength > c.opts.MaxFileBytes {
		return fmt.Errorf("indexcache: %s is %d bytes, more than the %d allowed", u, resp.ContentLength, c.opts.MaxFileBytes)
	}
	return c.store(ctx, cancel, path, u, resp)
}

// store streams a 200 answer's body into a temporary file after a
// header-sized gap, fills in the header once the size and hash are known,
// and renames the file into place.
func (c *Cache) store(ctx context.Context, cancel context.CancelFunc, path, u string, resp *http.Response) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("indexcache: %w", err)
	}
	out, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("indexcache: %w", err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	if _, err := out.Seek(headerSize, io.SeekStart); err != nil {
		return fmt.Errorf("indexcache: %w", err)
	}
	h := sha256.New()
	watchdog := time.AfterFunc(c.opts.IdleTimeout, cancel)
	defer watchdog.Stop()
	src := &idleReader{r: io.LimitReader(resp.Body, c.opts.MaxFileBytes+1), t: watchdog, d: c.opts.IdleTimeout}
	n, err := io.Copy(io.MultiWriter(out, h), src)
	c.fetched.Add(n)
	if err != nil {
		return fmt.Errorf("indexcache: GET %s: body: %w", u, err)
	}
	if n > c.opts.MaxFileBytes {
		return fmt.Errorf("indexcache: %s is larger than the %d bytes allowed", u, c.opts.MaxFileBytes)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("indexcache: GET %s: got %d of %d bytes", u, n, resp.ContentLength)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("indexcache: GET %s: %w", u, ctx.Err())
	}
	m := Meta{URL: u, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), LastModified: resp.Header.Get("Last-Modified"),
		ETag: resp.Header.Get("ETag"), ContentType: resp.Header.Get("Content-Type"), Fetched: time.Now().UTC()}
	hdr, err := encodeHeader(m)
	if err != nil {
		return err
	}
	if _, err := out.WriteAt(hdr, 0); err != nil {
		return fmt.Errorf("indexcache: write %s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("indexcache: %w", err)
	}
	if err := os.Rename(out.Name(), path); err != nil {
		return fmt.Errorf("indexcache: %w", err)
	}
	return nil
}

// idleReader restarts a watchdog timer on every read that delivers bytes.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (i *idleReader) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if n > 0 {
		i.t.Reset(i.d)
	}
	return n, err
}
