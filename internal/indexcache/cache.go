// Package indexcache keeps the files a proxy passes through on disk: APT's
// index files (InRelease, Release, Packages, by-hash names, pdiffs) and pool
// files no torrent lists. Each Get says how fresh the answer must be:
// revalidated with upstream (If-Modified-Since, If-None-Match), immutable
// (by-hash and pool names never change content), or valid while a check on
// its size and SHA256 holds (an index the current Release lists). A burst of
// identical requests makes one upstream fetch, files are written to a
// temporary name and renamed, and upstream status codes come back as
// *StatusError so the caller can pass them on.
//
// Hostile upstreams are bounded: a request may carry an Expectation (size
// and SHA256) that the body is checked against as it arrives, by-hash names
// are checked against their own digest, the total size may be capped
// (least recently used files go first), redirects may be limited to
// configured hosts, and a cache directory belongs to one process (a lock
// file), which removes the temporary files a killed process left.
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
	"net/url"
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
	// Logger receives debug logs, and evictions at info level (default:
	// none).
	Logger *slog.Logger
	// MaxBytes caps the total size of the cache files (0: no cap). Past
	// it the least recently used files no Entry holds open are deleted.
	MaxBytes int64
	// AllowRedirect, when set, is asked before following each redirect
	// (from the URL that answered 3xx to the one it names). When it
	// returns false the redirect is not followed and Get returns the 3xx
	// as a *StatusError with its Location, for the caller to pass on. Nil
	// follows every redirect (up to 10), as before. The Client given is
	// not modified: a copy with this policy is used.
	AllowRedirect func(from, to *url.URL) bool
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
	// NoCache forces a conditional request upstream (the client sent
	// Cache-Control: max-age=0 or no-cache), in every mode, except for
	// a cached copy that meets an expectation (Expect, or a by-hash name):
	// its content is known to be right.
	NoCache bool
	// Expect, when set, is what the body must be. A fetched body that is
	// longer is cut off as soon as it passes Expect.Size, and one that
	// differs is not cached: Get fails with an error wrapping ErrMismatch
	// (after trying the other URLs). A cached copy that does not meet it
	// is deleted and fetched again. For Immutable keys ending in
	// "/by-hash/SHA256/<hex>" the digest in the name is checked without
	// Expect.
	Expect *Expectation
}

// StatusError reports an upstream answer other than 200 or 304.
type StatusError struct {
	// URL asked, Status answered.
	URL    string
	Status int
	// Location is the absolute target of a redirect that was not followed
	// (Options.AllowRedirect refused it), "" otherwise.
	Location string
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
	lock   *os.File // holds the directory's flock until Close
	index  *sizeIndex

	joined  atomic.Int64 // Gets that joined a flight (for tests)
	fetched atomic.Int64 // body bytes received from upstream
}

// BytesFetched returns the body bytes received from upstream so far.
func (c *Cache) BytesFetched() int64 { return c.fetched.Load() }

// Usage returns the bytes and the number of files in the cache.
func (c *Cache) Usage() (bytes int64, files int) { return c.index.usage() }

// Open returns a cache in dir, creating it. It takes the directory's lock
// (a second process opening the same directory gets an error until Close),
// removes temporary files left by a process that was killed, and indexes
// the files for MaxBytes (evicting at once if they exceed it).
func Open(dir string, opts Options) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("indexcache: %w", err)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Transport: defaultTransport()}
	}
	if opts.AllowRedirect != nil {
		opts.Client = withRedirectPolicy(opts.Client, opts.AllowRedirect)
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
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	files, removed, err := scanDir(dir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	if removed > 0 {
		log.Info("indexcache: removed temporary files of interrupted downloads", "dir", dir, "files", removed)
	}
	index := newSizeIndex(opts.MaxBytes, files, log)
	index.mu.Lock()
	index.evictLocked()
	index.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	return &Cache{ctx: ctx, cancel: cancel, dir: dir, opts: opts, log: log, lock: lock, index: index}, nil
}

// Close stops upstream fetches in progress, closes idle upstream
// connections and releases the directory's lock. Files already cached
// stay.
func (c *Cache) Close() error {
	c.cancel()
	c.opts.Client.CloseIdleConnections()
	return c.lock.Close()
}

// Peek returns the cached copy of key without asking upstream, or false.
func (c *Cache) Peek(key string) (*Entry, bool) {
	return c.PeekExpect(key, nil)
}

// PeekExpect is Peek for a copy that must meet x (nil: any copy). A
// cached copy that does not is deleted, so that the next Get fetches it
// again.
func (c *Cache) PeekExpect(key string, x *Expectation) (*Entry, bool) {
	e, err := c.open(keyPath(c.dir, key), x)
	if err != nil {
		return nil, false
	}
	return e, true
}

// open opens a cache file for a caller, counting it as in use for the size
// cap. A file that fails x is deleted and reported as absent.
func (c *Cache) open(path string, x *Expectation) (*Entry, error) {
	e, err := openEntry(path)
	if err != nil {
		return nil, err
	}
	if x != nil && !x.matches(e.Meta) {
		c.log.Info("indexcache: cached copy does not match what is expected, deleting it",
			"path", path, "want", x.String(), "size", e.Meta.Size, "sha256", e.Meta.SHA256)
		e.Close()
		c.remove(path)
		return nil, errNoEntry
	}
	e.release = c.index.opened(path, headerSize+e.Meta.Size)
	return e, nil
}

// remove deletes a cache file.
func (c *Cache) remove(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Warn("indexcache: delete", "path", path, "err", err)
	}
	c.index.removed(path)
}

