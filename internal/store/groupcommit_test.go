package store

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// claimed reads the torrent's record from disk, as a restart would, and
// reports which pieces it claims.
func claimed(t *testing.T, tor *Torrent) []int {
	t.Helper()
	data, err := os.ReadFile(tor.fixed.recordPath())
	require.NoError(t, err)
	rec, err := unmarshalRecord(data)
	require.NoError(t, err)
	var out []int
	for i := range rec.verified.Ones() {
		out = append(out, i)
	}
	return out
}

// TestFixedGroupCommit checks the group commit of standard torrents: a
// verified piece is readable at once, is claimed on disk only by a flush
// (after flushPieces pieces, after flushDelay, or on Close), and every claim
// survives a restart.
func TestFixedGroupCommit(t *testing.T) {
	const pieceLen = 1024
	n := flushPieces + 2
	fx := newFixedFixture(t, "batch", pieceLen, []int{n * pieceLen / 2, n * pieceLen / 2}, 7)
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	tor.fixed.flushDelay = time.Hour // only the count and Close flush here

	writePiece(t, tor, 0, fx.piece(0), 512)
	require.NoError(t, tor.FinishPiece(0))
	assert.True(t, tor.PieceComplete(0), "a verified piece is readable at once")
	assert.Equal(t, fx.piece(0), readPiece(t, tor, 0))
	assert.Empty(t, claimed(t, tor), "the claim waits for a flush")

	for i := 1; i < flushPieces; i++ {
		writePiece(t, tor, i, fx.piece(i), pieceLen)
		require.NoError(t, tor.FinishPiece(i))
	}
	assert.Len(t, claimed(t, tor), flushPieces, "flushPieces pending pieces are claimed together")

	writePiece(t, tor, flushPieces, fx.piece(flushPieces), pieceLen)
	require.NoError(t, tor.FinishPiece(flushPieces))
	assert.Len(t, claimed(t, tor), flushPieces, "the next piece waits for the next flush")
	require.NoError(t, tor.Close())
	assert.Len(t, claimed(t, tor), flushPieces+1, "Close claims what is pending")
	require.NoError(t, s.Close())

	s, err = Open(dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	tor, err = s.OpenTorrent(fx.info)
	require.NoError(t, err)
	defer tor.Close()
	for i := 0; i <= flushPieces; i++ {
		require.True(t, tor.PieceComplete(i), "piece %d lost across the restart", i)
	}
	assert.False(t, tor.PieceComplete(flushPieces+1))
	assert.Equal(t, fx.piece(flushPieces), readPiece(t, tor, flushPieces))
}

// TestFixedFlushAfterDelay checks that a lone verified piece is claimed
// without Close once flushDelay has passed.
func TestFixedFlushAfterDelay(t *testing.T) {
	fx := newFixedFixture(t, "late", 1024, []int{4096}, 9)
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	defer tor.Close()
	tor.fixed.flushDelay = time.Millisecond
	writePiece(t, tor, 2, fx.piece(2), 1024)
	require.NoError(t, tor.FinishPiece(2))
	require.Eventually(t, func() bool { return len(claimed(t, tor)) == 1 }, 10*time.Second, time.Millisecond,
		"the timer never claimed the piece")
	assert.Equal(t, []int{2}, claimed(t, tor))
}
