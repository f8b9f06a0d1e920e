package store

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPartialFileMatchesHash writes random ranges of a piece, each from one
// of several different versions of its bytes, in random order and with
// overlaps, until every byte arrived. After every write the bytes of the
// file's hashed prefix must be exactly those the hash consumed (and never
// change once hashed), and at the end the digest must be that of the
// file's content: the store never verifies a piece by a digest of other
// bytes than its file holds.
func TestPartialFileMatchesHash(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	for trial := range 40 {
		length := 1 + r.IntN(100_000)
		versions := make([][]byte, 3)
		for v := range versions {
			versions[v] = randomBytes(length, seed+uint64(trial*3+v))
		}
		p, err := newPartial(t.TempDir(), "p-*", int64(length), sha256.New())
		require.NoError(t, err)
		var hashedBytes []byte // the file's prefix as of the last check
		check := func() {
			file, err := os.ReadFile(p.path)
			require.NoError(t, err)
			require.GreaterOrEqual(t, int64(len(file)), p.hashed)
			prefix := file[:p.hashed]
			require.Equal(t, sha256.Sum256(prefix), [32]byte(p.h.Sum(nil)), "trial %d: hash is not of the file's prefix", trial)
			require.True(t, bytes.HasPrefix(prefix, hashedBytes), "trial %d: hashed bytes were overwritten", trial)
			hashedBytes = bytes.Clone(prefix)
		}
		for !p.complete() {
			var off, n int
			if r.IntN(4) == 0 && len(p.have) > 0 {
				// Straddle the end of the hashed prefix or of an arrived run.
				edge := int(p.hashed)
				if r.IntN(2) == 0 {
					edge = int(p.have[r.IntN(len(p.have))].end)
				}
				off = max(0, edge-r.IntN(5000))
				n = min(length-off, 1+r.IntN(10000))
			} else {
				off = r.IntN(length)
				n = min(length-off, 1+r.IntN(20000))
			}
			v := versions[r.IntN(len(versions))]
			require.NoError(t, p.write(int64(off), v[off:off+n]))
			check()
		}
		file, err := os.ReadFile(p.path)
		require.NoError(t, err)
		require.Len(t, file, length)
		require.Equal(t, sha256.Sum256(file), [32]byte(p.sum()), "trial %d: digest of a complete piece is not of its file", trial)
		p.discard()
	}
}

// TestRewriteInsideHashedPrefix writes pieces of both layouts with blocks
// that differ from a first copy of the same range: a second, different copy
// of hashed bytes is ignored, bytes beyond the prefix can be replaced until
// the prefix reaches them, and a piece verifies only when the bytes it
// holds are the right ones, reading back exactly those.
func TestRewriteInsideHashedPrefix(t *testing.T) {
	const B = 16384 // block; pieces are 4 blocks
	type write struct {
		off, n int
		bad    bool // from the wrong version of the piece
	}
	w := func(off, n int, bad bool) write { return write{off, n, bad} }
	rest := func(from int) write { return write{from, 4*B - from, false} }
	cases := []struct {
		name   string
		writes []write
		ok     bool
	}{
		{"different block 0 after block 0 is ignored", []write{w(0, B, false), w(0, B, true), rest(B)}, true},
		{"bad block 0 first, good copy ignored", []write{w(0, B, true), w(0, B, false), rest(B)}, false},
		{"straddling the prefix: hashed part ignored, rest kept", []write{w(0, B, false), w(B/2, B, true), rest(B)}, false},
		{"straddling the prefix with good bytes", []write{w(0, B, false), w(B/2, B, false), rest(B)}, true},
		{"beyond the prefix, replaced by good before the gap fills", []write{w(2*B, B, false), w(2*B, B, true), w(2*B, B, false), w(0, 2*B, false), rest(3 * B)}, true},
		{"beyond the prefix, replaced by bad before the gap fills", []write{w(2*B, B, false), w(2*B, B, true), w(0, 2*B, false), rest(3 * B)}, false},
		{"beyond the prefix, rewritten once hashed", []write{w(B, B, false), w(0, B, false), w(B, B, true), rest(2 * B)}, true},
	}
	for _, layout := range []string{"debian", "standard"} {
		for _, tc := range cases {
			t.Run(layout+"/"+tc.name, func(t *testing.T) {
				s, err := Open(t.TempDir(), Options{})
				require.NoError(t, err)
				defer s.Close()
				var good []byte
				var tor *Torrent
				if layout == "debian" {
					good = randomBytes(4*B, 1)
					fx := newDebFixture(t, "t", "amd64", [][]byte{good})
					tor, err = s.OpenTorrent(fx.info)
				} else {
					// Piece 0 spans two files.
					fx := newFixedFixture(t, "t", 4*B, []int{3*B + 100, 5 * B}, 2)
					good = fx.piece(0)
					tor, err = s.OpenTorrent(fx.info)
				}
				require.NoError(t, err)
				defer tor.Close()
				bad := randomBytes(4*B, 99)
				for _, wr := range tc.writes {
					src := good
					if wr.bad {
						src = bad
					}
					require.NoError(t, tor.WriteBlock(0, int64(wr.off), src[wr.off:wr.off+wr.n]))
				}
				err = tor.FinishPiece(0)
				if !tc.ok {
					require.ErrorIs(t, err, ErrHashMismatch)
					require.False(t, tor.PieceComplete(0))
					_, err := tor.OpenPiece(0)
					require.ErrorIs(t, err, ErrNotComplete)
					return
				}
				require.NoError(t, err)
				require.True(t, tor.PieceComplete(0))
				require.Equal(t, good, readPiece(t, tor, 0), "the piece reads back as the bytes that were hashed")
				// Writing to a verified piece changes nothing.
				require.NoError(t, tor.WriteBlock(0, 0, bad[:B]))
				require.Equal(t, good, readPiece(t, tor, 0))
			})
		}
	}
}
