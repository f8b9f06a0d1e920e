package aptmethod

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMessage(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    *Message
		wantErr string
	}{
		{
			name: "acquire",
			in:   "600 URI Acquire\nURI: debtorrent://h:1/a\nFilename: /tmp/x\n\n",
			want: &Message{Code: 600, Summary: "URI Acquire", Fields: []Field{{"URI", "debtorrent://h:1/a"}, {"Filename", "/tmp/x"}}},
		},
		{
			name: "crlf, no final blank line, spaces trimmed",
			in:   "601 Configuration\r\nConfig-Item:   a=b  \r\n",
			want: &Message{Code: 601, Summary: "Configuration", Fields: []Field{{"Config-Item", "a=b"}}},
		},
		{
			name: "blank lines before",
			in:   "\n\n100 Capabilities\nVersion: 1.2\n\n",
			want: &Message{Code: 100, Summary: "Capabilities", Fields: []Field{{"Version", "1.2"}}},
		},
		{
			name: "continuation lines",
			in:   "201 URI Done\nGPGVOutput:\n GOODSIG a\n VALIDSIG b\n\n",
			want: &Message{Code: 201, Summary: "URI Done", Fields: []Field{{"GPGVOutput", "\nGOODSIG a\nVALIDSIG b"}}},
		},
		{name: "code only", in: "600\n\n", want: &Message{Code: 600}},
		{name: "empty value", in: "600 X\nA:\n\n", want: &Message{Code: 600, Summary: "X", Fields: []Field{{"A", ""}}}},
		{name: "empty", in: "", wantErr: "no message"},
		{name: "no code", in: "URI Acquire\n\n", wantErr: "three-digit code"},
		{name: "short code", in: "60 URI\n\n", wantErr: "three-digit code"},
		{name: "code glued to text", in: "600URI\n\n", wantErr: "three-digit code"},
		{name: "code below 100", in: "099 x\n\n", wantErr: "three-digit code"},
		{name: "field without colon", in: "600 x\nURI\n\n", wantErr: "Name: value"},
		{name: "field with empty name", in: "600 x\n: v\n\n", wantErr: "Name: value"},
		{name: "field name with space", in: "600 x\nA B: v\n\n", wantErr: "not allowed"},
		{name: "continuation first", in: "600 x\n cont\n\n", wantErr: "continuation"},
		{name: "two messages", in: "600 x\n\n600 y\n\n", wantErr: "data after"},
		{name: "line too long", in: "600 x\nA: " + strings.Repeat("a", MaxLineLength) + "\n\n", wantErr: "line longer"},
		{name: "too many fields", in: "600 x\n" + strings.Repeat("A: b\n", MaxFields+1) + "\n", wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMessage([]byte(tt.in))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrSyntax)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReaderStream(t *testing.T) {
	in := "100 Capabilities\nVersion: 1\n\n\n\n600 URI Acquire\nURI: a\n\n600 URI Acquire\nURI: b"
	r := NewReader(strings.NewReader(in))
	var uris []string
	for {
		m, err := r.ReadMessage()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		uris = append(uris, m.Value("uri"))
	}
	assert.Equal(t, []string{"", "a", "b"}, uris)
}

func TestMessageSizeLimit(t *testing.T) {
	line := "A: " + strings.Repeat("x", MaxLineLength-10) + "\n"
	in := "600 x\n" + strings.Repeat(line, MaxMessageSize/len(line)+1) + "\n"
	_, err := ParseMessage([]byte(in))
	require.ErrorIs(t, err, ErrSyntax)
	assert.Contains(t, err.Error(), "larger than")
}

func TestMarshalText(t *testing.T) {
	m := NewMessage(400, "URI Failure").Add("URI", "debtorrent://h/a").Add("Message", "line one\nline two\r\n")
	data, err := m.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "400 URI Failure\nURI: debtorrent://h/a\nMessage: line one line two  \n\n", string(data))

	back, err := ParseMessage(data)
	require.NoError(t, err)
	assert.Equal(t, "line one line two", back.Value("message"))
	assert.Equal(t, []string{"debtorrent://h/a"}, back.All("URI"))

	for _, bad := range []*Message{
		{Code: 99},
		{Code: 1000},
		NewMessage(600, "x").Add("", "v"),
		NewMessage(600, "x").Add("A:B", "v"),
		NewMessage(600, "x").Add("A\nB", "v"),
	} {
		_, err := bad.MarshalText()
		assert.Error(t, err, "%#v", bad)
		var buf bytes.Buffer
		_, err = bad.WriteTo(&buf)
		assert.Error(t, err)
		assert.Zero(t, buf.Len(), "nothing written for a bad message")
	}
}
