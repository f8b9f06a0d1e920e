package peerwire

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/debtorrent/debtorrent/internal/bitfield"
)

// ID is a message's type, the byte after its length prefix.
type ID uint8

// The message IDs of BEP 3, BEP 5 (Port), BEP 6 (the fast extension) and
// BEP 10 (Extended).
const (
	Choke         ID = 0
	Unchoke       ID = 1
	Interested    ID = 2
	NotInterested ID = 3
	Have          ID = 4
	Bitfield      ID = 5
	Request       ID = 6
	Piece         ID = 7
	Cancel        ID = 8
	Port          ID = 9
	Suggest       ID = 13
	HaveAll       ID = 14
	HaveNone      ID = 15
	Reject        ID = 16
	AllowedFast   ID = 17
	Extended      ID = 20
)

var idNames = map[ID]string{
	Choke: "choke", Unchoke: "unchoke", Interested: "interested", NotInterested: "not interested",
	Have: "have", Bitfield: "bitfield", Request: "request", Piece: "piece", Cancel: "cancel",
	Port: "port", Suggest: "suggest", HaveAll: "have all", HaveNone: "have none",
	Reject: "reject request", AllowedFast: "allowed fast", Extended: "extended",
}

// String returns the message's name as the BEPs spell it.
func (id ID) String() string {
	if n, ok := idNames[id]; ok {
		return n
	}
	return fmt.Sprintf("message %d", uint8(id))
}

// fast reports whether id belongs to the fast extension, which a peer may
// only send when both handshakes announced it.
func (id ID) fast() bool { return id >= Suggest && id <= AllowedFast }

// Message is one peer-protocol message. Which fields mean something depends
// on ID:
//
//   - Have, Suggest, AllowedFast: Index.
//   - Request, Cancel, Reject: Index, Begin, Length.
//   - Piece: Index, Begin, Block (and Buffer when the data is pooled).
//   - Bitfield: Bitfield, or Payload (the raw wire bytes) when the receiving
//     reader does not know the torrent's piece count. A sender sets either.
//   - Port: Port.
//   - Extended: ExtendedID and Payload (BEP 10; ExtendedID 0 is the extension
//     handshake, see ExtendedHandshake).
//
// A keep-alive has KeepAlive set and nothing else. Messages with an ID this
// package does not know are read with their body discarded (Unknown is set);
// they cannot be sent.
type Message struct {
	// KeepAlive marks the empty keep-alive message; nothing else is set.
	KeepAlive bool
	// Unknown marks a received message whose ID this package does not know.
	Unknown bool
	// ID is the message's type.
	ID ID

	// Index is a piece index.
	Index uint32
	// Begin is a byte offset within the piece.
	Begin uint32
	// Length is the size of a requested, cancelled or rejected block.
	Length uint32

	// Block is a piece message's data.
	Block []byte
	// Buffer is the pooled buffer holding Block, if any: see Release.
	Buffer *Block

	// Bitfield is a bitfield message's pieces, when the piece count is known.
	Bitfield *bitfield.Bitfield
	// Port is a port message's DHT port.
	Port uint16

	// ExtendedID is an extended message's ID (0: the extension handshake).
	ExtendedID uint8
	// Payload is an extended message's payload, or a bitfield's raw bytes.
	Payload []byte
}

// Release hands a received piece's buffer back to its pool and clears Block.
// Call it once the data has been written elsewhere; Block must not be used
// afterwards. It does nothing for other messages.
func (m *Message) Release() {
	if m.Buffer != nil {
		m.Buffer.Release()
	}
	m.Buffer = nil
	m.Block = nil
}

// String describes the message for logs.
func (m *Message) String() string {
	switch {
	case m.KeepAlive:
		return "keep-alive"
	case m.Unknown:
		return m.ID.String() + " (unknown)"
	}
	switch m.ID {
	case Have, Suggest, AllowedFast:
		return fmt.Sprintf("%s %d", m.ID, m.Index)
	case Request, Cancel, Reject:
		return fmt.Sprintf("%s %d+%d:%d", m.ID, m.Index, m.Begin, m.Length)
	case Piece:
		return fmt.Sprintf("%s %d+%d:%d", m.ID, m.Index, m.Begin, len(m.Block))
	case Port:
		return fmt.Sprintf("%s %d", m.ID, m.Port)
	case Extended:
		return fmt.Sprintf("%s %d (%d bytes)", m.ID, m.ExtendedID, len(m.Payload))
	}
	return m.ID.String()
}

