package main

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/internal/testmirror"
)

// mirrorPrefix is the path the test mirror is served under, as the proxy
// serves a mirror named "test-mirror".
const mirrorPrefix = "/test-mirror/debian/"

// testSpec is a small archive: many small packages and a few large ones.
func testSpec(small, large int) testmirror.Spec {
	var s testmirror.Spec
	for i := range small {
		s.Packages = append(s.Packages, testmirror.Package{Name: fmt.Sprintf("small%02d", i), Version: "1.0-1", PayloadSize: 2 << 10})
	}
	for i := range large {
		s.Packages = append(s.Packages, testmirror.Package{Name: fmt.Sprintf("large%02d", i), Version: "2.0-1", PayloadSize: 1 << 20})
	}
	return s
}

// names returns the archive's package names.
func names(a *testmirror.Archive) []string {
	var out []string
	for _, d := range a.Debs {
		out = append(out, d.Name)
	}
	return out
}

// gate holds the first requests for .deb files until want of them are
// waiting at once, proving they were sent concurrently. If they never all
// arrive it opens at its deadline, and openedEarly reports false.
type gate struct {
	want    int
	mu      sync.Mutex
	seen    map[*http.Request]bool
	arrived int
	open    chan struct{}
	once    sync.Once
	timer   *time.Timer
	// openedByCount is true when enough requests waited at once.
	openedByCount bool
}

func newGate(want int) *gate {
	g := &gate{want: want, seen: map[*http.Request]bool{}, open: make(chan struct{})}
	g.timer = time.AfterFunc(20*time.Second, g.release)
	return g
}

// release opens the gate for good.
func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// fault is a testmirror Fault hook that never fails a request, only holds
// it at the gate (the hook may be called more than once per request).
func (g *gate) fault(r *http.Request) int {
	if !strings.HasSuffix(r.URL.Path, ".deb") {
		return 0
	}
	g.mu.Lock()
	if g.seen[r] {
		g.mu.Unlock()
		return 0
	}
	g.seen[r] = true
	g.arrived++
	if g.arrived == g.want {
		g.openedByCount = true
		g.timer.Stop()
		g.release()
	}
	g.mu.Unlock()
	<-g.open
	return 0
}

func (g *gate) openedEarly() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.openedByCount
}

func TestAptGetUpdateAndDownloadThroughMethod(t *testing.T) {
	dir := t.TempDir()
	archive, err := testmirror.Build(dir, testSpec(12, 2))
	require.NoError(t, err)
	// All 14 packages at once: only possible with the snippet's
	// Acquire::Max-Pipeline-Depth (APT's default hands out 10).
	g := newGate(14)
	mirror, err := testmirror.Serve(dir, testmirror.Options{Prefix: mirrorPrefix, Fault: g.fault})
	require.NoError(t, err)
	defer mirror.Close()
	defer g.release() // before Close, which waits for held requests

	root := newAPTRoot(t, "deb [trusted=yes] debtorrent://"+mirror.Addr()+"/test-mirror/debian bookworm main")
	root.installSnippet(t)
	out, err := root.run(t, "update")
	t.Logf("apt-get update:\n%s", out)
	require.NoError(t, err, out)
	assert.Contains(t, out, "Get:")
	assert.NotContains(t, out, "Err:")

	out, err = root.run(t, "update")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Hit:", "a second update must be answered by If-Modified-Since")
	assert.GreaterOrEqual(t, mirror.Count("dists/bookworm/Release", http.StatusNotModified), 1, "Release asked with If-Modified-Since")

	out, err = root.run(t, append([]string{"install", "--download-only", "-y"}, names(archive)...)...)
	t.Logf("apt-get install --download-only:\n%s", out)
	require.NoError(t, err, out)
	assert.True(t, g.openedEarly(), "the 14 .deb requests were never in flight at once")
	for _, d := range archive.Debs {
		data, err := os.ReadFile(root.archive(path.Base(d.Filename)))
		require.NoError(t, err, d.Filename)
		assert.Equal(t, d.SHA256, sha256.Sum256(data), d.Filename)
		assert.Equal(t, 1, mirror.Count(d.Filename, http.StatusOK), d.Filename)
	}
}

