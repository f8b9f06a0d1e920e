package websource

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadDataCooldown: once every mirror served a file badly, fetches of it
// fail fast with ErrBadData (no request), for a cool-down that doubles.
func TestBadDataCooldown(t *testing.T) {
	data := randomBytes(3000, 11)
	files := map[string][]byte{debPath: data, "other.deb": data}
	a := newMirrorServer(t, files, nil)
	b := newMirrorServer(t, files, nil)
	src, err := NewHTTP([]string{a.URL, b.URL}, fastOptions())
	require.NoError(t, err)
	req := Request{Path: debPath, Length: 3000, FileSize: 3000}

	_, res, err := fetchAll(t, src, req)
	require.NoError(t, err)
	src.BadHash(debPath, res.Sources[0])
	_, res, err = fetchAll(t, src, req)
	require.NoError(t, err, "one bad mirror: the other is asked")
	src.BadHash(debPath, res.Sources[0])
	_, res, err = fetchAll(t, src, req)
	require.NoError(t, err, "every mirror failed once: one more round is allowed")
	src.BadHash(debPath, res.Sources[0])

	hits := a.hits.Load() + b.hits.Load()
	for range 50 { // the engine retrying in a loop
		_, _, err = fetchAll(t, src, req)
		require.ErrorIs(t, err, ErrBadData)
	}
	assert.Equal(t, hits, a.hits.Load()+b.hits.Load(), "fetches in cool-down ask no mirror")
	assert.Contains(t, err.Error(), "not asking again for 30s")

	_, _, err = fetchAll(t, src, Request{Path: "other.deb", Length: 3000, FileSize: 3000})
	require.NoError(t, err, "other files are not affected")

	// The cool-down ends, and doubles when every mirror fails again.
	now := time.Now()
	assert.Zero(t, src.bad.wait(debPath, now.Add(DefaultBadDataCooldown+time.Second)))
	later := now.Add(DefaultBadDataCooldown + time.Second)
	src.badHash(debPath, a.URL+"/", later)
	assert.Equal(t, 2*DefaultBadDataCooldown, src.bad.wait(debPath, later))
	for range 10 {
		src.badHash(debPath, a.URL+"/", later)
	}
	assert.Equal(t, DefaultBadDataCooldown<<maxBadDataCooldownShift, src.bad.wait(debPath, later), "the doubling is capped")
}

func TestBadDataCooldownSingleMirror(t *testing.T) {
	a := newMirrorServer(t, map[string][]byte{debPath: randomBytes(100, 1)}, nil)
	src, err := NewHTTP([]string{a.URL}, fastOptions())
	require.NoError(t, err)
	req := Request{Path: debPath, Length: 100, FileSize: 100}
	_, res, err := fetchAll(t, src, req)
	require.NoError(t, err)
	src.BadHash(debPath, res.Sources[0])
	_, res, err = fetchAll(t, src, req)
	require.NoError(t, err, "the same mirror once more")
	src.BadHash(debPath, res.Sources[0])
	_, _, err = fetchAll(t, src, req)
	require.ErrorIs(t, err, ErrBadData)
}

// TestAllowRedirect: a redirect the policy refuses is not followed; the
// mirror fails the fetch and the next one serves it.
func TestAllowRedirect(t *testing.T) {
	var adminHits atomic.Int64
	admin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		adminHits.Add(1)
		w.Write([]byte("secret admin page"))
	}))
	defer admin.Close()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, admin.URL+"/admin", http.StatusFound)
	}))
	defer evil.Close()
	data := randomBytes(500, 3)
	good := newMirrorServer(t, map[string][]byte{debPath: data}, nil)
	allowed := map[string]bool{}
	for _, s := range []string{evil.URL, good.URL} {
		u, _ := url.Parse(s)
		allowed[u.Host] = true
	}
	opts := fastOptions()
	caller := &http.Client{}
	opts.Client = caller
	opts.AllowRedirect = func(from, to *url.URL) bool { return allowed[to.Host] }
	req := Request{Path: debPath, Length: 500, FileSize: 500}

	src, err := NewHTTP([]string{evil.URL}, opts)
	require.NoError(t, err)
	assert.Nil(t, caller.CheckRedirect, "the caller's client is not modified")
	_, _, err = fetchAll(t, src, req)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redirect refused")
	assert.True(t, errors.Is(err, errRedirectRefused))
	assert.Zero(t, adminHits.Load(), "the refused redirect is not followed")
	assert.Equal(t, int64(1), src.Stats()[0].Requests, "a refused redirect is not retried on that mirror")

	src, err = NewHTTP([]string{evil.URL, good.URL}, opts)
	require.NoError(t, err)
	got, res, err := fetchAll(t, src, req)
	require.NoError(t, err)
	assert.Equal(t, data, got)
	assert.Equal(t, []string{good.URL + "/"}, res.Sources)
	assert.Zero(t, adminHits.Load())
}
