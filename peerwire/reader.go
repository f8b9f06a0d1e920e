package peerwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/debtorrent/debtorrent/internal/bitfield"
	"github.com/debtorrent/debtorrent/metainfo"
)

// Default and hard limits on what a peer may send.
const (
	// DefaultMaxBlock is the largest block a piece message or a request may
	// carry unless configured otherwise: 16 KiB, what every current client
	// requests (BEP 3).
	DefaultMaxBlock = 16 << 10
	// MaxBlockLimit is the largest MaxBlock that may be configured: 128 KiB,
	// the most any known client asks for.
	MaxBlockLimit = 128 << 10
	// DefaultMaxExtended is the largest extended-message payload accepted
	// unless configured otherwise: 1 MiB, room for a metadata piece (BEP 9),
	// PEX (BEP 11) and a Debian-swarm extension's lists.
	DefaultMaxExtended = 1 << 20
	// MaxExtendedLimit is the largest MaxExtended that may be configured.
	MaxExtendedLimit = 16 << 20
)

// Errors wrapped by the reader's errors, for errors.Is.
var (
	// ErrTooLarge: a frame's declared length is above what this connection
	// may receive. Nothing of its body was read.
	ErrTooLarge = errors.New("message too large")
	// ErrMalformed: a message whose length or fields break the protocol.
	ErrMalformed = errors.New("malformed message")
	// ErrNotNegotiated: a fast-extension or extended message from a peer
	// that did not agree to that extension in the handshake.
	ErrNotNegotiated = errors.New("extension not negotiated")
)

// Limits says what a peer may send on one connection.
type Limits struct {
	// NumPieces is the torrent's piece count. When set, a bitfield must be
	// exactly its size (spare bits clear) and every piece index must be below
	// it. 0 means not known yet (a magnet link before its metadata): then
	// bitfields are kept raw in Message.Payload, bounded by
	// metainfo.MaxPieces, and indexes are not checked.
	NumPieces int
	// MaxBlock bounds a piece message's data and the length of a request,
	// cancel or reject. 0 means DefaultMaxBlock; more than MaxBlockLimit is
	// lowered to it. Requests for more are refused, as BEP 3 advises.
	MaxBlock int
	// MaxExtended bounds an extended message's payload. 0 means
	// DefaultMaxExtended; more than MaxExtendedLimit is lowered to it.
	MaxExtended int
	// Fast allows the fast extension's messages (BEP 6): set it when both
	// handshakes announced it (Reserved.Common(...).Fast()).
	Fast bool
	// Extensions allows extended messages (BEP 10), likewise.
	Extensions bool
}

// normalized returns l with defaults filled in and values clamped.
func (l Limits) normalized() Limits {
	if l.MaxBlock <= 0 {
		l.MaxBlock = DefaultMaxBlock
	}
	l.MaxBlock = min(l.MaxBlock, MaxBlockLimit)
	if l.MaxExtended <= 0 {
		l.MaxExtended = DefaultMaxExtended
	}
	l.MaxExtended = min(l.MaxExtended, MaxExtendedLimit)
	l.NumPieces = min(max(l.NumPieces, 0), metainfo.MaxPieces)
	return l
}

// maxBitfield returns the largest bitfield payload these limits accept.
func (l Limits) maxBitfield() int {
	if l.NumPieces > 0 {
		return bitfield.ByteLen(l.NumPieces)
	}
	return bitfield.ByteLen(metainfo.MaxPieces)
}

// MaxFrame returns the largest declared length (after the 4-byte prefix) of
// any message these limits accept.
func (l Limits) MaxFrame() int {
	l = l.normalized()
	return max(9+l.MaxBlock, 1+l.maxBitfield(), 2+l.MaxExtended)
}

// Reader reads framed messages from a stream and checks them against Limits.
// It is not safe for concurrent use.
type Reader struct {
	r    io.Reader
	peer string
	lim  Limits
	max  int // lim.MaxFrame()
	pool *BlockPool
	hdr  [16]byte
}

