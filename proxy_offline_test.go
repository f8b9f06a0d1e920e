package debtorrent_test

import (
	"bytes"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a log sink safe for the proxy's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDeadMirrorOffline: with the mirror gone, what the proxy holds is
// still served (the Release as cached, with a warning; stored .debs), a .deb
// it does not hold fails within seconds with a reason, and the log says once
// that the mirror is unreachable.
func TestDeadMirrorOffline(t *testing.T) {
	for _, withClient := range []bool{false, true} {
		name := "mirror-only"
		if withClient {
			name = "engine"
		}
		t.Run(name, func(t *testing.T) {
			arch, mirror := buildMirror(t, testSpec(), testmirror.Options{})
			var logs syncBuffer
			mod := func(c *debtorrent.ProxyConfig) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) }
			var p *testProxy
			if withClient {
				p = startEngineProxy(t, "http://"+mirror.Addr()+"/", 0, mod)
			} else {
				p = startProxy(t, "http://"+mirror.Addr()+"/", mod)
			}
			fetchIndexes(t, p)
			c := &http.Client{}
			base := "http://" + p.Addr + "/test/debian/"
			cached := arch.Debs[0]
			st, _, _ := httpGet(t, c, "GET", base+cached.Filename)
			require.Equal(t, http.StatusOK, st)
			require.NoError(t, mirror.Close())

			st, _, _ = httpGet(t, c, "GET", base+"dists/bookworm/Release")
			assert.Equal(t, http.StatusOK, st, "the Release is served as cached")
			st, _, body := httpGet(t, c, "GET", base+cached.Filename)
			require.Equal(t, http.StatusOK, st)
			assert.Equal(t, cached.SHA256, sha256.Sum256([]byte(body)), "a stored .deb is served offline")
			for _, d := range arch.Debs[1:5] {
				start := time.Now()
				st, _, body = httpGet(t, c, "GET", base+d.Filename)
				assert.Equal(t, http.StatusBadGateway, st, body)
				assert.Less(t, time.Since(start), 15*time.Second, "fails fast")
				assert.Contains(t, body, "cannot be reached", "the reason")
				assert.Contains(t, body, "connection refused", "the cause")
			}
			assert.Equal(t, 1, strings.Count(logs.String(), "mirror unreachable"), "logged once:\n%s", logs.String())
		})
	}
}

// TestAptGetDeadMirror: with the mirror gone, a fresh APT root behind the
// proxy still updates (from the cache) and installs what the proxy holds;
// a package it does not hold fails within seconds, and APT's output says
// why. A refused source shows its reason in APT's output too.
func TestAptGetDeadMirror(t *testing.T) {
	arch, mirror := buildMirror(t, testSpec(), testmirror.Options{})
	p := startEngineProxy(t, "http://"+mirror.Addr()+"/", 0, nil)
	line := "deb [trusted=yes] http://" + p.Addr + "/test/debian bookworm main"
	first := newAptRoot(t, line, "")
	first.mustRun(t, "update")
	cached, missing := arch.Debs[0], arch.Debs[1]
	first.mustRun(t, "install", "--download-only", "-y", cached.Name)
	require.NoError(t, mirror.Close())

	second := newAptRoot(t, line, "")
	out, err := second.run(t.Context(), "update")
	require.NoError(t, err, out)
	t.Logf("update offline:\n%s", out)
	second.mustRun(t, "install", "--download-only", "-y", cached.Name)
	second.checkDebs(t, arch, cached.Name)
	start := time.Now()
	out, err = second.run(t.Context(), "install", "--download-only", "-y", missing.Name)
	require.Error(t, err, out)
	assert.Less(t, time.Since(start), 15*time.Second, "fails fast:\n%s", out)
	assert.Contains(t, out, "cannot be reached", "APT shows the reason:\n%s", out)

	refused := newAptRoot(t, "deb [trusted=yes] http://"+p.Addr+"/nosuch/debian bookworm main", "")
	out, err = refused.run(t.Context(), "update")
	assert.Contains(t, out, "not a configured mirror", "APT shows why it was refused:\n%s (%v)", out, err)
}
