package aptproxy

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumPath returns the headless browser, or skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not installed: apt-get install -y chromium")
	return ""
}

// runChromium runs headless Chromium at 1280×800 with extra flags and
// returns its stdout.
func runChromium(t *testing.T, bin string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,800"}
	cmd := exec.CommandContext(ctx, bin, append(args, extra...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("chromium did not finish in 90 s; stderr:\n%s", stderr.String())
	}
	require.NoError(t, err, "chromium: %s", stderr.String())
	return string(out)
}

// dashboardProxy starts a proxy, sends it index and .deb requests and
// records .deb bytes by source the way the request path does.
func dashboardProxy(t *testing.T) *statusProxy {
	t.Helper()
	arch, mirror := startStatusMirror(t)
	p := startStatusProxy(t, "http://"+mirror.Addr()+"/", func(c *Config) {
		c.Engine = func() EngineStatus {
			return EngineStatus{Peers: 3, BytesFromPeers: 5 << 20, Torrents: map[string]EngineTorrent{},
				Mirrors: []MirrorState{{Name: "backup", URL: "http://backup.example/debian/", State: MirrorDown,
					LastError: "dial tcp: connection refused", Since: time.Now().Add(-time.Hour)}}}
		}
	})
	c := &http.Client{}
	base := "http://" + p.Addr + "/test/debian/"
	statusGet(t, c, base+"dists/bookworm/Release")
	st, _, _ := statusGet(t, c, base+"dists/bookworm/main/binary-amd64/Packages.xz")
	require.Equal(t, http.StatusOK, st)
	for _, d := range arch.Debs[:4] {
		st, _, _ := statusGet(t, c, base+d.Filename)
		require.Equal(t, http.StatusOK, st)
	}
	statusGet(t, c, base+"pool/main/n/nothere/nothere_1_amd64.deb")
	fwd := &http.Client{Transport: &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse("http://" + p.Addr) }}}
	statusGet(t, fwd, "http://elsewhere.example/debian/dists/x/Release")
	statusGet(t, c, base+"pool/main/a/averyveryverylongpackagenamethatgoesonandon/"+strings.Repeat("averyveryverylongpackagename", 8)+"_1.0-1_amd64.deb")
	p.stats.debBytes(BytesFromPeers, 3<<30)
	p.stats.debBytes(BytesFromMirror, 1<<30)
	p.stats.debBytes(BytesFromCache, 200<<20)
	p.mirrorState.note("test", nil)
	return p
}

// TestDashboardInChromium: the dashboard renders in a real browser at
// 1280 px: peer share, chart and swarm table present, no horizontal
// overflow; the screenshot is kept in $DASHBOARD_SCREENSHOT when set.
func TestDashboardInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bin := chromiumPath(t)
	p := dashboardProxy(t)
	page := "http://" + p.Addr + "/"
	errBefore := p.Status().Errors

	dom := runChromium(t, bin, "--virtual-time-budget=3000", "--dump-dom", page)
	require.Contains(t, dom, "<html", "chromium dumped no page")
	attr := func(name string) string {
		m := regexp.MustCompile(`<html[^>]*\s` + name + `="([^"]*)"`).FindStringSubmatch(dom)
		if m == nil {
			return ""
		}
		return m[1]
	}
	assert.Equal(t, "true", attr("data-fits"), "the page overflows 1280 px horizontally")
	assert.NotEmpty(t, attr("data-renders"), "the page's script did not render")
	for _, c := range []struct{ what, re string }{
		{"peer share: 3 GiB of 4 GiB from peers", `id="share">75 %<`},
		{"the chart", `<svg id="chart"[^>]*>`},
		{"the chart's served line", `<path id="pserved"[^>]* d="M0`},
		{"the swarm table lists the torrent", `(?s)<table id="swarms">.*<td[^>]*>Test/bookworm/main/binary-amd64</td>`},
		{"a .deb from the mirror", `class="pill s-mirror"`},
		{"a refused request", `class="pill s-refused"`},
		{"a mirror that is down, with its error", `(?s)connection refused.*class="pill st-down"`},
		{"a mirror that is up", `class="pill st-up"`},
	} {
		assert.True(t, regexp.MustCompile(c.re).MatchString(dom), "dumped DOM lacks %s (%s)", c.what, c.re)
	}

	shot := os.Getenv("DASHBOARD_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "dashboard.png")
	}
	runChromium(t, bin, "--virtual-time-budget=3000", "--hide-scrollbars", "--screenshot="+shot, page)
	fi, err := os.Stat(shot)
	require.NoError(t, err)
	assert.Greater(t, fi.Size(), int64(10_000), "a screenshot of a rendered page")

	assert.Equal(t, errBefore, p.Status().Errors, "the browser's requests (page, favicon, polling) counted as errors")
}
