package peerwire

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzLimits are the limit sets the fuzzer picks from with its first byte.
var fuzzLimits = []Limits{
	testLimits,
	{NumPieces: 0, Fast: true, Extensions: true},
	{NumPieces: 9, MaxBlock: 64, MaxExtended: 100},
	{NumPieces: 65537, Fast: true, Extensions: true, MaxBlock: MaxBlockLimit},
}

// FuzzReadMessage feeds arbitrary bytes to the reader. It must never panic;
// every message it returns must re-encode to exactly the bytes it consumed;
// a message refused for its declared length must not have had any of its
// body read (so nothing was allocated for it).
func FuzzReadMessage(f *testing.F) {
	for _, m := range everyMessage() {
		wire, err := m.AppendTo(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{0}, wire...))
	}
	var stream []byte
	for _, m := range everyMessage()[:8] {
		stream, _ = m.AppendTo(stream)
	}
	f.Add(append([]byte{0}, stream...))
	f.Add(append([]byte{1}, frame(3, byte(Bitfield), 0xff, 0x80)...))
	f.Add(append([]byte{2}, frame(3, byte(Bitfield), 0xff, 0x80)...))
	f.Add(append([]byte{2}, frame(9+65, byte(Piece))...))
	f.Add(append([]byte{3}, frame(1<<31, byte(Piece))...))
	f.Add(append([]byte{0}, frame(4, 99, 1, 2, 3)...))
	// The extension handshake aria2 1.36 sends, as seen on loopback.
	f.Add(append([]byte{0}, frame(uint32(2+len(aria2Handshake)), append([]byte{byte(Extended), 0}, aria2Handshake...)...)...))

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		lim := fuzzLimits[int(data[0])%len(fuzzLimits)]
		input := data[1:]
		src := &countingReader{r: bytes.NewReader(input)}
		r := NewReader(src, "fuzz", lim, nil)
		norm := lim.normalized()
		for range 64 {
			before := src.n
			m, err := r.ReadMessage()
			if err != nil {
				if errors.Is(err, ErrTooLarge) && src.n-before > 5 {
					t.Fatalf("read %d bytes of a message refused for its length", src.n-before)
				}
				var me *MessageError
				if !errors.As(err, &me) {
					t.Fatalf("error %T is not a *MessageError: %v", err, err)
				}
				return
			}
			if len(m.Block) > norm.MaxBlock || len(m.Payload) > max(norm.MaxExtended, norm.maxBitfield()) {
				t.Fatalf("%s: %d-byte block, %d-byte payload past the limits", m.String(), len(m.Block), len(m.Payload))
			}
			consumed := input[before:src.n]
			if m.Unknown {
				continue
			}
			again, err := m.AppendTo(nil)
			if err != nil {
				t.Fatalf("re-encoding %s: %v", m.String(), err)
			}
			if !bytes.Equal(again, consumed) {
				t.Fatalf("%s re-encodes to %x, read from %x", m.String(), again, consumed)
			}
			m.Release()
		}
	})
}

// aria2Handshake is the payload of the extension handshake aria2 1.36.0 sent
// in TestAria2Seed (logged there).
var aria2Handshake = []byte("d1:md11:ut_metadatai9ee13:metadata_sizei174e1:pi34195e1:v12:aria2/1.36.0e")
