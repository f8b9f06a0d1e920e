package bencode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
)

const (
	// DefaultMaxStringLength is the longest string a Decoder accepts unless
	// told otherwise: far above any real torrent's "pieces" string.
	DefaultMaxStringLength = 64 << 20
	// DefaultMaxValueSize is the largest top-level value, in encoded bytes,
	// a Decoder accepts unless told otherwise.
	DefaultMaxValueSize = 256 << 20
	// readChunk is the least a Decoder asks its reader for at once, and the
	// step by which its buffer grows while reading a long string: the
	// buffer grows only as bytes actually arrive.
	readChunk = 32 << 10
	// maxEmptyReads is how many reads in a row may return no data and no
	// error before the reader is declared stuck (io.ErrNoProgress).
	maxEmptyReads = 100
)

// Decoder reads a stream of bencode values, one per Decode call. It reads
// from its reader in chunks and may read past the value it returns (what it
// buffered is handed to the next Decode and visible through Buffered); it
// never needs the whole stream, and it keeps in memory only the value being
// decoded.
//
// A Decoder is strict like Unmarshal unless AllowUnsorted is called, and
// enforces the depth, string and value-size limits set on it. It first
// frames a whole top-level value in its buffer (reading long strings in
// chunks as they arrive, so memory follows the bytes received rather than
// the lengths declared), then decodes it as Unmarshal would. An
// Unmarshaler's argument aliases that buffer.
type Decoder struct {
	r      io.Reader
	buf    []byte // buf[scanp:] is read but not yet decoded
	scanp  int
	offset int64 // stream offset of buf[0]
	err    error // sticky: a read error or a value that could not be framed

	readErr error // the reader's error (io.EOF included), once it returned one

	opts         decodeOptions
	maxStringLen int64
	maxValueSize int64
}

// NewDecoder returns a strict Decoder reading from r with the default limits.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{
		r:            r,
		opts:         decodeOptions{maxDepth: DefaultMaxDepth},
		maxStringLen: DefaultMaxStringLength,
		maxValueSize: DefaultMaxValueSize,
	}
}

// AllowUnsorted makes the Decoder accept dict keys out of order, as
// UnmarshalLoose does. Keys must still be unique; RawMessage still gets the
// exact bytes.
func (d *Decoder) AllowUnsorted() { d.opts.allowUnsorted = true }

// SetMaxDepth sets the deepest nesting of lists and dicts accepted (at least
// 1).
func (d *Decoder) SetMaxDepth(n int) { d.opts.maxDepth = max(n, 1) }

// SetMaxStringLength sets the longest string accepted, in bytes.
func (d *Decoder) SetMaxStringLength(n int64) { d.maxStringLen = max(n, 0) }

// SetMaxValueSize sets the largest encoded size of one top-level value.
func (d *Decoder) SetMaxValueSize(n int64) { d.maxValueSize = max(n, 1) }

// InputOffset returns the stream offset just past the last decoded value.
func (d *Decoder) InputOffset() int64 { return d.offset + int64(d.scanp) }

// Buffered returns the bytes read from the reader but not yet decoded. It
// is valid until the next call to Decode.
func (d *Decoder) Buffered() io.Reader { return bytes.NewReader(d.buf[d.scanp:]) }

// Decode reads the next value from the stream and stores it in v, which must
// be a non-nil pointer, as Unmarshal does. At the end of the stream, between
// values, it returns io.EOF. After a syntax error in framing a value or a
// read error, every later call returns that error; after an
// UnmarshalTypeError or an Unmarshaler's error the stream stays usable.
func (d *Decoder) Decode(v any) error {
	if d.err != nil {
		return d.err
	}
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	d.compact()
	end, err := d.frame()
	if err != nil {
		d.err = err
		return err
	}
	value := d.buf[d.scanp:end]
	base := d.offset + int64(d.scanp)
	d.scanp = end
	return unmarshal(value, base, v, d.opts)
}

// compact drops decoded bytes from the front of the buffer once they are
// at least half of it, so that the copying costs O(1) per byte however
// small the values are.
func (d *Decoder) compact() {
	if d.scanp == 0 || d.scanp < len(d.buf)-d.scanp {
		return
	}
	n := copy(d.buf, d.buf[d.scanp:])
	d.buf = d.buf[:n]
	d.offset += int64(d.scanp)
	d.scanp = 0
}

// fill reads once from the reader, appending to the buffer. It returns
// io.EOF once the reader is exhausted, or the reader's error.
func (d *Decoder) fill() error {
	if d.readErr != nil {
		return d.readErr
	}
	if cap(d.buf)-len(d.buf) < readChunk/2 {
		grown := make([]byte, len(d.buf), 2*cap(d.buf)+readChunk)
		copy(grown, d.buf)
		d.buf = grown
	}
	for range maxEmptyReads {
		n, err := d.r.Read(d.buf[len(d.buf):cap(d.buf)])
		d.buf = d.buf[:len(d.buf)+n]
		if n > 0 {
			return nil
		}
		if err != nil {
			d.readErr = err
			return err
		}
	}
	d.readErr = io.ErrNoProgress
	return d.readErr
}

