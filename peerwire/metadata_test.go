package peerwire

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/debtorrent/debtorrent/metainfo"
)

func TestMetadataMessageRoundTrip(t *testing.T) {
	full := bytes.Repeat([]byte{'x'}, MetadataPieceSize)
	tests := []struct {
		name string
		m    MetadataMessage
		wire string // the dictionary, when checked
	}{
		{"request", MetadataMessage{Type: MetadataRequest, Piece: 0}, "d8:msg_typei0e5:piecei0ee"},
		{"reject", MetadataMessage{Type: MetadataReject, Piece: 3}, "d8:msg_typei2e5:piecei3ee"},
		{"last request", MetadataMessage{Type: MetadataRequest, Piece: MaxMetadataSize/MetadataPieceSize - 1}, ""},
		{"short only piece", MetadataMessage{Type: MetadataData, Piece: 0, TotalSize: 5, Data: []byte("d1:ae")}, "d8:msg_typei1e5:piecei0e10:total_sizei5ee"},
		{"full piece", MetadataMessage{Type: MetadataData, Piece: 1, TotalSize: 3*MetadataPieceSize + 1, Data: full}, ""},
		{"last short piece", MetadataMessage{Type: MetadataData, Piece: 3, TotalSize: 3*MetadataPieceSize + 1, Data: []byte{7}}, ""},
		{"largest", MetadataMessage{Type: MetadataData, Piece: MaxMetadataSize/MetadataPieceSize - 1, TotalSize: MaxMetadataSize, Data: full}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := MarshalMetadataMessage(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wire != "" && string(b[:len(b)-len(tt.m.Data)]) != tt.wire {
				t.Fatalf("dictionary %q, want %q", b[:len(b)-len(tt.m.Data)], tt.wire)
			}
			got, err := ParseMetadataMessage(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.m) {
				t.Fatalf("got %+v, want %+v", got, tt.m)
			}
		})
	}
}

