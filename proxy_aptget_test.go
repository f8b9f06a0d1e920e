package debtorrent_test

import (
	"crypto/sha256"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAptGetBothModes runs Debian's apt-get update and install
// --download-only through the proxy, as a forward proxy and by path
// prefix, and checks every .deb's SHA256.
func TestAptGetBothModes(t *testing.T) {
	for _, mode := range []string{"forward", "prefix"} {
		t.Run(mode, func(t *testing.T) {
			arch, mirror := buildMirror(t, testSpec(), testmirror.Options{})
			p := startProxy(t, "http://"+mirror.Addr()+"/", nil)
			var root *aptRoot
			if mode == "forward" {
				root = newAptRoot(t, "deb [trusted=yes] "+mirror.URL()+" bookworm main", "http://"+p.Addr)
			} else {
				root = newAptRoot(t, "deb [trusted=yes] http://"+p.Addr+"/test/debian bookworm main", "")
			}
			root.mustRun(t, "update")
			assert.Equal(t, len(arch.Debs), p.oneTorrent(t).Packages, "the Packages file became a torrent")
			pkgs := debNames(arch)
			root.mustRun(t, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
			root.checkDebs(t, arch, pkgs...)
			for _, d := range arch.Debs {
				assert.Equal(t, 1, mirror.Count(d.Filename, http.StatusOK), "%s fetched once from the mirror", d.Filename)
			}
			st := p.Status()
			assert.Equal(t, int64(len(pkgs)), st.DebsBySource["mirror"])

			// A second APT root gets everything from the proxy's cache:
			// the mirror sees no second copy of any .deb.
			var root2 *aptRoot
			if mode == "forward" {
				root2 = newAptRoot(t, "deb [trusted=yes] "+mirror.URL()+" bookworm main", "http://"+p.Addr)
			} else {
				root2 = newAptRoot(t, "deb [trusted=yes] http://"+p.Addr+"/test/debian bookworm main", "")
			}
			root2.mustRun(t, "update")
			root2.mustRun(t, append([]string{"install", "--download-only", "-y"}, pkgs...)...)
			root2.checkDebs(t, arch, pkgs...)
			for _, d := range arch.Debs {
				assert.Equal(t, 1, mirror.Count(d.Filename, http.StatusOK), "%s fetched once from the mirror", d.Filename)
			}
			assert.Equal(t, int64(len(pkgs)), p.Status().DebsBySource["cache"])
		})
	}
}

// TestAptGetRefusedMirror: a source that is not a configured mirror gets
// 403 with a reason, and apt-get fails.
func TestAptGetRefusedMirror(t *testing.T) {
	_, mirror := buildMirror(t, testSpec(), testmirror.Options{})
	p := startProxy(t, "http://"+mirror.Addr()+"/debian/", nil) // only /debian/ of that host
	_, other := buildMirror(t, testSpec(), testmirror.Options{Prefix: "/other/"})
	root := newAptRoot(t, "deb [trusted=yes] "+other.URL()+" bookworm main", "http://"+p.Addr)
	out, _ := root.run(t.Context(), "update")
	assert.True(t, strings.Contains(out, "403"), "apt-get output should show the 403:\n%s", out)
	assert.Empty(t, other.Log(), "the unconfigured mirror was never contacted")
}

// TestRestartKeepsTorrents: after a restart APT does not fetch the
// Packages files again (its Release is unchanged), yet the proxy makes their
// torrents from its cache when the Release passes, so .debs stay listed.
func TestRestartKeepsTorrents(t *testing.T) {
	arch, mirror := buildMirror(t, testSpec(), testmirror.Options{})
	dir := t.TempDir()
	p1, stop1 := startProxyIn(t, dir, "http://"+mirror.Addr()+"/", nil)
	root := newAptRoot(t, "deb [trusted=yes] http://"+p1.Addr+"/test/debian bookworm main", "")
	root.mustRun(t, "update")
	stop1()

	p2, stop2 := startProxyIn(t, dir, "http://"+mirror.Addr()+"/", nil)
	defer stop2()
	c := &http.Client{}
	base := "http://" + p2.Addr + "/test/debian/"
	st, _, _ := httpGet(t, c, "GET", base+"dists/bookworm/Release")
	require.Equal(t, http.StatusOK, st)
	d := arch.Debs[2]
	st, _, body := httpGet(t, c, "GET", base+d.Filename)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, d.SHA256, sha256.Sum256([]byte(body)))
	p2.oneTorrent(t) // made from the cached Packages file
	assert.Equal(t, int64(1), p2.Status().DebsBySource["mirror"], "served as a listed package, verified by SHA256")
}

// TestArchiveUpdate: the archive changes (a new Release, a new Packages
// file with one more package); the next apt-get update through the proxy
// sees it, the new Packages file replaces the torrent, and the new package
// installs.
func TestArchiveUpdate(t *testing.T) {
	spec := testSpec()
	dir := t.TempDir()
	_, err := testmirror.Build(dir, spec)
	require.NoError(t, err)
	mirror, err := testmirror.Serve(dir, testmirror.Options{})
	require.NoError(t, err)
	defer mirror.Close()
	p := startProxy(t, "http://"+mirror.Addr()+"/", nil)
	root := newAptRoot(t, "deb [trusted=yes] http://"+p.Addr+"/test/debian bookworm main", "")
	root.mustRun(t, "update")
	first := p.oneTorrent(t).InfoHash

	spec.Packages = append(spec.Packages, testmirror.Package{Name: "newpkg", Version: "2.0-1", PayloadSize: 12345})
	spec.Date = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC) // a day after Build's default
	arch2, err := testmirror.Build(dir, spec)
	require.NoError(t, err)
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "dists/bookworm/Release"), later, later))

	root.mustRun(t, "update")
	p.oneTorrent(t, first) // the new Packages file replaced the old torrent
	root.mustRun(t, "install", "--download-only", "-y", "newpkg")
	root.checkDebs(t, arch2, "newpkg")
	byHash := 0
	for _, e := range mirror.Log() {
		if strings.Contains(e.Path, "/binary-amd64/by-hash/") && e.Status == http.StatusOK {
			byHash++
		}
	}
	assert.Equal(t, 2, byHash, "each Packages file fetched once from the mirror, though both APT and the proxy wanted the new one")
}

