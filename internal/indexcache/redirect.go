package indexcache

import (
	"fmt"
	"net/http"
	"net/url"
)

// maxRedirects is how many redirects a fetch follows (as net/http's
// default policy).
const maxRedirects = 10

// withRedirectPolicy returns a copy of base (never modifying it) whose
// CheckRedirect asks allow first: a redirect it refuses is not followed,
// and the 3xx answer itself comes back (as a *StatusError from Get). A
// redirect it allows goes on to base's own policy.
func withRedirectPolicy(base *http.Client, allow func(from, to *url.URL) bool) *http.Client {
	c := *base
	prev := base.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && !allow(via[len(via)-1].URL, req.URL) {
			return http.ErrUseLastResponse
		}
		if prev != nil {
			return prev(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &c
}
