package websource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Options tune an HTTPSource. The zero value gives sane defaults.
type Options struct {
	// Client sends the requests. Nil means a client over a Transport tuned for
	// mirrors: pooled keep-alive connections, PerHost connections per host,
	// dial/TLS/response-header timeouts, and no transparent compression (byte
	// ranges must count raw bytes).
	Client *http.Client
	// PerHost caps concurrent requests to one host (default 4). Requests
	// beyond it wait their turn.
	PerHost int
	// MaxAttempts bounds consecutive transient failures of one fetch that
	// made no progress, across all mirrors, before it gives up (default 6).
	MaxAttempts int
	// BackoffBase and BackoffMax shape the exponential backoff before a mirror
	// is asked again after a failure (defaults 200 ms and 10 s).
	BackoffBase, BackoffMax time.Duration
	// MaxRetryWait is the longest a fetch waits for a mirror to become
	// available again (after Retry-After or backoff) before failing (default
	// 30 s). A context deadline shortens it.
	MaxRetryWait time.Duration
	// IdleTimeout aborts a response whose body delivers nothing for this long
	// (default 30 s), so a stalled server never hangs a fetch that has no
	// deadline. The attempt counts as a transient failure.
	IdleTimeout time.Duration
	// MaxRangeSkip is how many leading bytes a fetch will read and throw
	// away when a server ignores a Range request and sends the whole file
	// (default 1 MiB). Past it the connection is dropped, the mirror is marked
	// as not supporting Range, and other mirrors are preferred for partial
	// fetches; when it is the only mirror left, whole files are fetched from
	// it and the unwanted prefix discarded.
	MaxRangeSkip int64
	// UserAgent is sent with every request (default "debtorrent").
	UserAgent string
	// Logger receives debug logs of retries and failovers (default: none).
	Logger *slog.Logger
	// AllowRedirect, when set, is asked before following each redirect
	// (from the URL that answered 3xx to the one it names); when it returns
	// false the redirect is not followed and that mirror fails the fetch
	// (others are tried). Nil follows redirects as the Client does. The
	// Client given is not modified: a copy with this policy is used.
	AllowRedirect func(from, to *url.URL) bool
	// BadDataCooldown is how long fetches of a file fail fast with
	// ErrBadData once every mirror served it with a wrong hash in two
	// rounds (reported through BadHash); it doubles with each further
	// round, up to 32 times (default DefaultBadDataCooldown, 30 s).
	BadDataCooldown time.Duration
}

