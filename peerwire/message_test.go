package peerwire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/debtorrent/debtorrent/internal/bitfield"
)

const testPieces = 100

var testLimits = Limits{NumPieces: testPieces, Fast: true, Extensions: true}

func testBitfield() *bitfield.Bitfield {
	bf := bitfield.New(testPieces)
	for _, i := range []int{0, 7, 8, 63, 64, 99} {
		bf.Set(i)
	}
	return bf
}

// everyMessage holds one message of every kind debtorrent sends.
func everyMessage() []Message {
	block := bytes.Repeat([]byte("0123456789abcdef"), DefaultMaxBlock/16)
	return []Message{
		{KeepAlive: true},
		{ID: Choke},
		{ID: Unchoke},
		{ID: Interested},
		{ID: NotInterested},
		{ID: Have, Index: 99},
		{ID: Bitfield, Bitfield: testBitfield()},
		{ID: Request, Index: 3, Begin: 16384, Length: 16384},
		{ID: Piece, Index: 3, Begin: 16384, Block: block},
		{ID: Piece, Index: 4, Begin: 0, Block: []byte{}},
		{ID: Cancel, Index: 3, Begin: 16384, Length: 16384},
		{ID: Port, Port: 6881},
		{ID: Suggest, Index: 5},
		{ID: HaveAll},
		{ID: HaveNone},
		{ID: Reject, Index: 7, Begin: 32768, Length: 1},
		{ID: AllowedFast, Index: 8},
		{ID: Extended, ExtendedID: 0, Payload: []byte("d1:md6:ut_pexi1eee")},
		{ID: Extended, ExtendedID: 3, Payload: []byte{}},
	}
}

