package aptmethod

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Message codes used between APT and a method.
const (
	CodeCapabilities   = 100 // method → APT: what the method can do
	CodeLog            = 101 // method → APT: a debug log line
	CodeStatus         = 102 // method → APT: a progress note for one URI
	CodeURIStart       = 200 // method → APT: a download has begun
	CodeURIDone        = 201 // method → APT: a download is complete
	CodeURIFailure     = 400 // method → APT: a download failed
	CodeGeneralFailure = 401 // method → APT: the method cannot go on
	CodeURIAcquire     = 600 // APT → method: fetch this URI
	CodeConfiguration  = 601 // APT → method: APT's configuration
)

// Field is one "Name: value" line of a message.
type Field struct {
	// Name is the field's name, e.g. "URI"; it is matched case-insensitively.
	Name string
	// Value is the field's value; continuation lines are joined with "\n".
	Value string
}

// Message is one message of the method interface: a three-digit code, a
// summary ("URI Acquire") and its fields in order.
type Message struct {
	// Code is the message's number, 100 to 999.
	Code int
	// Summary is the text after the code on the status line.
	Summary string
	// Fields are the message's fields in the order they were written.
	Fields []Field
}

// NewMessage returns a message with the given code and summary and no
// fields.
func NewMessage(code int, summary string) *Message {
	return &Message{Code: code, Summary: summary}
}

// Add appends a field and returns the message, so that calls chain.
func (m *Message) Add(name, value string) *Message {
	m.Fields = append(m.Fields, Field{Name: name, Value: value})
	return m
}

// Get returns the value of the first field called name (case-insensitive)
// and whether there was one.
func (m *Message) Get(name string) (string, bool) {
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Value returns the value of the first field called name, or "".
func (m *Message) Value(name string) string {
	v, _ := m.Get(name)
	return v
}

// All returns the values of every field called name, in order.
func (m *Message) All(name string) []string {
	var out []string
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// MarshalText encodes the message in the wire form, ending with the blank
// line that closes it. Line breaks inside the summary or a value would break
// the framing, so they are replaced by spaces, as APT's own methods do; a
// field name that could not be parsed back is an error.
func (m *Message) MarshalText() ([]byte, error) {
	if m.Code < 100 || m.Code > 999 {
		return nil, fmt.Errorf("aptmethod: message code %d is not three digits", m.Code)
	}
	var b bytes.Buffer
	b.WriteString(strconv.Itoa(m.Code))
	if m.Summary != "" {
		b.WriteByte(' ')
		b.WriteString(oneLine(m.Summary))
	}
	b.WriteByte('\n')
	for _, f := range m.Fields {
		if err := checkFieldName(f.Name); err != nil {
			return nil, err
		}
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(oneLine(f.Value))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// WriteTo writes the encoded message to w in one Write call.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	data, err := m.MarshalText()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(data)
	return int64(n), err
}

// String returns the wire form, or a note on why there is none.
func (m *Message) String() string {
	data, err := m.MarshalText()
	if err != nil {
		return err.Error()
	}
	return string(data)
}

// oneLine replaces the line breaks in s by spaces.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

// checkFieldName reports whether name can be written and read back as a
// field name: not empty, printable ASCII, no colon or space.
func checkFieldName(name string) error {
	if name == "" {
		return fmt.Errorf("aptmethod: empty field name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("aptmethod: field name %q: byte %#x not allowed", name, c)
		}
	}
	return nil
}
