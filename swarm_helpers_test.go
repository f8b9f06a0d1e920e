package debtorrent_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
)

// swarmTimeout bounds every wait of the swarm tests.
const swarmTimeout = 60 * time.Second

// makeTree writes files of pseudo-random bytes (sizes by path) under
// dir/name and returns the standard torrent of that directory.
func makeTree(t testing.TB, dir, name string, sizes map[string]int, pieceLength int64, seed uint64) *metainfo.Info {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	for p, n := range sizes {
		full := filepath.Join(dir, name, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		require.NoError(t, os.WriteFile(full, data, 0o644))
	}
	info, err := metainfo.Create(context.Background(), filepath.Join(dir, name), metainfo.CreateOptions{PieceLength: pieceLength})
	require.NoError(t, err)
	return info
}

// newClient starts a client on loopback storing in its own temporary
// directory, closed at the end of the test.
func newClient(t testing.TB, mod func(*debtorrent.Config)) (*debtorrent.Client, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := debtorrent.Config{ListenAddr: "127.0.0.1:0", DataDir: dir}
	if mod != nil {
		mod(&cfg)
	}
	c, err := debtorrent.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, dir
}

// waitComplete waits for every torrent to have all its pieces.
func waitComplete(t testing.TB, ts ...*debtorrent.Torrent) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	for _, tr := range ts {
		select {
		case <-tr.Complete():
		case <-ctx.Done():
			t.Fatalf("torrent %s not complete: %+v", tr.Info().Name, tr.Stats())
		}
	}
}

// sameTree checks that every file of info is byte for byte the same under
// two directories.
func sameTree(t testing.TB, info *metainfo.Info, want, got string) {
	t.Helper()
	for _, f := range info.Files {
		a, err := os.ReadFile(filepath.Join(want, info.Name, filepath.FromSlash(f.Path)))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(got, info.Name, filepath.FromSlash(f.Path)))
		require.NoError(t, err)
		require.True(t, bytes.Equal(a, b), "file %s differs", f.Path)
	}
}

// checkNoLeaks fails the test if goroutines started after before are still
// running once everything is closed (allowing a deadline for them to end).
func checkNoLeaks(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines left behind (had %d):\n%s", runtime.NumGoroutine()-before, before, buf[:n])
		}
		<-tick.C
	}
}