// TestPDiffUpdate: the archive publishes a pdiff from the old Packages file
// to the new one; APT patches its copy through the proxy (it gets what it
// needs), and the proxy still makes the new torrent, fetching the new
// Packages file once itself.
func TestPDiffUpdate(t *testing.T) {
	spec := testSpec()
	dir := t.TempDir()
	v1, err := testmirror.Build(dir, spec)
	require.NoError(t, err)
	mirror, err := testmirror.Serve(dir, testmirror.Options{})
	require.NoError(t, err)
	defer mirror.Close()
	p := startProxy(t, "http://"+mirror.Addr()+"/", nil)
	root := newAptRoot(t, "deb [trusted=yes] http://"+p.Addr+"/test/debian bookworm main", "")
	root.mustRun(t, "update")
	first := p.oneTorrent(t).InfoHash

	spec.Packages = append(spec.Packages, testmirror.Package{Name: "newpkg", Version: "2.0-1", PayloadSize: 12345})
	spec.Date = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	spec.PDiffFrom = v1
	v2, err := testmirror.Build(dir, spec)
	require.NoError(t, err)
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "dists/bookworm/Release"), later, later))

	out := root.mustRun(t, "update")
	usedPDiff := false
	for _, e := range mirror.Log() {
		if strings.Contains(e.Path, "Packages.diff/") && e.Status == http.StatusOK {
			usedPDiff = true
		}
	}
	require.True(t, usedPDiff, "APT should have used the pdiff:\n%s\n%+v", out, mirror.Log())
	root.mustRun(t, "install", "--download-only", "-y", "newpkg")
	root.checkDebs(t, v2, "newpkg")
	p.oneTorrent(t, first) // the torrent follows the new Packages file
	assert.Equal(t, int64(1), p.Status().DebsBySource["mirror"], "newpkg was a listed package")
}
