package aptmethod

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Limits on what a Reader accepts. APT's largest message is its
// "601 Configuration", a few hundred lines; these leave ample room while
// keeping hostile input from growing memory without bound.
const (
	// MaxLineLength is the longest line, in bytes, including its newline.
	MaxLineLength = 64 << 10
	// MaxMessageSize is the most bytes one message may hold.
	MaxMessageSize = 4 << 20
	// MaxFields is the most fields one message may hold.
	MaxFields = 20000
)

// ErrSyntax is wrapped by every error a Reader returns for malformed input.
var ErrSyntax = errors.New("malformed message")

// Reader reads messages from a stream, such as a method's stdin.
type Reader struct {
	br *bufio.Reader
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10)}
}

// ParseMessage parses exactly one message from data; a trailing blank line
// is optional.
func ParseMessage(data []byte) (*Message, error) {
	r := NewReader(bytes.NewReader(data))
	m, err := r.ReadMessage()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("aptmethod: %w: no message", ErrSyntax)
		}
		return nil, err
	}
	if _, err := r.ReadMessage(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("aptmethod: %w: data after the message", ErrSyntax)
	}
	return m, nil
}

// ReadMessage returns the next message. Blank lines before a message are
// skipped. It returns io.EOF when the stream ends between messages; a stream
// that ends inside a message ends that message (APT always closes its
// messages, so the only loss is a partial message at shutdown). Malformed
// input gives an error wrapping ErrSyntax; the Reader should not be used
// after an error.
func (r *Reader) ReadMessage() (*Message, error) {
	var line []byte
	var err error
	for {
		line, err = r.readLine()
		if err != nil {
			return nil, err
		}
		if len(line) != 0 {
			break
		}
	}
	m, err := parseStatusLine(line)
	if err != nil {
		return nil, err
	}
	size := len(line)
	for {
		line, err = r.readLine()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			return m, nil
		}
		size += len(line) + 1
		if size > MaxMessageSize {
			return nil, fmt.Errorf("aptmethod: %w: message %d larger than %d bytes", ErrSyntax, m.Code, MaxMessageSize)
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(m.Fields) == 0 {
				return nil, fmt.Errorf("aptmethod: %w: continuation line before any field", ErrSyntax)
			}
			last := &m.Fields[len(m.Fields)-1]
			last.Value += "\n" + string(bytes.TrimSpace(line))
			continue
		}
		if len(m.Fields) == MaxFields {
			return nil, fmt.Errorf("aptmethod: %w: message %d has more than %d fields", ErrSyntax, m.Code, MaxFields)
		}
		f, err := parseField(line)
		if err != nil {
			return nil, err
		}
		m.Fields = append(m.Fields, f)
	}
}

// readLine returns the next line without its "\n" (or "\r\n").
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, fmt.Errorf("aptmethod: %w: line longer than %d bytes", ErrSyntax, MaxLineLength)
	case errors.Is(err, io.EOF):
		if len(line) == 0 {
			return nil, io.EOF
		}
	case err != nil:
		return nil, fmt.Errorf("aptmethod: read: %w", err)
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, nil
}

// parseStatusLine parses "NNN Summary".
func parseStatusLine(line []byte) (*Message, error) {
	if len(line) < 3 || (len(line) > 3 && line[3] != ' ') {
		return nil, fmt.Errorf("aptmethod: %w: status line %q does not start with a three-digit code", ErrSyntax, truncate(line))
	}
	code, err := strconv.Atoi(string(line[:3]))
	if err != nil || code < 100 {
		return nil, fmt.Errorf("aptmethod: %w: status line %q does not start with a three-digit code", ErrSyntax, truncate(line))
	}
	m := &Message{Code: code}
	if len(line) > 4 {
		m.Summary = string(bytes.TrimSpace(line[4:]))
	}
	return m, nil
}

// parseField parses "Name: value".
func parseField(line []byte) (Field, error) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return Field{}, fmt.Errorf("aptmethod: %w: line %q is not \"Name: value\"", ErrSyntax, truncate(line))
	}
	name := line[:colon]
	if err := checkFieldName(string(name)); err != nil {
		return Field{}, fmt.Errorf("aptmethod: %w: %w", ErrSyntax, err)
	}
	return Field{Name: string(name), Value: string(bytes.TrimSpace(line[colon+1:]))}, nil
}

// truncate shortens b for an error message.
func truncate(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}
