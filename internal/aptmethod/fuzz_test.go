package aptmethod

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseMessage feeds arbitrary bytes to the parser APT's messages go
// through. It must never panic or hang; whatever it accepts must encode and
// parse back to a message with the same code and field names, and the
// request and configuration readers must cope with it.
func FuzzParseMessage(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.msg")
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("600 URI Acquire\nURI: debtorrent://h:1/a b%20c\nFilename: /x\nLast-Modified: Wed, 25 Nov 2026 01:29:37 +0000\nExpected-SHA256: ab\nMaximum-Size: 9\n\n"))
	f.Add([]byte("201 URI Done\nGPGVOutput:\n GOODSIG a\n\tVALIDSIG b\n\n"))
	f.Add([]byte("601 Configuration\r\nConfig-Item: a%3d=b%zz\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMessage(data)
		if err != nil {
			return
		}
		enc, err := m.MarshalText()
		if err != nil {
			t.Fatalf("parsed message does not encode: %v\n%q", err, data)
		}
		back, err := ParseMessage(enc)
		if err != nil {
			t.Fatalf("encoded message does not parse: %v\n%q", err, enc)
		}
		if back.Code != m.Code || len(back.Fields) != len(m.Fields) {
			t.Fatalf("round trip changed the message:\n%q\n%q", data, enc)
		}
		for i := range m.Fields {
			if back.Fields[i].Name != m.Fields[i].Name {
				t.Fatalf("field %d name %q became %q", i, m.Fields[i].Name, back.Fields[i].Name)
			}
		}
		_, _ = ParseRequest(m)
		_, _ = DefaultConfig().ApplyConfiguration(m)
	})
}
