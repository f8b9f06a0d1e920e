package store

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reopen closes s (cleanly, or as a crash would: only the lock released)
// and opens its directory again.
func reopen(t *testing.T, s *Store, crash bool, o Options) *Store {
	t.Helper()
	if crash {
		require.NoError(t, s.lock.Close())
	} else {
		require.NoError(t, s.Close())
	}
	s2, err := Open(s.dir, o)
	require.NoError(t, err)
	t.Cleanup(func() { s2.Close() })
	return s2
}

// TestResumeSumAfterRestart writes half a piece, closes the store (or
// crashes), and resumes it with a new writer after reopening: Written
// starts at the kept prefix (cut to whole 16 KiB blocks), and writing the
// rest commits.
func TestResumeSumAfterRestart(t *testing.T) {
	data := randomBytes(200_000, 61)
	sum := sumOf(data)
	for _, tc := range []struct {
		name  string
		crash bool
		half  int   // bytes written before the restart
		want  int64 // Written after resuming
	}{
		{"close", false, 100_000, 100_000 - 100_000%resumeBlock},
		{"crash", true, 100_000, 100_000 - 100_000%resumeBlock},
		{"block boundary", false, 4 * resumeBlock, 4 * resumeBlock},
		{"whole piece", false, len(data), int64(len(data))},
		{"nothing", false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), Options{})
			require.NoError(t, err)
			w, err := s.ResumeSum(sum, int64(len(data)))
			require.NoError(t, err)
			require.Zero(t, w.Written())
			for off := 0; off < tc.half; off += 7000 { // not block-aligned writes
				_, err := w.Write(data[off:min(off+7000, tc.half)])
				require.NoError(t, err)
			}
			s = reopen(t, s, tc.crash, Options{})
			require.Equal(t, tc.want, s.PartialLength(sum, int64(len(data))))
			w, err = s.ResumeSum(sum, int64(len(data)))
			require.NoError(t, err)
			require.Equal(t, tc.want, w.Written(), "a resumed writer starts at the kept prefix")
			_, err = w.Write(data[w.Written():])
			require.NoError(t, err)
			require.NoError(t, w.Commit())
			require.True(t, s.Has(sum))
			assert.Empty(t, dirEntries(t, s.partialDir()), "the partial file became the stored piece")
			r, err := s.OpenSum(sum)
			require.NoError(t, err)
			defer r.Close()
			got := make([]byte, len(data))
			_, err = r.ReadAt(got, 0)
			require.NoError(t, err)
			require.Equal(t, data, got)
		})
	}
}

// TestCreateSumStartsAfresh: CreateSum (as opposed to ResumeSum) does not
// trust a kept prefix: it writes from byte 0.
func TestCreateSumStartsAfresh(t *testing.T) {
	data := randomBytes(100_000, 62)
	sum := sumOf(data)
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, os.WriteFile(s.partialPath(sum), randomBytes(50_000, 63), 0o644)) // wrong bytes
	w, err := s.CreateSum(sum, int64(len(data)))
	require.NoError(t, err)
	require.Zero(t, w.Written())
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Commit())
}

