package bencode

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

type inner struct {
	A int64  `bencode:"a"`
	B string `bencode:"b,omitempty"`
}

type allKinds struct {
	Int     int               `bencode:"int"`
	Int8    int8              `bencode:"int8"`
	Int16   int16             `bencode:"int16"`
	Int32   int32             `bencode:"int32"`
	Int64   int64             `bencode:"int64"`
	Uint    uint              `bencode:"uint"`
	Uint8   uint8             `bencode:"uint8"`
	Uint16  uint16            `bencode:"uint16"`
	Uint32  uint32            `bencode:"uint32"`
	Uint64  uint64            `bencode:"uint64"`
	Bool    bool              `bencode:"bool"`
	Str     string            `bencode:"str"`
	Bytes   []byte            `bencode:"bytes"`
	Hash    [20]byte          `bencode:"hash"`
	List    []string          `bencode:"list"`
	Array   [2]int            `bencode:"array"`
	Map     map[string]int    `bencode:"map"`
	Ptr     *inner            `bencode:"ptr"`
	Any     any               `bencode:"any"`
	Nested  []inner           `bencode:"nested"`
	Raw     RawMessage        `bencode:"raw"`
	MapList map[string][]byte `bencode:"maplist"`
	Skipped string            `bencode:"-"`
	Default int
	private int
}

func TestRoundTripAllKinds(t *testing.T) {
	in := allKinds{
		Int: -1, Int8: math.MinInt8, Int16: math.MaxInt16, Int32: math.MinInt32, Int64: math.MinInt64,
		Uint: 7, Uint8: math.MaxUint8, Uint16: math.MaxUint16, Uint32: math.MaxUint32, Uint64: math.MaxUint64,
		Bool: true, Str: "héllo", Bytes: []byte{0, 1, 2, 255}, Hash: [20]byte{1, 2, 3, 19: 20},
		List: []string{"x", "", "z"}, Array: [2]int{4, -5}, Map: map[string]int{"b": 2, "a": 1, "": 0},
		Ptr: &inner{A: 3, B: "b"}, Any: map[string]any{"k": []any{int64(1), "two"}},
		Nested: []inner{{A: 1}, {A: 2, B: "x"}}, Raw: RawMessage("d1:xi1ee"),
		MapList: map[string][]byte{"k": []byte("v")}, Skipped: "not encoded", Default: 9,
	}
	data, err := Marshal(in)
	noErr(t, err)
	if strings.Contains(string(data), "not encoded") {
		t.Error("field tagged - was encoded")
	}
	contains(t, string(data), "7:Defaulti9e")

	var out allKinds
	noErr(t, Unmarshal(data, &out))
	in.Skipped = ""
	equal(t, in, out)

	again, err := Marshal(out)
	noErr(t, err)
	equal(t, string(data), string(again), "re-encoding must be byte-exact")
}

func TestMarshalCanonical(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"zero", 0, "i0e"},
		{"negative", -42, "i-42e"},
		{"min int64", int64(math.MinInt64), "i-9223372036854775808e"},
		{"max uint64", uint64(math.MaxUint64), "i18446744073709551615e"},
		{"true", true, "i1e"},
		{"false", false, "i0e"},
		{"empty string", "", "0:"},
		{"string", "spam", "4:spam"},
		{"bytes", []byte("ab"), "2:ab"},
		{"byte array", [3]byte{'a', 'b', 'c'}, "3:abc"},
		{"nil slice", []int(nil), "le"},
		{"list", []any{int64(1), "a", []any{}}, "li1e1:alee"},
		{"map sorted by raw bytes", map[string]int{"b": 2, "a": 1, "B": 0, "ab": 3}, "d1:Bi0e1:ai1e2:abi3e1:bi2ee"},
		{"nil map", map[string]int(nil), "de"},
		{"map skips nil values", map[string]*int{"a": nil}, "de"},
		{"struct sorted by key", struct {
			Z int `bencode:"z"`
			A int `bencode:"a"`
		}{1, 2}, "d1:ai2e1:zi1ee"},
		{"omitempty", struct {
			A int               `bencode:"a,omitempty"`
			B string            `bencode:"b,omitempty"`
			C []int             `bencode:"c,omitempty"`
			D map[string]int    `bencode:"d,omitempty"`
			E *int              `bencode:"e,omitempty"`
			F bool              `bencode:"f,omitempty"`
			G any               `bencode:"g,omitempty"`
			H RawMessage        `bencode:"h,omitempty"`
			I uint              `bencode:"i,omitempty"`
			J [0]int            `bencode:"j,omitempty"`
			K []string          `bencode:"k"`
			L map[string]string `bencode:"l"`
		}{}, "d1:kle1:ldee"},
		{"nil pointer field omitted", struct {
			P *int `bencode:"p"`
		}{}, "de"},
		{"pointer", ptr(5), "i5e"},
		{"raw", RawMessage("d1:bi1e1:ai2ee"), "d1:bi1e1:ai2ee"},
		{"marshaler", upper("abc"), "3:ABC"},
		{"pointer marshaler addressable", &struct{ V ptrMarshaler }{}, "d1:V3:ptre"},
		{"tag dash comma", struct {
			D int `bencode:"-,"`
		}{1}, "d1:-i1ee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			noErr(t, err)
			equal(t, tt.want, string(got))
		})
	}
}

