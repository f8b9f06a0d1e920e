package peerwire

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/debtorrent/debtorrent/bencode"
)

// MetadataMsgType is the msg_type of a ut_metadata message (BEP 9).
type MetadataMsgType int

// The ut_metadata message types.
const (
	// MetadataRequest asks for one piece of the info dictionary.
	MetadataRequest MetadataMsgType = 0
	// MetadataData carries one piece, after the bencoded dictionary.
	MetadataData MetadataMsgType = 1
	// MetadataReject refuses a request.
	MetadataReject MetadataMsgType = 2
)

// String returns the type's name as BEP 9 spells it.
func (t MetadataMsgType) String() string {
	switch t {
	case MetadataRequest:
		return "request"
	case MetadataData:
		return "data"
	case MetadataReject:
		return "reject"
	}
	return fmt.Sprintf("msg_type %d", int(t))
}

// Limits of ut_metadata.
const (
	// MetadataPieceSize is the size of every metadata piece but the last
	// (BEP 9).
	MetadataPieceSize = 16 << 10
	// MaxMetadataSize is the largest info dictionary accepted: 16 MiB. An
	// info dictionary grows by 20 bytes per piece and by a path entry per
	// file; a torrent of a whole Debian suite's packages (63,440 files) has
	// one of about 8 MB, so this leaves room to double while still bounding
	// what a peer can make us hold per torrent.
	MaxMetadataSize = 16 << 20
	// maxMetadataPieces is how many pieces MaxMetadataSize makes.
	maxMetadataPieces = MaxMetadataSize / MetadataPieceSize
	// maxMetadataDict bounds the bencoded dictionary before a data block:
	// the three integers take under 60 bytes; the rest allows for keys of
	// other clients' own.
	maxMetadataDict = 1 << 10
)

// ErrMetadataUnknownType marks a ut_metadata message whose msg_type this
// package does not know. BEP 9 says to ignore such messages rather than drop
// the peer.
var ErrMetadataUnknownType = errors.New("unknown ut_metadata msg_type")

// MetadataMessage is one ut_metadata message (BEP 9).
type MetadataMessage struct {
	// Type is the message's msg_type.
	Type MetadataMsgType
	// Piece is the index of the metadata piece (16 KiB each).
	Piece int
	// TotalSize is the info dictionary's size in bytes; data messages only.
	TotalSize int
	// Data is the piece's bytes, data messages only: MetadataPieceSize bytes
	// except for the last piece. After parsing, it aliases the payload.
	Data []byte
}

// metadataWire is the bencoded dictionary. Pointers tell absent keys from
// zeros.
type metadataWire struct {
	MsgType   *int64 `bencode:"msg_type"`
	Piece     *int64 `bencode:"piece"`
	TotalSize *int64 `bencode:"total_size,omitempty"`
}

// metadataPieces returns how many pieces an info dictionary of size bytes
// makes.
func metadataPieces(size int) int { return (size + MetadataPieceSize - 1) / MetadataPieceSize }

// metadataPieceLen returns the length of piece i of an info dictionary of
// size bytes.
func metadataPieceLen(size, i int) int {
	return min(MetadataPieceSize, size-i*MetadataPieceSize)
}

// check validates m as a message that may be sent or accepted.
func (m MetadataMessage) check() error {
	if m.Type != MetadataRequest && m.Type != MetadataData && m.Type != MetadataReject {
		return fmt.Errorf("%w %d", ErrMetadataUnknownType, int(m.Type))
	}
	if m.Piece < 0 || m.Piece >= maxMetadataPieces {
		return fmt.Errorf("piece %d out of range 0..%d (metadata is at most %d bytes)", m.Piece, maxMetadataPieces-1, MaxMetadataSize)
	}
	if m.Type != MetadataData {
		if len(m.Data) > 0 || m.TotalSize != 0 {
			return fmt.Errorf("a %s carries neither total_size nor data", m.Type)
		}
		return nil
	}
	if m.TotalSize <= 0 || m.TotalSize > MaxMetadataSize {
		return fmt.Errorf("total_size %d out of range 1..%d", m.TotalSize, MaxMetadataSize)
	}
	if n := metadataPieces(m.TotalSize); m.Piece >= n {
		return fmt.Errorf("piece %d of metadata of %d bytes, which has %d pieces", m.Piece, m.TotalSize, n)
	}
	if want := metadataPieceLen(m.TotalSize, m.Piece); len(m.Data) != want {
		return fmt.Errorf("piece %d of metadata of %d bytes is %d bytes, not %d", m.Piece, m.TotalSize, len(m.Data), want)
	}
	return nil
}

