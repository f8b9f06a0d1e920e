package testmirror

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/debsource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildIsAValidArchive(t *testing.T) {
	a, err := Build(t.TempDir(), SimpleSpec(3, 5000))
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join(a.Root, "dists/bookworm/Release"))
	require.NoError(t, err)
	rel, err := debsource.ParseRelease(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.True(t, rel.AcquireByHash)
	for _, name := range []string{"Packages", "Packages.gz", "Packages.xz"} {
		f, ok := rel.File("main/binary-amd64/" + name)
		require.True(t, ok, name)
		data, err := os.ReadFile(filepath.Join(a.Root, "dists/bookworm/main/binary-amd64/by-hash/SHA256", hex.EncodeToString(f.SHA256[:])))
		require.NoError(t, err, "by-hash copy of %s", name)
		assert.Equal(t, f.SHA256, sha256.Sum256(data))
		dec, err := debsource.Decompress(bytes.NewReader(data), name)
		require.NoError(t, err)
		res, err := debsource.BuildInfo(dec, debsource.TorrentName{Suite: "bookworm"})
		dec.Close()
		require.NoError(t, err)
		assert.Len(t, res.Info.Files, 3)
	}
	for _, d := range a.Debs {
		data, err := os.ReadFile(filepath.Join(a.Root, d.Filename))
		require.NoError(t, err)
		assert.Equal(t, d.SHA256, sha256.Sum256(data))
		assert.Equal(t, d.Size, int64(len(data)))
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed: apt-get install dpkg")
	}
	out, err := exec.Command("dpkg-deb", "--field", filepath.Join(a.Root, a.Debs[0].Filename), "Package").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "pkg00\n", string(out))
}

func TestServerLogAndRate(t *testing.T) {
	a, err := Build(t.TempDir(), SimpleSpec(1, 300_000))
	require.NoError(t, err)
	s, err := Serve(a.Root, Options{Rate: 1 << 20})
	require.NoError(t, err)
	defer s.Close()
	start := time.Now()
	resp, err := http.Get(s.URL() + a.Debs[0].Filename)
	require.NoError(t, err)
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, a.Debs[0].Size, n)
	assert.Greater(t, time.Since(start), 200*time.Millisecond, "300 KB at 1 MiB/s (64 KiB burst) takes over 0.2 s")
	resp, err = http.Get(s.URL() + "nope")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 1, s.Count(a.Debs[0].Filename, http.StatusOK))
	assert.Equal(t, 1, s.Count("nope", http.StatusNotFound))
	assert.Equal(t, a.Debs[0].Size, s.BytesSent(".deb"))
}
