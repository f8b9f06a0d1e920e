package peerwire

import (
	"crypto/sha1"
	"errors"
	"fmt"

	"github.com/debtorrent/debtorrent/metainfo"
)

// ErrMetadataHash means assembled metadata does not hash to the infohash:
// some peer sent a wrong piece. The assembler has started over.
var ErrMetadataHash = errors.New("ut_metadata: assembled info dictionary does not match the infohash")

// MetadataAssembler collects the pieces of one torrent's info dictionary
// received by ut_metadata (BEP 9) and checks the whole against the infohash.
// Memory follows the pieces actually received, never the size announced.
//
// It is not safe for concurrent use: one goroutine (the torrent's owner)
// calls its methods.
type MetadataAssembler struct {
	infoHash metainfo.InfoHash
	size     int
	pieces   [][]byte // nil: not received yet
	missing  int
}

// NewMetadataAssembler returns an assembler for the info dictionary of
// infoHash, of size bytes (a peer's metadata_size), which must be in
// 1..MaxMetadataSize.
func NewMetadataAssembler(infoHash metainfo.InfoHash, size int) (*MetadataAssembler, error) {
	if size <= 0 || size > MaxMetadataSize {
		return nil, fmt.Errorf("peerwire: ut_metadata: metadata size %d out of range 1..%d", size, MaxMetadataSize)
	}
	n := metadataPieces(size)
	return &MetadataAssembler{infoHash: infoHash, size: size, pieces: make([][]byte, n), missing: n}, nil
}

// Size returns the info dictionary's size in bytes.
func (a *MetadataAssembler) Size() int { return a.size }

// NumPieces returns how many pieces the info dictionary has.
func (a *MetadataAssembler) NumPieces() int { return len(a.pieces) }

// Missing lists, in order, the pieces not received yet.
func (a *MetadataAssembler) Missing() []int {
	out := make([]int, 0, a.missing)
	for i, p := range a.pieces {
		if p == nil {
			out = append(out, i)
		}
	}
	return out
}

// Add stores the piece of a data message. It refuses a message that is not
// data, whose total_size is not the assembler's or whose piece or length
// does not fit it. A piece received twice keeps its first copy. When the last
// piece arrives, Add checks the SHA1 of the whole: on a match it returns the
// info dictionary's bytes (the caller's to keep); on a mismatch it forgets
// every piece and returns ErrMetadataHash. Before completion it returns nil,
// nil. Add copies m.Data.
func (a *MetadataAssembler) Add(m MetadataMessage) ([]byte, error) {
	if m.Type != MetadataData {
		return nil, fmt.Errorf("peerwire: ut_metadata: a %s carries no piece", m.Type)
	}
	if m.TotalSize != a.size {
		return nil, fmt.Errorf("peerwire: ut_metadata: total_size %d, but the metadata is %d bytes", m.TotalSize, a.size)
	}
	if m.Piece < 0 || m.Piece >= len(a.pieces) {
		return nil, fmt.Errorf("peerwire: ut_metadata: piece %d out of range 0..%d", m.Piece, len(a.pieces)-1)
	}
	if want := metadataPieceLen(a.size, m.Piece); len(m.Data) != want {
		return nil, fmt.Errorf("peerwire: ut_metadata: piece %d is %d bytes, not %d", m.Piece, len(m.Data), want)
	}
	if a.pieces[m.Piece] != nil {
		return nil, nil
	}
	a.pieces[m.Piece] = append([]byte(nil), m.Data...)
	a.missing--
	if a.missing > 0 {
		return nil, nil
	}
	info := make([]byte, 0, a.size)
	for _, p := range a.pieces {
		info = append(info, p...)
	}
	if sha1.Sum(info) != a.infoHash {
		clear(a.pieces)
		a.missing = len(a.pieces)
		return nil, fmt.Errorf("peerwire: %w %s: ask other peers", ErrMetadataHash, a.infoHash)
	}
	return info, nil
}
