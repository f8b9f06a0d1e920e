package bencode

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
)

// malformedCases are inputs every decoding must refuse, with the offset and
// the words the error must carry.
var malformedCases = []struct {
	name   string
	in     string
	offset int64
	msg    string
}{
	{"empty input", "", 0, "unexpected end of input, expected a value"},
	{"bad first byte", "x", 0, "expected a value ('i', 'l', 'd' or a string length), found 'x'"},
	{"stray e", "e", 0, "found 'e'"},
	{"leading zero int", "i03e", 1, "integer has a leading zero"},
	{"leading zero zero", "i00e", 1, "leading zero"},
	{"negative zero", "i-0e", 0, "negative zero"},
	{"negative leading zero", "i-03e", 2, "leading zero"},
	{"minus only", "i-e", 0, `integer "-" has no digits`},
	{"empty int", "ie", 0, "empty integer"},
	{"non-digit in int", "i1x2e", 2, "expected digit or 'e' in integer, found 'x'"},
	{"plus sign", "i+1e", 1, "found '+'"},
	{"double minus", "i--1e", 2, "found '-'"},
	{"int too many digits", "i123456789012345678901e", 0, "more than 20 digits"},
	{"unterminated int", "i12", 3, "unexpected end of input in integer"},
	{"leading zero length", "03:abc", 0, "string length has a leading zero"},
	{"non-digit length", "3x:abc", 1, "expected digit or ':' in string length, found 'x'"},
	{"negative length", "-3:abc", 0, "found '-'"},
	{"length too many digits", "1234567890123456789:x", 0, "more than 18 digits"},
	{"huge declared length", "999999999999999999:x", 0, "exceeds the 1 bytes of input left"},
	{"gigabyte string in 10 bytes", "1000000000:", 0, "string length 1000000000 exceeds the 0 bytes"},
	{"short string", "5:abc", 0, "string length 5 exceeds the 3 bytes of input left"},
	{"unterminated list", "li1e", 4, "unexpected end of input in list"},
	{"unterminated dict", "d1:ai1e", 7, "unexpected end of input in dict"},
	{"dict key without value", "d1:ae", 4, `expected a value`},
	{"dict key at end", "d1:a", 4, `expected the value of key "a"`},
	{"int key", "di1ei2ee", 1, "expected a string key or 'e' in dict, found 'i'"},
	{"list key", "dlei2ee", 1, "expected a string key or 'e' in dict, found 'l'"},
	{"unsorted keys", "d1:ci1e1:bi2ee", 7, `dict keys not sorted: "b" after "c"`},
	{"unsorted nested", "d1:ad1:bi1e1:ai1eee", 11, `dict keys not sorted: "a" after "b"`},
	{"unsorted by raw bytes", "d1:ai1e1:Bi1ee", 7, `"B" after "a"`},
	{"prefix sorts first", "d2:abi1e1:ai1ee", 8, `"a" after "ab"`},
	{"duplicate keys", "d1:ai1e1:ai2ee", 7, `duplicate dict key "a"`},
	{"trailing garbage", "i1ejunk", 3, "trailing data after the top-level value (4 bytes, starting 'j')"},
	{"two values", "i1ei2e", 3, "trailing data"},
	{"trailing e", "lee", 2, "trailing data"},
	{"too deep lists", strings.Repeat("l", 65) + strings.Repeat("e", 65), 64, "nesting deeper than 64"},
	{"too deep dicts", strings.Repeat("d1:a", 65) + "i1e" + strings.Repeat("e", 65), 256, "nesting deeper than 64"},
	{"deep and unterminated", strings.Repeat("l", 100000), 64, "nesting deeper than 64"},
}

// targets are the Go values every malformed case is decoded into.
func malformedTargets() map[string]func() any {
	return map[string]func() any{
		"any":        func() any { return new(any) },
		"raw":        func() any { return new(RawMessage) },
		"struct":     func() any { return new(allKinds) },
		"map":        func() any { return new(map[string]any) },
		"list":       func() any { return new([]any) },
		"int":        func() any { return new(int64) },
		"string":     func() any { return new(string) },
		"recursive":  func() any { return new(tree) },
		"recordings": func() any { return new(recorder) },
	}
}

