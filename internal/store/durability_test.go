package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fsEvent is one durable-making call seen by recordingFS.
type fsEvent struct {
	op       string // "sync" or "rename"
	path, to string // the synced file, or the rename's ends
}

// recordingFS passes Sync and Rename to the real file system and records
// them in order.
type recordingFS struct {
	mu       sync.Mutex
	events   []fsEvent
	onRename func(to string) // called before each rename, when set
}

func (r *recordingFS) Sync(f *os.File) error {
	r.add(fsEvent{op: "sync", path: f.Name()})
	return osFS{}.Sync(f)
}

func (r *recordingFS) Rename(from, to string) error {
	r.mu.Lock()
	hook := r.onRename
	r.mu.Unlock()
	if hook != nil {
		hook(to)
	}
	err := osFS{}.Rename(from, to)
	if err == nil {
		r.add(fsEvent{op: "rename", path: from, to: to})
	}
	return err
}

func (r *recordingFS) add(e fsEvent) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recordingFS) log() []fsEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// lastRenameTo returns the index of the last rename onto to.
func lastRenameTo(t *testing.T, evs []fsEvent, to string) int {
	t.Helper()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].op == "rename" && evs[i].to == to {
			return i
		}
	}
	t.Fatalf("no rename onto %s in %v", to, evs)
	return -1
}

// syncedBetween reports whether path was fsynced in evs[from:to].
func syncedBetween(evs []fsEvent, from, to int, path string) bool {
	for _, e := range evs[max(from, 0):to] {
		if e.op == "sync" && e.path == path {
			return true
		}
	}
	return false
}

// requireDurableRename asserts that the file renamed onto to at evs[i] was
// fsynced before, and its directory after.
func requireDurableRename(t *testing.T, evs []fsEvent, i int) {
	t.Helper()
	require.True(t, syncedBetween(evs, 0, i, evs[i].path), "data of %s renamed to %s before it was fsynced: %v", evs[i].path, evs[i].to, evs)
	require.True(t, syncedBetween(evs, i+1, len(evs), filepath.Dir(evs[i].to)), "rename to %s not made durable (directory not fsynced): %v", evs[i].to, evs)
}

// TestDataSyncedBeforeNamed checks, for every road into the
// content-addressed area, that a piece's data is fsynced before the rename
// that names it verified, and for a standard torrent that the files
// holding a verified piece are fsynced before the record claiming it is
// renamed into place (and the record itself before its rename).
func TestDataSyncedBeforeNamed(t *testing.T) {
	data := randomBytes(50000, 11)
	sum := sumOf(data)

	t.Run("FinishPiece", func(t *testing.T) {
		rfs := &recordingFS{}
		s, err := Open(t.TempDir(), Options{fs: rfs})
		require.NoError(t, err)
		defer s.Close()
		fx := newDebFixture(t, "t", "amd64", [][]byte{data})
		tor, err := s.OpenTorrent(fx.info)
		require.NoError(t, err)
		writePiece(t, tor, 0, data, 16384)
		require.NoError(t, tor.FinishPiece(0))
		evs := rfs.log()
		requireDurableRename(t, evs, lastRenameTo(t, evs, s.casPath(sum)))
	})

	t.Run("SumWriter", func(t *testing.T) {
		rfs := &recordingFS{}
		s, err := Open(t.TempDir(), Options{fs: rfs})
		require.NoError(t, err)
		defer s.Close()
		w, err := s.CreateSum(sum, int64(len(data)))
		require.NoError(t, err)
		_, err = w.Write(data)
		require.NoError(t, err)
		require.NoError(t, w.Commit())
		evs := rfs.log()
		requireDurableRename(t, evs, lastRenameTo(t, evs, s.casPath(sum)))
	})

	for _, src := range []string{"", "/dev/shm"} { // link, copy
		name := "Import-link"
		if src != "" {
			name = "Import-copy"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if src != "" {
				d, err := os.MkdirTemp(src, "store-import-")
				if err != nil {
					t.Skip(err)
				}
				defer os.RemoveAll(d)
				dir = d
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, "z.deb"), data, 0o644))
			rfs := &recordingFS{}
			s, err := Open(t.TempDir(), Options{fs: rfs})
			require.NoError(t, err)
			defer s.Close()
			st, err := s.Import(context.Background(), dir)
			require.NoError(t, err)
			if src != "" && st.Linked > 0 {
				t.Skip("same filesystem: cannot test the copy")
			}
			evs := rfs.log()
			requireDurableRename(t, evs, lastRenameTo(t, evs, s.casPath(sum)))
		})
	}

	t.Run("standard", func(t *testing.T) {
		rfs := &recordingFS{}
		s, err := Open(t.TempDir(), Options{fs: rfs})
		require.NoError(t, err)
		defer s.Close()
		fx := newFixedFixture(t, "t", 32768, []int{20000, 30000, 40000}, 12)
		tor, err := s.OpenTorrent(fx.info)
		require.NoError(t, err)
		opened := len(rfs.log())
		const piece = 1 // spans files 0 and 1
		writePiece(t, tor, piece, fx.piece(piece), 16384)
		require.NoError(t, tor.FinishPiece(piece))
		require.NoError(t, tor.Close()) // claims what is pending
		evs := rfs.log()
		rec := lastRenameTo(t, evs, tor.fixed.recordPath())
		require.Greater(t, rec, opened, "no record written after the piece")
		requireDurableRename(t, evs, rec)
		ranges := fx.info.FileRanges(piece)
		require.Len(t, ranges, 2)
		for _, r := range ranges {
			path := tor.fixed.filePath(r.File)
			require.True(t, syncedBetween(evs, opened, rec, path), "record claims piece %d before %s was fsynced: %v", piece, path, evs[opened:])
		}
	})
}

// TestUnclaimBeforeRewrite: when Verify finds a standard torrent's piece
// bad, the record stops claiming it before the piece can be written again
// (it stays complete, so unwritable, until the new record is in place), so
// a crash never leaves a claim on bytes being rewritten in place.
func TestUnclaimBeforeRewrite(t *testing.T) {
	rfs := &recordingFS{}
	dir := t.TempDir()
	s, err := Open(dir, Options{fs: rfs})
	require.NoError(t, err)
	defer s.Close()
	fx := newFixedFixture(t, "t", 32768, []int{70000}, 13)
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	defer tor.Close()
	for i := range fx.info.Pieces {
		writePiece(t, tor, i, fx.piece(i), 16384)
		require.NoError(t, tor.FinishPiece(i))
	}
	require.NoError(t, tor.fixed.flush(nil)) // no timer flush from here on
	// Corrupt piece 1 behind the store's back.
	f, err := os.OpenFile(tor.fixed.filePath(0), os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xff, 0xfe}, 32768+5)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	var renames, completeAtRename int
	rfs.mu.Lock()
	rfs.onRename = func(to string) {
		if to == tor.fixed.recordPath() {
			renames++
			if tor.PieceComplete(1) {
				completeAtRename++
			}
		}
	}
	rfs.mu.Unlock()
	st, err := s.Verify(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, st.Removed)
	require.Equal(t, 1, renames, "Verify rewrites the record once")
	require.Equal(t, 1, completeAtRename, "the bad piece became writable before the record stopped claiming it")
	require.False(t, tor.PieceComplete(1))
	// And the piece can be downloaded again, in place.
	writePiece(t, tor, 1, fx.piece(1), 16384)
	require.NoError(t, tor.FinishPiece(1))
	require.Equal(t, fx.piece(1), readPiece(t, tor, 1))
}
