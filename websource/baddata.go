package websource

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// ErrBadData is wrapped by the error of a fetch of a file that every
// mirror served with a wrong hash twice over (reported with BadHash): the
// fetch fails at once, without asking, until a cool-down passes. Test
// with errors.Is.
var ErrBadData = errors.New("websource: every mirror served data that failed its hash check")

// errRedirectRefused is wrapped by the error of an attempt whose redirect
// Options.AllowRedirect refused.
var errRedirectRefused = errors.New("redirect refused")

// Defaults of the bad-data cool-down.
const (
	// DefaultBadDataCooldown is the first cool-down (doubled on each
	// further failure of the path from every mirror).
	DefaultBadDataCooldown = 30 * time.Second
	// maxBadDataCooldownShift caps the doubling (30 s << 5: 16 min).
	maxBadDataCooldownShift = 5
)

// coolDown is a path every mirror served badly.
type coolDown struct {
	strikes int       // times every mirror failed it
	until   time.Time // fetches fail fast before this
}

// badData remembers the paths in cool-down. Safe for concurrent use.
type badData struct {
	mu    sync.Mutex
	base  time.Duration
	paths map[string]*coolDown
}

// strike records that every mirror has now served path badly, and
// returns the cool-down it starts: none the first time (one more round is
// allowed at once: a mirror caught mid-sync, a corrupted transfer), then
// base, doubling.
func (b *badData) strike(path string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.paths) >= maxBadPaths {
		for p, c := range b.paths {
			if !c.until.After(now) {
				delete(b.paths, p)
			}
		}
		if len(b.paths) >= maxBadPaths {
			clear(b.paths) // forgetting means asking again: safe
		}
	}
	c := b.paths[path]
	if c == nil {
		c = &coolDown{}
		b.paths[path] = c
	}
	c.strikes++
	if c.strikes == 1 {
		return 0
	}
	d := b.base << min(c.strikes-2, maxBadDataCooldownShift)
	c.until = now.Add(d)
	return d
}

// wait returns how long fetches of path still fail fast (0: not at all).
func (b *badData) wait(path string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.paths[path]
	if c == nil || !c.until.After(now) {
		return 0
	}
	return c.until.Sub(now)
}

// withRedirectPolicy returns a copy of base (never modifying it) that asks
// allow before following a redirect; a refused one fails the request with
// errRedirectRefused.
func withRedirectPolicy(base *http.Client, allow func(from, to *url.URL) bool) *http.Client {
	c := *base
	prev := base.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && !allow(via[len(via)-1].URL, req.URL) {
			return fmt.Errorf("%w: %s redirects to %s, not an allowed host", errRedirectRefused, via[len(via)-1].URL.Redacted(), req.URL.Redacted())
		}
		if prev != nil {
			return prev(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}
