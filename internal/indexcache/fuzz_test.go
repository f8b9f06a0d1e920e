package indexcache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzOpenEntry: any cache file on disk (a corrupt or hostile header) is
// either refused or opened with a body that fits the file; never a panic.
func FuzzOpenEntry(f *testing.F) {
	hdr, _ := encodeHeader(Meta{URL: "http://x/Release", Size: 5, SHA256: hexOf("hello")})
	f.Add(append(hdr, "hello"...))
	f.Add(hdr)
	f.Add([]byte("{}"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "entry")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := openEntry(p)
		if err != nil {
			return
		}
		defer e.Close()
		if e.Meta.Size < 0 || headerSize+e.Meta.Size != int64(len(data)) {
			t.Fatalf("opened a body of %d bytes in a file of %d", e.Meta.Size, len(data))
		}
	})
}

// FuzzByHashSum: a key is taken as a by-hash name only when it ends in
// "by-hash/SHA256/" and 64 hex digits, and the digest is those digits.
func FuzzByHashSum(f *testing.F) {
	f.Add("m/dists/x/main/binary-amd64/by-hash/SHA256/" + strings.Repeat("ab", 32))
	f.Add("by-hash/SHA256/" + strings.Repeat("0", 64))
	f.Add("m/xby-hash/SHA256/" + strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, key string) {
		sum, ok := byHashSum(key)
		if !ok {
			return
		}
		tail := key[len(key)-64:]
		if !strings.HasSuffix(key[:len(key)-64], "by-hash/SHA256/") || strings.ToLower(tail) != strings.ToLower(hexString(sum)) {
			t.Fatalf("%q taken as by-hash %x", key, sum)
		}
	})
}

func hexString(b [32]byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 64)
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}
