package websource

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxBadPaths bounds the memory a mirror spends remembering files it served
// wrongly; past it the oldest half is forgotten.
const maxBadPaths = 4096

// mirror is one base URL and what has been learned about it.
type mirror struct {
	name   string        // the base URL as reported in Result.Sources and Stats
	base   string        // the base URL, ending in "/" unless single
	single bool          // the URL names one file: every path maps to it (BEP 19 single-file torrents)
	sem    chan struct{} // the per-host concurrency cap, shared by mirrors on one host

	noRange atomic.Bool // the server answered a Range request with the whole file

	mu        sync.Mutex
	fails     int       // consecutive transient failures
	retryAt   time.Time // do not ask before this
	bad       map[string]uint64
	badSerial uint64

	bytesReceived  atomic.Int64
	bytesDelivered atomic.Int64
	requests       atomic.Int64
	failures       atomic.Int64
	notFound       atomic.Int64
}

// newMirror parses a base URL. When single is false a missing trailing "/" is
// added, so "http://deb.debian.org/debian" and ".../debian/" are the same.
func newMirror(raw string, single bool) (*mirror, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("websource: mirror %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("websource: mirror %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("websource: mirror %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("websource: mirror %q: a base URL takes no query or fragment", raw)
	}
	u.User = nil
	base := u.String()
	if !single && !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return &mirror{name: base, base: base, single: single, bad: make(map[string]uint64)}, nil
}

// host is the key of the per-host concurrency cap.
func (m *mirror) host() string {
	u, _ := url.Parse(m.base)
	return u.Host
}

// fileURL returns the URL of path under the mirror.
func (m *mirror) fileURL(path string) string {
	if m.single {
		return m.base
	}
	return m.base + escapePath(path)
}

// escapePath escapes each "/"-separated component of a path for use in a URL.
// Characters legal in a path segment stay as they are ('+', '~', ':', '@'
// and friends are common in .deb names), everything else is percent-encoded.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// isBad reports whether the mirror served bad data for path.
func (m *mirror) isBad(path string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.bad[path]
	return ok
}

// markBad remembers that the mirror served bad data for path.
func (m *mirror) markBad(path string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.bad) >= maxBadPaths {
		cut := m.badSerial - maxBadPaths/2
		for p, s := range m.bad {
			if s < cut {
				delete(m.bad, p)
			}
		}
	}
	m.badSerial++
	m.bad[path] = m.badSerial
}

// available returns when the mirror may be asked again.
func (m *mirror) available() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.retryAt
}

// succeeded clears the failure streak.
func (m *mirror) succeeded() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fails = 0
	m.retryAt = time.Time{}
}

// failed records a transient failure and schedules the next try: after
// retryAfter when the server said so, else after an exponential backoff.
func (m *mirror) failed(now time.Time, retryAfter time.Duration, hasRetryAfter bool, base, maxWait time.Duration) {
	m.failures.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fails++
	wait := backoff(m.fails, base, maxWait)
	if hasRetryAfter {
		wait = retryAfter
	}
	m.retryAt = now.Add(wait)
}

// MirrorStats is a snapshot of one mirror's counters.
type MirrorStats struct {
	// Mirror is the base URL, as in Result.Sources.
	Mirror string
	// BytesReceived counts body bytes read from the mirror, including bytes
	// skipped because the server ignored a Range request.
	BytesReceived int64
	// BytesDelivered counts bytes written to callers' writers.
	BytesDelivered int64
	// Requests counts HTTP requests sent.
	Requests int64
	// Failures counts transient failures: 5xx, 429, resets, truncation, stalls.
	Failures int64
	// NotFound counts 404 and 410 answers.
	NotFound int64
	// NoRange is true once the server was seen to ignore Range requests.
	NoRange bool
}

func (m *mirror) stats() MirrorStats {
	return MirrorStats{
		Mirror:         m.name,
		BytesReceived:  m.bytesReceived.Load(),
		BytesDelivered: m.bytesDelivered.Load(),
		Requests:       m.requests.Load(),
		Failures:       m.failures.Load(),
		NotFound:       m.notFound.Load(),
		NoRange:        m.noRange.Load(),
	}
}
