package deb822

import (
	"bytes"
	"iter"
	"strings"
)

// Stanza is one paragraph of fields. Field names compare case-insensitively
// but keep their original spelling. A Stanza obtained from Reader.Next, and
// every slice it returns, is valid only until the next call to Next.
type Stanza struct {
	buf    []byte  // names and values, back to back
	fields []field // in input order
	line   int     // line of the first field
}

type field struct {
	nameStart, nameEnd int32
	valStart, valEnd   int32
	key                uint32 // foldKey of the name
	line               int
}

func (s *Stanza) reset() {
	s.buf = s.buf[:0]
	s.fields = s.fields[:0]
	s.line = 0
}

// Line returns the line number of the stanza's first field.
func (s *Stanza) Line() int { return s.line }

// Len returns the number of fields.
func (s *Stanza) Len() int { return len(s.fields) }

// Field returns the name (as spelled in the input) and value of field i, in
// input order. The value of a multi-line field is its first line, then each
// continuation line after a "\n", without its first whitespace character.
func (s *Stanza) Field(i int) (name, value []byte) {
	f := &s.fields[i]
	return s.buf[f.nameStart:f.nameEnd:f.nameEnd], s.buf[f.valStart:f.valEnd:f.valEnd]
}

// FieldLine returns the line number where field i starts.
func (s *Stanza) FieldLine(i int) int { return s.fields[i].line }

// Fields iterates over the fields in input order. The slices alias the
// Stanza's storage.
func (s *Stanza) Fields() iter.Seq2[[]byte, []byte] {
	return func(yield func(name, value []byte) bool) {
		for i := range s.fields {
			if !yield(s.Field(i)) {
				return
			}
		}
	}
}

// Value returns the value of the field called name (any case), aliasing the
// Stanza's storage, and whether the field is present.
func (s *Stanza) Value(name string) ([]byte, bool) {
	i := s.Index(name)
	if i < 0 {
		return nil, false
	}
	_, v := s.Field(i)
	return v, true
}

// Index returns the position of the field called name (any case), or -1.
func (s *Stanza) Index(name string) int {
	h := uint32(len(name))
	for i := 0; i < len(name); i++ {
		h = h*31 + uint32(name[i]|0x20)
	}
	for i := range s.fields {
		f := &s.fields[i]
		if f.key == h && equalFoldString(s.buf[f.nameStart:f.nameEnd], name) {
			return i
		}
	}
	return -1
}

// Get returns a copy of the value of the field called name (any case), or ""
// when it is absent.
func (s *Stanza) Get(name string) string {
	v, _ := s.Value(name)
	return string(v)
}

// Map returns a copy of all fields keyed by their name as spelled in the
// input. It allocates; use it for small files, not Packages.
func (s *Stanza) Map() map[string]string {
	m := make(map[string]string, len(s.fields))
	for name, value := range s.Fields() {
		m[string(name)] = string(value)
	}
	return m
}

func equalFoldString(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Lines splits a multi-line field value into its lines, turning the "."
// that stands for an empty line back into "". The first line is the text
// after the colon, which is empty for fields such as SHA256 in a Release file.
func Lines(value []byte) []string {
	parts := bytes.Split(value, []byte("\n"))
	out := make([]string, len(parts))
	for i, p := range parts {
		t := strings.TrimLeft(string(p), " \t")
		if i > 0 && t == "." {
			t = ""
		}
		out[i] = t
	}
	return out
}
