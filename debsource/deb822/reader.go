// Package deb822 reads the control-file format Debian uses for Packages,
// Sources, Release and APT .sources files: stanzas of "Name: value" fields
// separated by blank lines (RFC 822-like, as described in deb822(5)).
//
// The reader streams: it holds one stanza at a time, in storage it reuses
// between calls, so reading a 50 MB Packages file costs no allocation per
// field. A Stanza returned by Reader.Next is only valid until the next call to
// Next; copy what you keep (Stanza.Get returns a copy).
package deb822

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Limits bound what a Reader accepts, so hostile input gets an error instead
// of an unbounded allocation. A zero field takes its default.
type Limits struct {
	// MaxLineBytes is the longest physical line, newline included
	// (default 1 MiB).
	MaxLineBytes int
	// MaxStanzaBytes is the most field text one stanza may hold
	// (default 16 MiB: a Release file's hash tables fit many times over).
	MaxStanzaBytes int
	// MaxFields is the most fields one stanza may hold (default 1000).
	MaxFields int
}

// Default limits, used for zero fields of Limits.
const (
	DefaultMaxLineBytes   = 1 << 20
	DefaultMaxStanzaBytes = 16 << 20
	DefaultMaxFields      = 1000

	// maxStanzaBytesCap keeps offsets within a Stanza's int32 fields.
	maxStanzaBytesCap = 1 << 30
)

func (l Limits) withDefaults() Limits {
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultMaxLineBytes
	}
	if l.MaxStanzaBytes <= 0 {
		l.MaxStanzaBytes = DefaultMaxStanzaBytes
	}
	l.MaxStanzaBytes = min(l.MaxStanzaBytes, maxStanzaBytesCap)
	l.MaxLineBytes = min(l.MaxLineBytes, maxStanzaBytesCap)
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	return l
}

// Options configure a Reader.
type Options struct {
	// Limits bound line size, stanza size and field count.
	Limits Limits
	// AllowComments skips lines starting with '#', as APT's .sources files
	// and debian/control allow. Packages and Release files have no comments,
	// so there a leading '#' is a syntax error.
	AllowComments bool
}

// SyntaxError reports malformed input and the line where it was found.
type SyntaxError struct {
	// Line is the 1-based line number.
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error implements error.
func (e *SyntaxError) Error() string { return fmt.Sprintf("deb822: line %d: %s", e.Line, e.Msg) }

// ErrLimit is wrapped by every error that reports input over one of the
// Reader's Limits.
var ErrLimit = errors.New("deb822: limit exceeded")

// Reader reads stanzas one at a time from a stream.
type Reader struct {
	br     *bufio.Reader
	opts   Options
	line   int // number of the last line read
	stanza Stanza
	err    error // sticky error
}

// NewReader returns a Reader that reads from r with the given options.
func NewReader(r io.Reader, opts Options) *Reader {
	opts.Limits = opts.Limits.withDefaults()
	size := min(opts.Limits.MaxLineBytes, 64<<10)
	return &Reader{br: bufio.NewReaderSize(r, size), opts: opts}
}

// Line returns the number of the last line read: after Next returned a
// stanza, the line that ended it.
func (r *Reader) Line() int { return r.line }

// Next returns the next stanza, or io.EOF when the input holds no more.
// The Stanza and every byte slice obtained from it stay valid only until the
// next call to Next. After an error other than io.EOF, Next keeps returning
// that error.
func (r *Reader) Next() (*Stanza, error) {
	if r.err != nil {
		return nil, r.err
	}
	s, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	return s, nil
}

func (r *Reader) next() (*Stanza, error) {
	s := &r.stanza
	s.reset()
	var long []byte // assembles a line longer than the bufio buffer
	for {
		raw, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it piecewise, up to the limit.
			long = append(long[:0], raw...)
			for errors.Is(err, bufio.ErrBufferFull) {
				raw, err = r.br.ReadSlice('\n')
				if len(long)+len(raw) > r.opts.Limits.MaxLineBytes {
					return nil, r.limitError(r.line+1, "line longer than %d bytes", r.opts.Limits.MaxLineBytes)
				}
				long = append(long, raw...)
			}
			raw = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("deb822: reading line %d: %w", r.line+1, err)
		}
		atEOF := err != nil
		if len(raw) == 0 && atEOF {
			if len(s.fields) == 0 {
				return nil, io.EOF
			}
			return s, nil
		}
		r.line++
		if len(raw) > r.opts.Limits.MaxLineBytes {
			return nil, r.limitError(r.line, "line longer than %d bytes", r.opts.Limits.MaxLineBytes)
		}
		line := trimRight(raw)
		if len(line) == 0 {
			if len(s.fields) > 0 {
				return s, nil
			}
			if atEOF {
				return nil, io.EOF
			}
			continue // blank lines before a stanza
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, &SyntaxError{Line: r.line, Msg: "NUL byte in text"}
		}
		if err := r.addLine(s, line); err != nil {
			return nil, err
		}
		if atEOF {
			if len(s.fields) == 0 { // a final comment line without a newline
				return nil, io.EOF
			}
			return s, nil
		}
	}
}

