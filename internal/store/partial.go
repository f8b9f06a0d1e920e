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

// partial is a piece being written: a temporary file, the runs of it that
// have arrived, and a hash over the contiguous prefix that grows as data
// arrives. Sequential writes are hashed straight from the caller's buffer;
// when a gap is filled, the bytes that had arrived beyond it are read back
// from the file once. Verification therefore costs no second read in the
// common case.
//
// Bytes of the hashed prefix are never overwritten: a later block for that
// region (a duplicate from another peer, say) is ignored there, so the file
// and the hash always agree.
type partial struct {
	mu     sync.Mutex
	f      *os.File
	path   string
	length int64
	h      hash.Hash
	hashed int64
	have   []span // sorted, disjoint, not adjacent
}

// newPartial creates the temporary file of a piece in dir.
func newPartial(dir, pattern string, length int64, h hash.Hash) (*partial, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("store: create temporary piece file: %w", err)
	}
	return &partial{f: f, path: f.Name(), length: length, h: h}, nil
}

// write stores b at off within the piece.
func (p *partial) write(off int64, b []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return errors.New("store: piece already finished or discarded")
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
	if _, err := p.f.WriteAt(b, off); err != nil {
		return fmt.Errorf("store: write block: %w", err)
	}
	p.add(span{off, off + int64(len(b))})
	if off == p.hashed {
		p.h.Write(b)
		p.hashed += int64(len(b))
	}
	return p.advance()
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
		if _, err := p.f.ReadAt(buf[:n], p.hashed); err != nil {
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

// reader reads the piece's bytes from the temporary file.
func (p *partial) reader() io.Reader { return io.NewSectionReader(p.f, 0, p.length) }

// discard closes and removes the temporary file.
func (p *partial) discard() {
	if p.f != nil {
		p.f.Close()
		os.Remove(p.path)
		p.f = nil
	}
}

// seal fsyncs (through fsys) and closes the temporary file, leaving it in
// place for a rename.
func (p *partial) seal(fsys fileSystem) error {
	if err := fsys.Sync(p.f); err != nil {
		return fmt.Errorf("store: fsync piece: %w", err)
	}
	err := p.f.Close()
	p.f = nil
	if err != nil {
		return fmt.Errorf("store: close piece: %w", err)
	}
	return nil
}
