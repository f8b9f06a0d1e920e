package store

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestInPlaceVerifiedBytesNeverRewritten races writers of wrong blocks
// against the download and verification of each piece of a standard
// torrent (written in place, in its files): once a piece is verified no
// write may reach its bytes, so it must read back right however the
// writers interleave.
func TestInPlaceVerifiedBytesNeverRewritten(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	const pieceLen, block = 32768, 4096
	fx := newFixedFixture(t, "race", pieceLen, []int{100_000, 70_000, 90_000}, 21)
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	defer tor.Close()
	bad := randomBytes(pieceLen, 77)
	for i := range fx.info.Pieces {
		good := fx.piece(i)
		// Written in order, every byte is hashed as it lands, so the bad
		// writers started next cannot spoil the piece before it is verified.
		for off := 0; off < len(good); off += block {
			require.NoError(t, tor.WriteBlock(i, int64(off), good[off:min(off+block, len(good))]))
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, uint64(i*2+g)))
				after := 0 // writes made once the piece was verified
				for after < 200 {
					select {
					case <-stop:
						return
					default:
					}
					off := r.IntN(len(good)/block) * block
					end := min(off+block, len(good))
					complete := tor.PieceComplete(i)
					_ = tor.WriteBlock(i, int64(off), bad[off:end]) // errors are fine here
					if complete {
						after++
					}
				}
			}()
		}
		require.NoError(t, tor.FinishPiece(i))
		go func() { time.AfterFunc(10*time.Second, func() { close(stop) }) }()
		within(t, wg.Wait)
		require.Equal(t, good, readPiece(t, tor, i), "piece %d rewritten after it was verified", i)
	}
	require.True(t, tor.Completed().All())
}