func TestAptGetFailuresThroughMethod(t *testing.T) {
	dir := t.TempDir()
	archive, err := testmirror.Build(dir, testSpec(3, 0))
	require.NoError(t, err)
	victim := archive.Debs[1].Filename

	tests := []struct {
		name string
		// fail answers the n-th request (from 1) for the victim package; 0
		// serves it.
		fail         func(n int) int
		wantOK       bool
		wantRequests int
		wantOutput   string
	}{
		{name: "503 once is retried", fail: func(n int) int { return map[int]int{1: 503}[n] }, wantOK: true, wantRequests: 2},
		{name: "503 always fails after the retries", fail: func(int) int { return 503 }, wantRequests: 3, wantOutput: "503"},
		{name: "404 is not retried", fail: func(int) int { return 404 }, wantRequests: 1, wantOutput: "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			answers := map[*http.Request]int{}
			fault := func(r *http.Request) int {
				if !strings.HasSuffix(r.URL.Path, victim) {
					return 0
				}
				mu.Lock()
				defer mu.Unlock()
				if code, ok := answers[r]; ok {
					return code
				}
				answers[r] = tt.fail(len(answers) + 1)
				return answers[r]
			}
			mirror, err := testmirror.Serve(dir, testmirror.Options{Prefix: mirrorPrefix, Fault: fault})
			require.NoError(t, err)
			defer mirror.Close()
			root := newAPTRoot(t, "deb [trusted=yes] debtorrent://"+mirror.Addr()+"/test-mirror/debian bookworm main",
				`Acquire::Retries "2";`, `Acquire::Retries::Delay "false";`)
			out, err := root.run(t, "update")
			require.NoError(t, err, out)

			out, err = root.run(t, append([]string{"install", "--download-only", "-y"}, names(archive)...)...)
			t.Logf("apt-get install --download-only:\n%s", out)
			if tt.wantOK {
				require.NoError(t, err, out)
			} else {
				require.Error(t, err, out)
				assert.Contains(t, out, "Failed to fetch debtorrent://", out)
				assert.Contains(t, out, tt.wantOutput)
			}
			mu.Lock()
			assert.Equal(t, tt.wantRequests, len(answers), "requests for %s", victim)
			mu.Unlock()
			for i, d := range archive.Debs {
				if i == 1 && !tt.wantOK {
					continue
				}
				data, err := os.ReadFile(root.archive(path.Base(d.Filename)))
				require.NoError(t, err, d.Filename)
				assert.Equal(t, d.SHA256, sha256.Sum256(data), d.Filename)
			}
		})
	}
}

// A mirror name APT must percent-encode reaches the server intact, and
// APT matches the method's answers to its (decoded) URIs.
func TestAptGetMirrorNameWithSpace(t *testing.T) {
	dir := t.TempDir()
	archive, err := testmirror.Build(dir, testSpec(2, 0))
	require.NoError(t, err)
	mirror, err := testmirror.Serve(dir, testmirror.Options{Prefix: "/my mirror/debian/"})
	require.NoError(t, err)
	defer mirror.Close()
	root := newAPTRoot(t, "deb [trusted=yes] debtorrent://"+mirror.Addr()+"/my%20mirror/debian bookworm main")
	out, err := root.run(t, "update")
	require.NoError(t, err, out)
	assert.NotContains(t, out, "Err:")
	out, err = root.run(t, append([]string{"install", "--download-only", "-y"}, names(archive)...)...)
	require.NoError(t, err, out)
	for _, d := range archive.Debs {
		assert.Equal(t, 1, mirror.Count(d.Filename, http.StatusOK), d.Filename)
		assert.FileExists(t, root.archive(path.Base(d.Filename)))
	}
}

// With the proxy down APT reports the refused connection for every index.
func TestAptGetProxyDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	root := newAPTRoot(t, "deb [trusted=yes] debtorrent://"+addr+"/test-mirror/debian bookworm main", `Acquire::Retries "1";`, `Acquire::Retries::Delay "false";`)
	out, _ := root.run(t, "update")
	t.Logf("apt-get update:\n%s", out)
	assert.Contains(t, out, "Ign:1", "a refused connection is transient: APT retries once")
	assert.Contains(t, out, "Err:1")
	assert.Contains(t, out, "connection refused (is the debtorrent proxy running?)")
	assert.NotContains(t, out, "Get:")
}

// TestAptGetUnsandboxedThroughMethod: the APT root is inside a mode-700
// directory that APT's sandbox user cannot reach, so APT decides to run its
// methods as root ("Download is performed unsandboxed as root") and sends no
// sandbox user; the method must follow that decision, as APT's own methods
// do, and not drop to _apt.
func TestAptGetUnsandboxedThroughMethod(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: APT decides about the sandbox only when run as root")
	}
	if _, err := user.Lookup("_apt"); err != nil {
		t.Skip("no _apt user on this machine (apt-get install apt creates it)")
	}
	dir := t.TempDir()
	archive, err := testmirror.Build(dir, testSpec(3, 1))
	require.NoError(t, err)
	mirror, err := testmirror.Serve(dir, testmirror.Options{Prefix: mirrorPrefix})
	require.NoError(t, err)
	defer mirror.Close()
	root := newAPTRoot(t, "deb [trusted=yes] debtorrent://"+mirror.Addr()+"/test-mirror/debian bookworm main",
		`APT::Sandbox::User "_apt";`)
	require.NoError(t, os.Chmod(root.dir, 0o700)) // out of _apt's reach
	out, err := root.run(t, "update")
	require.NoError(t, err, out)
	assert.Contains(t, out, "unsandboxed as root", "APT decided to run its methods as root")
	out, err = root.run(t, append([]string{"install", "--download-only", "-y"}, names(archive)...)...)
	require.NoError(t, err, out)
	for _, d := range archive.Debs {
		data, err := os.ReadFile(root.archive(path.Base(d.Filename)))
		require.NoError(t, err, d.Filename)
		assert.Equal(t, d.SHA256, sha256.Sum256(data), d.Filename)
	}
}