// bodyLen returns the length of m's wire form after the 4-byte prefix.
func (m *Message) bodyLen() (int, error) {
	if m.KeepAlive {
		return 0, nil
	}
	if m.Unknown {
		return 0, fmt.Errorf("cannot send unknown message %d", m.ID)
	}
	switch m.ID {
	case Choke, Unchoke, Interested, NotInterested, HaveAll, HaveNone:
		return 1, nil
	case Have, Suggest, AllowedFast:
		return 5, nil
	case Request, Cancel, Reject:
		return 13, nil
	case Piece:
		return 9 + len(m.Block), nil
	case Bitfield:
		if m.Bitfield != nil {
			return 1 + bitfield.ByteLen(m.Bitfield.Len()), nil
		}
		return 1 + len(m.Payload), nil
	case Port:
		return 3, nil
	case Extended:
		return 2 + len(m.Payload), nil
	}
	return 0, fmt.Errorf("cannot send unknown message %d", m.ID)
}

// maxHeader is the longest header: length, ID and three integers.
const maxHeader = 4 + 1 + 12

// appendHeader appends to b the part of m's wire form that precedes its
// variable data (block, bitfield or extended payload): at most maxHeader
// bytes.
func (m *Message) appendHeader(b []byte) ([]byte, error) {
	n, err := m.bodyLen()
	if err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	if m.KeepAlive {
		return b, nil
	}
	b = append(b, byte(m.ID))
	switch m.ID {
	case Have, Suggest, AllowedFast:
		b = binary.BigEndian.AppendUint32(b, m.Index)
	case Request, Cancel, Reject:
		b = binary.BigEndian.AppendUint32(b, m.Index)
		b = binary.BigEndian.AppendUint32(b, m.Begin)
		b = binary.BigEndian.AppendUint32(b, m.Length)
	case Piece:
		b = binary.BigEndian.AppendUint32(b, m.Index)
		b = binary.BigEndian.AppendUint32(b, m.Begin)
	case Port:
		b = binary.BigEndian.AppendUint16(b, m.Port)
	case Extended:
		b = append(b, m.ExtendedID)
	}
	return b, nil
}

// data returns the variable part of m's wire form, after the header.
func (m *Message) data() []byte {
	switch m.ID {
	case Piece:
		return m.Block
	case Bitfield:
		if m.Bitfield != nil {
			return m.Bitfield.Bytes()
		}
		return m.Payload
	case Extended:
		return m.Payload
	}
	return nil
}

// AppendTo appends m's wire form, length prefix included, to b.
func (m *Message) AppendTo(b []byte) ([]byte, error) {
	b, err := m.appendHeader(b)
	if err != nil {
		return b, fmt.Errorf("peerwire: encode %s: %w", m.ID, err)
	}
	if !m.KeepAlive {
		b = append(b, m.data()...)
	}
	return b, nil
}

// WriteTo writes m's wire form to w: the header, then the data without
// copying it. Wrap w in a bufio.Writer to batch messages.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	if bw, ok := w.(*bufio.Writer); ok {
		return m.writeBuffered(bw)
	}
	h, err := m.appendHeader(make([]byte, 0, maxHeader))
	if err != nil {
		return 0, fmt.Errorf("peerwire: encode %s: %w", m.ID, err)
	}
	return m.writeParts(w, h)
}

// writeBuffered writes m into bw, building the header inside bw's own buffer
// so that nothing is allocated.
func (m *Message) writeBuffered(bw *bufio.Writer) (int64, error) {
	if bw.Available() < maxHeader {
		if err := bw.Flush(); err != nil {
			return 0, err
		}
	}
	h, err := m.appendHeader(bw.AvailableBuffer())
	if err != nil {
		return 0, fmt.Errorf("peerwire: encode %s: %w", m.ID, err)
	}
	return m.writeParts(bw, h)
}

func (m *Message) writeParts(w io.Writer, header []byte) (int64, error) {
	n, err := w.Write(header)
	if err != nil || m.KeepAlive {
		return int64(n), err
	}
	d := m.data()
	if len(d) == 0 {
		return int64(n), nil
	}
	k, err := w.Write(d)
	return int64(n + k), err
}