// TestResumeDamagedPartial plants partial files by hand: garbage past the
// last whole block is cut off and rewritten; a prefix whose bytes are wrong
// is caught by the final check, which deletes the file so that the next try
// starts from 0.
func TestResumeDamagedPartial(t *testing.T) {
	data := randomBytes(150_000, 64)
	sum := sumOf(data)
	garbage := randomBytes(10_000, 65)
	for _, tc := range []struct {
		name    string
		file    []byte
		want    int64
		wantErr error
	}{
		{"garbage past the boundary", append(append([]byte{}, data[:2*resumeBlock]...), garbage...), 2 * resumeBlock, nil},
		{"torn last block", data[:3*resumeBlock-1], 2 * resumeBlock, nil},
		{"longer than the piece", append(append([]byte{}, data...), garbage...), int64(len(data)), nil},
		{"wrong bytes", append(append([]byte{}, garbage...), data[len(garbage):3*resumeBlock]...), 3 * resumeBlock, ErrHashMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{})
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(s.partialPath(sum), tc.file, 0o644))
			s = reopen(t, s, false, Options{})
			w, err := s.ResumeSum(sum, int64(len(data)))
			require.NoError(t, err)
			require.Equal(t, tc.want, w.Written())
			_, err = w.Write(data[w.Written():])
			require.NoError(t, err)
			err = w.Commit()
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.False(t, s.Has(sum))
				assert.NoFileExists(t, s.partialPath(sum), "a partial that failed its check is deleted")
				w, err := s.ResumeSum(sum, int64(len(data)))
				require.NoError(t, err)
				require.Zero(t, w.Written(), "and the next try starts from 0")
				require.NoError(t, w.Abort())
				return
			}
			require.NoError(t, err)
			require.True(t, s.Has(sum))
		})
	}
}

// TestResumeAcrossTorrents: two torrents list the same SHA256. What one
// wrote before it closed is resumed by the other (across a restart too);
// while one writes, the other writes its own temporary file, and both
// finish.
func TestResumeAcrossTorrents(t *testing.T) {
	data := randomBytes(300_000, 66)
	other := randomBytes(1000, 67)
	fa := newDebFixture(t, "a", "amd64", [][]byte{other, data})
	fb := newDebFixture(t, "b", "i386", [][]byte{data})
	const half = 160_000 - 160_000%resumeBlock

	t.Run("sequential", func(t *testing.T) {
		s, err := Open(t.TempDir(), Options{})
		require.NoError(t, err)
		ta, err := s.OpenTorrent(fa.info)
		require.NoError(t, err)
		writePiece(t, ta, 1, data[:half], resumeBlock)
		require.Equal(t, int64(half), ta.PartialLength(1))
		require.NoError(t, ta.Close())
		s = reopen(t, s, false, Options{})
		tb, err := s.OpenTorrent(fb.info)
		require.NoError(t, err)
		require.Equal(t, int64(half), tb.PartialLength(0), "b sees what a kept")
		for off := half; off < len(data); off += resumeBlock { // only the rest
			require.NoError(t, tb.WriteBlock(0, int64(off), data[off:min(off+resumeBlock, len(data))]))
		}
		require.NoError(t, tb.FinishPiece(0))
		ta, err = s.OpenTorrent(fa.info)
		require.NoError(t, err)
		assert.True(t, ta.PieceComplete(1))
		assert.Empty(t, dirEntries(t, s.partialDir()))
	})

	t.Run("concurrent", func(t *testing.T) {
		s, err := Open(t.TempDir(), Options{})
		require.NoError(t, err)
		defer s.Close()
		ta, err := s.OpenTorrent(fa.info)
		require.NoError(t, err)
		tb, err := s.OpenTorrent(fb.info)
		require.NoError(t, err)
		writePiece(t, ta, 1, data[:half], resumeBlock)
		require.Zero(t, tb.PartialLength(0), "a owns the partial file: b starts its own")
		writePiece(t, tb, 0, data[:half], resumeBlock)
		require.Len(t, dirEntries(t, s.tmpDir()), 1, "b writes a private temporary file")
		writePiece(t, tb, 0, data, resumeBlock)
		require.NoError(t, tb.FinishPiece(0))
		require.True(t, ta.PieceComplete(1))
		require.NoError(t, ta.FinishPiece(1), "a's piece is complete already")
		require.NoError(t, ta.Close())
		assert.Empty(t, dirEntries(t, s.partialDir()), "a's partial of a stored piece is not kept")
		assert.Empty(t, dirEntries(t, s.tmpDir()))
	})
}