// MarshalMetadataMessage encodes m as a ut_metadata payload (the bytes after
// the extended message ID): the bencoded dictionary and, for data, the
// block. It refuses a message ParseMetadataMessage would refuse.
func MarshalMetadataMessage(m MetadataMessage) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("peerwire: ut_metadata: %w", err)
	}
	typ, piece := int64(m.Type), int64(m.Piece)
	w := metadataWire{MsgType: &typ, Piece: &piece}
	if m.Type == MetadataData {
		size := int64(m.TotalSize)
		w.TotalSize = &size
	}
	out, err := bencode.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("peerwire: ut_metadata: encode: %w", err)
	}
	return append(out, m.Data...), nil
}

// ParseMetadataMessage decodes a ut_metadata payload: one bencoded
// dictionary (keys out of order accepted, unknown keys ignored, at most 1 KiB)
// and, for a data message, the block after it. It fails when msg_type or
// piece is missing or not an integer, the piece is out of range, a data
// message's total_size is missing or above MaxMetadataSize, its block is not
// exactly the piece's length (MetadataPieceSize but for the last piece), or a
// request or reject has bytes after the dictionary. An unknown msg_type gives
// an error wrapping ErrMetadataUnknownType. Data aliases payload.
func ParseMetadataMessage(payload []byte) (MetadataMessage, error) {
	dec := bencode.NewDecoder(bytes.NewReader(payload))
	dec.AllowUnsorted()
	dec.SetMaxValueSize(maxMetadataDict)
	var w metadataWire
	if err := dec.Decode(&w); err != nil {
		return MetadataMessage{}, fmt.Errorf("peerwire: ut_metadata: %w", err)
	}
	if w.MsgType == nil || w.Piece == nil {
		return MetadataMessage{}, fmt.Errorf("peerwire: ut_metadata: msg_type and piece are required")
	}
	rest := payload[dec.InputOffset():]
	typ := *w.MsgType
	if typ < 0 || typ > int64(MetadataReject) {
		return MetadataMessage{}, fmt.Errorf("peerwire: ut_metadata: %w %d", ErrMetadataUnknownType, typ)
	}
	m := MetadataMessage{Type: MetadataMsgType(typ)}
	if p := *w.Piece; p < 0 || p >= maxMetadataPieces {
		return MetadataMessage{}, fmt.Errorf("peerwire: ut_metadata: piece %d out of range 0..%d", p, maxMetadataPieces-1)
	}
	m.Piece = int(*w.Piece)
	if m.Type == MetadataData {
		if w.TotalSize == nil {
			return MetadataMessage{}, fmt.Errorf("peerwire: ut_metadata: data message without total_size")
		}
		if s := *w.TotalSize; s <= 0 || s > MaxMetadataSize {
			return MetadataMessage{}, fmt.Errorf("peerwire: ut_metadata: total_size %d out of range 1..%d", s, MaxMetadataSize)
		}
		m.TotalSize = int(*w.TotalSize)
		if len(rest) > 0 {
			m.Data = rest
		}
	} else if len(rest) > 0 {
		return MetadataMessage{}, fmt.Errorf("peerwire: ut_metadata: %d bytes after a %s", len(rest), m.Type)
	}
	if err := m.check(); err != nil {
		return MetadataMessage{}, fmt.Errorf("peerwire: ut_metadata: %w", err)
	}
	return m, nil
}