// Get returns the file, from the cache or upstream as req.Mode allows. An
// upstream answer other than 200/304 is a *StatusError. When upstream cannot
// be reached at all, a cached copy is served if there is one.
func (c *Cache) Get(ctx context.Context, req Request) (*Entry, error) {
	path := keyPath(c.dir, req.Key)
	x, err := expectation(req)
	if err != nil {
		return nil, err
	}
	if e, err := c.open(path, x); err == nil {
		switch {
		case req.Mode == Immutable && (!req.NoCache || x != nil):
			return e, nil
		case req.Mode == Validated && (!req.NoCache || x != nil) && req.Valid != nil && req.Valid(e.Meta):
			return e, nil
		}
		e.Close()
	}
	ch := c.group.DoChan(req.Key, func() (any, error) {
		// The fetch outlives the request that started it: others may be
		// waiting for it, and the cache keeps what it brings.
		fctx, cancel := context.WithTimeout(c.ctx, c.opts.FetchTimeout)
		defer cancel()
		return c.fetch(fctx, path, req, x)
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
		if x != nil && !x.matches(e.Meta) {
			// The flight was started by a request that expected something
			// else (or nothing) and brought what this one does not want.
			e.Close()
			return nil, fmt.Errorf("%w: %s: want %s, upstream has %d bytes, sha256 %s", ErrMismatch, req.Key, x, e.Meta.Size, e.Meta.SHA256)
		}
		e.release = c.index.opened(path, headerSize+e.Meta.Size)
		e.Revalidated = true
		return e, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("indexcache: get %s: %w", req.Key, ctx.Err())
	}
}

// fetch asks upstream (URLs in order) and updates the cache file.
func (c *Cache) fetch(ctx context.Context, path string, req Request, x *Expectation) (any, error) {
	old, err := openEntry(path)
	if err != nil {
		old = nil
	} else {
		defer old.Close()
		if (req.Mode == Validated && (req.Valid == nil || !req.Valid(old.Meta))) || (x != nil && !x.matches(old.Meta)) {
			old.Close()
			old = nil // stale for sure: ask for the whole file
		}
	}
	var errs []error
	var status *StatusError
	for _, u := range req.URLs {
		err := c.fetchOne(ctx, path, u, old, x)
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
	if old != nil && req.Mode != Validated && !allMismatch(errs) {
		c.log.Debug("indexcache: upstream failed, serving cached copy", "key", req.Key, "err", errors.Join(errs...))
		return nil, nil
	}
	if status != nil {
		return nil, status
	}
	return nil, fmt.Errorf("indexcache: every upstream failed for %s: %w", req.Key, errors.Join(errs...))
}

// allMismatch reports whether every error is a content mismatch: upstream
// is reachable and serves something else, so a cached copy is no fallback.
func allMismatch(errs []error) bool {
	for _, err := range errs {
		if !errors.Is(err, ErrMismatch) {
			return false
		}
	}
	return len(errs) > 0
}

// fetchOne fetches u, conditionally when old is set, into path.
func (c *Cache) fetchOne(ctx context.Context, path, u string, old *Entry, x *Expectation) error {
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
		se := &StatusError{URL: u, Status: resp.StatusCode}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			if loc, err := resp.Location(); err == nil {
				se.Location = loc.String()
			}
		}
		return se
	}
	if resp.ContentLength > c.opts.MaxFileBytes {
		return fmt.Errorf("indexcache: %s is %d bytes, more than the %d allowed", u, resp.ContentLength, c.opts.MaxFileBytes)
	}
	if x != nil && x.Size >= 0 && resp.ContentLength >= 0 && resp.ContentLength != x.Size {
		return fmt.Errorf("%w: %s: want %s, upstream announces %d bytes", ErrMismatch, u, x, resp.ContentLength)
	}
	return c.store(ctx, cancel, path, u, resp, x)
}

// store streams a 200 answer's body into a temporary file after a
// header-sized gap, fills in the header once the size and hash are known,
// and renames the file into place.
func (c *Cache) store(ctx context.Context, cancel context.CancelFunc, path, u string, resp *http.Response, x *Expectation) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("indexcache: %w", err)
	}
	out, err := os.CreateTemp(dir, tmpPrefix+"*")
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
	limit := c.opts.MaxFileBytes
	if x != nil && x.Size >= 0 {
		limit = min(limit, x.Size)
	}
	src := &idleReader{r: io.LimitReader(resp.Body, limit+1), t: watchdog, d: c.opts.IdleTimeout}
	n, err := io.Copy(io.MultiWriter(out, h), src)
	c.fetched.Add(n)
	if err != nil {
		return fmt.Errorf("indexcache: GET %s: body: %w", u, err)
	}
	if x != nil && x.Size >= 0 && n > x.Size {
		return fmt.Errorf("%w: %s: want %s, upstream sent more than that; cut off", ErrMismatch, u, x)
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
	var sum [32]byte
	h.Sum(sum[:0])
	if x != nil && (sum != x.SHA256 || (x.Size >= 0 && n != x.Size)) {
		return fmt.Errorf("%w: %s: want %s, got %d bytes, sha256 %x; not cached", ErrMismatch, u, x, n, sum)
	}
	m := Meta{URL: u, Size: n, SHA256: hex.EncodeToString(sum[:]), LastModified: resp.Header.Get("Last-Modified"),
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
	c.index.stored(path, headerSize+n)
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