func (r *Reader) addLine(s *Stanza, line []byte) error {
	switch line[0] {
	case '#':
		if r.opts.AllowComments {
			return nil
		}
		return &SyntaxError{Line: r.line, Msg: "comment line where this format allows none"}
	case ' ', '\t':
		if len(s.fields) == 0 {
			return &SyntaxError{Line: r.line, Msg: "continuation line before any field"}
		}
		if len(s.buf)+1+len(line) > r.opts.Limits.MaxStanzaBytes {
			return r.limitError(r.line, "stanza larger than %d bytes", r.opts.Limits.MaxStanzaBytes)
		}
		// Continuation: the value gains "\n" and the line minus its first
		// whitespace character, so " ." stays "." (see Lines).
		f := &s.fields[len(s.fields)-1]
		s.buf = append(s.buf, '\n')
		s.buf = append(s.buf, line[1:]...)
		f.valEnd = int32(len(s.buf))
		return nil
	case '-':
		return &SyntaxError{Line: r.line, Msg: fmt.Sprintf("field name may not start with '-': %q", clip(line))}
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return &SyntaxError{Line: r.line, Msg: fmt.Sprintf("want \"Name: value\", got %q", clip(line))}
	}
	name := line[:colon]
	for _, c := range name {
		if c <= ' ' || c > '~' {
			return &SyntaxError{Line: r.line, Msg: fmt.Sprintf("field name %q holds a space or control character", clip(name))}
		}
	}
	if len(s.fields) >= r.opts.Limits.MaxFields {
		return r.limitError(r.line, "stanza has more than %d fields", r.opts.Limits.MaxFields)
	}
	if len(s.buf)+len(line) > r.opts.Limits.MaxStanzaBytes {
		return r.limitError(r.line, "stanza larger than %d bytes", r.opts.Limits.MaxStanzaBytes)
	}
	key := foldKey(name)
	for i := range s.fields {
		f := &s.fields[i]
		if f.key == key && bytes.EqualFold(s.buf[f.nameStart:f.nameEnd], name) {
			return &SyntaxError{Line: r.line, Msg: fmt.Sprintf("field %q repeats the one on line %d", name, f.line)}
		}
	}
	value := trimLeft(line[colon+1:])
	start := int32(len(s.buf))
	s.buf = append(s.buf, name...)
	vs := int32(len(s.buf))
	s.buf = append(s.buf, value...)
	if len(s.fields) == 0 {
		s.line = r.line
	}
	s.fields = append(s.fields, field{
		nameStart: start, nameEnd: start + int32(len(name)),
		valStart: vs, valEnd: int32(len(s.buf)),
		key: key, line: r.line,
	})
	return nil
}

func (r *Reader) limitError(line int, format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrLimit, line, fmt.Sprintf(format, args...))
}

// foldKey is a cheap case-insensitive fingerprint of a field name, compared
// before the full EqualFold.
func foldKey(name []byte) uint32 {
	h := uint32(len(name))
	for _, c := range name {
		h = h*31 + uint32(c|0x20)
	}
	return h
}

func trimRight(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case '\n', '\r', ' ', '\t':
			b = b[:len(b)-1]
			continue
		}
		break
	}
	return b
}

func trimLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// clip shortens text quoted in an error message.
func clip(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}
