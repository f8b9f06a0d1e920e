package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitCtx is a context with a deadline for Wait calls that must return.
func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestPartialReaderFollowsSumWriter reads a piece while a SumWriter writes
// it: the prefix grows with the writes, reads past it fail, the last byte
// waits for Commit, and after Commit (the file renamed into sha256/) every
// byte reads.
func TestPartialReaderFollowsSumWriter(t *testing.T) {
	data := randomBytes(100_000, 71)
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	w, err := s.CreateSum(sumOf(data), int64(len(data)))
	require.NoError(t, err)
	r, err := w.OpenReader()
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, int64(len(data)), r.Size())
	require.Zero(t, r.Prefix())

	_, err = w.Write(data[:30_000])
	require.NoError(t, err)
	n, err := r.Wait(waitCtx(t), 0)
	require.NoError(t, err)
	require.Equal(t, int64(30_000), n)
	buf := make([]byte, 40_000)
	k, err := r.ReadAt(buf, 0)
	require.ErrorIs(t, err, ErrBeyondPrefix)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Equal(t, 30_000, k)
	require.Equal(t, data[:30_000], buf[:k])

	_, err = w.Write(data[30_000:])
	require.NoError(t, err)
	require.Equal(t, int64(len(data)-1), r.Prefix(), "the last byte is held back until verified")
	_, err = r.ReadAt(buf[:1], int64(len(data)-1))
	require.ErrorIs(t, err, ErrBeyondPrefix)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err = r.Wait(ctx, int64(len(data)-1))
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, int64(len(data)-1), n)

	require.NoError(t, w.Commit())
	n, err = r.Wait(waitCtx(t), int64(len(data)-1))
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), n)
	all := make([]byte, len(data))
	_, err = r.ReadAt(all, 0)
	require.NoError(t, err)
	require.Equal(t, data, all)
	_, err = r.ReadAt(buf, int64(len(data)-10))
	require.ErrorIs(t, err, io.EOF)

	r2, err := w.OpenReader()
	require.NoError(t, err, "a reader opened after Commit reads the stored piece")
	defer r2.Close()
	require.Equal(t, int64(len(data)), r2.Prefix())
}

// TestPartialReaderOutcomes: a reader of a piece that fails its check, is
// aborted, or whose writer stops, fails (reads and waits alike) with the
// error that says so.
func TestPartialReaderOutcomes(t *testing.T) {
	data := randomBytes(50_000, 72)
	for _, tc := range []struct {
		name string
		end  func(w *SumWriter) error
		want error
	}{
		{"hash mismatch", func(w *SumWriter) error {
			_, err := w.Write(randomBytes(len(data)-20_000, 73))
			require.NoError(t, err)
			return w.Commit()
		}, ErrHashMismatch},
		{"abort", func(w *SumWriter) error { return w.Abort() }, ErrHashMismatch},
		{"writer closed", func(w *SumWriter) error { return w.Close() }, ErrStopped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), Options{})
			require.NoError(t, err)
			defer s.Close()
			w, err := s.CreateSum(sumOf(data), int64(len(data)))
			require.NoError(t, err)
			_, err = w.Write(data[:20_000])
			require.NoError(t, err)
			r, err := w.OpenReader()
			require.NoError(t, err)
			defer r.Close()
			waited := make(chan error, 1)
			go func() {
				// Past the held-back last byte: blocks until the outcome.
				_, err := r.Wait(waitCtx(t), int64(len(data)-1))
				waited <- err
			}()
			_ = tc.end(w)
			require.ErrorIs(t, <-waited, tc.want)
			_, err = r.ReadAt(make([]byte, 10), 0)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

// TestPartialReaderOfTorrent reads a Debian piece while blocks arrive out
// of order from a writer goroutine: every Wait returns a prefix no shorter
// than the last, whose bytes are the piece's; the reader survives the
// commit and the eviction of the piece right after; standard torrents
// refuse.
func TestPartialReaderOfTorrent(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	data := randomBytes(40*resumeBlock+123, seed)
	fx := newDebFixture(t, "t", "amd64", [][]byte{data, randomBytes(600_000, 74)})
	s, err := Open(t.TempDir(), Options{MaxBytes: 700_000})
	require.NoError(t, err)
	defer s.Close()
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	r, err := tor.OpenPartial(0)
	require.NoError(t, err, "opening before any block arrived starts the piece")
	defer r.Close()

	var offs []int
	for off := 0; off < len(data); off += resumeBlock {
		offs = append(offs, off)
	}
	rng.Shuffle(len(offs), func(a, b int) { offs[a], offs[b] = offs[b], offs[a] })
	writeErr := make(chan error, 1)
	go func() {
		for _, off := range offs {
			if err := tor.WriteBlock(0, int64(off), data[off:min(off+resumeBlock, len(data))]); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- tor.FinishPiece(0)
	}()
	var last int64
	buf := make([]byte, len(data))
	for last < int64(len(data)) {
		n, err := r.Wait(waitCtx(t), last)
		require.NoError(t, err)
		require.Greater(t, n, last, "Wait returns a longer prefix")
		k, err := r.ReadAt(buf[last:n], last)
		require.NoError(t, err)
		require.Equal(t, data[last:n], buf[last:last+int64(k)])
		last = n
	}
	require.NoError(t, <-writeErr)
	require.True(t, tor.PieceComplete(0))

	writePiece(t, tor, 1, fx.data[1], resumeBlock) // evicts piece 0
	require.NoError(t, tor.FinishPiece(1))
	require.False(t, tor.PieceComplete(0))
	_, err = r.ReadAt(buf, 0)
	require.NoError(t, err, "the reader's descriptor outlives the eviction")
	require.Equal(t, data, buf)

	fixed := newFixedFixture(t, "std", 65536, []int{100_000}, 75)
	tf, err := s.OpenTorrent(fixed.info)
	require.NoError(t, err)
	_, err = tf.OpenPartial(0)
	require.True(t, errors.Is(err, errors.ErrUnsupported), "standard torrents: %v", err)
}

// TestPartialSyncBounded: a long piece written into its partial file is
// fsynced every partialSyncEvery bytes, not on every block.
func TestPartialSyncBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 17 MiB")
	}
	data := randomBytes(2*partialSyncEvery+resumeBlock, 76)
	sum := sumOf(data)
	rfs := &recordingFS{}
	s, err := Open(t.TempDir(), Options{fs: rfs})
	require.NoError(t, err)
	defer s.Close()
	w, err := s.CreateSum(sum, int64(len(data)))
	require.NoError(t, err)
	for off := 0; off < len(data); off += resumeBlock {
		_, err := w.Write(data[off : off+resumeBlock])
		require.NoError(t, err)
	}
	syncs := 0
	for _, e := range rfs.log() {
		if e.op == "sync" && e.path == s.partialPath(sum) {
			syncs++
		}
	}
	assert.Equal(t, 2, syncs)
	require.NoError(t, w.Commit())
}