func ptr[T any](v T) *T { return &v }

// upper is a Marshaler with a value receiver.
type upper string

func (u upper) MarshalBencode() ([]byte, error) {
	s := bytes.ToUpper([]byte(u))
	return fmt.Appendf(nil, "%d:%s", len(s), s), nil
}

// ptrMarshaler is a Marshaler with a pointer receiver.
type ptrMarshaler struct{}

func (*ptrMarshaler) MarshalBencode() ([]byte, error) { return []byte("3:ptr"), nil }

func TestMarshalErrors(t *testing.T) {
	type dup struct {
		A int `bencode:"x"`
		B int `bencode:"x"`
	}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	tests := []struct {
		name   string
		in     any
		target any
	}{
		{"float", 1.5, new(*UnsupportedTypeError)},
		{"chan", make(chan int), new(*UnsupportedTypeError)},
		{"int keys", map[int]int{1: 1}, new(*UnsupportedTypeError)},
		{"nil", nil, new(*UnsupportedValueError)},
		{"nil pointer in list", []*int{nil}, new(*UnsupportedValueError)},
		{"duplicate keys", dup{}, new(*UnsupportedValueError)},
		{"cycle", cyclic, new(*UnsupportedValueError)},
		{"empty raw", RawMessage(nil), new(*MarshalerError)},
		{"invalid raw", RawMessage("i1"), new(*MarshalerError)},
		{"raw with trailing data", RawMessage("i1ei2e"), new(*MarshalerError)},
		{"failing marshaler", failing{}, new(*MarshalerError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Marshal(tt.in)
			errAs(t, err, tt.target)
			contains(t, err.Error(), "bencode: ")
		})
	}
}

type failing struct{}

func (failing) MarshalBencode() ([]byte, error) { return nil, errors.New("boom") }

func TestUnmarshalInto(t *testing.T) {
	var i int
	noErr(t, Unmarshal([]byte("i-7e"), &i))
	equal(t, -7, i)

	var a any
	noErr(t, Unmarshal([]byte("d1:ali1e1:xe1:bde1:ci-3ee"), &a))
	equal(t, map[string]any{"a": []any{int64(1), "x"}, "b": map[string]any{}, "c": int64(-3)}, a)

	var b bool
	noErr(t, Unmarshal([]byte("i1e"), &b))
	equal(t, true, b)

	var pp **int
	noErr(t, Unmarshal([]byte("i9e"), &pp))
	equal(t, 9, **pp)

	// Unknown keys are skipped; absent keys leave fields alone.
	in := inner{A: 1, B: "keep"}
	noErr(t, Unmarshal([]byte("d1:ai5e5:extrald1:xi1eeee"), &in))
	equal(t, inner{A: 5, B: "keep"}, in)

	// An interface holding a pointer is decoded through.
	var target int
	var viaIface any = &target
	noErr(t, Unmarshal([]byte("i4e"), &viaIface))
	equal(t, 4, target)

	// A slice is replaced, not merged; empty lists give empty non-nil slices.
	s := []int{9, 9, 9}
	noErr(t, Unmarshal([]byte("li1ee"), &s))
	equal(t, []int{1}, s)
	var empty []int
	noErr(t, Unmarshal([]byte("le"), &empty))
	if empty == nil {
		t.Error("empty list gave a nil slice")
	}

	// Maps are added to.
	m := map[string]int{"old": 1}
	noErr(t, Unmarshal([]byte("d3:newi2ee"), &m))
	equal(t, map[string]int{"old": 1, "new": 2}, m)
}

type embeddedBase struct {
	Name string `bencode:"name"`
	Size int    `bencode:"size"`
}

type withEmbedded struct {
	embeddedBase
	Size  int `bencode:"size"` // shallower: hides embeddedBase.Size
	Extra string
}

func TestEmbeddedStructsAreFlattened(t *testing.T) {
	v := withEmbedded{embeddedBase: embeddedBase{Name: "n", Size: 1}, Size: 2, Extra: "e"}
	data, err := Marshal(v)
	noErr(t, err)
	equal(t, "d5:Extra1:e4:name1:n4:sizei2ee", string(data))

	var out withEmbedded
	noErr(t, Unmarshal(data, &out))
	equal(t, withEmbedded{embeddedBase: embeddedBase{Name: "n"}, Size: 2, Extra: "e"}, out)
}

func TestUnmarshalTypeErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		target any
		offset int64
		msg    string
	}{
		{"int8 overflow", "i128e", new(int8), 0, "integer 128"},
		{"int8 underflow", "i-129e", new(int8), 0, "integer -129"},
		{"uint negative", "i-1e", new(uint), 0, "integer -1"},
		{"uint64 overflow", "i18446744073709551616e", new(uint64), 0, "more than 64 bits"},
		{"int64 overflow", "i9223372036854775808e", new(int64), 0, "integer 9223372036854775808"},
		{"any overflow", "li9223372036854775808ee", new(any), 1, "int64"},
		{"bool two", "i2e", new(bool), 0, "integer 2"},
		{"string into int", "1:a", new(int), 0, "string"},
		{"list into string", "le", new(string), 0, "list"},
		{"dict into slice", "de", new([]int), 0, "dict"},
		{"hash wrong length", "3:abc", new([20]byte), 0, "string of 3 bytes"},
		{"array too long", "li1ei2ei3ee", new([2]int), 0, "more than 2"},
		{"array too short", "li1ee", new([2]int), 0, "list of 1 elements"},
		{"int keys map", "de", new(map[int]int), 0, "dict"},
		{"field path", "d6:nestedld1:a1:xeee", new(allKinds), 14, "dict key nested.0.a"},
		{"float", "i1e", new(float64), 0, "float64"},
		{"non-empty interface", "i1e", new(fmt.Stringer), 0, "Stringer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal([]byte(tt.in), tt.target)
			var te *UnmarshalTypeError
			errAs(t, err, &te)
			equal(t, tt.offset, te.Offset)
			contains(t, err.Error(), "at offset "+strconv.FormatInt(tt.offset, 10)+":")
			contains(t, err.Error(), tt.msg)
		})
	}
}

func TestInvalidUnmarshal(t *testing.T) {
	var i int
	for _, target := range []any{nil, i, (*int)(nil)} {
		err := Unmarshal([]byte("i1e"), target)
		var ie *InvalidUnmarshalError
		errAs(t, err, &ie, target)
	}
}

// recorder is an Unmarshaler that keeps what it was given.
type recorder struct{ got []byte }

func (r *recorder) UnmarshalBencode(b []byte) error {
	r.got = bytes.Clone(b)
	if bytes.Equal(b, []byte("i13e")) {
		return errors.New("unlucky")
	}
	return nil
}

func TestUnmarshaler(t *testing.T) {
	var v struct {
		R recorder  `bencode:"r"`
		P *recorder `bencode:"p"`
	}
	noErr(t, Unmarshal([]byte("d1:pli1ee1:rd1:xi2eee"), &v))
	equal(t, "d1:xi2ee", string(v.R.got))
	equal(t, "li1ee", string(v.P.got))

	err := Unmarshal([]byte("d1:ri13ee"), &v)
	errContains(t, err, "at offset 4")
	contains(t, err.Error(), "unlucky")

	// The Unmarshaler only sees well-formed values.
	err = Unmarshal([]byte("d1:rd1:bi1e1:ai2eee"), &v)
	var se *SyntaxError
	errAs(t, err, &se)
}

func TestRawMessageKeepsExactBytes(t *testing.T) {
	info := "d6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae"
	doc := "d8:announce3:url4:info" + info + "e"
	var mi struct {
		Announce string     `bencode:"announce"`
		Info     RawMessage `bencode:"info"`
	}
	noErr(t, Unmarshal([]byte(doc), &mi))
	equal(t, info, string(mi.Info))
	out, err := Marshal(mi)
	noErr(t, err)
	equal(t, doc, string(out))

	// Non-canonical (unsorted) info dict: strict decoding refuses it, loose
	// decoding keeps its exact bytes, and re-encoding writes them back.
	unsorted := "d4:name1:x6:lengthi5ee"
	looseDoc := "d8:announce3:url4:info" + unsorted + "e"
	err = Unmarshal([]byte(looseDoc), &mi)
	errContains(t, err, `at offset 32: dict keys not sorted: "length" after "name"`)
	noErr(t, UnmarshalLoose([]byte(looseDoc), &mi))
	equal(t, unsorted, string(mi.Info))
	out, err = Marshal(mi)
	noErr(t, err)
	equal(t, looseDoc, string(out))

	// The RawMessage owns its bytes.
	buf := []byte(doc)
	noErr(t, Unmarshal(buf, &mi))
	buf[len(buf)-2] = 'X'
	equal(t, info, string(mi.Info))
}

func TestUnmarshalLoose(t *testing.T) {
	var m map[string]int
	noErr(t, UnmarshalLoose([]byte("d1:bi2e1:ai1e1:ci3ee"), &m))
	equal(t, map[string]int{"a": 1, "b": 2, "c": 3}, m)

	// Duplicates are still refused, before and after the first unsorted key.
	for _, in := range []string{"d1:bi2e1:ai1e1:bi3ee", "d1:bi2e1:ai1e1:ai3ee", "d1:ai1e1:ai1ee", "d1:cd1:bi1e1:ai1ee1:bi1e1:ci1ee"} {
		err := UnmarshalLoose([]byte(in), new(any))
		errContains(t, err, "duplicate dict key", in)
	}
	// Everything else stays strict.
	errContains(t, UnmarshalLoose([]byte("i03e"), new(any)), "leading zero")
}
