package main

import (
	"crypto/sha256"
	"net"
	"os"
	"path"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/internal/testmirror"
)

// startProxy runs a debtorrent proxy (mirror only, no peers) on loopback
// in front of mirror, serving it as "test-mirror", and returns its address.
func startProxy(t testing.TB, mirror *testmirror.Server) string {
	t.Helper()
	p, err := debtorrent.NewProxy(debtorrent.ProxyConfig{
		Mirrors:  []debtorrent.ProxyMirror{{Name: "test-mirror", URLs: []string{"http://" + mirror.Addr() + "/"}}},
		CacheDir: t.TempDir(),
	})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- p.Serve(ln) }()
	t.Cleanup(func() {
		p.Close()
		<-served
	})
	return ln.Addr().String()
}

// The method through the real proxy: update (twice, the second answered by
// If-Modified-Since), then download every package.
func TestAptGetThroughProxy(t *testing.T) {
	dir := t.TempDir()
	archive, err := testmirror.Build(dir, testSpec(12, 2))
	require.NoError(t, err)
	mirror, err := testmirror.Serve(dir, testmirror.Options{Prefix: "/debian/"})
	require.NoError(t, err)
	defer mirror.Close()
	proxy := startProxy(t, mirror)

	root := newAPTRoot(t, "deb [trusted=yes] debtorrent://"+proxy+"/test-mirror/debian bookworm main")
	root.installSnippet(t)
	out, err := root.run(t, "update")
	t.Logf("apt-get update:\n%s", out)
	require.NoError(t, err, out)
	assert.NotContains(t, out, "Err:")

	out, err = root.run(t, "update")
	require.NoError(t, err, out)
	assert.Contains(t, out, "Hit:")

	out, err = root.run(t, append([]string{"install", "--download-only", "-y"}, names(archive)...)...)
	t.Logf("apt-get install --download-only:\n%s", out)
	require.NoError(t, err, out)
	for _, d := range archive.Debs {
		data, err := os.ReadFile(root.archive(path.Base(d.Filename)))
		require.NoError(t, err, d.Filename)
		assert.Equal(t, d.SHA256, sha256.Sum256(data), d.Filename)
	}

}

// A package the mirror does not have, fetched through the proxy, is a
// clean failure that APT reports; the other packages still arrive.
func TestAptGetThroughProxyMissingPackage(t *testing.T) {
	dir := t.TempDir()
	archive, err := testmirror.Build(dir, testSpec(4, 0))
	require.NoError(t, err)
	lost := archive.Debs[1]
	require.NoError(t, os.Remove(filepath.Join(dir, lost.Filename)))
	mirror, err := testmirror.Serve(dir, testmirror.Options{Prefix: "/debian/"})
	require.NoError(t, err)
	defer mirror.Close()
	proxy := startProxy(t, mirror)

	root := newAPTRoot(t, "deb [trusted=yes] debtorrent://"+proxy+"/test-mirror/debian bookworm main",
		`Acquire::Retries "1";`, `Acquire::Retries::Delay "false";`)
	out, err := root.run(t, "update")
	require.NoError(t, err, out)
	out, err = root.run(t, append([]string{"install", "--download-only", "-y"}, names(archive)...)...)
	t.Logf("apt-get install --download-only:\n%s", out)
	require.Error(t, err, out)
	assert.Contains(t, out, "Err:")
	assert.Contains(t, out, "Failed to fetch debtorrent://"+proxy+"/test-mirror/debian/"+lost.Filename)
	for _, d := range archive.Debs {
		if d.Name != lost.Name {
			assert.FileExists(t, root.archive(path.Base(d.Filename)))
		}
	}
}
