package aptproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/debsource"
	"github.com/debtorrent/debtorrent/internal/indexcache"
	"github.com/debtorrent/debtorrent/internal/pipeline"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/require"
)

// statusProxy is a Server behind a real HTTP server, answering the way the
// root's request path does for what aptproxy serves itself: the status
// pages, index files and pool files straight from the mirror (listed ones
// labelled "mirror", others "unlisted"), each answer recorded.
type statusProxy struct {
	*Server
	Addr string
}

// Handle implements pipeline.Handler.
func (p *statusProxy) Handle(ctx context.Context, r *http.Request) *pipeline.Response {
	start := time.Now()
	var resp *pipeline.Response
	source := ""
	t, err := p.Resolve(r)
	switch {
	case errors.Is(err, ErrSelf):
		resp, source = p.ServeSelf(r), "self"
	case err != nil:
		resp, source = Refuse(r, err), "refused"
	case t.Path.Kind == debsource.KindPool:
		source = "unlisted"
		if _, _, listed := p.FindPool(ctx, t); listed {
			source = "mirror"
		}
		resp = p.ServeUnlisted(ctx, r, t)
		if resp.Status == http.StatusOK && source == "mirror" {
			p.DebServed(source)
		}
	default:
		resp, source = p.ServeIndex(ctx, r, t), "index"
	}
	if resp.Status >= 500 {
		source = "error"
	}
	p.Record(r, resp, source, time.Since(start))
	return resp
}

// startStatusProxy serves the mirror at mirrorBase under the name "test".
func startStatusProxy(t *testing.T, mirrorBase string, mod func(*Config)) *statusProxy {
	t.Helper()
	m, err := NewMirror("test", mirrorBase)
	require.NoError(t, err)
	ms, err := NewMirrors([]*Mirror{m})
	require.NoError(t, err)
	cache, err := indexcache.Open(filepath.Join(t.TempDir(), "index"), indexcache.Options{})
	require.NoError(t, err)
	cfg := Config{Mirrors: ms, Cache: cache, BuildWait: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	require.NoError(t, err)
	p := &statusProxy{Server: srv}
	hs := httptest.NewServer(pipeline.Adapt(p))
	p.Addr = hs.Listener.Addr().String()
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return p
}

// startStatusMirror builds and serves a small archive.
func startStatusMirror(t *testing.T) (*testmirror.Archive, *testmirror.Server) {
	t.Helper()
	a, err := testmirror.Build(t.TempDir(), testmirror.SimpleSpec(6, 30_000))
	require.NoError(t, err)
	srv, err := testmirror.Serve(a.Root, testmirror.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return a, srv
}

// statusGet sends one request and returns status, headers and body.
func statusGet(t *testing.T, c *http.Client, u string) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}
