package debtorrent_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRedirectOutOfMirrorsNotFollowed: a mirror (or anyone in the middle)
// answering 302 to a host nobody configured does not make the proxy fetch
// it: APT gets the 302 as it came.
func TestRedirectOutOfMirrorsNotFollowed(t *testing.T) {
	var hits atomic.Int64
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("secret admin page"))
	}))
	defer admin.Close()
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, admin.URL+"/admin", http.StatusFound)
	}))
	defer mirror.Close()
	p := startProxy(t, mirror.URL+"/", nil)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"dists/bookworm/Release", "pool/main/h/hello/hello_1_amd64.deb"} {
		st, h, body := httpGet(t, c, "GET", "http://"+p.Addr+"/test/debian/"+path)
		assert.Equal(t, http.StatusFound, st, "%s: %s", path, body)
		assert.Equal(t, admin.URL+"/admin", h.Get("Location"), path)
	}
	assert.Zero(t, hits.Load(), "the unconfigured host was never asked")
}
