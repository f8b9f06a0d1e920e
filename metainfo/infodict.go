package metainfo

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"strings"

	"github.com/debtorrent/debtorrent/bencode"
)

// PerFileSHA256 is the value of the "piece layout" key that marks a Debian
// torrent's info dictionary: one piece per file, hashed with SHA256.
const PerFileSHA256 = "per-file-sha256"

// The bencoded shapes of an info dictionary. Struct fields are in the sorted
// order of their keys, so encoding is canonical whatever the encoder does
// with struct field order.
type (
	// singleFileDict is a v1 single-file info dictionary.
	singleFileDict struct {
		Length      int64  `bencode:"length"`
		Name        string `bencode:"name"`
		PieceLength int64  `bencode:"piece length"`
		Pieces      []byte `bencode:"pieces"`
		Private     int64  `bencode:"private,omitempty"`
	}
	// multiFileDict is a v1 multi-file info dictionary.
	multiFileDict struct {
		Files       []fileDict `bencode:"files"`
		Name        string     `bencode:"name"`
		PieceLength int64      `bencode:"piece length"`
		Pieces      []byte     `bencode:"pieces"`
		Private     int64      `bencode:"private,omitempty"`
	}
	// perFileDict is a Debian (piece-per-file) info dictionary.
	perFileDict struct {
		Files       []fileDict `bencode:"files"`
		Name        string     `bencode:"name"`
		PieceLayout string     `bencode:"piece layout"`
		Pieces      []byte     `bencode:"pieces"`
	}
	// fileDict is one entry of a "files" list.
	fileDict struct {
		Length int64    `bencode:"length"`
		Path   []string `bencode:"path"`
	}
	// anyInfoDict holds every key ParseInfo reads, of any layout.
	anyInfoDict struct {
		Files       []fileEntry `bencode:"files"`
		Length      *int64      `bencode:"length"`
		MetaVersion int64       `bencode:"meta version"`
		Name        *string     `bencode:"name"`
		PieceLayout string      `bencode:"piece layout"`
		PieceLength int64       `bencode:"piece length"`
		Pieces      *[]byte     `bencode:"pieces"`
		Private     int64       `bencode:"private"`
	}
	// fileEntry is one entry of a "files" list, as ParseInfo reads it.
	fileEntry struct {
		Length int64    `bencode:"length"`
		Path   filePath `bencode:"path"`
	}
)

// InfoOption sets an optional property of an Info built by NewInfo.
type InfoOption func(*Info)

// WithPrivate sets BEP 27's private flag: peers come only from the trackers.
func WithPrivate() InfoOption { return func(info *Info) { info.Private = true } }

// NewInfo builds the Info of a standard v1 torrent (Layout FixedPieces): files
// in the order of the torrent's byte stream (Path and Length set; Offset is
// computed), cut into pieces of pieceLength bytes, sha1s holding one 20-byte
// digest per piece. With single set, files must hold exactly one file and the
// torrent is a single-file one whose file is called name.
//
// The info dictionary is bencoded canonically, so Bytes and InfoHash are set.
// files and sha1s are copied.
func NewInfo(name string, pieceLength int64, files []File, sha1s []byte, single bool, opts ...InfoOption) (*Info, error) {
	info := &Info{Name: name, Layout: FixedPieces, PieceLength: pieceLength, SingleFile: single}
	for _, opt := range opts {
		opt(info)
	}
	if err := validateComponent(name); err != nil {
		return nil, fmt.Errorf("metainfo: name: %w", err)
	}
	info.Files = append([]File(nil), files...)
	if single {
		if len(files) != 1 {
			return nil, fmt.Errorf("%w: a single-file torrent needs exactly one file, not %d", ErrInvalid, len(files))
		}
		info.Files[0].Path = name
	}
	hashes := bytes.Clone(sha1s)
	if err := info.build(hashes); err != nil {
		return nil, fmt.Errorf("metainfo: %w", err)
	}
	if err := info.encode(hashes); err != nil {
		return nil, err
	}
	return info, nil
}

// NewPiecePerFileInfo builds the Info of a Debian torrent (Layout
// PiecePerFile): one piece per file, exactly as long as the file, checked by
// the file's SHA256; sha256s holds the 32-byte digests in file order. Files
// keep the given order (a Packages file's). The name is a label only (never
// a path on disk): any non-empty string without NUL.
//
// The info dictionary is bencoded canonically, so peers that build the same
// Info from the same Packages file get the same InfoHash:
//
//	{"files": [{"length": N, "path": ["pool", "main", ...]}, ...],
//	 "name": name, "piece layout": "per-file-sha256", "pieces": sha256s}
func NewPiecePerFileInfo(name string, files []File, sha256s []byte) (*Info, error) {
	if err := validateLabel(name); err != nil {
		return nil, fmt.Errorf("metainfo: name: %w", err)
	}
	info := &Info{Name: name, Layout: PiecePerFile, Files: append([]File(nil), files...)}
	hashes := bytes.Clone(sha256s)
	if err := info.build(hashes); err != nil {
		return nil, fmt.Errorf("metainfo: %w", err)
	}
	if err := info.encode(hashes); err != nil {
		return nil, err
	}
	return info, nil
}