func TestParseMetadataMessageLenient(t *testing.T) {
	got, err := ParseMetadataMessage([]byte("d5:piecei0e10:total_sizei2e8:msg_typei1e3:zzz3:abcexy"))
	if err != nil {
		t.Fatal(err)
	}
	want := MetadataMessage{Type: MetadataData, TotalSize: 2, Data: []byte("xy")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// A reject that also gives total_size (seen from some clients) is a reject.
	got, err = ParseMetadataMessage([]byte("d8:msg_typei2e5:piecei1e10:total_sizei99999ee"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (MetadataMessage{Type: MetadataReject, Piece: 1}); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestParseMetadataMessageRefuses(t *testing.T) {
	block := strings.Repeat("x", MetadataPieceSize)
	tests := []struct {
		name, payload, want string
	}{
		{"empty", "", "EOF"},
		{"not a dict", "i1e", "int"},
		{"no msg_type", "d5:piecei0ee", "required"},
		{"no piece", "d8:msg_typei0ee", "required"},
		{"msg_type a string", "d8:msg_type1:05:piecei0ee", "msg_type"},
		{"piece a list", "d8:msg_typei0e5:pieceli0eee", "piece"},
		{"negative piece", "d8:msg_typei0e5:piecei-1ee", "out of range"},
		{"piece beyond 16 MiB", "d8:msg_typei0e5:piecei1024ee", "out of range"},
		{"huge piece", "d8:msg_typei0e5:piecei99999999999999999999ee", "piece"},
		{"negative msg_type", "d8:msg_typei-1e5:piecei0ee", "unknown"},
		{"request with trailing bytes", "d8:msg_typei0e5:piecei0eex", "after a request"},
		{"reject with trailing bytes", "d8:msg_typei2e5:piecei0eexyz", "after a reject"},
		{"data without total_size", "d8:msg_typei1e5:piecei0eexy", "total_size"},
		{"data with zero total_size", "d8:msg_typei1e5:piecei0e10:total_sizei0ee", "total_size 0"},
		{"data above 16 MiB", fmt.Sprintf("d8:msg_typei1e5:piecei0e10:total_sizei%dee%s", MaxMetadataSize+1, block), "out of range"},
		{"piece beyond total_size", "d8:msg_typei1e5:piecei1e10:total_sizei5eexxxxx", "has 1 pieces"},
		{"short last block", "d8:msg_typei1e5:piecei0e10:total_sizei5eexxxx", "not 5"},
		{"long last block", "d8:msg_typei1e5:piecei0e10:total_sizei5eexxxxxx", "not 5"},
		{"short full block", "d8:msg_typei1e5:piecei0e10:total_sizei16385ee" + block[1:], "not 16384"},
		{"long full block", "d8:msg_typei1e5:piecei0e10:total_sizei16385ee" + block + "x", "not 16384"},
		{"data with no block", "d8:msg_typei1e5:piecei0e10:total_sizei5ee", "0 bytes"},
		{"oversized dictionary", "d8:msg_typei0e5:piecei0e5:zzzzz2000:" + strings.Repeat("z", 2000) + "e", "limit"},
		{"unsorted duplicate", "d5:piecei0e8:msg_typei0e5:piecei1ee", "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMetadataMessage([]byte(tt.payload))
			if err == nil {
				t.Fatalf("ParseMetadataMessage(%.80q) succeeded", tt.payload)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestParseMetadataMessageUnknownType(t *testing.T) {
	_, err := ParseMetadataMessage([]byte("d8:msg_typei3e5:piecei0ee"))
	if !errors.Is(err, ErrMetadataUnknownType) {
		t.Fatalf("error %v, want ErrMetadataUnknownType", err)
	}
}

// TestParseMetadataMessageTruncated cuts messages at every offset: no prefix
// of a data message is valid, nor any of a request's but the whole.
func TestParseMetadataMessageTruncated(t *testing.T) {
	for _, m := range []MetadataMessage{
		{Type: MetadataRequest, Piece: 12},
		{Type: MetadataData, Piece: 1, TotalSize: MetadataPieceSize + 300, Data: bytes.Repeat([]byte{1}, 300)},
	} {
		b, err := MarshalMetadataMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(b) {
			if _, err := ParseMetadataMessage(b[:i]); err == nil {
				t.Fatalf("%s: the first %d of %d bytes parsed", m.Type, i, len(b))
			}
		}
	}
}

func TestMarshalMetadataMessageRefuses(t *testing.T) {
	tests := []struct {
		name string
		m    MetadataMessage
		want string
	}{
		{"unknown type", MetadataMessage{Type: 7}, "unknown"},
		{"negative piece", MetadataMessage{Piece: -1}, "out of range"},
		{"request with data", MetadataMessage{Data: []byte{1}}, "neither"},
		{"reject with size", MetadataMessage{Type: MetadataReject, TotalSize: 1}, "neither"},
		{"data too big", MetadataMessage{Type: MetadataData, TotalSize: MaxMetadataSize + 1}, "total_size"},
		{"data wrong length", MetadataMessage{Type: MetadataData, TotalSize: 3, Data: []byte{1}}, "not 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := MarshalMetadataMessage(tt.m); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// metadataPiecesOf splits info into data messages.
func metadataPiecesOf(info []byte) []MetadataMessage {
	var out []MetadataMessage
	for i := 0; i*MetadataPieceSize < len(info); i++ {
		end := min(len(info), (i+1)*MetadataPieceSize)
		out = append(out, MetadataMessage{Type: MetadataData, Piece: i, TotalSize: len(info), Data: info[i*MetadataPieceSize : end]})
	}
	return out
}

func TestMetadataAssembler(t *testing.T) {
	info := make([]byte, 2*MetadataPieceSize+100)
	for i := range info {
		info[i] = byte(i * 7)
	}
	ih := metainfo.InfoHash(sha1.Sum(info))
	a, err := NewMetadataAssembler(ih, len(info))
	if err != nil {
		t.Fatal(err)
	}
	if a.NumPieces() != 3 || a.Size() != len(info) {
		t.Fatalf("NumPieces %d Size %d, want 3 and %d", a.NumPieces(), a.Size(), len(info))
	}
	msgs := metadataPiecesOf(info)

	// Refused: wrong type, size, piece, length.
	for _, m := range []MetadataMessage{
		{Type: MetadataRequest},
		{Type: MetadataData, Piece: 0, TotalSize: len(info) + 1, Data: msgs[0].Data},
		{Type: MetadataData, Piece: 3, TotalSize: len(info), Data: msgs[2].Data},
		{Type: MetadataData, Piece: -1, TotalSize: len(info), Data: msgs[2].Data},
		{Type: MetadataData, Piece: 2, TotalSize: len(info), Data: msgs[0].Data},
	} {
		if got, err := a.Add(m); err == nil || got != nil {
			t.Fatalf("Add(piece %d, %d bytes, size %d) = %v, %v; want an error", m.Piece, len(m.Data), m.TotalSize, got != nil, err)
		}
	}
	for _, i := range []int{2, 0, 2} {
		if got, err := a.Add(msgs[i]); err != nil || got != nil {
			t.Fatalf("Add(piece %d) = %v, %v before completion", i, got != nil, err)
		}
	}
	if got := a.Missing(); !reflect.DeepEqual(got, []int{1}) {
		t.Fatalf("Missing() = %v, want [1]", got)
	}
	got, err := a.Add(msgs[1])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, info) {
		t.Fatal("assembled bytes differ from the info dictionary")
	}
}

func TestMetadataAssemblerHashMismatch(t *testing.T) {
	info := bytes.Repeat([]byte{'i'}, MetadataPieceSize+1)
	a, err := NewMetadataAssembler(metainfo.InfoHash(sha1.Sum(info)), len(info))
	if err != nil {
		t.Fatal(err)
	}
	msgs := metadataPiecesOf(info)
	bad := msgs[1]
	bad.Data = []byte{'j'}
	if _, err := a.Add(msgs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Add(bad); !errors.Is(err, ErrMetadataHash) {
		t.Fatalf("Add of a wrong piece: %v, want ErrMetadataHash", err)
	}
	if got := a.Missing(); !reflect.DeepEqual(got, []int{0, 1}) {
		t.Fatalf("after a mismatch Missing() = %v, want every piece", got)
	}
	for _, m := range msgs {
		got, err := a.Add(m)
		if err != nil {
			t.Fatal(err)
		}
		if m.Piece == 1 && !bytes.Equal(got, info) {
			t.Fatal("second assembly did not return the info dictionary")
		}
	}
}

func TestNewMetadataAssemblerRefuses(t *testing.T) {
	for _, size := range []int{0, -1, MaxMetadataSize + 1} {
		if _, err := NewMetadataAssembler(metainfo.InfoHash{}, size); err == nil {
			t.Errorf("NewMetadataAssembler(%d) succeeded", size)
		}
	}
}

// FuzzParseMetadataMessage checks that ParseMetadataMessage never panics and
// that whatever it accepts obeys its limits and re-encodes to a payload that
// parses to the same message.
func FuzzParseMetadataMessage(f *testing.F) {
	for _, m := range []MetadataMessage{
		{Type: MetadataRequest, Piece: 1},
		{Type: MetadataReject, Piece: 2},
		{Type: MetadataData, Piece: 0, TotalSize: 5, Data: []byte("d1:ae")},
		{Type: MetadataData, Piece: 1, TotalSize: MetadataPieceSize + 3, Data: []byte("abc")},
	} {
		b, err := MarshalMetadataMessage(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("d5:piecei0e10:total_sizei2e8:msg_typei1e3:zzz3:abcexy"))
	f.Add([]byte("d8:msg_typei3e5:piecei0ee"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetadataMessage(data)
		if err != nil {
			return
		}
		if m.Piece < 0 || m.TotalSize < 0 || m.TotalSize > MaxMetadataSize || len(m.Data) > MetadataPieceSize {
			t.Fatalf("accepted %+v", m)
		}
		b, err := MarshalMetadataMessage(m)
		if err != nil {
			t.Fatalf("MarshalMetadataMessage of a parsed message: %v", err)
		}
		again, err := ParseMetadataMessage(b)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b, err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip: %+v became %+v", m, again)
		}
	})
}