// NewReader returns a Reader of r, which should be buffered (a bufio.Reader):
// the reader makes small reads. peer names the other side in errors; pool
// supplies piece buffers (a new pool when nil).
func NewReader(r io.Reader, peer string, lim Limits, pool *BlockPool) *Reader {
	lim = lim.normalized()
	if pool == nil {
		pool = NewBlockPool(lim.MaxBlock)
	}
	return &Reader{r: r, peer: peer, lim: lim, max: lim.MaxFrame(), pool: pool}
}

// SetLimits replaces the reader's limits, e.g. once a magnet link's metadata
// tells the piece count.
func (r *Reader) SetLimits(lim Limits) {
	r.lim = lim.normalized()
	r.max = r.lim.MaxFrame()
}

// ReadMessage reads the next message. A piece message's data is in a pooled
// Block owned by the caller until Message.Release. At a clean end of stream
// between messages the error wraps io.EOF. Errors are *MessageError.
func (r *Reader) ReadMessage() (Message, error) {
	var m Message
	if _, err := io.ReadFull(r.r, r.hdr[:4]); err != nil {
		return m, r.fail(nil, err)
	}
	n := binary.BigEndian.Uint32(r.hdr[:4])
	if n == 0 {
		m.KeepAlive = true
		return m, nil
	}
	if uint64(n) > uint64(r.max) {
		return m, r.fail(nil, fmt.Errorf("%w: declared length %d, limit %d", ErrTooLarge, n, r.max))
	}
	if _, err := io.ReadFull(r.r, r.hdr[:1]); err != nil {
		return m, r.fail(nil, noEOF(err))
	}
	m.ID = ID(r.hdr[0])
	body := int(n) - 1
	if err := r.checkLength(m.ID, body); err != nil {
		return m, r.fail(&m, err)
	}
	if err := r.readBody(&m, body); err != nil {
		return m, r.fail(&m, err)
	}
	return m, nil
}

// checkLength validates a body length for id before anything is read.
func (r *Reader) checkLength(id ID, body int) error {
	if id.fast() && !r.lim.Fast || id == Extended && !r.lim.Extensions {
		return ErrNotNegotiated
	}
	want := -1 // exact length, or -1 when ranged
	switch id {
	case Choke, Unchoke, Interested, NotInterested, HaveAll, HaveNone:
		want = 0
	case Have, Suggest, AllowedFast:
		want = 4
	case Request, Cancel, Reject:
		want = 12
	case Port:
		want = 2
	case Piece:
		if body < 8 || body-8 > r.lim.MaxBlock {
			return fmt.Errorf("%w: block of %d bytes, limit %d", tooLargeOr(body >= 8), body-8, r.lim.MaxBlock)
		}
	case Bitfield:
		if r.lim.NumPieces > 0 && body != r.lim.maxBitfield() {
			return fmt.Errorf("%w: %d bytes for %d pieces, want %d", tooLargeOr(body > r.lim.maxBitfield()), body, r.lim.NumPieces, r.lim.maxBitfield())
		}
		if body > r.lim.maxBitfield() {
			return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, body, r.lim.maxBitfield())
		}
	case Extended:
		if body < 1 || body-1 > r.lim.MaxExtended {
			return fmt.Errorf("%w: payload of %d bytes, limit %d", tooLargeOr(body >= 1), body-1, r.lim.MaxExtended)
		}
	default:
		if body > r.lim.MaxExtended {
			return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, body, r.lim.MaxExtended)
		}
	}
	if want >= 0 && body != want {
		return fmt.Errorf("%w: %d bytes after the ID, want %d", ErrMalformed, body, want)
	}
	return nil
}

func tooLargeOr(tooLarge bool) error {
	if tooLarge {
		return ErrTooLarge
	}
	return ErrMalformed
}

