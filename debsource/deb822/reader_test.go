package deb822

import (
	"errors"
	"io"
	"strings"
	"testing"

	"reflect"
)

// readAll returns every stanza as a list of name/value pairs.
func readAll(t *testing.T, input string, opts Options) ([][][2]string, error) {
	t.Helper()
	r := NewReader(strings.NewReader(input), opts)
	var out [][][2]string
	for {
		s, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		var fields [][2]string
		for n, v := range s.Fields() {
			fields = append(fields, [2]string{string(n), string(v)})
		}
		out = append(out, fields)
	}
}

func TestReaderParses(t *testing.T) {
	tests := []struct {
		name  string
		input string
		opts  Options
		want  [][][2]string
	}{
		{"empty", "", Options{}, nil},
		{"only blank lines", "\n \n\t\n", Options{}, nil},
		{"one stanza no final newline", "Package: hello\nVersion: 2.10-3", Options{},
			[][][2]string{{{"Package", "hello"}, {"Version", "2.10-3"}}}},
		{"two stanzas, extra blank lines, CRLF", "\r\n\r\nA: 1\r\n\r\n\r\nB:  2 \r\n", Options{},
			[][][2]string{{{"A", "1"}}, {{"B", "2"}}}},
		{"whitespace-only separator", "A: 1\n \t \nB: 2\n", Options{},
			[][][2]string{{{"A", "1"}}, {{"B", "2"}}}},
		{"continuation and dot lines", "Description: short\n long line\n .\n more\n\tx\n", Options{},
			[][][2]string{{{"Description", "short\nlong line\n.\nmore\nx"}}}},
		{"empty first line", "SHA256:\n abc 12 main/x\n def 3 main/y\n", Options{},
			[][][2]string{{{"SHA256", "\nabc 12 main/x\ndef 3 main/y"}}}},
		{"colon in value", "Homepage: https://example.org:80/x\n", Options{},
			[][][2]string{{{"Homepage", "https://example.org:80/x"}}}},
		{"comments allowed", "# top\nTypes: deb\n# inside\nURIs: http://x/\n", Options{AllowComments: true},
			[][][2]string{{{"Types", "deb"}, {"URIs", "http://x/"}}}},
		{"empty value", "Empty:\nNext: x\n", Options{},
			[][][2]string{{{"Empty", ""}, {"Next", "x"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(t, tt.input, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name     string
		input    string
		opts     Options
		line     int    // expected SyntaxError line, 0 for a limit error
		contains string // part of the message
	}{
		{"continuation first", " x\n", Options{}, 1, "continuation line before any field"},
		{"no colon", "A: 1\nnonsense\n", Options{}, 2, "want \"Name: value\""},
		{"empty name", ": v\n", Options{}, 1, "want \"Name: value\""},
		{"space in name", "Bad Name: v\n", Options{}, 1, "space or control"},
		{"dash name", "-----BEGIN PGP SIGNATURE-----\n", Options{}, 1, "may not start with '-'"},
		{"comment not allowed", "A: 1\n# c\n", Options{}, 2, "comment line"},
		{"duplicate field any case", "Package: a\npackage: b\n", Options{}, 2, "repeats the one on line 1"},
		{"NUL", "A: \x00\n", Options{}, 1, "NUL"},
		{"line limit", "A: " + strings.Repeat("x", 100) + "\n", Options{Limits: Limits{MaxLineBytes: 50}}, 0, "line longer than 50"},
		{"long line limit beyond buffer", "A: " + strings.Repeat("x", 200<<10) + "\n", Options{Limits: Limits{MaxLineBytes: 100 << 10}}, 0, "line longer than"},
		{"stanza limit", "A: 1234567890\nB: 1234567890\n", Options{Limits: Limits{MaxStanzaBytes: 15}}, 0, "stanza larger than 15"},
		{"continuation limit", "A: 1234567890\n 1234567890\n", Options{Limits: Limits{MaxStanzaBytes: 15}}, 0, "stanza larger than 15"},
		{"field limit", "A: 1\nB: 2\nC: 3\n", Options{Limits: Limits{MaxFields: 2}}, 0, "more than 2 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(t, tt.input, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("error %v, want one containing %q", err, tt.contains)
			}
			var se *SyntaxError
			if tt.line == 0 {
				if !errors.Is(err, ErrLimit) {
					t.Fatalf("error %v does not wrap ErrLimit", err)
				}
			} else if !errors.As(err, &se) || se.Line != tt.line {
				t.Fatalf("error %v, want a SyntaxError on line %d", err, tt.line)
			}
		})
	}
}

func TestLongLineWithinLimit(t *testing.T) {
	long := strings.Repeat("y", 300<<10)
	got, err := readAll(t, "A: "+long+"\nB: 2\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0][0][1] != long || got[0][1][1] != "2" {
		t.Fatalf("long line not read back intact")
	}
}

func TestStanzaLookup(t *testing.T) {
	r := NewReader(strings.NewReader("Package: hello\nSHA256: abc\nDescription: x\n y\n"), Options{})
	s, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if s.Line() != 1 || s.Len() != 3 || s.FieldLine(2) != 3 {
		t.Fatalf("Line=%d Len=%d FieldLine(2)=%d", s.Line(), s.Len(), s.FieldLine(2))
	}
	if v, ok := s.Value("sha256"); !ok || string(v) != "abc" {
		t.Fatalf("Value(sha256)=%q,%v", v, ok)
	}
	if s.Get("PACKAGE") != "hello" || s.Get("Missing") != "" || s.Index("Missing") != -1 {
		t.Fatal("case-insensitive lookup failed")
	}
	want := map[string]string{"Package": "hello", "SHA256": "abc", "Description": "x\ny"}
	if !reflect.DeepEqual(s.Map(), want) {
		t.Fatalf("Map=%v", s.Map())
	}
	for range 2 {
		if _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("after the last stanza: %v, want io.EOF", err)
		}
	}
}

func TestStickyError(t *testing.T) {
	r := NewReader(strings.NewReader("bad\n\nA: 1\n"), Options{})
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 != err2 {
		t.Fatalf("errors %v then %v, want the same error twice", err1, err2)
	}
}

func TestLines(t *testing.T) {
	got := Lines([]byte("short\npara one\n.\npara two"))
	if !reflect.DeepEqual(got, []string{"short", "para one", "", "para two"}) {
		t.Fatalf("Lines=%q", got)
	}
	if got := Lines(nil); !reflect.DeepEqual(got, []string{""}) {
		t.Fatalf("Lines(nil)=%q", got)
	}
}
