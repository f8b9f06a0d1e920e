package bencode

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDecoderReadsValuesOneByOne(t *testing.T) {
	stream := "i1e3:abcli2eed1:ai3ee" + validDocument
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(stream) },
		"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(stream)) },
		"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(stream)) },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(strings.NewReader(stream)) },
	}
	for name, newReader := range readers {
		t.Run(name, func(t *testing.T) {
			dec := NewDecoder(newReader())
			var i int
			var s string
			var l []int
			var m map[string]int
			var raw RawMessage
			noErr(t, dec.Decode(&i))
			noErr(t, dec.Decode(&s))
			noErr(t, dec.Decode(&l))
			equal(t, int64(13), dec.InputOffset())
			noErr(t, dec.Decode(&m))
			noErr(t, dec.Decode(&raw))
			equal(t, 1, i)
			equal(t, "abc", s)
			equal(t, []int{2}, l)
			equal(t, map[string]int{"a": 3}, m)
			equal(t, validDocument, string(raw))
			equal(t, int64(len(stream)), dec.InputOffset())
			if err := dec.Decode(new(any)); err != io.EOF {
				t.Fatalf("Decode at the end = %v, want io.EOF", err)
			}
		})
	}
}

// countingReader counts the bytes handed out.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestDecoderDoesNotNeedTheWholeStream(t *testing.T) {
	// A first small value followed by an endless stream: Decode must
	// return the first value after reading at most one chunk.
	endless := io.MultiReader(strings.NewReader("d1:ai1ee"), endlessInts{})
	cr := &countingReader{r: endless}
	dec := NewDecoder(cr)
	var m map[string]int
	noErr(t, dec.Decode(&m))
	equal(t, map[string]int{"a": 1}, m)
	for range 1000 {
		var i int
		noErr(t, dec.Decode(&i))
		equal(t, 1, i)
	}
	if cr.n > 2*readChunk {
		t.Errorf("read %d bytes to decode 3008 bytes of values", cr.n)
	}
	if cap(dec.buf) > 4*readChunk {
		t.Errorf("buffer grew to %d bytes for 3-byte values", cap(dec.buf))
	}
	buffered, err := io.ReadAll(io.LimitReader(dec.Buffered(), 6))
	noErr(t, err)
	if !strings.HasPrefix("i1ei1e", string(buffered)) {
		t.Errorf("Buffered() starts %q, want the next values", buffered)
	}
}

// endlessInts is an endless stream of "i1e".
type endlessInts struct{}

func (endlessInts) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = "i1e"[i%3]
	}
	return len(p) - len(p)%3, nil
}

func TestDecoderHugeDeclaredStringAllocatesOnlyWhatArrives(t *testing.T) {
	// The limit is raised to 2 GiB: only the bytes actually present
	// may be buffered, not the declared gigabyte.
	in := "1000000000:" + strings.Repeat("x", 100000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	dec := NewDecoder(strings.NewReader(in))
	dec.SetMaxStringLength(2 << 30)
	dec.SetMaxValueSize(2 << 30)
	err := dec.Decode(new(string))
	runtime.ReadMemStats(&after)
	errContains(t, err, "at offset 0: unexpected end of input in a string of 1000000000 bytes (100000 present)")
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 10<<20 {
		t.Errorf("allocated %d bytes for a %d-byte input", grew, len(in))
	}
}

func TestDecoderErrors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		setup func(*Decoder)
		msg   string
		limit bool
	}{
		{"gigabyte string in 12 bytes", "1000000000:x", func(d *Decoder) { d.SetMaxStringLength(1 << 30); d.SetMaxValueSize(1 << 30) }, "unexpected end of input in a string of 1000000000 bytes (1 present)", false},
		{"over max string", "100000000:x", nil, "longer than the limit of 67108864", true},
		{"custom max string", "5:abcde", func(d *Decoder) { d.SetMaxStringLength(4) }, "string of 5 bytes is longer than the limit of 4", true},
		{"value size", "l5:abcde5:abcdee", func(d *Decoder) { d.SetMaxValueSize(10) }, "larger than the limit of 10", true},
		{"value size by ints", "li1ei2ei3ei4ee", func(d *Decoder) { d.SetMaxValueSize(8) }, "larger than the limit of 8", true},
		{"depth", "lllleeee", func(d *Decoder) { d.SetMaxDepth(3) }, "at offset 3: nesting deeper than 3", true},
		{"default depth", strings.Repeat("l", 65), nil, "at offset 64: nesting deeper than 64", true},
		{"truncated", "li1e", nil, "at offset 4: unexpected end of input", false},
		{"bad byte", "lxe", nil, "at offset 1: expected a value", false},
		{"leading zero", "li03ee", nil, "at offset 2: integer has a leading zero", false},
		{"unsorted", "d1:bi1e1:ai1ee", nil, `at offset 7: dict keys not sorted: "a" after "b"`, false},
		{"endless int", "i" + strings.Repeat("1", 100), nil, "more than 20 digits", true},
		{"endless length", strings.Repeat("1", 100), nil, "more than 18 digits", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := NewDecoder(iotest.HalfReader(strings.NewReader(tt.in)))
			if tt.setup != nil {
				tt.setup(dec)
			}
			err := dec.Decode(new(any))
			errContains(t, err, tt.msg)
			contains(t, err.Error(), "bencode: at offset ")
			if errors.Is(err, ErrLimit) != tt.limit {
				t.Errorf("errors.Is(%v, ErrLimit) = %v, want %v", err, !tt.limit, tt.limit)
			}
		})
	}
}

