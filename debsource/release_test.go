package debsource

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseInReleaseExcerpt(t *testing.T) {
	raw, err := os.ReadFile("testdata/InRelease.bookworm")
	if err != nil {
		t.Fatal(err)
	}
	rel, cs, err := ParseInRelease(context.Background(), raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Origin != "Debian" || rel.Label != "Debian" || rel.Suite != "oldstable" || rel.Codename != "bookworm" || rel.Version != "12.15" {
		t.Errorf("header fields: %+v", rel)
	}
	if want := time.Date(2026, 7, 11, 10, 16, 37, 0, time.UTC); !rel.Date.Equal(want) {
		t.Errorf("Date %v, want %v", rel.Date, want)
	}
	if !rel.ValidUntil.IsZero() || rel.Expired(time.Now()) {
		t.Errorf("ValidUntil %v: bookworm's InRelease has none", rel.ValidUntil)
	}
	if !rel.AcquireByHash {
		t.Error("Acquire-By-Hash: yes not seen")
	}
	if strings.Join(rel.Components, ",") != "main,contrib,non-free-firmware,non-free" || len(rel.Architectures) != 10 {
		t.Errorf("Components %q Architectures %q", rel.Components, rel.Architectures)
	}
	if len(rel.Files) != 8 {
		t.Fatalf("%d files, want 8", len(rel.Files))
	}
	f, ok := rel.File("main/binary-amd64/Packages")
	if !ok || f.Size != 50060337 || !f.HasSHA256 || !f.HasMD5 ||
		!bytes.Equal(f.SHA256[:], mustHex(t, "515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f")) ||
		!bytes.Equal(f.MD5[:], mustHex(t, "f230d61720e789abf5df55d6026230c6")) {
		t.Errorf("main/binary-amd64/Packages: %+v, %v", f, ok)
	}
	if cs.Hashes[0] != "SHA256" || !bytes.HasPrefix(cs.Signature, []byte("-----BEGIN PGP SIGNATURE-----\n")) ||
		!bytes.HasSuffix(cs.Signature, []byte("-----END PGP SIGNATURE-----\n")) || !bytes.HasPrefix(cs.Body, []byte("Origin: Debian\n")) {
		t.Errorf("clearsigned parts: hashes %q, signature %.40q…, body %.40q…", cs.Hashes, cs.Signature, cs.Body)
	}
}

func TestReleaseByHash(t *testing.T) {
	raw, err := os.ReadFile("testdata/Release.excerpt")
	if err != nil {
		t.Fatal(err)
	}
	rel, err := ParseRelease(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"main/binary-amd64/by-hash/SHA256/9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5", "main/binary-amd64/Packages.xz"},
		{"main/binary-amd64/by-hash/SHA256/515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f", "main/binary-amd64/Packages"},
		{"main/by-hash/SHA256/7e72214b4cef520fa07fc40ff975c60bc4501eca6308cf5cd9804c00811b776b", "main/Contents-amd64.gz"},
		{"main/source/by-hash/SHA256/92d11a035571df011f06f28c61cb9825130ef1d92abb2f2e0525e8674dc44af8", "main/source/Sources.xz"},
		// Right hash, wrong directory: not that index.
		{"contrib/binary-amd64/by-hash/SHA256/9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5", ""},
		{"main/binary-amd64/by-hash/MD5Sum/b838d31986207780a596ce3e8010f90f", ""},
		{"main/binary-amd64/by-hash/SHA256/zz0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5", ""},
		{"main/binary-amd64/by-hash/SHA256/9e0b", ""},
		{"main/binary-amd64/Packages.xz", ""},
	}
	for _, tt := range tests {
		f, ok := rel.ByHash(tt.path)
		if ok != (tt.want != "") || f.Path != tt.want {
			t.Errorf("ByHash(%s) = %q,%v want %q", tt.path, f.Path, ok, tt.want)
		}
	}
}