func (o *Options) fill() {
	if o.PerHost <= 0 {
		o.PerHost = 4
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 6
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 200 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 10 * time.Second
	}
	if o.MaxRetryWait <= 0 {
		o.MaxRetryWait = 30 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.MaxRangeSkip <= 0 {
		o.MaxRangeSkip = 1 << 20
	}
	if o.UserAgent == "" {
		o.UserAgent = "debtorrent"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BadDataCooldown <= 0 {
		o.BadDataCooldown = DefaultBadDataCooldown
	}
}

// newTransport builds the connection pool shared by all mirrors.
func newTransport(perHost int) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   perHost,
		MaxConnsPerHost:       perHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// HTTPSource fetches file ranges from HTTP mirrors. It is safe for concurrent
// use; create one per set of mirrors and share it.
type HTTPSource struct {
	opts      Options
	mirrors   []*mirror
	transport *http.Transport // the Transport NewHTTP created, nil when Options.Client was given
	bad       badData
}

var _ WebSource = (*HTTPSource)(nil)

// NewHTTP returns a source over the given mirror base URLs, in order of
// preference (the first is used while it works). A base is a directory:
// "http://deb.debian.org/debian" and "http://deb.debian.org/debian/" both
// give "http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb"
// for the path "pool/main/h/hello/hello_2.10-3_amd64.deb".
func NewHTTP(bases []string, opts Options) (*HTTPSource, error) {
	ms := make([]*mirror, 0, len(bases))
	for _, b := range bases {
		m, err := newMirror(b, false)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return newSource(ms, opts)
}

func newSource(ms []*mirror, opts Options) (*HTTPSource, error) {
	if len(ms) == 0 {
		return nil, errors.New("websource: no mirrors given")
	}
	opts.fill()
	var tr *http.Transport
	if opts.Client == nil {
		tr = newTransport(opts.PerHost)
		opts.Client = &http.Client{Transport: tr}
	}
	if opts.AllowRedirect != nil {
		opts.Client = withRedirectPolicy(opts.Client, opts.AllowRedirect)
	}
	sems := make(map[string]chan struct{})
	for _, m := range ms {
		h := m.host()
		if sems[h] == nil {
			sems[h] = make(chan struct{}, opts.PerHost)
		}
		m.sem = sems[h]
	}
	return &HTTPSource{opts: opts, mirrors: ms, transport: tr, bad: badData{base: opts.BadDataCooldown, paths: make(map[string]*coolDown)}}, nil
}

// Close closes the idle connections of the source's own connection pool
// (not those of a Client given in Options). Fetches still running are not
// affected; the source stays usable.
func (s *HTTPSource) Close() {
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
}

// Stats returns a snapshot of each mirror's counters, in the order the
// mirrors were given.
func (s *HTTPSource) Stats() []MirrorStats {
	out := make([]MirrorStats, len(s.mirrors))
	for i, m := range s.mirrors {
		out[i] = m.stats()
	}
	return out
}

// BadHash makes the mirror named source avoid path from now on: it is only
// asked for that file when every other mirror has failed too. Once every
// mirror has served path badly twice (the second round is allowed at once),
// fetches of it fail fast with ErrBadData for a cool-down
// (Options.BadDataCooldown, doubling each time it happens again).
func (s *HTTPSource) BadHash(path, source string) {
	s.badHash(path, source, time.Now())
}

func (s *HTTPSource) badHash(path, source string, now time.Time) {
	all := true
	for _, m := range s.mirrors {
		if m.name == source {
			m.markBad(path)
		}
		all = all && m.isBad(path)
	}
	if all {
		d := s.bad.strike(path, now)
		if d == 0 {
			return
		}
		s.opts.Logger.Warn("websource: every mirror served a file that failed its hash; failing its fetches for a while",
			"path", path, "cooldown", d)
	}
}

// fetchState is what one Fetch knows about mirrors on top of their shared
// state: those that do not have the file, and those that failed for good.
type fetchState struct {
	notFound map[*mirror]bool
	broken   map[*mirror]error
	partial  bool // the fetch needs bytes that do not start at 0 or stop before the end
}

// pick chooses the mirror to ask next: usable ones first (not known to lack
// the file or to be broken for this fetch), then those that did not serve bad
// data for the path, then, for partial fetches, those that honour Range, then
// the one available soonest, then the order given. It returns nil when no
// mirror is left.
func (s *HTTPSource) pick(path string, st *fetchState, now time.Time) (*mirror, time.Time) {
	var best *mirror
	var bestKey [3]int64
	var bestAt time.Time
	for i, m := range s.mirrors {
		if st.notFound[m] || st.broken[m] != nil {
			continue
		}
		at := m.available()
		wait := int64(0)
		if at.After(now) {
			wait = int64(at.Sub(now))
		}
		key := [3]int64{0, wait, int64(i)}
		if m.isBad(path) {
			key[0] += 2
		}
		if st.partial && m.noRange.Load() {
			key[0]++
		}
		if best == nil || slices.Compare(key[:], bestKey[:]) < 0 {
			best, bestKey, bestAt = m, key, at
		}
	}
	return best, bestAt
}

// onlyOption reports whether m is the last mirror this fetch can use.
func (s *HTTPSource) onlyOption(m *mirror, st *fetchState) bool {
	for _, o := range s.mirrors {
		if o != m && !st.notFound[o] && st.broken[o] == nil {
			return false
		}
	}
	return true
}

// Fetch implements WebSource.
func (s *HTTPSource) Fetch(ctx context.Context, req Request, w io.Writer) (Result, error) {
	var res Result
	if err := req.Validate(); err != nil {
		return res, err
	}
	if wait := s.bad.wait(req.Path, time.Now()); wait > 0 {
		return res, fmt.Errorf("websource: fetch %s: %w; not asking again for %v", req, ErrBadData, wait.Round(time.Second))
	}
	cur, end := req.Offset, req.Offset+req.Length
	st := &fetchState{
		notFound: make(map[*mirror]bool),
		broken:   make(map[*mirror]error),
		partial:  req.FileSize < 0 || req.Offset != 0 || req.Length != req.FileSize,
	}
	fails := 0
	var lastErr error
	for cur < end {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("websource: fetch %s: %w", req, err)
		}
		now := time.Now()
		m, at := s.pick(req.Path, st, now)
		if m == nil {
			return res, s.exhausted(req, st, lastErr)
		}
		if wait := at.Sub(now); wait > 0 {
			if wait > s.opts.MaxRetryWait {
				return res, fmt.Errorf("websource: fetch %s: next mirror %s is not available for %v: %w", req, m.name, wait.Round(time.Second), lastErr)
			}
			if err := sleepCtx(ctx, wait); err != nil {
				return res, fmt.Errorf("websource: fetch %s: %w", req, err)
			}
		}
		n, err := s.attempt(ctx, m, req, cur, end, w, s.onlyOption(m, st))
		if n > 0 {
			cur += n
			res.Written += n
			if !slices.Contains(res.Sources, m.name) {
				res.Sources = append(res.Sources, m.name)
			}
			fails = 0
		}
		if err == nil {
			m.succeeded()
			continue
		}
		var ae *attemptError
		if !errors.As(err, &ae) {
			return res, fmt.Errorf("websource: fetch %s from %s: %w", req, m.name, err)
		}
		lastErr = ae
		s.opts.Logger.Debug("websource: attempt failed", "mirror", m.name, "path", req.Path, "offset", cur, "err", ae)
		switch ae.kind {
		case fatal:
			return res, fmt.Errorf("websource: fetch %s from %s: %w", req, m.name, ae.err)
		case notFound:
			m.notFound.Add(1)
			st.notFound[m] = true
		case broken:
			st.broken[m] = ae
		case rangeIgnored:
			// Not a failure of the mirror: it is simply asked for whole files now.
		case transient:
			m.failed(time.Now(), ae.retryAfter, ae.hasRetryAfter, s.opts.BackoffBase, s.opts.BackoffMax)
			if n == 0 {
				fails++
			}
			if fails >= s.opts.MaxAttempts {
				return res, fmt.Errorf("websource: fetch %s: giving up after %d failed attempts: %w", req, fails, ae)
			}
		}
	}
	return res, nil
}

// exhausted builds the error of a fetch that ran out of mirrors.
func (s *HTTPSource) exhausted(req Request, st *fetchState, lastErr error) error {
	if len(st.broken) == 0 && len(st.notFound) > 0 {
		return fmt.Errorf("websource: fetch %s: %w on any of %d mirrors", req, ErrNotFound, len(st.notFound))
	}
	if lastErr == nil {
		lastErr = errors.New("no usable mirror")
	}
	return fmt.Errorf("websource: fetch %s: every mirror failed: %w", req, lastErr)
}
