package bencode

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchFiles is the number of packages in Debian bookworm main amd64.
const benchFiles = 63440

// syntheticDebianInfo builds a piece-per-file info dict shaped like the one
// for bookworm main amd64: 63,440 files of {"length", "path" of 5 strings}
// and a "pieces" string of 32 bytes per file. Names are sized so that the
// dict is about 8.0 MB, like the real one (8.1 MB: 6.07 MB of file entries
// and 2.03 MB of hashes).
func syntheticDebianInfo() debianInfo {
	rng := rand.New(rand.NewPCG(1, 2))
	var info debianInfo
	info.Name = "debian-bookworm-main-amd64"
	info.PieceLayout = "per-file-sha256"
	info.Files = make([]struct {
		Length int64    `bencode:"length"`
		Path   []string `bencode:"path"`
	}, benchFiles)
	for i := range info.Files {
		pkg := fmt.Sprintf("lib%x-utils", rng.Uint32()>>8)
		f := &info.Files[i]
		f.Length = rng.Int64N(1 << 24)
		f.Path = []string{"pool", "main", pkg[:1], pkg, fmt.Sprintf("%s_%d.%d-%d_amd64.deb", pkg, rng.IntN(10), rng.IntN(100), rng.IntN(5))}
	}
	info.Pieces = make([]byte, 32*benchFiles)
	for i := range info.Pieces {
		info.Pieces[i] = byte(rng.Uint32())
	}
	return info
}

func benchData(b *testing.B) (debianInfo, []byte) {
	b.Helper()
	info := syntheticDebianInfo()
	data, err := Marshal(info)
	if err != nil {
		b.Fatal(err)
	}
	return info, data
}

func BenchmarkUnmarshalInfoStruct(b *testing.B) {
	_, data := benchData(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var info debianInfo
		if err := Unmarshal(data, &info); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalInfoAny(b *testing.B) {
	_, data := benchData(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalInfoRaw(b *testing.B) {
	_, data := benchData(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var raw RawMessage
		if err := Unmarshal(data, &raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecoderInfoStruct(b *testing.B) {
	_, data := benchData(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var info debianInfo
		if err := NewDecoder(bytes.NewReader(data)).Decode(&info); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalInfoStruct(b *testing.B) {
	info, data := benchData(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(info); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalInfoAny(b *testing.B) {
	_, data := benchData(b)
	var v any
	if err := Unmarshal(data, &v); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSyntheticInfoRoundTrips(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an 8 MB document")
	}
	info := syntheticDebianInfo()
	data, err := Marshal(info)
	noErr(t, err)
	var back debianInfo
	noErr(t, Unmarshal(data, &back))
	equal(t, info, back)
	t.Logf("synthetic info dict: %d bytes", len(data))
}

// BenchmarkDecoderSmallValues decodes a stream of many tiny values, where a
// Decoder that shifted its buffer on every call would be quadratic.
func BenchmarkDecoderSmallValues(b *testing.B) {
	const values = 100000
	data := bytes.Repeat([]byte("i12345e"), values)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		dec := NewDecoder(bytes.NewReader(data))
		for range values {
			var i int
			if err := dec.Decode(&i); err != nil {
				b.Fatal(err)
			}
		}
	}
}