// TestResumeAfterCrashWithHoles: blocks written out of order leave a hole;
// after a crash (nothing truncated) the prefix stops at the hole.
func TestResumeAfterCrashWithHoles(t *testing.T) {
	data := randomBytes(10*resumeBlock, 68)
	fx := newDebFixture(t, "t", "amd64", [][]byte{data})
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	probe, err := os.CreateTemp(t.TempDir(), "hole-*")
	require.NoError(t, err)
	_, err = probe.WriteAt([]byte{1}, 1<<20)
	require.NoError(t, err)
	if hole, err := probe.Seek(0, seekHole); err != nil || hole != 0 {
		t.Skipf("the file system does not report holes (SEEK_HOLE: %d, %v)", hole, err)
	}
	probe.Close()
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	for _, b := range []int{0, 1, 2, 6, 7} {
		require.NoError(t, tor.WriteBlock(0, int64(b*resumeBlock), data[b*resumeBlock:(b+1)*resumeBlock]))
	}
	s = reopen(t, s, true, Options{})
	tor, err = s.OpenTorrent(fx.info)
	require.NoError(t, err)
	require.Equal(t, int64(3*resumeBlock), tor.PartialLength(0))
	writePiece(t, tor, 0, data, resumeBlock)
	require.NoError(t, tor.FinishPiece(0))
}

// TestCollectPartials: at Open, partial files that are stray, of stored
// pieces, too old, or past the size cap (oldest first) are removed.
func TestCollectPartials(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	stored := randomBytes(1000, 69)
	w, err := s.CreateSum(sumOf(stored), int64(len(stored)))
	require.NoError(t, err)
	_, err = w.Write(stored)
	require.NoError(t, err)
	require.NoError(t, w.Commit())
	now := time.Now()
	plant := func(seed uint64, size int, age time.Duration) string {
		sum := sumOf(randomBytes(8, seed))
		require.NoError(t, os.WriteFile(s.partialPath(sum), make([]byte, size), 0o644))
		require.NoError(t, os.Chtimes(s.partialPath(sum), now, now.Add(-age)))
		return sum.String()
	}
	fresh := plant(1, 30_000, time.Minute)
	older := plant(2, 30_000, time.Hour)
	oldest := plant(3, 30_000, 2*time.Hour)
	plant(4, 100, 8*24*time.Hour)
	require.NoError(t, os.WriteFile(s.partialPath(sumOf(stored)), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(s.partialDir()+"/not-a-sum", nil, 0o644))
	s = reopen(t, s, false, Options{PartialMaxBytes: 1 << 40})
	assert.ElementsMatch(t, []string{fresh, older, oldest}, dirEntries(t, s.partialDir()), "too old, stored and stray removed")
	s = reopen(t, s, false, Options{PartialMaxBytes: 70_000})
	assert.ElementsMatch(t, []string{fresh, older}, dirEntries(t, s.partialDir()), "the oldest past the cap removed")
}

// TestSuspendCutsToPrefix: bytes that arrived beyond the hashed prefix
// (here a block not aligned on the file system's blocks, so no hole
// betrays the gap before it) are cut off when the writer stops, so a clean
// restart resumes the prefix only.
func TestSuspendCutsToPrefix(t *testing.T) {
	data := randomBytes(6*resumeBlock, 77)
	fx := newDebFixture(t, "t", "amd64", [][]byte{data})
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	writePiece(t, tor, 0, data[:2*resumeBlock], resumeBlock)
	off := 2*resumeBlock + 100
	require.NoError(t, tor.WriteBlock(0, int64(off), data[off:off+resumeBlock]))
	require.NoError(t, tor.Close())
	s = reopen(t, s, false, Options{})
	tor, err = s.OpenTorrent(fx.info)
	require.NoError(t, err)
	require.Equal(t, int64(2*resumeBlock), tor.PartialLength(0))
	writePiece(t, tor, 0, data, resumeBlock)
	require.NoError(t, tor.FinishPiece(0))
}
