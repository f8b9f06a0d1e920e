package store

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/debtorrent/debtorrent/internal/bitfield"
	"github.com/debtorrent/debtorrent/metainfo"
)

// Torrent is one torrent's view of the store: blocks are written (into a
// Debian piece's partial file, resumable, or in place into a standard
// torrent's files), FinishPiece checks the piece's hash and makes it readable,
// OpenPiece reads verified pieces. Safe for concurrent use: blocks
// of one piece or of different pieces may be written at once, and
// FinishPiece may race WriteBlock (a block that arrives after its piece was
// verified is dropped).
//
// Locking. mu guards the map of pieces being written and is taken for
// reading on each block once the piece's partial exists (for writing only
// to create or remove one); each partial has its own lock for its data and
// hash, held while a block is written or the piece finished; membership
// asks the store (no lock) or the fixed layout (read lock). No lock of the
// Store is held while a block is written.
//
// For a PiecePerFile (Debian) torrent a piece is complete whenever the store
// holds its SHA256, whoever wrote it: pieces shared with other torrents, or
// imported, are complete from the start, and eviction makes them incomplete
// again.
type Torrent struct {
	s     *Store
	info  *metainfo.Info
	fixed *fixedLayout // nil for PiecePerFile

	mu       sync.RWMutex
	partials map[int]*partial
	closed   bool
}

// OpenTorrent returns the torrent's view of the store, finding what of it is
// already verified on disk. A torrent can be open once at a time.
//
// The torrent's name is reserved under the store's lock; its record is read
// and written (with fsyncs) outside it.
func (s *Store) OpenTorrent(info *metainfo.Info) (*Torrent, error) {
	ih := info.InfoHash()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if _, dup := s.torrents[ih]; dup {
		s.mu.Unlock()
		return nil, fmt.Errorf("store: torrent %s is already open", ih)
	}
	s.torrents[ih] = nil // reserved while opening
	s.mu.Unlock()

	t := &Torrent{s: s, info: info, partials: make(map[int]*partial)}
	var err error
	if info.Layout == metainfo.FixedPieces {
		t.fixed, err = openFixed(s, info)
	}
	s.mu.Lock()
	if err == nil && s.closed {
		err = ErrClosed
	}
	if err != nil {
		delete(s.torrents, ih)
		s.mu.Unlock()
		if t.fixed != nil {
			t.fixed.close()
		}
		return nil, err
	}
	s.torrents[ih] = t
	s.mu.Unlock()
	return t, nil
}

// Info returns the torrent's description.
func (t *Torrent) Info() *metainfo.Info { return t.info }

func (t *Torrent) piece(i int) (metainfo.Piece, error) {
	if i < 0 || i >= len(t.info.Pieces) {
		return metainfo.Piece{}, fmt.Errorf("store: piece %d out of range (torrent has %d)", i, len(t.info.Pieces))
	}
	return t.info.Pieces[i], nil
}

func (t *Torrent) newHash() hash.Hash { return newPieceHash(t.info.HashType()) }

// newPieceHash returns the hash function that checks pieces of type ht.
func newPieceHash(ht metainfo.HashType) hash.Hash {
	if ht == metainfo.SHA256 {
		return sha256.New()
	}
	return sha1.New()
}

// PieceComplete reports whether piece i is verified and readable.
func (t *Torrent) PieceComplete(i int) bool {
	if i < 0 || i >= len(t.info.Pieces) {
		return false
	}
	if t.fixed != nil {
		return t.fixed.has(i)
	}
	return t.s.Has(Sum(t.info.Pieces[i].Hash))
}

// Completed returns a snapshot of the verified pieces.
func (t *Torrent) Completed() *bitfield.Bitfield {
	if t.fixed != nil {
		return t.fixed.snapshot()
	}
	bf := bitfield.New(len(t.info.Pieces))
	for i := range t.info.Pieces {
		if t.PieceComplete(i) {
			bf.Set(i)
		}
	}
	return bf
}

// WriteBlock stores data at off within piece i. Writing to a piece that is
// already complete does nothing, and so does a block that arrives while its
// piece is being finished.
//
// A Debian piece is written into a temporary file; a standard torrent's
// piece straight into the torrent's files (verified in place), where it is
// readable only once FinishPiece verified it. Bytes of a verified piece are
// never written: a piece's partial exists only until it is verified, and a
// new one is made only for a piece not verified (checked under t.mu, which
// FinishPiece takes after marking the piece verified).
func (t *Torrent) WriteBlock(i int, off int64, data []byte) error {
	pc, err := t.piece(i)
	if err != nil {
		return err
	}
	if t.PieceComplete(i) {
		return nil
	}
	p, err := t.partialOf(i, pc)
	if err != nil || p == nil {
		return err
	}
	err = p.write(off, data)
	if errors.Is(err, errFinished) {
		if t.PieceComplete(i) {
			return nil // a late duplicate of a verified piece's block
		}
		return fmt.Errorf("store: piece %d was discarded while block [%d, %d) was written; write it again: %w", i, off, off+int64(len(data)), err)
	}
	return err
}

// partialOf returns piece i's partial, starting it when there is none; nil
// when the piece is verified.
func (t *Torrent) partialOf(i int, pc metainfo.Piece) (*partial, error) {
	t.mu.RLock()
	p, closed := t.partials[i], t.closed
	t.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if p != nil {
		return p, nil
	}
	// Made without t.mu held: resuming re-hashes the kept prefix, which
	// must not stall the torrent's other pieces.
	p, err := t.newPartial(i, pc)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	other, closed := t.partials[i], t.closed
	complete := t.PieceComplete(i) // verified since the caller looked?
	if other == nil && !closed && !complete {
		t.partials[i] = p
	}
	t.mu.Unlock()
	if other != nil || closed || complete {
		p.mu.Lock()
		p.stop() // a racing call won, or the piece is no longer to write
		p.mu.Unlock()
	}
	switch {
	case closed:
		return nil, ErrClosed
	case other != nil:
		return other, nil
	case complete:
		return nil, nil
	}
	return p, nil
}

