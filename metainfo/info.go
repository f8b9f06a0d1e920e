// Package metainfo describes torrents: the files a torrent holds, the pieces
// those files are cut into, and the infohash that names the torrent.
//
// One piece model serves both kinds of torrent debtorrent knows:
//
//   - a standard BitTorrent v1 torrent cuts the concatenation of its files into
//     fixed-size pieces (the last one shorter), checked with SHA1, which may
//     span file boundaries (Layout FixedPieces);
//   - a Debian torrent has exactly one piece per file (one .deb), of that file's
//     own size, checked with the SHA256 the Debian archive publishes
//     (Layout PiecePerFile).
//
// Either way an Info is a list of Files and a list of Pieces, each piece with
// its offset in the torrent's byte stream, its length and its expected hash.
package metainfo

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// HashType names the hash function that checks a torrent's pieces.
type HashType uint8

const (
	// SHA1 is the piece hash of standard BitTorrent v1 torrents (20 bytes).
	SHA1 HashType = 1
	// SHA256 is the piece hash of Debian torrents (32 bytes), as published in
	// the archive's Packages files.
	SHA256 HashType = 2
)

// Size returns the length in bytes of one hash of this type, or 0 for an
// unknown type.
func (h HashType) Size() int {
	switch h {
	case SHA1:
		return 20
	case SHA256:
		return 32
	}
	return 0
}

// String returns "sha1" or "sha256".
func (h HashType) String() string {
	switch h {
	case SHA1:
		return "sha1"
	case SHA256:
		return "sha256"
	}
	return fmt.Sprintf("HashType(%d)", uint8(h))
}

// Layout says how a torrent's byte stream is cut into pieces.
type Layout uint8

const (
	// FixedPieces is the standard layout: pieces of PieceLength bytes (the last
	// one shorter) over the concatenation of all files, checked with SHA1.
	FixedPieces Layout = iota
	// PiecePerFile is the Debian layout: one piece per file, exactly as long as
	// the file, checked with SHA256.
	PiecePerFile
)

// String returns a short name for the layout.
func (l Layout) String() string {
	switch l {
	case FixedPieces:
		return "fixed"
	case PiecePerFile:
		return "per-file"
	}
	return fmt.Sprintf("Layout(%d)", uint8(l))
}

// HashType returns the piece hash the layout uses.
func (l Layout) HashType() HashType {
	if l == PiecePerFile {
		return SHA256
	}
	return SHA1
}

// File is one file of a torrent.
type File struct {
	// Path is the file's path relative to the torrent's root, its components
	// separated by "/". Components are never empty, ".", ".." or contain "/" or
	// NUL: constructors reject such paths. For a single-file torrent it is the
	// torrent's name.
	Path string
	// Length is the file's size in bytes.
	Length int64
	// Offset is where the file's first byte lies in the torrent's byte stream
	// (the concatenation of all files in order).
	Offset int64
}

// Piece is the unit of verification: a run of the torrent's byte stream and the
// hash it must have.
type Piece struct {
	// Index is the piece's position, from 0.
	Index int
	// Offset is where the piece starts in the torrent's byte stream.
	Offset int64
	// Length is the piece's size in bytes.
	Length int64
	// Hash is the expected digest, HashType().Size() bytes. It aliases the
	// Info's storage: do not modify it.
	Hash []byte
}

// FileRange is the part of one file that a piece covers.
type FileRange struct {
	// File is the index of the file in Info.Files.
	File int
	// Offset is where the range starts within the file.
	Offset int64
	// Length is the range's size in bytes.
	Length int64
	// PieceOffset is where the range starts within the piece.
	PieceOffset int64
}

