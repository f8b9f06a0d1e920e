package store

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"sync"
)

// span is a half-open run [start, end) of a piece's bytes that has arrived.
type span struct{ start, end int64 }

// pieceData is where a partial piece's bytes are kept: its temporary file,
// or (written in place) the ranges of a standard torrent's files it covers.
type pieceData interface {
	io.ReaderAt
	io.WriterAt
}

// errFinished: a block arrived for a partial piece already finished or
// discarded.
var errFinished = errors.New("store: piece already finished or discarded")

// partial is a piece being written: where its bytes go (a temporary file,
// or the torrent's files), the runs of it that have arrived, and a hash over
// the contiguous prefix that grows as data arrives. Sequential writes are hashed straight from the caller's buffer;
// when a gap is filled, the bytes that had arrived beyond it are read back
// from the file once. Verification therefore costs no second read in the
// common case.
//
// Bytes of the hashed prefix are never overwritten: a later block for that
// region (a duplicate from another peer, say) is ignored there, so the file
// and the hash always agree.
//
// A content-addressed piece whose file is under partial/ (persistent) is
// kept there when its writer stops without finishing (suspend), truncated to
// its hashed prefix, for the next writer of its SHA256 to resume. Its data is
// fsynced every partialSyncEvery bytes of prefix and when suspended; a crash
// loses at most an unsynced tail, and the final hash check catches any byte
// that came back wrong.
//
// Readers (PartialReader) watch it: hashed only grows, and grown is closed
// and replaced each time it does and each time state changes.
type partial struct {
	mu     sync.Mutex
	data   pieceData
	f      *os.File // the temporary file when there is one (data is then f)
	path   string   // its name
	length int64
	h      hash.Hash
	hashed int64
	have   []span // sorted, disjoint, not adjacent
	done   bool   // finished, discarded or suspended: takes no more writes

	state pieceState    // what became of it; final once not pieceWriting and done
	grown chan struct{} // closed and replaced when hashed grows or state changes

	// Persistent partials only (owner != nil): the store that lists it
	// among the owned partial files, its SHA256 (name), the file system for
	// fsyncs and how far the file was last fsynced.
	owner  *Store
	name   Sum
	fsys   fileSystem
	synced int64
}

// pieceState is what became of a partial piece, as its readers see it.
type pieceState int

const (
	pieceWriting  pieceState = iota // bytes still arriving (or being committed)
	pieceVerified                   // its hash matched and it is stored
	pieceFailed                     // its hash did not match, or it was discarded
	pieceClosed                     // its writer stopped (kept for resume, or abandoned)
)

// partialSyncEvery bounds how much of a persistent partial's prefix may be
// written without an fsync.
const partialSyncEvery = 8 << 20

// newPartial creates the temporary file of a piece in dir.
func newPartial(dir, pattern string, length int64, h hash.Hash) (*partial, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("store: create temporary piece file: %w", err)
	}
	return &partial{data: f, f: f, path: f.Name(), length: length, h: h, grown: make(chan struct{})}, nil
}

// newInPlace starts a piece written straight into data (a standard
// torrent's files), which holds nothing of the piece yet as far as the
// partial knows.
func newInPlace(data pieceData, length int64, h hash.Hash) *partial {
	return &partial{data: data, length: length, h: h, grown: make(chan struct{})}
}

// notify wakes the readers waiting for the partial to change (p.mu held).
func (p *partial) notify() {
	close(p.grown)
	p.grown = make(chan struct{})
}

// write stores b at off within the piece.
func (p *partial) write(off int64, b []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return errFinished
	}
	if off < 0 || off+int64(len(b)) > p.length {
		return fmt.Errorf("store: block [%d, %d) lies outside a piece of %d bytes", off, off+int64(len(b)), p.length)
	}
	if off < p.hashed {
		cut := min(p.hashed-off, int64(len(b)))
		b, off = b[cut:], off+cut
	}
	if len(b) == 0 {
		return nil
	}
	if _, err := p.data.WriteAt(b, off); err != nil {
		return fmt.Errorf("store: write block: %w", err)
	}
	before := p.hashed
	p.add(span{off, off + int64(len(b))})
	if off == p.hashed {
		p.h.Write(b)
		p.hashed += int64(len(b))
	}
	err := p.advance()
	if p.hashed != before {
		p.notify()
		if p.owner != nil && p.hashed-p.synced >= partialSyncEvery {
			// Bounded loss on a crash; an error here is found again by
			// the fsync that seals the piece.
			_ = p.fsys.Sync(p.f)
			p.synced = p.hashed
		}
	}
	return err
}