// encode bencodes a built Info's dictionary, whose concatenated piece
// hashes are given, and sets raw and infoHash.
func (info *Info) encode(hashes []byte) error {
	var private int64
	if info.Private {
		private = 1
	}
	var v any
	switch {
	case info.Layout == PiecePerFile:
		v = perFileDict{Files: fileDicts(info.Files), Name: info.Name, PieceLayout: PerFileSHA256, Pieces: hashes}
	case info.SingleFile:
		v = singleFileDict{Length: info.Files[0].Length, Name: info.Name, PieceLength: info.PieceLength, Pieces: hashes, Private: private}
	default:
		v = multiFileDict{Files: fileDicts(info.Files), Name: info.Name, PieceLength: info.PieceLength, Pieces: hashes, Private: private}
	}
	raw, err := bencode.Marshal(v)
	if err != nil {
		return fmt.Errorf("metainfo: encode info dictionary: %w", err)
	}
	info.raw = raw
	info.infoHash = sha1.Sum(raw)
	return nil
}

// fileDicts turns Files into "files" list entries.
func fileDicts(files []File) []fileDict {
	out := make([]fileDict, len(files))
	for i, f := range files {
		out[i] = fileDict{Length: f.Length, Path: strings.Split(f.Path, "/")}
	}
	return out
}

// ParseInfo reads an info dictionary from its exact bencoded bytes, of either
// layout: a v1 single- or multi-file dictionary, or a Debian dictionary
// ("piece layout": "per-file-sha256"). Keys it does not know are kept in the
// bytes (and so in the infohash) but otherwise ignored; dictionary keys need
// not be sorted. The infohash is the SHA1 of raw, which is copied.
func ParseInfo(raw []byte) (*Info, error) {
	if len(raw) > MaxTorrentSize {
		return nil, fmt.Errorf("metainfo: info dictionary of %d bytes is larger than %d", len(raw), MaxTorrentSize)
	}
	return parseInfo(bytes.Clone(raw))
}

// parseInfo is ParseInfo on bytes of at most MaxTorrentSize that the Info
// may keep.
func parseInfo(raw []byte) (*Info, error) {
	var d anyInfoDict
	if err := unmarshalLenient(raw, &d); err != nil {
		return nil, fmt.Errorf("metainfo: info dictionary: %w", err)
	}
	info, err := d.toInfo()
	if err != nil {
		return nil, err
	}
	info.raw = raw
	info.infoHash = sha1.Sum(raw)
	return info, nil
}

// toInfo checks a decoded info dictionary and builds its Info.
func (d *anyInfoDict) toInfo() (*Info, error) {
	if d.Pieces == nil {
		if d.MetaVersion == 2 {
			return nil, fmt.Errorf("%w: a BitTorrent v2-only torrent, which is not supported (v1 and hybrid torrents are)", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: the info dictionary has no \"pieces\"", ErrInvalid)
	}
	if d.Name == nil {
		return nil, fmt.Errorf("%w: the info dictionary has no \"name\"", ErrInvalid)
	}
	if len(d.Files) > MaxFiles {
		return nil, fmt.Errorf("%w: %d files, more than %d", ErrInvalid, len(d.Files), MaxFiles)
	}
	info := &Info{Name: *d.Name, Private: d.Private == 1}
	switch d.PieceLayout {
	case "":
		info.Layout = FixedPieces
		info.PieceLength = d.PieceLength
		if err := validateComponent(info.Name); err != nil {
			return nil, fmt.Errorf("metainfo: name: %w", err)
		}
	case PerFileSHA256:
		info.Layout = PiecePerFile
		if err := validateLabel(info.Name); err != nil {
			return nil, fmt.Errorf("metainfo: name: %w", err)
		}
		if d.Length != nil {
			return nil, fmt.Errorf("%w: a per-file-sha256 torrent must list its files, not have a single \"length\"", ErrInvalid)
		}
	default:
		return nil, fmt.Errorf("%w: unknown piece layout %q", ErrInvalid, abbreviate(d.PieceLayout))
	}
	switch {
	case d.Length != nil && d.Files != nil:
		return nil, fmt.Errorf("%w: the info dictionary has both \"length\" and \"files\"", ErrInvalid)
	case d.Length != nil:
		info.SingleFile = true
		info.Files = []File{{Path: info.Name, Length: *d.Length}}
	case d.Files != nil:
		info.Files = make([]File, len(d.Files))
		for i, f := range d.Files {
			info.Files[i] = File{Path: string(f.Path), Length: f.Length}
		}
	default:
		return nil, fmt.Errorf("%w: the info dictionary has neither \"length\" nor \"files\"", ErrInvalid)
	}
	if err := info.build(*d.Pieces); err != nil {
		return nil, fmt.Errorf("metainfo: %w", err)
	}
	return info, nil
}

// validateComponent checks one component of a path (or a torrent's name,
// which names a file or directory): not empty, ".", "..", and without "/" or
// NUL.
func validateComponent[T string | []byte](c T) error {
	switch {
	case len(c) == 0:
		return fmt.Errorf("%w: empty path component", ErrInvalid)
	case string(c) == "." || string(c) == "..":
		return fmt.Errorf("%w: path component %q is not allowed", ErrInvalid, c)
	case len(c) > MaxPathLength:
		return fmt.Errorf("%w: path component of %d bytes is longer than %d", ErrInvalid, len(c), MaxPathLength)
	}
	for i := range len(c) {
		if c[i] == '/' || c[i] == 0 {
			return fmt.Errorf("%w: path component %q holds a \"/\" or NUL", ErrInvalid, abbreviate(string(c)))
		}
	}
	return nil
}

// validateLabel checks the name of a Debian torrent, which is never used as a
// path: not empty, no NUL, not absurdly long.
func validateLabel(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty name", ErrInvalid)
	case strings.Contains(s, "\x00"):
		return fmt.Errorf("%w: name holds a NUL", ErrInvalid)
	case len(s) > MaxPathLength:
		return fmt.Errorf("%w: name of %d bytes is longer than %d", ErrInvalid, len(s), MaxPathLength)
	}
	return nil
}
