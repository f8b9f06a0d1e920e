package store

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzResumePartial plants an arbitrary partial file (what a crash, a
// full disk or another program may leave) for a piece and resumes it: the
// adopted prefix is within the piece and cut to whole blocks (or the whole
// piece), and writing the piece's real bytes from there either commits the
// right bytes or fails with ErrHashMismatch, deleting the file. Never a
// panic, never wrong bytes stored.
func FuzzResumePartial(f *testing.F) {
	f.Add([]byte("hello"), uint16(3), uint32(100_000))
	f.Add(bytes.Repeat([]byte{1}, 40_000), uint16(0), uint32(40_000))
	f.Add([]byte{}, uint16(0), uint32(0))
	dir := f.TempDir()
	s, err := Open(dir, Options{fs: noSyncFS{}}) // fsyncs prove nothing here, and cost
	require.NoError(f, err)
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, file []byte, goodPrefix uint16, size uint32) {
		length := int64(size % (5*resumeBlock + 1000))
		data := randomBytes(int(length), uint64(size))
		sum := sumOf(data)
		// Optionally the real bytes for a while, then the fuzzer's.
		planted := append(append([]byte{}, data[:min(int64(goodPrefix)*64, length)]...), file...)
		require.NoError(t, os.WriteFile(s.partialPath(sum), planted, 0o644))
		w, err := s.ResumeSum(sum, length)
		require.NoError(t, err)
		n := w.Written()
		require.True(t, n >= 0 && n <= length, "prefix %d of a piece of %d", n, length)
		require.True(t, n == length || n%resumeBlock == 0, "prefix %d not on a block boundary", n)
		_, err = w.Write(data[n:])
		require.NoError(t, err)
		err = w.Commit()
		if errors.Is(err, ErrHashMismatch) {
			require.False(t, s.Has(sum))
			_, statErr := os.Stat(s.partialPath(sum))
			require.True(t, os.IsNotExist(statErr), "a failed partial is deleted")
			return
		}
		require.NoError(t, err)
		r, err := s.OpenSum(sum)
		require.NoError(t, err)
		got := make([]byte, length)
		if length > 0 {
			_, err = r.ReadAt(got, 0)
			require.NoError(t, err)
		}
		r.Close()
		require.Equal(t, data, got)
		ok := s.forget(s.lookup(sum))
		require.True(t, ok)
	})
}

// noSyncFS is the real file system without fsyncs.
type noSyncFS struct{ osFS }

func (noSyncFS) Sync(*os.File) error { return nil }
