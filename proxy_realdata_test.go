package debtorrent_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/debsource"
	"github.com/debtorrent/debtorrent/internal/testmirror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fixtures = "../shared/fixtures/debian"

// TestRealBookworm serves Debian 12's real InRelease and main/amd64
// Packages file (63,440 packages) through the proxy: the torrent is made,
// and a HEAD for hello answers from its Packages entry.
func TestRealBookworm(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 50 MB")
	}
	inRelease, err := os.ReadFile(filepath.Join(fixtures, "bookworm/InRelease"))
	if err != nil {
		t.Skip("fixtures absent (../shared/fixtures/debian): ", err)
	}
	xzf, err := os.Open(filepath.Join(fixtures, "bookworm/main/binary-amd64/Packages.xz"))
	require.NoError(t, err)
	defer xzf.Close()
	root := t.TempDir()
	dir := filepath.Join(root, "dists/bookworm/main/binary-amd64")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "dists/bookworm/InRelease"), inRelease, 0o644))
	dec, err := debsource.Decompress(xzf, "Packages.xz")
	require.NoError(t, err)
	out, err := os.Create(filepath.Join(dir, "Packages"))
	require.NoError(t, err)
	_, err = io.Copy(out, dec)
	dec.Close()
	require.NoError(t, err)
	require.NoError(t, out.Close())

	mirror, err := testmirror.Serve(root, testmirror.Options{})
	require.NoError(t, err)
	defer mirror.Close()
	p := startProxy(t, "http://"+mirror.Addr()+"/", nil)
	c := &http.Client{}
	base := "http://" + p.Addr + "/test/debian/"
	st, _, _ := httpGet(t, c, "GET", base+"dists/bookworm/InRelease")
	require.Equal(t, http.StatusOK, st)
	start := time.Now()
	st, _, _ = httpGet(t, c, "GET", base+"dists/bookworm/main/binary-amd64/Packages")
	require.Equal(t, http.StatusOK, st)
	st, h, _ := httpGet(t, c, "HEAD", base+"pool/main/h/hello/hello_2.10-3_amd64.deb")
	t.Logf("Packages passed and hello found in %v", time.Since(start))
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "53080", h.Get("Content-Length"))
	assert.Equal(t, `"sha256:2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a"`, h.Get("ETag"))
	tv := p.oneTorrent(t)
	assert.Equal(t, 63440, tv.Packages)
	assert.Equal(t, "Debian/bookworm/main/binary-amd64", tv.Name)
	assert.Equal(t, 0, mirror.Count("pool/main/h/hello/hello_2.10-3_amd64.deb", http.StatusOK), "HEAD downloads nothing")
}