// readBody reads a body whose length checkLength accepted into m.
func (r *Reader) readBody(m *Message, body int) error {
	switch m.ID {
	case Choke, Unchoke, Interested, NotInterested, HaveAll, HaveNone:
		return nil
	case Have, Suggest, AllowedFast, Request, Cancel, Reject, Port:
		if _, err := io.ReadFull(r.r, r.hdr[:body]); err != nil {
			return noEOF(err)
		}
		return r.decodeFixed(m)
	case Piece:
		if _, err := io.ReadFull(r.r, r.hdr[:8]); err != nil {
			return noEOF(err)
		}
		m.Index = binary.BigEndian.Uint32(r.hdr[0:])
		m.Begin = binary.BigEndian.Uint32(r.hdr[4:])
		if err := r.checkIndex(m.Index); err != nil {
			return err
		}
		b := r.pool.Get(body - 8)
		if _, err := io.ReadFull(r.r, b.Bytes()); err != nil {
			b.Release()
			return noEOF(err)
		}
		m.Buffer, m.Block = b, b.Bytes()
		return nil
	case Bitfield:
		raw := make([]byte, body)
		if _, err := io.ReadFull(r.r, raw); err != nil {
			return noEOF(err)
		}
		if r.lim.NumPieces == 0 {
			m.Payload = raw
			return nil
		}
		bf, err := bitfield.FromBytes(raw, r.lim.NumPieces)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		m.Bitfield = bf
		return nil
	case Extended:
		if _, err := io.ReadFull(r.r, r.hdr[:1]); err != nil {
			return noEOF(err)
		}
		m.ExtendedID = r.hdr[0]
		m.Payload = make([]byte, body-1)
		if _, err := io.ReadFull(r.r, m.Payload); err != nil {
			return noEOF(err)
		}
		return nil
	}
	m.Unknown = true
	if _, err := io.CopyN(io.Discard, r.r, int64(body)); err != nil {
		return noEOF(err)
	}
	return nil
}

// decodeFixed decodes the fixed-size fields now in r.hdr.
func (r *Reader) decodeFixed(m *Message) error {
	if m.ID == Port {
		m.Port = binary.BigEndian.Uint16(r.hdr[:2])
		return nil
	}
	m.Index = binary.BigEndian.Uint32(r.hdr[0:])
	if err := r.checkIndex(m.Index); err != nil {
		return err
	}
	if m.ID == Request || m.ID == Cancel || m.ID == Reject {
		m.Begin = binary.BigEndian.Uint32(r.hdr[4:])
		m.Length = binary.BigEndian.Uint32(r.hdr[8:])
		if m.Length == 0 || m.Length > uint32(r.lim.MaxBlock) {
			return fmt.Errorf("%w: block length %d, want 1 to %d", ErrMalformed, m.Length, r.lim.MaxBlock)
		}
	}
	return nil
}

func (r *Reader) checkIndex(i uint32) error {
	if r.lim.NumPieces > 0 && uint64(i) >= uint64(r.lim.NumPieces) {
		return fmt.Errorf("%w: piece %d, torrent has %d", ErrMalformed, i, r.lim.NumPieces)
	}
	return nil
}

// noEOF turns an EOF inside a message into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *Reader) fail(m *Message, err error) error {
	e := &MessageError{Peer: r.peer, Op: "read", Err: err}
	if m != nil {
		e.Message, e.Known = m.ID, true
	}
	return e
}

// MessageError reports a failure to read or write a message, naming the peer
// and the message: "peerwire: 127.0.0.1:6881: read piece: unexpected EOF".
type MessageError struct {
	// Peer is the other side's address (may be empty).
	Peer string
	// Op is "read" or "write".
	Op string
	// Message is the message's ID, when Known.
	Message ID
	// Known is false when the failure came before the ID was read.
	Known bool
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *MessageError) Error() string {
	what := "message"
	if e.Known {
		what = e.Message.String()
	}
	if e.Peer == "" {
		return fmt.Sprintf("peerwire: %s %s: %v", e.Op, what, e.Err)
	}
	return fmt.Sprintf("peerwire: %s: %s %s: %v", e.Peer, e.Op, what, e.Err)
}

// Unwrap returns the cause.
func (e *MessageError) Unwrap() error { return e.Err }
