package metainfo

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load: it must never panic, and a
// torrent it accepts must survive Write and Load with the same infohash,
// files and pieces.
func FuzzLoad(f *testing.F) {
	paths, err := filepath.Glob("testdata/*.torrent")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("d4:infod5:filesld6:lengthi5e4:pathl4:pool1:aeee4:name3:deb12:piece layout15:per-file-sha2566:pieces32:" +
		"0123456789abcdef0123456789abcdefee"))
	f.Add([]byte("d4:infod6:lengthi0e4:name1:x12:piece lengthi16384e6:pieces0:ee"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := m.Write(&buf); err != nil {
			t.Fatalf("Write of a loaded torrent: %v", err)
		}
		again, err := Load(&buf)
		if err != nil {
			t.Fatalf("Load of a written torrent: %v\n%q", err, buf.Bytes())
		}
		if again.Info.InfoHash() != m.Info.InfoHash() {
			t.Fatalf("infohash changed from %s to %s", m.Info.InfoHash(), again.Info.InfoHash())
		}
		if len(again.Info.Files) != len(m.Info.Files) || again.Info.NumPieces() != m.Info.NumPieces() {
			t.Fatalf("files or pieces changed")
		}
		for i, p := range m.Info.Pieces {
			if int64(len(p.Hash)) != int64(m.Info.HashType().Size()) || p.Length <= 0 {
				t.Fatalf("piece %d: %d-byte hash, length %d", i, len(p.Hash), p.Length)
			}
			var covered int64
			for _, r := range m.Info.FileRanges(i) {
				covered += r.Length
			}
			if covered != p.Length {
				t.Fatalf("piece %d: file ranges cover %d of %d bytes", i, covered, p.Length)
			}
		}
	})
}

// FuzzParseMagnet feeds arbitrary strings to ParseMagnet: it must never
// panic, and a link it accepts must format to one that parses the same.
func FuzzParseMagnet(f *testing.F) {
	f.Add("magnet:?xt=urn:btih:" + testHashHex + "&dn=x+y&tr=http%3A%2F%2Ft%2Fa&tr=udp://u:1")
	f.Add("magnet:?xt=urn:btih:" + testHashBase32)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMagnet(s)
		if err != nil {
			return
		}
		again, err := ParseMagnet(m.String())
		if err != nil {
			t.Fatalf("ParseMagnet(%q) of String(): %v", m.String(), err)
		}
		if again.InfoHash != m.InfoHash || again.Name != m.Name || len(again.Trackers) != len(m.Trackers) {
			t.Fatalf("round trip changed %+v to %+v", m, again)
		}
	})
}
