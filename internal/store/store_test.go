package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDebianPieceWriteOrders(t *testing.T) {
	data := randomBytes(200_000, 1)
	const block = 16384
	type write struct{ off, end int }
	var inOrder []write
	for off := 0; off < len(data); off += block {
		inOrder = append(inOrder, write{off, min(off+block, len(data))})
	}
	reversed := slices.Clone(inOrder)
	slices.Reverse(reversed)
	shuffled := slices.Clone(inOrder)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	overlapping := append(slices.Clone(inOrder[:4]), write{block / 2, 3 * block}, write{0, len(data)})
	tests := []struct {
		name       string
		writes     []write
		rereads    bool // whether verifying needed bytes read back from the file
		corruptAt  int  // flip a byte at this offset (-1: none)
		wantErr    error
		wantStored bool
	}{
		{"in order", inOrder, false, -1, nil, true},
		{"reversed", reversed, true, -1, nil, true},
		{"shuffled", shuffled, true, -1, nil, true},
		{"overlapping duplicates", overlapping, false, -1, nil, true},
		{"missing block", inOrder[1:], true, -1, ErrIncomplete, false},
		{"corrupt block", inOrder, false, 70_000, ErrHashMismatch, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{})
			require.NoError(t, err)
			defer s.Close()
			fx := newDebFixture(t, "t", "amd64", [][]byte{data})
			tor, err := s.OpenTorrent(fx.info)
			require.NoError(t, err)
			defer tor.Close()
			src := bytes.Clone(data)
			if tc.corruptAt >= 0 {
				src[tc.corruptAt] ^= 0xff
			}
			for _, w := range tc.writes {
				require.NoError(t, tor.WriteBlock(0, int64(w.off), src[w.off:w.end]))
			}
			p := tor.partials[0]
			if tc.wantErr != ErrIncomplete {
				// The hash must already cover the whole piece: verifying costs
				// no second read.
				assert.Equal(t, int64(len(data)), p.hashed)
			}
			err = tor.FinishPiece(0)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.wantStored, tor.PieceComplete(0))
			if tc.wantStored {
				assert.Equal(t, data, readPiece(t, tor, 0))
				sum := sha256.Sum256(data)
				h := hex.EncodeToString(sum[:])
				assert.FileExists(t, filepath.Join(dir, "sha256", h[:2], h))
				assert.Empty(t, dirEntries(t, s.tmpDir()))
			} else {
				_, err := tor.OpenPiece(0)
				assert.ErrorIs(t, err, ErrNotComplete)
				assert.Empty(t, casFiles(t, dir))
			}
		})
	}
}

func TestWriteBlockOutOfRange(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	fx := newDebFixture(t, "t", "amd64", [][]byte{randomBytes(100, 2)})
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	assert.Error(t, tor.WriteBlock(0, 90, make([]byte, 20)))
	assert.Error(t, tor.WriteBlock(0, -1, make([]byte, 1)))
	assert.Error(t, tor.WriteBlock(1, 0, make([]byte, 1)))
	_, err = s.OpenTorrent(fx.info)
	assert.Error(t, err, "a torrent is open once at a time")
}

func TestDedupAcrossTorrents(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	shared := randomBytes(50_000, 3) // an arch: all package listed in both
	amd := newDebFixture(t, "bookworm main amd64", "amd64", [][]byte{randomBytes(1000, 4), shared})
	arm := newDebFixture(t, "bookworm main arm64", "arm64", [][]byte{shared, randomBytes(2000, 5)})
	ta, err := s.OpenTorrent(amd.info)
	require.NoError(t, err)
	tb, err := s.OpenTorrent(arm.info)
	require.NoError(t, err)
	require.False(t, tb.PieceComplete(0))
	writePiece(t, ta, 1, shared, 16384)
	require.NoError(t, ta.FinishPiece(1))
	assert.True(t, tb.PieceComplete(0), "the same .deb in another torrent is complete too")
	assert.Equal(t, shared, readPiece(t, tb, 0))
	assert.NoError(t, tb.WriteBlock(0, 0, []byte("ignored")), "writing a complete piece does nothing")
	assert.NoError(t, tb.FinishPiece(0))
	assert.Len(t, casFiles(t, dir), 1)
	bytes, n := s.Usage()
	assert.Equal(t, int64(len(shared)), bytes)
	assert.Equal(t, 1, n)
	assert.Equal(t, []bool{false, true}, bits(ta))
}

func bits(t *Torrent) []bool {
	bf := t.Completed()
	out := make([]bool, bf.Len())
	for i := range out {
		out[i] = bf.Has(i)
	}
	return out
}

