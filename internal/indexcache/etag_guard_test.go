package indexcache

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// etagServer serves one body with an ETag (and, when lastModified is set,
// a Last-Modified). It answers 304 only when If-None-Match names the
// current ETag, so a revalidation without that header costs a whole body.
type etagServer struct {
	*httptest.Server
	mu           sync.Mutex
	body         string
	etag         string
	lastModified string
	seen         []http.Header // request headers, in order
	statuses     []int
}

func newETagServer(t *testing.T, body, etag, lastModified string) *etagServer {
	s := &etagServer{body: body, etag: etag, lastModified: lastModified}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.seen = append(s.seen, r.Header.Clone())
		w.Header().Set("ETag", s.etag)
		if s.lastModified != "" {
			w.Header().Set("Last-Modified", s.lastModified)
		}
		if r.Header.Get("If-None-Match") == s.etag {
			s.statuses = append(s.statuses, http.StatusNotModified)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		s.statuses = append(s.statuses, http.StatusOK)
		w.Header().Set("Content-Length", strconv.Itoa(len(s.body)))
		_, _ = w.Write([]byte(s.body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *etagServer) log() ([]http.Header, []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.seen...), append([]int(nil), s.statuses...)
}

func (s *etagServer) change(body, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag = body, etag
}

// TestRevalidateSendsIfNoneMatch: revalidating an entry that has an ETag
// sends it as If-None-Match (and Last-Modified as If-Modified-Since when
// there is one); the 304 keeps the cached bytes, and an ETag that changes
// upstream brings the new body.
func TestRevalidateSendsIfNoneMatch(t *testing.T) {
	const lm = "Mon, 02 Nov 2026 08:00:00 GMT"
	for _, tc := range []struct {
		name, lastModified string
	}{
		{"ETag only", ""},
		{"ETag and Last-Modified", lm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newETagServer(t, "release v1\n", `"v1"`, tc.lastModified)
			c, err := Open(t.TempDir(), Options{})
			require.NoError(t, err)
			t.Cleanup(func() { c.Close() })
			ctx := context.Background()
			req := Request{Key: "m/Release", URLs: []string{srv.URL + "/Release"}, Mode: Revalidate}

			e, err := c.Get(ctx, req)
			require.NoError(t, err)
			assert.Equal(t, `"v1"`, e.Meta.ETag)
			assert.Equal(t, "release v1\n", readAll(t, e))

			e, err = c.Get(ctx, req)
			require.NoError(t, err)
			assert.True(t, e.Revalidated, "upstream confirmed the copy")
			assert.Equal(t, "release v1\n", readAll(t, e), "a 304 keeps the cached bytes")
			seen, statuses := srv.log()
			require.Len(t, seen, 2)
			assert.Empty(t, seen[0].Get("If-None-Match"), "nothing cached yet: an unconditional request")
			assert.Equal(t, `"v1"`, seen[1].Get("If-None-Match"))
			assert.Equal(t, tc.lastModified, seen[1].Get("If-Modified-Since"))
			assert.Equal(t, []int{http.StatusOK, http.StatusNotModified}, statuses)

			srv.change("release v2\n", `"v2"`)
			e, err = c.Get(ctx, req)
			require.NoError(t, err)
			assert.Equal(t, `"v2"`, e.Meta.ETag)
			assert.Equal(t, "release v2\n", readAll(t, e))
			e, err = c.Get(ctx, req)
			require.NoError(t, err)
			assert.Equal(t, "release v2\n", readAll(t, e))
			seen, statuses = srv.log()
			require.Len(t, seen, 4)
			assert.Equal(t, `"v1"`, seen[2].Get("If-None-Match"))
			assert.Equal(t, `"v2"`, seen[3].Get("If-None-Match"), "the new ETag is the one sent next")
			assert.Equal(t, []int{http.StatusOK, http.StatusNotModified, http.StatusOK, http.StatusNotModified}, statuses)
		})
	}
}

// TestNotModifiedUpdatesETag: a 304 that names a new ETag for the same
// body replaces the stored one, which the next revalidation sends.
func TestNotModifiedUpdatesETag(t *testing.T) {
	var mu sync.Mutex
	var inm []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inm = append(inm, r.Header.Get("If-None-Match"))
		mu.Unlock()
		switch r.Header.Get("If-None-Match") {
		case `"a"`:
			w.Header().Set("ETag", `"b"`)
			w.WriteHeader(http.StatusNotModified)
		case `"b"`:
			w.Header().Set("ETag", `"b"`)
			w.WriteHeader(http.StatusNotModified)
		default:
			w.Header().Set("ETag", `"a"`)
			_, _ = w.Write([]byte("body\n"))
		}
	}))
	t.Cleanup(srv.Close)
	c, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	req := Request{Key: "m/Release", URLs: []string{srv.URL + "/Release"}, Mode: Revalidate}
	for range 3 {
		e, err := c.Get(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, "body\n", readAll(t, e))
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"", `"a"`, `"b"`}, inm)
}
