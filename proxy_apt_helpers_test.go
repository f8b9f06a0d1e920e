package debtorrent_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/require"
)

// testProxy is a Proxy (without a Client: .debs from the mirror only)
// serving on loopback.
type testProxy struct {
	*debtorrent.Proxy
	Addr string
}

// startProxy serves the mirror (whose archive is at <base>/debian/) under
// the name "test".
func startProxy(t testing.TB, mirrorBase string, mod func(*debtorrent.ProxyConfig)) *testProxy {
	t.Helper()
	p, stop := startProxyIn(t, t.TempDir(), mirrorBase, mod)
	t.Cleanup(stop)
	return p
}

// startProxyIn starts a proxy whose caches are in dir; stop closes it.
func startProxyIn(t testing.TB, dir, mirrorBase string, mod func(*debtorrent.ProxyConfig)) (*testProxy, func()) {
	t.Helper()
	cfg := debtorrent.ProxyConfig{Mirrors: []debtorrent.ProxyMirror{{Name: "test", URLs: []string{mirrorBase}}}, CacheDir: dir}
	if mod != nil {
		mod(&cfg)
	}
	p, err := debtorrent.NewProxy(cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); p.Serve(ln) }()
	stop := func() {
		p.Close()
		<-done
	}
	return &testProxy{Proxy: p, Addr: ln.Addr().String()}, stop
}

// torrentView is what the tests read of a torrent the proxy made.
type torrentView struct {
	Name, InfoHash string
	Packages       int
}

// torrentsWhen waits (up to 30 s: the proxy builds torrents in the
// background, after the Packages file has gone to APT) until the proxy's
// torrents satisfy cond, and returns them.
func (p *testProxy) torrentsWhen(t testing.TB, what string, cond func([]torrentView) bool) []torrentView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ts := p.Torrents()
		if cond(ts) {
			return ts
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30 s: torrents %+v", what, ts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// oneTorrent waits until the proxy has exactly one torrent, other than
// not (when not is given), and returns it.
func (p *testProxy) oneTorrent(t testing.TB, not ...string) torrentView {
	t.Helper()
	ts := p.torrentsWhen(t, "single torrent", func(ts []torrentView) bool {
		return len(ts) == 1 && (len(not) == 0 || ts[0].InfoHash != not[0])
	})
	return ts[0]
}

// Torrents lists the torrents the proxy made, from its status.
func (p *testProxy) Torrents() []torrentView {
	var out []torrentView
	for _, ts := range p.Status().Torrents {
		out = append(out, torrentView{Name: ts.Name, InfoHash: ts.InfoHash, Packages: ts.Packages})
	}
	return out
}

// buildMirror builds and serves a test archive.
func buildMirror(t testing.TB, spec testmirror.Spec, opts testmirror.Options) (*testmirror.Archive, *testmirror.Server) {
	t.Helper()
	a, err := testmirror.Build(t.TempDir(), spec)
	require.NoError(t, err)
	srv, err := testmirror.Serve(a.Root, opts)
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	return a, srv
}

// aptRoot is a throwaway APT installation.
type aptRoot struct {
	dir  string
	conf string
}

// newAptRoot makes an APT root whose sources list is sourceLine and, when
// proxy is not "", sends every http request through it.
func newAptRoot(t testing.TB, sourceLine, proxy string, extra ...string) *aptRoot {
	t.Helper()
	return newAptRootIn(t, t.TempDir(), sourceLine, proxy, extra...)
}

// newAptRootIn is newAptRoot in dir.
func newAptRootIn(t testing.TB, dir, sourceLine, proxy string, extra ...string) *aptRoot {
	t.Helper()
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("apt-get not installed: run on Debian (apt-get install apt)")
	}
	for _, d := range []string{"etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/trusted.gpg.d", "etc/apt/sources.list.d",
		"var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg", "var/log/apt"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "var/lib/dpkg/status"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/apt/sources.list"), []byte(sourceLine+"\n"), 0o644))
	if proxy == "" {
		proxy = "DIRECT"
	}
	conf := fmt.Sprintf(`Dir "%[1]s/";
Dir::State "var/lib/apt/";
Dir::State::status "%[1]s/var/lib/dpkg/status";
Dir::Cache "var/cache/apt/";
Dir::Etc "etc/apt/";
Dir::Etc::sourcelist "%[1]s/etc/apt/sources.list";
Dir::Etc::sourceparts "%[1]s/etc/apt/sources.list.d";
Dir::Etc::parts "%[1]s/etc/apt/apt.conf.d";
Dir::Etc::preferencesparts "%[1]s/etc/apt/preferences.d";
Dir::Etc::trustedparts "%[1]s/etc/apt/trusted.gpg.d";
Dir::Log "%[1]s/var/log/apt";
Dir::Bin::Methods "/usr/lib/apt/methods";
Dir::Bin::dpkg "/usr/bin/dpkg";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
Debug::NoLocking "true";
Acquire::Languages "none";
Acquire::IndexTargets::deb::Translations::DefaultEnabled "false";
Acquire::Check-Valid-Until "false";
Acquire::Retries "0";
Acquire::http::Proxy "%[2]s";
%[3]s
`, dir, proxy, strings.Join(extra, "\n"))
	p := filepath.Join(dir, "apt.conf")
	require.NoError(t, os.WriteFile(p, []byte(conf), 0o644))
	return &aptRoot{dir: dir, conf: p}
}

// run runs apt-get with the root's configuration.
func (a *aptRoot) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "APT_CONFIG="+a.conf, "http_proxy=", "HTTP_PROXY=", "no_proxy=", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mustRun runs apt-get and fails the test on error.
func (a *aptRoot) mustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := a.run(context.Background(), args...)
	require.NoError(t, err, "apt-get %s:\n%s", strings.Join(args, " "), out)
	return out
}

// checkDebs checks that every package of the archive landed in APT's
// archives directory with the right SHA256.
func (a *aptRoot) checkDebs(t testing.TB, arch *testmirror.Archive, names ...string) {
	t.Helper()
	want := map[string]testmirror.Deb{}
	for _, d := range arch.Debs {
		want[d.Name] = d
	}
	for _, n := range names {
		d := want[n]
		got, err := os.ReadFile(filepath.Join(a.dir, "var/cache/apt/archives", filepath.Base(d.Filename)))
		require.NoError(t, err, "package %s not downloaded", n)
		require.Equal(t, d.SHA256, sha256.Sum256(got), "package %s has wrong content", n)
	}
}

func debNames(a *testmirror.Archive) []string {
	var out []string
	for _, d := range a.Debs {
		out = append(out, d.Name)
	}
	return out
}

func testSpec() testmirror.Spec {
	s := testmirror.SimpleSpec(8, 0)
	for i := range s.Packages {
		s.Packages[i].PayloadSize = 20_000 + i*37_000
	}
	return s
}

// httpGet sends one request to the proxy and returns status, headers, body.
func httpGet(t testing.TB, c *http.Client, method, u string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}