func TestFixedLayoutSpanningPieces(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	// 5 files, some shorter than a piece, one empty: pieces span files.
	fx := newFixedFixture(t, "My Torrent", 32768, []int{50_000, 10_000, 0, 70_001, 5}, 10)
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	order := rand.New(rand.NewPCG(3, 4)).Perm(len(fx.info.Pieces))
	for _, i := range order[:len(order)-1] {
		writePiece(t, tor, i, fx.piece(i), 16384)
		require.NoError(t, tor.FinishPiece(i))
	}
	last := order[len(order)-1]
	bad := bytes.Clone(fx.piece(last))
	bad[0] ^= 1
	writePiece(t, tor, last, bad, 16384)
	require.ErrorIs(t, tor.FinishPiece(last), ErrHashMismatch)
	require.False(t, tor.PieceComplete(last))
	writePiece(t, tor, last, fx.piece(last), 5000)
	require.NoError(t, tor.FinishPiece(last))

	for i := range fx.info.Pieces {
		assert.Equal(t, fx.piece(i), readPiece(t, tor, i), "piece %d", i)
	}
	for _, f := range fx.info.Files {
		got, err := os.ReadFile(filepath.Join(dir, "My Torrent", filepath.FromSlash(f.Path)))
		require.NoError(t, err, f.Path)
		assert.True(t, bytes.Equal(fx.stream[f.Offset:f.Offset+f.Length], got), f.Path)
	}
	assert.Empty(t, dirEntries(t, tor.fixed.partialDir()))
	require.NoError(t, tor.Close())
	require.NoError(t, s.Close())

	// Reopen: the record says everything is verified, with no re-hash.
	s, err = Open(dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	tor, err = s.OpenTorrent(fx.info)
	require.NoError(t, err)
	assert.True(t, tor.Completed().All())
	defer tor.Close()

	// A torrent with the same name but other content may not share the files.
	other := newFixedFixture(t, "My Torrent", 32768, []int{1000}, 99)
	_, err = s.OpenTorrent(other.info)
	assert.ErrorContains(t, err, "holds torrent")
}

func TestFixedRecordDropsMissingFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	fx := newFixedFixture(t, "t", 16384, []int{40_000, 40_000}, 20)
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	for i := range fx.info.Pieces {
		writePiece(t, tor, i, fx.piece(i), 16384)
		require.NoError(t, tor.FinishPiece(i))
	}
	require.NoError(t, s.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, "t", filepath.FromSlash(fx.info.Files[1].Path))))
	s, err = Open(dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	tor, err = s.OpenTorrent(fx.info)
	require.NoError(t, err)
	for i := range fx.info.Pieces {
		touchesSecond := fx.info.Pieces[i].Offset+fx.info.Pieces[i].Length > 40_000
		assert.Equal(t, !touchesSecond, tor.PieceComplete(i), "piece %d", i)
	}
}