// PartialLength returns how many bytes of piece i a download may skip:
// its length when verified, else the hashed prefix of its partial (in
// memory, or kept in partial/ from before, which its first write or
// OpenPartial adopts). Cheap: no hashing, at most a stat.
func (t *Torrent) PartialLength(i int) int64 {
	pc, err := t.piece(i)
	if err != nil {
		return 0
	}
	if t.PieceComplete(i) {
		return pc.Length
	}
	t.mu.RLock()
	p := t.partials[i]
	t.mu.RUnlock()
	if p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.done {
			return 0
		}
		return p.hashed
	}
	if t.fixed != nil {
		return 0
	}
	return t.s.PartialLength(Sum(pc.Hash), pc.Length)
}

// newPartial starts piece i.
func (t *Torrent) newPartial(i int, pc metainfo.Piece) (*partial, error) {
	if t.fixed != nil {
		return newInPlace(t.fixed.pieceFiles(i), pc.Length, t.newHash()), nil
	}
	return t.s.newCASPartial(Sum(pc.Hash), pc.Length, fmt.Sprintf("piece-%d-*", i), true)
}

// take removes piece i's partial from the torrent if it is still p.
func (t *Torrent) take(i int, p *partial) {
	t.mu.Lock()
	if t.partials[i] == p {
		delete(t.partials, i)
	}
	t.mu.Unlock()
}

// FinishPiece checks piece i's hash once all its bytes have arrived. On a
// match the piece is committed (durably) and becomes readable; on a mismatch
// its data is discarded (for a standard torrent: left in its files, claimed
// by nothing, to be overwritten) and the error wraps ErrHashMismatch. Before
// every byte has arrived it returns an error wrapping ErrIncomplete and
// keeps the data.
func (t *Torrent) FinishPiece(i int) error {
	pc, err := t.piece(i)
	if err != nil {
		return err
	}
	t.mu.RLock()
	p := t.partials[i]
	t.mu.RUnlock()
	if p == nil {
		if t.PieceComplete(i) {
			return nil
		}
		return fmt.Errorf("%w: piece %d: nothing written", ErrIncomplete, i)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done { // finished by a concurrent call
		if t.PieceComplete(i) {
			return nil
		}
		return fmt.Errorf("%w: piece %d", ErrIncomplete, i)
	}
	if t.fixed == nil && t.PieceComplete(i) {
		// Stored meanwhile by another writer of its SHA256: this copy is
		// not needed (nor kept).
		p.stop()
		t.take(i, p)
		return nil
	}
	if !p.complete() {
		return fmt.Errorf("%w: piece %d has %d of %d bytes", ErrIncomplete, i, p.received(), p.length)
	}
	// The partial leaves the torrent only after the piece is marked
	// verified (or failed), so that WriteBlock never starts a second one
	// for a piece being verified.
	defer t.take(i, p)
	if got := p.sum(); !bytes.Equal(got, pc.Hash) {
		p.discard()
		return fmt.Errorf("%w: piece %d: got %x, want %x", ErrHashMismatch, i, got, pc.Hash)
	}
	if t.fixed != nil {
		p.end(pieceVerified)
		return t.fixed.markVerified(i)
	}
	if err := p.seal(t.s.fs); err != nil {
		p.discard()
		return err
	}
	err = t.s.commitCAS(p.path, Sum(pc.Hash), pc.Length)
	if err != nil {
		p.end(pieceFailed) // commitCAS removed the file
		return err
	}
	p.end(pieceVerified)
	return nil
}

// DiscardPiece drops whatever has been written of piece i, its partial
// file included (nothing of it is resumed); its readers see it failed.
func (t *Torrent) DiscardPiece(i int) {
	t.mu.Lock()
	p := t.partials[i]
	delete(t.partials, i)
	t.mu.Unlock()
	if p != nil {
		p.mu.Lock()
		p.discard()
		p.mu.Unlock()
	}
}

// OpenPiece opens verified piece i for reading; it stays pinned (never
// evicted) until the reader is closed.
func (t *Torrent) OpenPiece(i int) (*PieceReader, error) {
	pc, err := t.piece(i)
	if err != nil {
		return nil, err
	}
	if t.fixed != nil {
		return t.fixed.open(i)
	}
	return t.s.OpenSum(Sum(pc.Hash))
}

// Close stops the pieces being written and releases the torrent. Debian
// pieces in progress keep their hashed prefix in partial/, which the next
// writer of the same SHA256 resumes; standard pieces in progress are
// abandoned.
func (t *Torrent) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	ps := t.partials
	t.partials = nil
	t.mu.Unlock()
	for _, p := range ps {
		p.mu.Lock()
		p.stop()
		p.mu.Unlock()
	}
	var err error
	if t.fixed != nil {
		err = t.fixed.close()
	}
	t.s.mu.Lock()
	if t.s.torrents[t.info.InfoHash()] == t {
		delete(t.s.torrents, t.info.InfoHash())
	}
	t.s.mu.Unlock()
	return err
}

// OpenSum opens the content-addressed piece with this SHA256 for reading,
// pinned until the reader is closed.
func (s *Store) OpenSum(sum Sum) (*PieceReader, error) {
	f, e, err := s.openCAS(sum)
	if err != nil {
		return nil, err
	}
	return &PieceReader{
		parts:   []section{{f: f, n: e.size}},
		size:    e.size,
		release: func() { s.release(e) },
	}, nil
}