// tree is a recursive type, for depth tests.
type tree struct {
	A  int64  `bencode:"a"`
	L  []tree `bencode:"l"`
	D  *tree  `bencode:"d"`
	B  string `bencode:"b"`
	C  any    `bencode:"c"`
	Zz []byte `bencode:"zz"`
}

func TestMalformed(t *testing.T) {
	for _, tt := range malformedCases {
		for targetName, newTarget := range malformedTargets() {
			t.Run(tt.name+"/"+targetName, func(t *testing.T) {
				err := Unmarshal([]byte(tt.in), newTarget())
				var se *SyntaxError
				var te *UnmarshalTypeError
				switch {
				case errors.As(err, &se):
					equal(t, tt.offset, se.Offset, tt.in)
					contains(t, err.Error(), tt.msg, tt.in)
					contains(t, err.Error(), fmt.Sprintf("bencode: at offset %d: ", tt.offset))
				case errors.As(err, &te):
					// A target of the wrong kind may refuse the input
					// before reaching the malformed part; it must still
					// be an error with an offset.
					contains(t, err.Error(), "at offset ")
				default:
					t.Fatalf("Unmarshal(%q) = %v, want a *SyntaxError", tt.in, err)
				}
			})
		}
	}
}

func TestLimitErrorsWrapErrLimit(t *testing.T) {
	for _, in := range []string{strings.Repeat("l", 65), "i123456789012345678901e", "1234567890123456789:"} {
		err := Unmarshal([]byte(in), new(any))
		if !errors.Is(err, ErrLimit) {
			t.Errorf("Unmarshal(%.20q) = %v, want an error wrapping ErrLimit", in, err)
		}
	}
	// Truncation is io.ErrUnexpectedEOF.
	if err := Unmarshal([]byte("l"), new(any)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated list: %v, want io.ErrUnexpectedEOF", err)
	}
	// Exactly the limit is fine.
	ok := strings.Repeat("l", DefaultMaxDepth) + strings.Repeat("e", DefaultMaxDepth)
	noErr(t, Unmarshal([]byte(ok), new(any)))
}

// validDocument is a torrent-like document touching every construct.
const validDocument = "d8:announce20:http://t.example/ann4:infod5:filesld6:lengthi1024e4:pathl1:a5:b.debeed6:lengthi-7e4:pathl0:eee4:name4:test6:pieces4:\x00\x01\x02\x03e4:listli0ei-1ei123456789e3:abcdeee"

func TestTruncationAtEveryOffset(t *testing.T) {
	noErr(t, Unmarshal([]byte(validDocument), new(any)), "the document itself must be valid")
	for cut := range len(validDocument) {
		prefix := []byte(validDocument[:cut])
		for targetName, newTarget := range malformedTargets() {
			err := Unmarshal(prefix, newTarget())
			if err == nil {
				t.Fatalf("Unmarshal of the first %d bytes into %s succeeded", cut, targetName)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "bencode: at offset ") {
				t.Fatalf("cut %d into %s: error %q does not start with the offset", cut, targetName, msg)
			}
			var se *SyntaxError
			if errors.As(err, &se) && se.Offset > int64(cut) {
				t.Fatalf("cut %d into %s: offset %d beyond the input", cut, targetName, se.Offset)
			}
			if targetName == "any" || targetName == "raw" {
				// These accept any shape, so truncation is the only fault.
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("cut %d: %v does not wrap io.ErrUnexpectedEOF", cut, err)
				}
			}
		}
	}
}

func TestHugeDeclaredLengthDoesNotAllocate(t *testing.T) {
	in := []byte("1000000000:abcdefgh")
	allocs := testing.AllocsPerRun(10, func() {
		var b []byte
		_ = Unmarshal(in, &b)
	})
	// A handful of small allocations (the error) is fine; the point is
	// that nothing sized by the declared length is made. A gigabyte
	// allocation would also show up as a slow test and in -memprofile.
	if allocs > 10 {
		t.Errorf("%v allocations for a refused 19-byte input", allocs)
	}
	var long []any
	err := Unmarshal([]byte("l"+strings.Repeat("1000000000:", 1000)), &long)
	errContains(t, err, "at offset 1: string length 1000000000 exceeds")
	// Sanity check that an honest large length works.
	big := strconv.Itoa(1<<20) + ":" + strings.Repeat("x", 1<<20)
	var s string
	noErr(t, Unmarshal([]byte(big), &s))
	equal(t, 1<<20, len(s))
}