// need makes sure the buffer holds at least n bytes from p, reading as
// needed. It fails if the stream ends first.
func (d *Decoder) need(p int, n int64) error {
	for int64(len(d.buf)-p) < n {
		if err := d.fill(); err != nil {
			return err
		}
	}
	return nil
}

// fillUntil reads until buf[p:] holds delim within its first window bytes,
// holds window bytes, or the stream ends. Lexing the buffered bytes then
// gives the right answer, including "unexpected end of input".
func (d *Decoder) fillUntil(p int, delim byte, window int) error {
	for {
		avail := d.buf[p:min(len(d.buf), p+window)]
		if bytes.IndexByte(avail, delim) >= 0 || len(avail) == window {
			return nil
		}
		if err := d.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// readError turns a failed read at stream offset off into the error Decode
// returns.
func (d *Decoder) readError(off int64, err error) error {
	if errors.Is(err, io.EOF) {
		return syntaxErr(off, io.ErrUnexpectedEOF, "unexpected end of input, the value is incomplete")
	}
	return syntaxErr(off, err, "reading input: %v", err)
}

// frame finds the end of the next value in the stream, reading it into the
// buffer, and checks the limits. It checks only the structure; the full
// rules are applied when the framed bytes are decoded.
func (d *Decoder) frame() (int, error) {
	p := d.scanp
	depth := 0
	for {
		if err := d.need(p, 1); err != nil {
			if p == d.scanp && errors.Is(err, io.EOF) {
				return 0, io.EOF // clean end of stream between values
			}
			return 0, d.readError(d.offset+int64(p), err)
		}
		switch c := d.buf[p]; {
		case c == 'i':
			if err := d.fillUntil(p, 'e', maxIntDigits+3); err != nil {
				return 0, d.readError(d.offset+int64(p), err)
			}
			_, next, err := lexInt(d.buf, p, d.offset)
			if err != nil {
				return 0, err
			}
			p = next
		case isDigit(c):
			if err := d.fillUntil(p, ':', maxLengthDigits+1); err != nil {
				return 0, d.readError(d.offset+int64(p), err)
			}
			n, next, err := lexLength(d.buf, p, d.offset)
			if err != nil {
				return 0, err
			}
			if n > d.maxStringLen {
				return 0, syntaxErr(d.offset+int64(p), ErrLimit,
					"string of %d bytes is longer than the limit of %d (Decoder.SetMaxStringLength)", n, d.maxStringLen)
			}
			if size := int64(next-d.scanp) + n; size > d.maxValueSize {
				return 0, d.valueTooBig(size)
			}
			if err := d.need(next, n); err != nil {
				if errors.Is(err, io.EOF) {
					return 0, syntaxErr(d.offset+int64(p), io.ErrUnexpectedEOF,
						"unexpected end of input in a string of %d bytes (%d present)", n, len(d.buf)-next)
				}
				return 0, d.readError(d.offset+int64(p), err)
			}
			p = next + int(n)
		case c == 'l' || c == 'd':
			depth++
			if depth > d.opts.maxDepth {
				return 0, syntaxErr(d.offset+int64(p), ErrLimit, "nesting deeper than %d lists and dicts", d.opts.maxDepth)
			}
			p++
		case c == 'e' && depth > 0:
			depth--
			p++
		default:
			return 0, syntaxErr(d.offset+int64(p), nil,
				"expected a value ('i', 'l', 'd' or a string length), found %s", describeByte(c))
		}
		if size := int64(p - d.scanp); size > d.maxValueSize {
			return 0, d.valueTooBig(size)
		}
		if depth == 0 {
			return p, nil
		}
	}
}

// valueTooBig reports a value over the size limit.
func (d *Decoder) valueTooBig(size int64) error {
	return syntaxErr(d.offset+int64(d.scanp), ErrLimit,
		"value of at least %d bytes is larger than the limit of %d (Decoder.SetMaxValueSize)", size, d.maxValueSize)
}

// Encoder writes bencode values to a stream, one per Encode call, with
// nothing between them.
type Encoder struct {
	w   io.Writer
	buf []byte // reused between calls
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes the encoding of v, as Marshal produces it, in one Write. If
// encoding fails nothing is written.
func (e *Encoder) Encode(v any) error {
	es := encodeState{buf: e.buf[:0]}
	if err := es.marshal(v); err != nil {
		return err
	}
	e.buf = es.buf
	if _, err := e.w.Write(es.buf); err != nil {
		return fmt.Errorf("bencode: write: %w", err)
	}
	return nil
}
