package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// section is the part of one open file that a piece covers.
type section struct {
	f        *os.File
	off      int64 // where the section starts in the file
	n        int64 // its length
	pieceOff int64 // where it starts in the piece
}

// PieceReader reads one verified piece. It implements io.ReaderAt (safe for
// concurrent use) and io.ReadSeekCloser (for streaming with Range, not
// concurrently). While it is open the piece cannot be evicted.
type PieceReader struct {
	parts   []section
	size    int64
	pos     int64
	once    sync.Once
	release func()
}

// Size returns the piece's length.
func (r *PieceReader) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt.
func (r *PieceReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("store: negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	n := 0
	for _, s := range r.parts {
		if len(p) == 0 {
			break
		}
		if off >= s.pieceOff+s.n || off < s.pieceOff {
			continue
		}
		in := off - s.pieceOff
		want := min(int64(len(p)), s.n-in)
		k, err := s.f.ReadAt(p[:want], s.off+in)
		n += k
		off += int64(k)
		p = p[k:]
		if err != nil && !(errors.Is(err, io.EOF) && int64(k) == want) {
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("store: piece file is shorter than recorded: %w", io.ErrUnexpectedEOF)
			}
			return n, err
		}
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// Read implements io.Reader.
func (r *PieceReader) Read(p []byte) (int, error) {
	n, err := r.ReadAt(p, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (r *PieceReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("store: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("store: seek before start")
	}
	r.pos = offset
	return offset, nil
}

// Close closes the files and unpins the piece. Closing twice is harmless.
func (r *PieceReader) Close() error {
	var err error
	r.once.Do(func() {
		seen := map[*os.File]bool{}
		for _, s := range r.parts {
			if !seen[s.f] {
				seen[s.f] = true
				if e := s.f.Close(); e != nil && err == nil {
					err = e
				}
			}
		}
		if r.release != nil {
			r.release()
		}
	})
	return err
}
