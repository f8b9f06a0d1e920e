package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/debtorrent/debtorrent/metainfo"
)

// pieceFiles is a standard torrent's piece as the ranges of the torrent's
// files it covers: the pieceData of a piece verified in place. Offsets are
// within the piece. Safe for concurrent use (it only does positioned I/O).
type pieceFiles struct {
	fl     *fixedLayout
	ranges []metainfo.FileRange
}

func (fl *fixedLayout) pieceFiles(i int) *pieceFiles {
	return &pieceFiles{fl: fl, ranges: fl.info.FileRanges(i)}
}

// each calls fn for every part of [off, off+n) of the piece, with the file
// it lies in, where in the file, and where in [off, off+n) it starts and
// ends.
func (pf *pieceFiles) each(off int64, n int, fn func(f *os.File, fileOff int64, lo, hi int64) (int, error)) (int, error) {
	done := 0
	for _, r := range pf.ranges {
		lo, hi := max(off, r.PieceOffset), min(off+int64(n), r.PieceOffset+r.Length)
		if lo >= hi {
			continue
		}
		f, err := pf.fl.file(r.File)
		if err != nil {
			return done, err
		}
		k, err := fn(f, r.Offset+(lo-r.PieceOffset), lo-off, hi-off)
		done += k
		if err != nil {
			return done, err
		}
	}
	if done < n {
		return done, fmt.Errorf("store: [%d, %d) lies outside the piece", off, off+int64(n))
	}
	return done, nil
}

// WriteAt writes b at off within the piece, into the files.
func (pf *pieceFiles) WriteAt(b []byte, off int64) (int, error) {
	return pf.each(off, len(b), func(f *os.File, at, lo, hi int64) (int, error) {
		return f.WriteAt(b[lo:hi], at)
	})
}

// ReadAt reads the piece's bytes at off from the files; a file shorter than
// the piece says is an error.
func (pf *pieceFiles) ReadAt(b []byte, off int64) (int, error) {
	return pf.each(off, len(b), func(f *os.File, at, lo, hi int64) (int, error) {
		k, err := f.ReadAt(b[lo:hi], at)
		if err == io.EOF && int64(k) < hi-lo {
			err = io.ErrUnexpectedEOF
		} else if err == io.EOF {
			err = nil
		}
		return k, err
	})
}

// file returns file i of the torrent open for reading and writing,
// creating it (and its directory) on first use. The handles are kept until
// close.
func (fl *fixedLayout) file(i int) (*os.File, error) {
	fl.filesMu.RLock()
	f, closed := fl.files[i], fl.filesClosed
	fl.filesMu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if f != nil {
		return f, nil
	}
	fl.filesMu.Lock()
	defer fl.filesMu.Unlock()
	if fl.filesClosed {
		return nil, ErrClosed
	}
	if f := fl.files[i]; f != nil {
		return f, nil
	}
	path := fl.filePath(i)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	fl.files[i] = f
	return f, nil
}

// closeFiles closes the handles kept by file.
func (fl *fixedLayout) closeFiles() error {
	fl.filesMu.Lock()
	defer fl.filesMu.Unlock()
	fl.filesClosed = true
	var first error
	for _, f := range fl.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	fl.files = nil
	return first
}
