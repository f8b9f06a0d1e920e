package metainfo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
)

// Bounds of DefaultPieceLength's choice, and the piece count it aims for.
const (
	// MinDefaultPieceLength is the smallest piece length DefaultPieceLength
	// picks (16 KiB, one block on the wire).
	MinDefaultPieceLength = 16 << 10
	// MaxDefaultPieceLength is the largest piece length DefaultPieceLength
	// picks (16 MiB).
	MaxDefaultPieceLength = 16 << 20
	// targetPieces is the piece count DefaultPieceLength aims for: small
	// enough for a compact .torrent, big enough to spread a swarm's traffic.
	targetPieces = 1500
)

// DefaultPieceLength picks a piece length for a torrent of total bytes, as
// mktorrent and transmission-create do: the power of two that makes the piece
// count nearest to about 1500, between 16 KiB and 16 MiB.
func DefaultPieceLength(total int64) int64 {
	ideal := total / targetPieces
	if ideal <= MinDefaultPieceLength {
		return MinDefaultPieceLength
	}
	if ideal >= MaxDefaultPieceLength {
		return MaxDefaultPieceLength
	}
	// The powers of two either side of ideal; take the nearer one on a log
	// scale (ideal² against their product).
	lo := int64(1) << (bits.Len64(uint64(ideal)) - 1)
	hi := lo << 1
	if ideal*ideal >= lo*hi {
		return hi
	}
	return lo
}

// CreateOptions tunes Create.
type CreateOptions struct {
	// PieceLength is the size of each piece in bytes, a power of two of at
	// least 16 KiB; 0 picks DefaultPieceLength.
	PieceLength int64
	// Private sets BEP 27's private flag.
	Private bool
}

// Create builds the Info of a standard (FixedPieces, SHA1) torrent holding the
// file or directory at path, reading and hashing all of its data.
//
// A regular file makes a single-file torrent; a directory makes a multi-file
// torrent of every regular file below it, in byte-wise order of their
// slash-separated paths (as mktorrent orders them), including empty files and
// files whose names start with a dot. The torrent's name is the base name of
// path. Empty directories hold no data and are left out. A symbolic link or
// special file (device, FIFO, socket) anywhere below path is an error: make a
// copy of the data instead. path itself may be a symbolic link.
func Create(ctx context.Context, path string, opts CreateOptions) (*Info, error) {
	name, root, files, single, err := scanFiles(path)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, f := range files {
		total += f.Length
	}
	if total == 0 {
		return nil, fmt.Errorf("metainfo: create %s: no data to share (all files are empty)", path)
	}
	pieceLength := opts.PieceLength
	if pieceLength == 0 {
		pieceLength = DefaultPieceLength(total)
	}
	if err := checkPieceLength(pieceLength); err != nil {
		return nil, fmt.Errorf("metainfo: create %s: %w", path, err)
	}
	stream := &fileStream{root: root, files: files, single: single}
	defer stream.Close()
	sums, err := HashPieces(ctx, stream, total, pieceLength)
	if err == nil {
		// Check that the last file did not grow while it was read.
		if err = stream.advance(); errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("metainfo: create %s: %w", path, err)
	}
	var extra []InfoOption
	if opts.Private {
		extra = append(extra, WithPrivate())
	}
	info, err := NewInfo(name, pieceLength, files, sums, single, extra...)
	if err != nil {
		return nil, fmt.Errorf("metainfo: create %s: %w", path, err)
	}
	return info, nil
}

// checkPieceLength accepts the piece lengths Create writes: powers of two
// from 16 KiB to 64 MiB.
func checkPieceLength(n int64) error {
	if n < 16<<10 || n > 64<<20 || n&(n-1) != 0 {
		return fmt.Errorf("piece length %d: want a power of two from 16 KiB (16384) to 64 MiB (67108864)", n)
	}
	return nil
}

// scanFiles lists the data at path: for a regular file, that one file named
// after it; for a directory, every regular file below it, sorted by path. It
// returns the torrent's name and path with symbolic links resolved.
func scanFiles(path string) (name, root string, files []File, single bool, err error) {
	fail := func(err error) (string, string, []File, bool, error) {
		return "", "", nil, false, fmt.Errorf("metainfo: create %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fail(err)
	}
	name = filepath.Base(abs)
	root, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return fail(err)
	}
	st, err := os.Stat(root)
	if err != nil {
		return fail(err)
	}
	switch {
	case st.Mode().IsRegular():
		return name, root, []File{{Path: name, Length: st.Size()}}, true, nil
	case !st.IsDir():
		return fail(fmt.Errorf("not a regular file or directory (%s)", typeName(st.Mode().Type())))
	}
	walkErr := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root || d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: a %s, not a regular file: remove it or copy its data into a regular file", p, typeName(d.Type()))
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if len(files) >= MaxFiles {
			return fmt.Errorf("more than %d files", MaxFiles)
		}
		files = append(files, File{Path: filepath.ToSlash(rel), Length: fi.Size()})
		return nil
	})
	if walkErr != nil {
		return fail(walkErr)
	}
	if len(files) == 0 {
		return fail(errors.New("the directory holds no files"))
	}
	slices.SortFunc(files, func(a, b File) int {
		switch {
		case a.Path < b.Path:
			return -1
		case a.Path > b.Path:
			return 1
		}
		return 0
	})
	return name, root, files, false, nil
}

// typeName describes a non-regular file type for an error message.
func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// fileStream reads the files of a torrent being created one after the other,
// as one stream, opening each only when it is reached. It fails if a file is
// shorter or longer than it was when scanned.
type fileStream struct {
	root   string
	files  []File
	single bool

	next int      // index of the next file to open
	cur  *os.File // the open file, or nil
	left int64    // bytes still to read from cur
	name string   // cur's path, for errors
}

// Read implements io.Reader.
func (s *fileStream) Read(p []byte) (int, error) {
	for s.cur == nil || s.left == 0 {
		if err := s.advance(); err != nil {
			return 0, err
		}
	}
	n, err := s.cur.Read(p[:min(int64(len(p)), s.left)])
	s.left -= int64(n)
	if errors.Is(err, io.EOF) && s.left > 0 {
		err = fmt.Errorf("%s: file shrank while being read: %d bytes missing", s.name, s.left)
	} else if errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// advance closes the current file, checking it had no extra bytes, and opens
// the next one.
func (s *fileStream) advance() error {
	if s.cur != nil {
		st, err := s.cur.Stat()
		if err == nil && st.Size() != s.files[s.next-1].Length {
			err = fmt.Errorf("%s: file changed size while being read", s.name)
		}
		s.cur.Close()
		s.cur = nil
		if err != nil {
			return err
		}
	}
	if s.next >= len(s.files) {
		return io.EOF
	}
	f := s.files[s.next]
	s.name = s.root
	if !s.single {
		s.name = filepath.Join(s.root, filepath.FromSlash(f.Path))
	}
	fh, err := os.Open(s.name)
	if err != nil {
		return err
	}
	s.next++
	s.cur, s.left = fh, f.Length
	return nil
}

// Close closes the open file, if any.
func (s *fileStream) Close() error {
	if s.cur == nil {
		return nil
	}
	err := s.cur.Close()
	s.cur = nil
	return err
}