// add merges s into the sorted list of arrived runs.
func (p *partial) add(s span) {
	i, _ := slices.BinarySearchFunc(p.have, s.start, func(x span, t int64) int {
		switch {
		case x.end < t:
			return -1
		case x.start > t:
			return 1
		}
		return 0
	})
	// i is the first run that ends at or after s.start: merge from there.
	j := i
	for j < len(p.have) && p.have[j].start <= s.end {
		s.start = min(s.start, p.have[j].start)
		s.end = max(s.end, p.have[j].end)
		j++
	}
	p.have = slices.Replace(p.have, i, j, s)
}

// advance hashes bytes that arrived earlier beyond the hashed prefix, now
// that the prefix reaches them.
func (p *partial) advance() error {
	if len(p.have) == 0 || p.have[0].start != 0 || p.have[0].end <= p.hashed {
		return nil
	}
	end := p.have[0].end
	buf := make([]byte, min(end-p.hashed, 256<<10))
	for p.hashed < end {
		n := min(int64(len(buf)), end-p.hashed)
		if _, err := p.data.ReadAt(buf[:n], p.hashed); err != nil {
			return fmt.Errorf("store: read back piece data to hash: %w", err)
		}
		p.h.Write(buf[:n])
		p.hashed += n
	}
	return nil
}

// complete reports whether every byte has arrived.
func (p *partial) complete() bool {
	return p.length == 0 || len(p.have) == 1 && p.have[0] == (span{0, p.length})
}

// received returns how many bytes have arrived.
func (p *partial) received() int64 {
	var n int64
	for _, s := range p.have {
		n += s.end - s.start
	}
	return n
}

// sum returns the digest of a complete piece, or nil when the hash does not
// cover every byte (reading arrived bytes back failed), which matches no
// piece's hash: a piece is never verified by a digest of less than all of it.
func (p *partial) sum() []byte {
	if p.hashed != p.length {
		return nil
	}
	return p.h.Sum(nil)
}

// discard ends the partial: no more writes, and its temporary file (if
// any) is closed and removed. Bytes written in place are left where they
// are, claimed by nothing. Its readers see it failed (p.mu held).
func (p *partial) discard() { p.discardAs(pieceFailed) }

// discardAs is discard, leaving the partial in state st.
func (p *partial) discardAs(st pieceState) {
	p.done = true
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
	if p.path != "" {
		os.Remove(p.path)
	}
	p.end(st)
}

// end gives the partial its final state, wakes its readers, and (for a
// persistent partial) lets the next writer of its SHA256 have its file
// (p.mu held, the file's fate settled).
func (p *partial) end(st pieceState) {
	p.done = true
	if p.state != pieceWriting {
		return
	}
	p.state = st
	p.notify()
	if p.owner != nil {
		p.owner.disown(p)
	}
}

// stop ends a partial whose writer leaves it unfinished (p.mu held): a
// persistent one is suspended, its file kept for the next writer; any
// other is discarded, as before resuming existed.
func (p *partial) stop() {
	if p.done {
		return
	}
	if p.owner == nil {
		p.discardAs(pieceClosed)
		return
	}
	p.suspend()
}

// suspend keeps a persistent partial's file for a later resume: truncated
// to the hashed prefix (the only bytes a resume trusts), fsynced, closed
// (p.mu held). The file is removed instead when its piece is stored already
// or cannot be kept.
func (p *partial) suspend() {
	p.done = true
	keep := !p.owner.Has(p.name) && p.hashed > 0
	if keep {
		keep = p.f.Truncate(p.hashed) == nil && p.fsys.Sync(p.f) == nil
	}
	p.f.Close()
	p.f = nil
	if !keep {
		os.Remove(p.path)
	}
	p.end(pieceClosed)
}

// seal fsyncs (through fsys) and closes the temporary file, leaving it in
// place for a rename.
func (p *partial) seal(fsys fileSystem) error {
	if err := fsys.Sync(p.f); err != nil {
		return fmt.Errorf("store: fsync piece: %w", err)
	}
	err := p.f.Close()
	p.f = nil
	p.done = true
	if err != nil {
		os.Remove(p.path)
		return fmt.Errorf("store: close piece: %w", err)
	}
	return nil
}