// Info is a torrent's description: what the info dictionary of a .torrent file
// holds, in the form the rest of debtorrent works with.
//
// Build one with NewInfo, NewPiecePerFileInfo or by loading a .torrent file; the
// zero value is an empty torrent. An Info is immutable once built and safe for
// concurrent use.
type Info struct {
	// Name is the suggested name of the torrent's root (a file for a
	// single-file torrent, a directory otherwise).
	Name string
	// Layout says how the files are cut into pieces.
	Layout Layout
	// PieceLength is the size of every piece but the last, for FixedPieces; 0
	// for PiecePerFile.
	PieceLength int64
	// Files lists the files in the order of the torrent's byte stream.
	Files []File
	// Pieces lists the pieces in order.
	Pieces []Piece
	// Private is BEP 27's private flag: peers only from the trackers.
	Private bool
	// SingleFile is true when the info dictionary describes one file by a
	// "length" key rather than a "files" list.
	SingleFile bool

	raw      []byte   // the exact bencoded info dictionary
	infoHash InfoHash // SHA1 of raw

	pathIndex map[string]int // file path → file index, built by the constructor
}

// Limits that keep a hostile torrent from asking for absurd amounts of memory.
const (
	// MaxFiles is the largest number of files an Info may describe.
	MaxFiles = 1 << 20
	// MaxPieces is the largest number of pieces an Info may have.
	MaxPieces = 1 << 22
	// MaxPathLength is the longest file path, in bytes.
	MaxPathLength = 4096
)

// ErrInvalid is wrapped by every error that reports a structurally impossible
// torrent description.
var ErrInvalid = errors.New("metainfo: invalid torrent")

// HashType returns the hash function that checks this torrent's pieces.
func (info *Info) HashType() HashType { return info.Layout.HashType() }

// NumPieces returns the number of pieces.
func (info *Info) NumPieces() int { return len(info.Pieces) }

// TotalLength returns the size of the torrent's byte stream: the sum of all
// file lengths.
func (info *Info) TotalLength() int64 {
	if len(info.Files) == 0 {
		return 0
	}
	last := info.Files[len(info.Files)-1]
	return last.Offset + last.Length
}

// InfoHash returns the SHA1 of the bencoded info dictionary: the torrent's name
// in the swarm.
func (info *Info) InfoHash() InfoHash { return info.infoHash }

// Bytes returns the exact bencoded info dictionary the infohash was computed
// over. The caller must not modify it.
func (info *Info) Bytes() []byte { return info.raw }

// FileByPath returns the index of the file with the given slash-separated path
// (relative to the torrent root, as in File.Path), or false.
func (info *Info) FileByPath(path string) (int, bool) {
	i, ok := info.pathIndex[path]
	return i, ok
}

// FileRanges returns the parts of files that piece p covers, in order. It
// returns nil for an index out of range.
func (info *Info) FileRanges(p int) []FileRange {
	if p < 0 || p >= len(info.Pieces) {
		return nil
	}
	return info.Ranges(info.Pieces[p].Offset, info.Pieces[p].Length)
}

// Ranges maps the run [off, off+n) of the torrent's byte stream onto file
// ranges, skipping empty files. PieceOffset in the result counts from off.
func (info *Info) Ranges(off, n int64) []FileRange {
	if n <= 0 || off < 0 || off > info.TotalLength() || n > info.TotalLength()-off {
		return nil
	}
	// The first file whose end lies beyond off.
	first := sort.Search(len(info.Files), func(i int) bool {
		f := info.Files[i]
		return f.Offset+f.Length > off
	})
	var out []FileRange
	end := off + n
	for i := first; i < len(info.Files) && info.Files[i].Offset < end; i++ {
		f := info.Files[i]
		if f.Length == 0 {
			continue
		}
		start := max(off, f.Offset)
		stop := min(end, f.Offset+f.Length)
		out = append(out, FileRange{File: i, Offset: start - f.Offset, Length: stop - start, PieceOffset: start - off})
	}
	return out
}

// PieceForFile returns the piece that holds the whole of file i in a
// PiecePerFile torrent. For other layouts it returns the first piece that
// touches the file.
func (info *Info) PieceForFile(i int) (int, bool) {
	if i < 0 || i >= len(info.Files) {
		return 0, false
	}
	if info.Layout == PiecePerFile {
		return i, true
	}
	if info.PieceLength <= 0 {
		return 0, false
	}
	p := info.Files[i].Offset / info.PieceLength
	if p >= int64(len(info.Pieces)) {
		return 0, false // an empty file at the very end touches no piece
	}
	return int(p), true
}

