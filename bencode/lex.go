package bencode

import (
	"fmt"
	"io"
)

const (
	// maxIntDigits is the most digits an integer may have: enough for every
	// uint64 (20 digits) and every int64. Longer integers are rejected
	// before any arithmetic, whatever they are decoded into.
	maxIntDigits = 20
	// maxLengthDigits is the most digits a string length may have; 18
	// digits cannot overflow an int64.
	maxLengthDigits = 18
)

// intToken is a lexed bencode integer: sign and magnitude, with overflow
// set when the magnitude does not fit in a uint64.
type intToken struct {
	neg      bool
	mag      uint64
	overflow bool
}

// describe renders the integer for error messages.
func (t intToken) describe() string {
	if t.overflow {
		return "integer (more than 64 bits)"
	}
	if t.neg {
		return fmt.Sprintf("integer -%d", t.mag)
	}
	return fmt.Sprintf("integer %d", t.mag)
}

// int64 returns the value as an int64, or false if it does not fit.
func (t intToken) int64() (int64, bool) {
	switch {
	case t.overflow:
		return 0, false
	case t.neg && t.mag <= 1<<63:
		return -int64(t.mag-1) - 1, true
	case !t.neg && t.mag <= 1<<63-1:
		return int64(t.mag), true
	}
	return 0, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// lexInt reads the integer starting at data[off], which must be 'i', and
// returns it with the offset just past its 'e'. base is the stream offset of
// data[0], used in errors. Canonical form only: no leading zeros, no "-0",
// no empty integer, at most maxIntDigits digits.
func lexInt(data []byte, off int, base int64) (intToken, int, error) {
	var t intToken
	p := off + 1
	if p < len(data) && data[p] == '-' {
		t.neg = true
		p++
	}
	start := p
	for ; p < len(data) && isDigit(data[p]); p++ {
		if p-start == maxIntDigits {
			return t, 0, syntaxErr(base+int64(off), ErrLimit, "integer has more than %d digits", maxIntDigits)
		}
		if p == start+1 && data[start] == '0' {
			return t, 0, syntaxErr(base+int64(start), nil, "integer has a leading zero")
		}
		d := uint64(data[p] - '0')
		if t.mag > (1<<64-1-d)/10 {
			t.overflow = true
		}
		t.mag = t.mag*10 + d
	}
	if p == len(data) {
		return t, 0, syntaxErr(base+int64(p), io.ErrUnexpectedEOF, "unexpected end of input in integer, expected digit or 'e'")
	}
	if data[p] != 'e' {
		return t, 0, syntaxErr(base+int64(p), nil, "expected digit or 'e' in integer, found %q", data[p])
	}
	switch {
	case p == start && t.neg:
		return t, 0, syntaxErr(base+int64(off), nil, "integer \"-\" has no digits")
	case p == start:
		return t, 0, syntaxErr(base+int64(off), nil, "empty integer \"ie\"")
	case t.neg && data[start] == '0':
		return t, 0, syntaxErr(base+int64(off), nil, "negative zero \"i-0e\" is not allowed")
	}
	return t, p + 1, nil
}

// lexLength reads the length prefix of the string starting at data[off]
// (a digit) and returns the length and the offset just past the ':'. It does
// not check that the string's bytes are present.
func lexLength(data []byte, off int, base int64) (int64, int, error) {
	var n int64
	p := off
	for ; p < len(data) && isDigit(data[p]); p++ {
		if p-off == maxLengthDigits {
			return 0, 0, syntaxErr(base+int64(off), ErrLimit, "string length has more than %d digits", maxLengthDigits)
		}
		if p == off+1 && data[off] == '0' {
			return 0, 0, syntaxErr(base+int64(off), nil, "string length has a leading zero")
		}
		n = n*10 + int64(data[p]-'0')
	}
	if p == len(data) {
		return 0, 0, syntaxErr(base+int64(p), io.ErrUnexpectedEOF, "unexpected end of input in string length, expected digit or ':'")
	}
	if data[p] != ':' {
		return 0, 0, syntaxErr(base+int64(p), nil, "expected digit or ':' in string length, found %q", data[p])
	}
	return n, p + 1, nil
}

// lexString reads the whole string starting at data[off] (a digit) and
// returns its bytes, aliasing data, and the offset just past it. A declared
// length longer than the rest of data is an error, so no allocation is ever
// sized by a length the input cannot back.
func lexString(data []byte, off int, base int64) ([]byte, int, error) {
	n, p, err := lexLength(data, off, base)
	if err != nil {
		return nil, 0, err
	}
	if rest := int64(len(data) - p); n > rest {
		return nil, 0, syntaxErr(base+int64(off), io.ErrUnexpectedEOF,
			"string length %d exceeds the %d bytes of input left", n, rest)
	}
	end := p + int(n)
	return data[p:end:end], end, nil
}

// describeByte renders the byte found where a value was expected.
func describeByte(c byte) string {
	return fmt.Sprintf("%q", c)
}
