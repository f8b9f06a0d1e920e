package aptproxy

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVouchedIndexCheckedByHashNotSize: a cached Packages.xz of the size
// the current Release lists but other bytes is not served: the proxy
// fetches the file the Release vouches for. The cached copy got in while
// no Release was known; the mirror then puts the right file back with the
// same time, so a conditional request alone would keep the wrong copy.
func TestVouchedIndexCheckedByHashNotSize(t *testing.T) {
	arch, mirror := startStatusMirror(t)
	const rel = "dists/bookworm/main/binary-amd64/Packages.xz"
	onDisk := filepath.Join(arch.Root, filepath.FromSlash(rel))
	good, err := os.ReadFile(onDisk)
	require.NoError(t, err)
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 0xff // same size, other bytes
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	put := func(b []byte) {
		require.NoError(t, os.WriteFile(onDisk, b, 0o644))
		require.NoError(t, os.Chtimes(onDisk, when, when))
	}

	p := startStatusProxy(t, "http://"+mirror.Addr()+"/", nil)
	c := &http.Client{}
	base := "http://" + p.Addr + "/test/debian/"

	put(bad)
	st, _, body := statusGet(t, c, base+rel)
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, string(bad), body, "setup: with no Release known the proxy caches what the mirror has")

	put(good)
	st, _, _ = statusGet(t, c, base+"dists/bookworm/Release")
	require.Equal(t, http.StatusOK, st)
	st, _, body = statusGet(t, c, base+rel)
	require.Equal(t, http.StatusOK, st)
	assert.True(t, body == string(good), "the proxy served a cached copy of the right size but the wrong SHA256")
	assert.Equal(t, 2, mirror.Count(rel, http.StatusOK), "the file the Release vouches for is fetched afresh")

	// Now the cached copy is right: it is served without asking the mirror.
	st, _, body = statusGet(t, c, base+rel)
	require.Equal(t, http.StatusOK, st)
	assert.True(t, body == string(good))
	asked := 0
	for _, l := range mirror.Log() {
		if l.Path == rel {
			asked++
		}
	}
	assert.Equal(t, 2, asked, "a copy matching the Release is served from the cache")
}