// ValidatePath checks a slash-separated relative path: not empty, not
// absolute, no empty, ".", ".." components, no NUL or backslash, not longer
// than MaxPathLength.
func ValidatePath(p string) error {
	if p == "" {
		return fmt.Errorf("%w: empty path", ErrInvalid)
	}
	if len(p) > MaxPathLength {
		return fmt.Errorf("%w: path of %d bytes is longer than %d", ErrInvalid, len(p), MaxPathLength)
	}
	if strings.IndexByte(p, 0) >= 0 || strings.IndexByte(p, '\\') >= 0 {
		return fmt.Errorf("%w: path %q holds a NUL or backslash", ErrInvalid, p)
	}
	for rest := p; ; {
		c, after, more := strings.Cut(rest, "/")
		switch c {
		case "", ".", "..":
			return fmt.Errorf("%w: path %q has an empty, \".\" or \"..\" component", ErrInvalid, p)
		}
		if !more {
			return nil
		}
		rest = after
	}
}

// build finishes an Info whose Name, Layout, PieceLength, Files (paths and
// lengths) and the flat hash string are set: it computes offsets, cuts pieces
// and indexes paths. hashes must hold one digest per piece.
func (info *Info) build(hashes []byte) error {
	if len(info.Files) > MaxFiles {
		return fmt.Errorf("%w: %d files, more than %d", ErrInvalid, len(info.Files), MaxFiles)
	}
	info.pathIndex = make(map[string]int, len(info.Files))
	var off int64
	for i := range info.Files {
		f := &info.Files[i]
		if err := ValidatePath(f.Path); err != nil {
			return fmt.Errorf("file %d: %w", i, err)
		}
		if f.Length < 0 || f.Length > 1<<50 {
			return fmt.Errorf("%w: file %q has length %d", ErrInvalid, f.Path, f.Length)
		}
		if _, dup := info.pathIndex[f.Path]; dup {
			return fmt.Errorf("%w: file %q listed twice", ErrInvalid, f.Path)
		}
		info.pathIndex[f.Path] = i
		f.Offset = off
		off += f.Length
		if off > 1<<52 {
			return fmt.Errorf("%w: total length overflows", ErrInvalid)
		}
	}
	size := info.HashType().Size()
	if len(hashes)%size != 0 {
		return fmt.Errorf("%w: piece hashes are %d bytes, not a multiple of %d", ErrInvalid, len(hashes), size)
	}
	n := len(hashes) / size
	if n > MaxPieces {
		return fmt.Errorf("%w: %d pieces, more than %d", ErrInvalid, n, MaxPieces)
	}
	switch info.Layout {
	case FixedPieces:
		if info.PieceLength <= 0 || info.PieceLength > 1<<30 {
			return fmt.Errorf("%w: piece length %d", ErrInvalid, info.PieceLength)
		}
		want := (off + info.PieceLength - 1) / info.PieceLength
		if int64(n) != want {
			return fmt.Errorf("%w: %d piece hashes for %d bytes in pieces of %d (want %d)", ErrInvalid, n, off, info.PieceLength, want)
		}
		info.Pieces = make([]Piece, n)
		for i := range info.Pieces {
			start := int64(i) * info.PieceLength
			info.Pieces[i] = Piece{Index: i, Offset: start, Length: min(info.PieceLength, off-start), Hash: hashes[i*size : (i+1)*size : (i+1)*size]}
		}
	case PiecePerFile:
		if n != len(info.Files) {
			return fmt.Errorf("%w: %d piece hashes for %d files", ErrInvalid, n, len(info.Files))
		}
		info.PieceLength = 0
		info.Pieces = make([]Piece, n)
		for i, f := range info.Files {
			if f.Length == 0 {
				return fmt.Errorf("%w: file %q is empty, which a piece-per-file torrent cannot hold", ErrInvalid, f.Path)
			}
			info.Pieces[i] = Piece{Index: i, Offset: f.Offset, Length: f.Length, Hash: hashes[i*size : (i+1)*size : (i+1)*size]}
		}
	default:
		return fmt.Errorf("%w: unknown layout %d", ErrInvalid, info.Layout)
	}
	return nil
}