func TestParseReleaseErrors(t *testing.T) {
	const sum = "515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f"
	tests := []struct{ name, text, want string }{
		{"empty", "", "empty file"},
		{"two stanzas", "Origin: a\n\nOrigin: b\n", "second stanza"},
		{"bad date", "Date: yesterday\n", "RFC 1123"},
		{"foreign zone", "Date: Sat, 11 Jul 2026 10:16:37 EST\n", "not UTC"},
		{"short line", "SHA256:\n " + sum + " 12\n", "want \"<hash> <size> <path>\""},
		{"short hash", "SHA256:\n abcd 12 main/x\n", "not 64 hex"},
		{"not hex", "MD5Sum:\n zz0d4c8891eb86358b94bb35d9e4da4 12 main/x\n", "hash"},
		{"negative size", "SHA256:\n " + sum + " -1 main/x\n", "not a byte count"},
		{"traversal", "SHA256:\n " + sum + " 1 main/../../etc/passwd\n", "\"..\""},
		{"absolute", "SHA256:\n " + sum + " 1 /etc/passwd\n", "absolute"},
		{"twice", "SHA256:\n " + sum + " 1 main/x\n " + sum + " 1 main/x\n", "listed twice"},
		{"sizes disagree", "MD5Sum:\n f230d61720e789abf5df55d6026230c6 2 main/x\nSHA256:\n " + sum + " 1 main/x\n", "size 1 here and 2"},
		{"syntax", "Origin Debian\n", "line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRelease(strings.NewReader(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseReleaseTime(t *testing.T) {
	want := time.Date(2023, 6, 10, 8, 50, 25, 0, time.UTC)
	for _, s := range []string{
		"Sat, 10 Jun 2023 08:50:25 UTC",
		"Sat, 10 Jun 2023 08:50:25 GMT",
		"Sat, 10 Jun 2023 08:50:25 +0000",
		"Sat, 10 Jun 2023 10:50:25 +0200",
		"10 Jun 2023 08:50:25 UTC",
		" Sat, 10 Jun 2023 08:50:25 UTC ",
	} {
		got, err := ParseReleaseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v, %v", s, got, err)
		}
	}
	if got, err := ParseReleaseTime("Sat, 3 Jun 2023 08:50:25 UTC"); err != nil || got.Day() != 3 {
		t.Errorf("one-digit day: %v, %v", got, err)
	}
	for _, s := range []string{"", "2023-06-10T08:50:25Z", "Sat, 10 Jun 2023 08:50:25 CEST"} {
		if _, err := ParseReleaseTime(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestParseClearsigned(t *testing.T) {
	const sig = "-----BEGIN PGP SIGNATURE-----\n\niQIz\n=AfjX\n-----END PGP SIGNATURE-----\n"
	good := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256, SHA512\n\nOrigin: x\n- -dash line\r\n- - nested\ntrailing   \n" + sig
	cs, err := ParseClearsigned([]byte("\n" + good + "\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if string(cs.Body) != "Origin: x\n-dash line\n- nested\ntrailing\n" {
		t.Errorf("body %q", cs.Body)
	}
	if strings.Join(cs.Hashes, ",") != "SHA256,SHA512" || string(cs.Signature) != sig {
		t.Errorf("hashes %q signature %q", cs.Hashes, cs.Signature)
	}
	bad := []struct{ name, text, want string }{
		{"not signed", "Origin: x\n", "no \"-----BEGIN PGP SIGNED MESSAGE-----\""},
		{"junk before", "junk\n" + good, "no \"-----BEGIN PGP SIGNED MESSAGE-----\""},
		{"junk after", good + "Origin: evil\n", "text after"},
		{"second message", good + good, "text after"},
		{"other armor header", strings.Replace(good, "Hash: SHA256, SHA512", "Comment: hi", 1), "is not \"Hash:\""},
		{"unescaped dash", strings.Replace(good, "- -dash", "-dash", 1), "not dash-escaped"},
		{"no signature", "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: x\n", "no \"-----BEGIN PGP SIGNATURE-----\""},
		{"no end", strings.TrimSuffix(good, "-----END PGP SIGNATURE-----\n"), "no \"-----END PGP SIGNATURE-----\""},
		{"headers never end", "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n", "never end"},
		{"armor inside signature", strings.Replace(good, "=AfjX", "-----BEGIN PGP SIGNED MESSAGE-----", 1), "inside the signature"},
	}
	for _, tt := range bad {
		_, err := ParseClearsigned([]byte(tt.text))
		if !errors.Is(err, ErrNotClearsigned) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want ErrNotClearsigned containing %q", tt.name, err, tt.want)
		}
	}
}

type fakeVerifier struct {
	err  error
	seen []byte
}

func (f *fakeVerifier) Verify(_ context.Context, message, detached []byte) error {
	f.seen = message
	if detached != nil {
		return errors.New("unexpected detached signature")
	}
	return f.err
}

func TestParseInReleaseVerifier(t *testing.T) {
	raw, err := os.ReadFile("testdata/InRelease.bookworm")
	if err != nil {
		t.Fatal(err)
	}
	v := &fakeVerifier{}
	if _, _, err := ParseInRelease(context.Background(), raw, v); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v.seen, raw) {
		t.Error("the Verifier was not given the whole clearsigned file")
	}
	v.err = errors.New("BAD signature")
	if _, _, err := ParseInRelease(context.Background(), raw, v); err == nil || !strings.Contains(err.Error(), "BAD signature") {
		t.Errorf("a failing Verifier gave %v", err)
	}
}
