package bencode

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// addSeeds seeds a fuzz target with the real files in testdata, the valid
// test document and every malformed case.
func addSeeds(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(validDocument))
	for _, c := range malformedCases {
		if len(c.in) <= 1024 {
			f.Add([]byte(c.in))
		}
	}
}

// checkOffset fails if err is a SyntaxError pointing outside the input.
func checkOffset(t *testing.T, err error, n int) {
	t.Helper()
	var se *SyntaxError
	if errors.As(err, &se) && (se.Offset < 0 || se.Offset > int64(n)) {
		t.Fatalf("error offset %d outside the %d-byte input: %v", se.Offset, n, err)
	}
}

// FuzzDecode checks that decoding arbitrary input never panics, into every
// kind of target, and that the ways of decoding agree with each other.
func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var a any
		errAny := Unmarshal(data, &a)
		checkOffset(t, errAny, len(data))
		var raw RawMessage
		errRaw := Unmarshal(data, &raw)
		checkOffset(t, errRaw, len(data))
		for _, target := range []any{new(tree), new(torrentFile), new(debianInfo), new(allKinds), new(map[string]RawMessage), new([]int)} {
			checkOffset(t, Unmarshal(data, target), len(data))
			checkOffset(t, UnmarshalLoose(data, target), len(data))
		}

		// Any input decodable into `any` is well-formed, and whatever is
		// well-formed comes back byte for byte in a RawMessage.
		if errAny == nil && errRaw != nil {
			t.Fatalf("accepted into any but not into RawMessage: %v", errRaw)
		}
		if errRaw == nil && !bytes.Equal(raw, data) {
			t.Fatalf("RawMessage %q differs from the input %q", raw, data)
		}
		// Loose decoding accepts everything strict decoding does.
		var loose RawMessage
		if errLoose := UnmarshalLoose(data, &loose); errRaw == nil && errLoose != nil {
			t.Fatalf("strict accepted, loose refused: %v", errLoose)
		}

		// The streaming Decoder frames the same first value.
		dec := NewDecoder(bytes.NewReader(data))
		var first RawMessage
		errDec := dec.Decode(&first)
		checkOffset(t, errDec, len(data))
		switch {
		case errRaw == nil && errDec != nil:
			t.Fatalf("Unmarshal accepted, Decoder refused: %v", errDec)
		case errRaw == nil:
			if !bytes.Equal(first, data) {
				t.Fatalf("Decoder gave %q, want %q", first, data)
			}
			if err := dec.Decode(&first); err != io.EOF {
				t.Fatalf("second Decode = %v, want io.EOF", err)
			}
		case errDec == nil:
			// Unmarshal refused only because of what follows the value.
			n := dec.InputOffset()
			if n >= int64(len(data)) {
				t.Fatalf("Decoder consumed all %d bytes that Unmarshal refused: %v", n, errRaw)
			}
			if err := Unmarshal(data[:n], new(RawMessage)); err != nil {
				t.Fatalf("Decoder accepted the prefix %q that Unmarshal refuses: %v", data[:n], err)
			}
		}
	})
}

// FuzzRoundTrip checks that canonical input survives decoding and encoding
// byte for byte, and that encoding any decoded value gives canonical output.
func FuzzRoundTrip(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var a any
		if Unmarshal(data, &a) == nil {
			out, err := Marshal(a)
			if err != nil {
				t.Fatalf("Marshal of a decoded value: %v", err)
			}
			if !bytes.Equal(out, data) {
				t.Fatalf("round trip through any:\nin:  %q\nout: %q", data, out)
			}
		}
		var raw RawMessage
		if Unmarshal(data, &raw) == nil {
			out, err := Marshal(raw)
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("round trip through RawMessage: %q, %v", out, err)
			}
		}
		// Loosely decoded values encode canonically and decode strictly to
		// the same value.
		var loose any
		if UnmarshalLoose(data, &loose) == nil {
			out, err := Marshal(loose)
			if err != nil {
				t.Fatalf("Marshal of a loosely decoded value: %v", err)
			}
			var again any
			if err := Unmarshal(out, &again); err != nil {
				t.Fatalf("Marshal output %q is not canonical: %v", out, err)
			}
			if !reflect.DeepEqual(loose, again) {
				t.Fatalf("value changed through Marshal: %#v vs %#v", loose, again)
			}
		}
		// Typed values: encoding is stable after one decode.
		var tr tree
		if Unmarshal(data, &tr) == nil {
			out, err := Marshal(tr)
			if err != nil {
				t.Fatalf("Marshal(tree): %v", err)
			}
			var tr2 tree
			if err := Unmarshal(out, &tr2); err != nil {
				t.Fatalf("Marshal(tree) output %q does not decode: %v", out, err)
			}
			out2, err := Marshal(tr2)
			if err != nil || !bytes.Equal(out, out2) {
				t.Fatalf("typed encoding not stable: %q vs %q (%v)", out, out2, err)
			}
		}
	})
}