// sameMessage compares what the wire carries of two messages.
func sameMessage(t *testing.T, want, got Message) {
	t.Helper()
	if got.KeepAlive != want.KeepAlive || got.ID != want.ID || got.Index != want.Index || got.Begin != want.Begin ||
		got.Length != want.Length || got.Port != want.Port || got.ExtendedID != want.ExtendedID || got.Unknown {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if !bytes.Equal(got.Block, want.Block) || !bytes.Equal(got.Payload, want.Payload) {
		t.Fatalf("%s: data differs: got %d/%d bytes, want %d/%d", want.String(), len(got.Block), len(got.Payload), len(want.Block), len(want.Payload))
	}
	if (got.Bitfield == nil) != (want.Bitfield == nil) || got.Bitfield != nil && !bytes.Equal(got.Bitfield.Bytes(), want.Bitfield.Bytes()) {
		t.Fatalf("%s: bitfield differs", want.String())
	}
}

func TestRoundTripEveryMessage(t *testing.T) {
	for _, m := range everyMessage() {
		t.Run(m.String(), func(t *testing.T) {
			wire, err := m.AppendTo(nil)
			if err != nil {
				t.Fatal(err)
			}
			var viaWriteTo bytes.Buffer
			if _, err := m.WriteTo(&viaWriteTo); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(wire, viaWriteTo.Bytes()) {
				t.Fatalf("AppendTo and WriteTo differ:\n%x\n%x", wire, viaWriteTo.Bytes())
			}
			// Through buffers too small for a header, and large ones.
			for _, size := range []int{16, 4096} {
				var out bytes.Buffer
				bw := bufio.NewWriterSize(&out, size)
				for range 3 {
					if _, err := m.WriteTo(bw); err != nil {
						t.Fatal(err)
					}
				}
				if err := bw.Flush(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out.Bytes(), bytes.Repeat(wire, 3)) {
					t.Fatalf("WriteTo through a %d-byte bufio.Writer differs", size)
				}
			}
			if n := binary.BigEndian.Uint32(wire); int(n) != len(wire)-4 {
				t.Fatalf("length prefix %d for %d bytes", n, len(wire)-4)
			}
			r := NewReader(bytes.NewReader(wire), "peer", testLimits, nil)
			got, err := r.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			sameMessage(t, m, got)
			got.Release()
			if _, err := r.ReadMessage(); !errors.Is(err, io.EOF) {
				t.Fatalf("after the message: %v, want EOF", err)
			}
		})
	}
}

// TestWireBytes pins the encoding of a few messages to BEP 3's layout.
func TestWireBytes(t *testing.T) {
	tests := []struct {
		m    Message
		want string
	}{
		{Message{KeepAlive: true}, "00000000"},
		{Message{ID: Interested}, "0000000102"},
		{Message{ID: Have, Index: 0x01020304}, "000000050401020304"},
		{Message{ID: Request, Index: 1, Begin: 2, Length: 3}, "0000000d06000000010000000200000003"},
		{Message{ID: Piece, Index: 1, Begin: 2, Block: []byte{0xaa}}, "0000000a070000000100000002aa"},
		{Message{ID: Port, Port: 0x1ae1}, "00000003091ae1"},
		{Message{ID: HaveAll}, "000000010e"},
		{Message{ID: Extended, ExtendedID: 2, Payload: []byte{1}}, "00000003140201"},
	}
	for _, tt := range tests {
		got, err := tt.m.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		if h := hexString(got); h != tt.want {
			t.Errorf("%s: %s, want %s", tt.m.String(), h, tt.want)
		}
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

// frame builds a raw frame: a length prefix (declared, which may lie) and a
// body.
func frame(declared uint32, body ...byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, declared), body...)
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestReaderRefuses(t *testing.T) {
	spare := testBitfield().Bytes()
	spare[len(spare)-1] |= 0x01 // piece 103 of 100
	noFast := testLimits
	noFast.Fast = false
	noExt := testLimits
	noExt.Extensions = false
	unknownCount := testLimits
	unknownCount.NumPieces = 0
	tests := []struct {
		name  string
		lim   Limits
		input []byte
		want  error
		says  string
	}{
		{"frame longer than anything", testLimits, frame(1 << 30), ErrTooLarge, "read message: message too large"},
		{"piece block over 16 KiB", testLimits, frame(9+DefaultMaxBlock+1, byte(Piece)), ErrTooLarge, "read piece"},
		{"piece without header", testLimits, frame(5, byte(Piece), 0, 0, 0, 0), ErrMalformed, "read piece"},
		{"bitfield of the wrong size", testLimits, frame(3, byte(Bitfield), 0, 0), ErrMalformed, "read bitfield"},
		{"bitfield with spare bits set", testLimits, frame(uint32(1+len(spare)), append([]byte{byte(Bitfield)}, spare...)...), ErrMalformed, "spare bits"},
		{"bitfield longer than the largest torrent", unknownCount, frame(1+(4<<20)/8+1, byte(Bitfield)), ErrTooLarge, "read bitfield"},
		{"have past the last piece", testLimits, frame(5, cat([]byte{byte(Have)}, u32(testPieces))...), ErrMalformed, "piece 100"},
		{"have too short", testLimits, frame(3, byte(Have), 0, 0), ErrMalformed, "read have"},
		{"choke with a body", testLimits, frame(2, byte(Choke), 0), ErrMalformed, "read choke"},
		{"request over 16 KiB", testLimits, frame(13, cat([]byte{byte(Request)}, u32(1), u32(0), u32(DefaultMaxBlock+1))...), ErrMalformed, "read request"},
		{"request of nothing", testLimits, frame(13, cat([]byte{byte(Request)}, u32(1), u32(0), u32(0))...), ErrMalformed, "read request"},
		{"cancel over 16 KiB", testLimits, frame(13, cat([]byte{byte(Cancel)}, u32(1), u32(0), u32(1<<20))...), ErrMalformed, "read cancel"},
		{"piece of a piece we do not have", testLimits, frame(9, cat([]byte{byte(Piece)}, u32(500), u32(0))...), ErrMalformed, "read piece"},
		{"port too long", testLimits, frame(4, byte(Port), 0, 0, 0), ErrMalformed, "read port"},
		{"extended over the limit", testLimits, frame(2+DefaultMaxExtended+1, byte(Extended)), ErrTooLarge, "read message"},
		{"extended without its ID", testLimits, frame(1, byte(Extended)), ErrMalformed, "read extended"},
		{"have all without the fast extension", noFast, frame(1, byte(HaveAll)), ErrNotNegotiated, "read have all"},
		{"reject without the fast extension", noFast, frame(13, byte(Reject)), ErrNotNegotiated, "read reject request"},
		{"extended without the extension protocol", noExt, frame(2, byte(Extended), 0), ErrNotNegotiated, "read extended"},
		{"truncated body", testLimits, frame(13, byte(Request), 0, 0), io.ErrUnexpectedEOF, "read request"},
		{"truncated prefix", testLimits, []byte{0, 0}, io.ErrUnexpectedEOF, "read message"},
		{"unknown message over the limit", testLimits, frame(2+DefaultMaxExtended, 99), ErrTooLarge, "read message 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &countingReader{r: bytes.NewReader(tt.input)}
			_, err := NewReader(src, "192.0.2.1:6881", tt.lim, nil).ReadMessage()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var me *MessageError
			if !errors.As(err, &me) {
				t.Fatalf("err %T is not a *MessageError", err)
			}
			if !strings.HasPrefix(err.Error(), "peerwire: 192.0.2.1:6881: read ") || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("err = %q, want it to name the peer and say %q", err, tt.says)
			}
			if errors.Is(tt.want, ErrTooLarge) && src.n > 5 {
				t.Fatalf("read %d bytes of a message refused for its length, want at most the prefix and ID", src.n)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReaderSkipsUnknownMessages(t *testing.T) {
	input := cat(frame(4, 99, 1, 2, 3), frame(1, byte(Unchoke)))
	r := NewReader(bytes.NewReader(input), "", testLimits, nil)
	m, err := r.ReadMessage()
	if err != nil || !m.Unknown || m.ID != 99 {
		t.Fatalf("got %+v, %v; want unknown message 99", m, err)
	}
	if m, err = r.ReadMessage(); err != nil || m.ID != Unchoke {
		t.Fatalf("after the unknown message: %+v, %v; want unchoke", m, err)
	}
	if _, err := m.AppendTo(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Message{ID: 99, Unknown: true}).AppendTo(nil); err == nil {
		t.Fatal("encoding an unknown message succeeded")
	}
}

func TestReaderRawBitfieldWhenPieceCountUnknown(t *testing.T) {
	lim := testLimits
	lim.NumPieces = 0
	raw := []byte{0xff, 0x01}
	m, err := NewReader(bytes.NewReader(frame(3, byte(Bitfield), 0xff, 0x01)), "", lim, nil).ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if m.Bitfield != nil || !bytes.Equal(m.Payload, raw) {
		t.Fatalf("got bitfield %v payload %x, want raw %x", m.Bitfield, m.Payload, raw)
	}
	// Once the count is known the engine validates it the same way.
	if _, err := bitfield.FromBytes(m.Payload, 9); err == nil {
		t.Fatal("spare bits accepted")
	}
}

func TestReaderLargerBlocks(t *testing.T) {
	lim := testLimits
	lim.MaxBlock = 128 << 10
	block := make([]byte, 128<<10)
	wire, _ := (&Message{ID: Piece, Index: 1, Block: block}).AppendTo(nil)
	m, err := NewReader(bufio.NewReader(bytes.NewReader(wire)), "", lim, nil).ReadMessage()
	if err != nil || len(m.Block) != len(block) {
		t.Fatalf("128 KiB block with MaxBlock 128 KiB: %d bytes, %v", len(m.Block), err)
	}
	lim.MaxBlock = 1 << 30 // clamped to MaxBlockLimit
	if got := lim.normalized().MaxBlock; got != MaxBlockLimit {
		t.Fatalf("MaxBlock clamped to %d, want %d", got, MaxBlockLimit)
	}
}

func TestReleaseRecyclesBlocks(t *testing.T) {
	pool := NewBlockPool(DefaultMaxBlock)
	wire, _ := (&Message{ID: Piece, Index: 1, Block: []byte("abc")}).AppendTo(nil)
	r := NewReader(bytes.NewReader(bytes.Repeat(wire, 2)), "", testLimits, pool)
	m1, err := r.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := r.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if &m1.Block[0] == &m2.Block[0] {
		t.Fatal("the reader reused a buffer the caller had not released")
	}
	if string(m1.Block) != "abc" || string(m2.Block) != "abc" {
		t.Fatalf("blocks %q %q", m1.Block, m2.Block)
	}
	buf := m1.Buffer
	m1.Release()
	m1.Release() // harmless
	if m1.Block != nil || m1.Buffer != nil {
		t.Fatal("Release left the block in the message")
	}
	if !buf.released {
		t.Fatal("the buffer was not handed back")
	}
	if got := pool.Get(10); got.released || len(got.Bytes()) != 10 {
		t.Fatalf("Get returned a released block or %d bytes", len(got.Bytes()))
	}
}

func TestMessageString(t *testing.T) {
	for _, m := range everyMessage() {
		if m.String() == "" || strings.Contains(m.String(), "message ") {
			t.Errorf("%+v: String() = %q", m.ID, m.String())
		}
	}
	if got := ID(99).String(); got != "message 99" {
		t.Errorf("ID(99) = %q", got)
	}
}

func TestBitfieldOfManyPieces(t *testing.T) {
	for _, n := range []int{1, 8, 65536, 65537, 1 << 20} {
		bf := bitfield.New(n)
		for i := 0; i < n; i += 7 {
			bf.Set(i)
		}
		bf.Set(n - 1)
		wire, err := (&Message{ID: Bitfield, Bitfield: bf}).AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewReader(bytes.NewReader(wire), "", Limits{NumPieces: n}, nil).ReadMessage()
		if err != nil {
			t.Fatalf("%d pieces: %v", n, err)
		}
		if m.Bitfield.Len() != n || m.Bitfield.Count() != bf.Count() || !m.Bitfield.Has(n-1) {
			t.Fatalf("%d pieces: got %d of %d set", n, m.Bitfield.Count(), m.Bitfield.Len())
		}
		// The same bytes for one piece fewer leave a spare bit set (or are
		// the wrong length): refused either way.
		if _, err := NewReader(bytes.NewReader(wire), "", Limits{NumPieces: n - 1}, nil).ReadMessage(); n > 1 && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%d pieces read as %d: %v", n, n-1, err)
		}
	}
}