func TestDecoderOffsetsAreStreamOffsets(t *testing.T) {
	dec := NewDecoder(strings.NewReader("i1ed1:bi1e1:ai1ee"))
	noErr(t, dec.Decode(new(any)))
	err := dec.Decode(new(any))
	errContains(t, err, `at offset 10: dict keys not sorted: "a" after "b"`)
	// A value that is well framed but refused leaves the stream usable.
	if err := dec.Decode(new(any)); err != io.EOF {
		t.Errorf("after a refused value: %v, want io.EOF", err)
	}
}

func TestDecoderStopsAfterFramingError(t *testing.T) {
	dec := NewDecoder(strings.NewReader("xi1e"))
	first := dec.Decode(new(any))
	errContains(t, first, "at offset 0")
	equal(t, first, dec.Decode(new(any)))
}

func TestDecoderReadErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	dec := NewDecoder(io.MultiReader(strings.NewReader("li1e"), iotest.ErrReader(boom)))
	err := dec.Decode(new(any))
	if !errors.Is(err, boom) {
		t.Fatalf("Decode = %v, want it to wrap the read error", err)
	}
	errContains(t, err, "at offset 4")
}

// stuckReader never returns data or an error.
type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

func TestDecoderStuckReader(t *testing.T) {
	dec := NewDecoder(io.MultiReader(strings.NewReader("li1e"), stuckReader{}))
	err := dec.Decode(new(any))
	if !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("Decode = %v, want io.ErrNoProgress", err)
	}
	errContains(t, err, "at offset 4")
}

func TestDecoderAllowUnsorted(t *testing.T) {
	doc := "d4:infod4:name1:x6:lengthi5eee"
	dec := NewDecoder(strings.NewReader(doc))
	dec.AllowUnsorted()
	var v struct {
		Info RawMessage `bencode:"info"`
	}
	noErr(t, dec.Decode(&v))
	equal(t, "d4:name1:x6:lengthi5ee", string(v.Info))

	dec = NewDecoder(strings.NewReader("d1:ai1e1:ai1ee"))
	dec.AllowUnsorted()
	errContains(t, dec.Decode(new(any)), `duplicate dict key "a"`)
}

func TestDecoderInvalidTarget(t *testing.T) {
	dec := NewDecoder(strings.NewReader("i1ei2e"))
	var ie *InvalidUnmarshalError
	errAs(t, dec.Decode(nil), &ie)
	var i int
	noErr(t, dec.Decode(&i), "an invalid target must not consume a value")
	equal(t, 1, i)
}

// shortWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("full") }

func TestEncoder(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	noErr(t, enc.Encode(1))
	noErr(t, enc.Encode(map[string]string{"b": "2", "a": "1"}))
	_, err := Marshal(1.5)
	errContains(t, enc.Encode(1.5), err.Error())
	noErr(t, enc.Encode([]string{"x"}))
	equal(t, "i1ed1:a1:11:b1:2el1:xe", buf.String())

	// And back through a Decoder.
	dec := NewDecoder(&buf)
	var i int
	var m map[string]string
	var l []string
	noErr(t, dec.Decode(&i))
	noErr(t, dec.Decode(&m))
	noErr(t, dec.Decode(&l))
	equal(t, []string{"x"}, l)

	errContains(t, NewEncoder(failingWriter{}).Encode(1), "bencode: write: full")
}