func TestRecordDamageIsIgnored(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	fx := newFixedFixture(t, "t", 16384, []int{20_000}, 30)
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	writePiece(t, tor, 0, fx.piece(0), 16384)
	require.NoError(t, tor.FinishPiece(0))
	rec := tor.fixed.recordPath()
	require.NoError(t, s.Close())
	data, err := os.ReadFile(rec)
	require.NoError(t, err)
	data[len(data)-6] ^= 0x40 // flip a bit of the bitfield
	require.NoError(t, os.WriteFile(rec, data, 0o644))
	s, err = Open(dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	tor, err = s.OpenTorrent(fx.info)
	require.NoError(t, err)
	assert.False(t, tor.PieceComplete(0), "a damaged record claims nothing")
}

func TestEvictionOrderAndPinning(t *testing.T) {
	dir := t.TempDir()
	var evicted []Sum
	const size = 10_000
	s, err := Open(dir, Options{MaxBytes: 3 * size, OnEvict: func(s Sum) { evicted = append(evicted, s) }})
	require.NoError(t, err)
	defer s.Close()
	var contents [][]byte
	for i := range 5 {
		contents = append(contents, randomBytes(size, uint64(100+i)))
	}
	fx := newDebFixture(t, "t", "amd64", contents)
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	commit := func(i int) {
		writePiece(t, tor, i, contents[i], 4096)
		require.NoError(t, tor.FinishPiece(i))
	}
	commit(0)
	commit(1)
	commit(2)
	// Use piece 0 again: piece 1 is now the least recently used.
	r0 := readPiece(t, tor, 0)
	require.Equal(t, contents[0], r0)
	commit(3)
	assert.Equal(t, []bool{true, false, true, true, false}, bits(tor), "least recently used goes first")
	// Pin piece 2 (now the oldest) with an open reader: piece 0 goes instead.
	pinned, err := tor.OpenPiece(2)
	require.NoError(t, err)
	// Opening counts as a use, so make 2 the oldest again by using 0 and 3.
	readPiece(t, tor, 0)
	readPiece(t, tor, 3)
	commit(4)
	assert.True(t, tor.PieceComplete(2), "a piece being read is never evicted")
	assert.Equal(t, []bool{false, false, true, true, true}, bits(tor))
	got, err := io.ReadAll(pinned)
	require.NoError(t, err)
	assert.Equal(t, contents[2], got)
	require.NoError(t, pinned.Close())
	used, n := s.Usage()
	assert.Equal(t, int64(3*size), used)
	assert.Equal(t, 3, n)
	assert.Len(t, casFiles(t, dir), 3)
	assert.Equal(t, []Sum{Sum(fx.info.Pieces[1].Hash), Sum(fx.info.Pieces[0].Hash)}, evicted)
}

func TestEvictionWaitsForPinnedPieces(t *testing.T) {
	const size = 10_000
	s, err := Open(t.TempDir(), Options{MaxBytes: size})
	require.NoError(t, err)
	defer s.Close()
	contents := [][]byte{randomBytes(size, 1), randomBytes(size, 2)}
	fx := newDebFixture(t, "t", "amd64", contents)
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	writePiece(t, tor, 0, contents[0], size)
	require.NoError(t, tor.FinishPiece(0))
	r, err := tor.OpenPiece(0)
	require.NoError(t, err)
	writePiece(t, tor, 1, contents[1], size)
	require.NoError(t, tor.FinishPiece(1))
	// Over the cap, but 0 is pinned and 1 was just written: both stay.
	require.Equal(t, []bool{true, true}, bits(tor), "over the cap while pinned")
	require.NoError(t, r.Close())
	assert.Equal(t, []bool{false, true}, bits(tor), "unpinning lets eviction catch up")
}

func TestImport(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	defer s.Close()
	archives := t.TempDir()
	a, b := randomBytes(30_000, 40), randomBytes(40_000, 41)
	require.NoError(t, os.WriteFile(filepath.Join(archives, "a_1.0_amd64.deb"), a, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(archives, "b_2.0+dfsg-1~bpo_all.deb"), b, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(archives, "a-copy_1.0_amd64.deb"), a, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(archives, "lock"), nil, 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(archives, "partial"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(archives, "partial", "c.deb"), []byte("half"), 0o644))

	st, err := s.Import(context.Background(), archives)
	require.NoError(t, err)
	assert.Equal(t, 3, st.Files)
	assert.Equal(t, 2, st.Linked+st.Copied)
	assert.Equal(t, 1, st.Present)
	assert.Equal(t, int64(len(a)+len(b)), st.Bytes)
	assert.Positive(t, st.Linked, "same filesystem: hard links")
	fx := newDebFixture(t, "t", "amd64", [][]byte{a, b, []byte("half")})
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true, false}, bits(tor))
	assert.Equal(t, b, readPiece(t, tor, 1))

	st, err = s.Import(context.Background(), archives)
	require.NoError(t, err)
	assert.Equal(t, 3, st.Present)
	assert.Empty(t, dirEntries(t, s.tmpDir()))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Import(ctx, archives)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestRestartDiscovery(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	contents := [][]byte{randomBytes(5000, 50), randomBytes(6000, 51), randomBytes(7000, 52)}
	fx := newDebFixture(t, "t", "amd64", contents)
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	writePiece(t, tor, 0, contents[0], 1000)
	require.NoError(t, tor.FinishPiece(0))
	writePiece(t, tor, 2, contents[2], 1000)
	require.NoError(t, tor.FinishPiece(2))
	writePiece(t, tor, 1, contents[1][:3000], 1000) // left unfinished
	_, err = Open(dir, Options{})
	assert.ErrorContains(t, err, "in use", "one Store per directory")
	// Simulate a crash: no Close, but release the lock so the directory can
	// be reopened, as a dead process would.
	require.NoError(t, s.lock.Close())
	stray := filepath.Join(dir, "sha256", "zz")
	require.NoError(t, os.MkdirAll(stray, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(stray, "not-a-digest"), nil, 0o644))

	s2, err := Open(dir, Options{})
	require.NoError(t, err)
	defer s2.Close()
	assert.Empty(t, dirEntries(t, s2.tmpDir()), "temporary files of the dead process are gone")
	tor2, err := s2.OpenTorrent(fx.info)
	require.NoError(t, err)
	assert.Equal(t, []bool{true, false, true}, bits(tor2))
	used, n := s2.Usage()
	assert.Equal(t, int64(12_000), used)
	assert.Equal(t, 2, n)
}

func TestVerifyRemovesCorruption(t *testing.T) {
	dir := t.TempDir()
	var removed []Sum
	s, err := Open(dir, Options{OnEvict: func(s Sum) { removed = append(removed, s) }})
	require.NoError(t, err)
	defer s.Close()
	contents := [][]byte{randomBytes(5000, 60), randomBytes(6000, 61), randomBytes(7000, 62)}
	deb := newDebFixture(t, "t", "amd64", contents)
	td, err := s.OpenTorrent(deb.info)
	require.NoError(t, err)
	for i, c := range contents {
		writePiece(t, td, i, c, 4096)
		require.NoError(t, td.FinishPiece(i))
	}
	fx := newFixedFixture(t, "std", 16384, []int{30_000, 30_000}, 63)
	tf, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	for i := range fx.info.Pieces {
		writePiece(t, tf, i, fx.piece(i), 16384)
		require.NoError(t, tf.FinishPiece(i))
	}
	// Corrupt one content-addressed file and the second file of the
	// standard torrent (bytes 35000..35009 of the stream: piece 2).
	corrupt := func(path string, off int64) {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte("XXXXXXXXXX"), off)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	corrupt(s.casPath(Sum(deb.info.Pieces[1].Hash)), 100)
	corrupt(filepath.Join(dir, "std", filepath.FromSlash(fx.info.Files[1].Path)), 5000)

	st, err := s.Verify(context.Background())
	require.NoError(t, err)
	assert.Equal(t, VerifyStats{Checked: 3 + len(fx.info.Pieces), Removed: 2}, st)
	assert.Equal(t, []bool{true, false, true}, bits(td))
	assert.NoFileExists(t, s.casPath(Sum(deb.info.Pieces[1].Hash)))
	assert.Equal(t, []Sum{Sum(deb.info.Pieces[1].Hash)}, removed)
	for i := range fx.info.Pieces {
		assert.Equal(t, i != 2, tf.PieceComplete(i), "piece %d", i)
	}
	st, err = s.Verify(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 0, st.Removed)
}

func TestPieceReaderSeekAndReadAt(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer s.Close()
	fx := newFixedFixture(t, "t", 32768, []int{10_000, 10_000, 10_000, 10_000}, 70)
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	writePiece(t, tor, 0, fx.piece(0), 16384)
	require.NoError(t, tor.FinishPiece(0))
	r, err := tor.OpenPiece(0)
	require.NoError(t, err)
	defer r.Close()
	want := fx.piece(0)
	buf := make([]byte, 15_000)
	n, err := r.ReadAt(buf, 5000) // spans files 0, 1 and 2
	require.NoError(t, err)
	assert.Equal(t, want[5000:20_000], buf[:n])
	n, err = r.ReadAt(buf, int64(len(want))-10)
	assert.Equal(t, io.EOF, err)
	assert.Equal(t, want[len(want)-10:], buf[:n])
	pos, err := r.Seek(-100, io.SeekEnd)
	require.NoError(t, err)
	assert.Equal(t, int64(len(want)-100), pos)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, want[len(want)-100:], rest)
	assert.Equal(t, int64(len(want)), r.Size())
}

func TestEvictionOrderSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	const size = 10_000
	contents := [][]byte{randomBytes(size, 80), randomBytes(size, 81), randomBytes(size, 82), randomBytes(size, 83)}
	fx := newDebFixture(t, "t", "amd64", contents)
	s, err := Open(dir, Options{})
	require.NoError(t, err)
	tor, err := s.OpenTorrent(fx.info)
	require.NoError(t, err)
	for i := range 3 {
		writePiece(t, tor, i, contents[i], size)
		require.NoError(t, tor.FinishPiece(i))
	}
	readPiece(t, tor, 0) // 1 is now the least recently used
	require.NoError(t, s.Close())

	s, err = Open(dir, Options{MaxBytes: 3 * size})
	require.NoError(t, err)
	defer s.Close()
	tor, err = s.OpenTorrent(fx.info)
	require.NoError(t, err)
	writePiece(t, tor, 3, contents[3], size)
	require.NoError(t, tor.FinishPiece(3))
	assert.Equal(t, []bool{true, false, true, true}, bits(tor), "use times come back from file mtimes")
}