// TestPartialReaderWakes: a write that grows the prefix wakes the waiters
// (the broadcast channel is closed), and a write that does not (a block
// beyond a gap) does not; a blocked Wait returns the new prefix.
func TestPartialReaderWakes(t *testing.T) {
	data := randomBytes(4*resumeBlock, 78)
	fx := newDebFixture(t, "t", "amd64", [][]byte{data})
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	r, err := tor.OpenPartial(0)
	require.NoError(t, err)
	defer r.Close()
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	waited := make(chan int64, 1)
	go func() {
		n, _ := r.Wait(waitCtx(t), 0)
		waited <- n
	}()
	_, _, ch := r.snapshot()
	require.NoError(t, tor.WriteBlock(0, 2*resumeBlock, data[2*resumeBlock:3*resumeBlock]))
	require.False(t, closed(ch), "a block beyond a gap does not grow the prefix")
	require.NoError(t, tor.WriteBlock(0, 0, data[:resumeBlock]))
	require.True(t, closed(ch), "a block that grows the prefix wakes the waiters")
	require.Equal(t, int64(resumeBlock), <-waited)
	_, _, ch = r.snapshot()
	require.NoError(t, tor.WriteBlock(0, resumeBlock, data[resumeBlock:2*resumeBlock])) // fills the gap
	require.True(t, closed(ch))
	require.Equal(t, int64(3*resumeBlock), r.Prefix())
}

// TestPartialReadersRace opens readers of a piece at random moments while
// it is written out of order, finished, or discarded and written again,
// with the race detector watching: every reader sees a growing prefix of
// the piece's bytes and ends verified, failed or stopped, never with other
// bytes.
func TestPartialReadersRace(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	data := randomBytes(24*resumeBlock+77, seed+1)
	fx := newDebFixture(t, "t", "amd64", [][]byte{data})
	for round := range 6 {
		s, err := Open(t.TempDir(), Options{})
		require.NoError(t, err)
		tor, err := s.OpenTorrent(fx.info)
		require.NoError(t, err)
		discard := round%2 == 1
		offs := make([]int, 0, 25)
		for off := 0; off < len(data); off += resumeBlock {
			offs = append(offs, off)
		}
		rng.Shuffle(len(offs), func(a, b int) { offs[a], offs[b] = offs[b], offs[a] })
		const readers = 4
		results := make(chan error, readers)
		started := make(chan struct{}, readers)
		for range readers {
			go func() {
				r, err := tor.OpenPartial(0)
				started <- struct{}{}
				if err != nil {
					results <- err
					return
				}
				defer r.Close()
				var last int64
				buf := make([]byte, len(data))
				for {
					n, err := r.Wait(waitCtx(t), last)
					if err != nil {
						results <- err
						return
					}
					if n < last {
						results <- fmt.Errorf("prefix shrank from %d to %d", last, n)
						return
					}
					if _, err := r.ReadAt(buf[:n], 0); err != nil {
						results <- err
						return
					}
					if !bytes.Equal(buf[:n], data[:n]) {
						results <- fmt.Errorf("prefix of %d bytes is not the piece's", n)
						return
					}
					if n == int64(len(data)) {
						results <- nil
						return
					}
					last = n
				}
			}()
		}
		for k, off := range offs {
			if k == len(offs)/2 && discard {
				tor.DiscardPiece(0)
			}
			err := tor.WriteBlock(0, int64(off), data[off:min(off+resumeBlock, len(data))])
			require.NoError(t, err)
		}
		for range readers {
			<-started
		}
		if discard {
			require.ErrorIs(t, tor.FinishPiece(0), ErrIncomplete, "half the blocks were discarded")
			require.NoError(t, tor.Close())
		} else {
			require.NoError(t, tor.FinishPiece(0))
		}
		for range readers {
			err := <-results
			if err != nil && !errors.Is(err, ErrHashMismatch) && !errors.Is(err, ErrStopped) {
				t.Fatalf("round %d: reader: %v", round, err)
			}
		}
		require.NoError(t, s.Close())
	}
}
