package debsource

import (
	"bytes"
	"crypto/sha256"
	"os"
	"strings"
	"testing"
)

func sha256Of(b []byte) [32]byte { return sha256.Sum256(b) }

func TestBuildInfoExcerpt(t *testing.T) {
	text, err := os.ReadFile("testdata/Packages.excerpt")
	if err != nil {
		t.Fatal(err)
	}
	name := TorrentName{Origin: "Debian", Suite: "bookworm", Component: "main", Arch: "amd64"}
	res, err := BuildInfo(bytes.NewReader(text), name)
	if err != nil {
		t.Fatal(err)
	}
	info := res.Info
	if info.Name != "Debian/bookworm/main/binary-amd64" || info.NumPieces() != 4 || res.Entries != 4 || res.SkippedTotal() != 0 {
		t.Fatalf("name %q, %d pieces, %d entries, %d skipped", info.Name, info.NumPieces(), res.Entries, res.SkippedTotal())
	}
	if info.Files[0].Path != "pool/main/0/0ad/0ad_0.0.26-3_amd64.deb" || info.Pieces[0].Length != 7891488 ||
		!bytes.Equal(info.Pieces[0].Hash, mustHex(t, "3a2118df47bf3f04285649f0455c2fc6fe2dc7f0b237073038aa00af41f0d5f2")) {
		t.Errorf("first piece: %+v %+v", info.Files[0], info.Pieces[0])
	}
	again, err := BuildInfo(bytes.NewReader(text), name)
	if err != nil {
		t.Fatal(err)
	}
	if again.Info.InfoHash() != info.InfoHash() {
		t.Error("the same Packages file gave two infohashes")
	}
	other, err := BuildInfo(bytes.NewReader(text), TorrentName{Origin: "Debian", Suite: "trixie", Component: "main", Arch: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if other.Info.InfoHash() == info.InfoHash() {
		t.Error("a different name gave the same infohash")
	}
}

func TestBuildInfoSkips(t *testing.T) {
	const sum = "3a2118df47bf3f04285649f0455c2fc6fe2dc7f0b237073038aa00af41f0d5f2"
	stanza := func(file, size, sha string) string {
		s := "Package: p\nFilename: " + file + "\nSize: " + size + "\n"
		if sha != "" {
			s += "SHA256: " + sha + "\n"
		}
		return s + "\n"
	}
	text := stanza("pool/main/a/a.deb", "10", sum) +
		stanza("pool/main/b/b.deb", "10", "") + // no SHA256
		stanza("pool/main/c/c.deb", "10", "xyz") + // malformed SHA256
		stanza("pool/main/d/d.deb", "0", sum) + // impossible size
		stanza("pool/main/e/e.deb", "99999999999999999", sum) + // absurd size
		stanza("pool/main/f/f.deb", "ten", sum) + // not a number
		stanza("pool/../../etc/passwd", "10", sum) + // traversal
		stanza("/etc/passwd", "10", sum) + // absolute
		"Package: nofile\nSize: 10\nSHA256: " + sum + "\n\n" + // no Filename
		stanza("pool/main/a/a.deb", "10", sum) + // repeat
		stanza("pool/main/g/g.deb", "20", sum)
	res, err := BuildInfo(strings.NewReader(text), TorrentName{Suite: "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[SkipReason]int{SkipNoSHA256: 1, SkipBadSHA256: 1, SkipBadSize: 3, SkipBadFilename: 3, SkipDuplicateFilename: 1}
	for _, r := range SkipReasons() {
		if res.Skipped[r] != want[r] {
			t.Errorf("%s: skipped %d, want %d", r, res.Skipped[r], want[r])
		}
	}
	if res.FirstSkipped[SkipNoSHA256] != 6 {
		t.Errorf("first no-SHA256 entry on line %d, want 6", res.FirstSkipped[SkipNoSHA256])
	}
	if res.Entries != 11 || res.Info.NumPieces() != 2 || res.Info.TotalLength() != 30 {
		t.Errorf("%d entries, %d pieces, %d bytes", res.Entries, res.Info.NumPieces(), res.Info.TotalLength())
	}
}

func TestBuildInfoErrors(t *testing.T) {
	if _, err := BuildInfo(strings.NewReader("Package: x\n"), TorrentName{Suite: "x"}); err == nil || !strings.Contains(err.Error(), "no usable entry") {
		t.Errorf("empty torrent: %v", err)
	}
	if _, err := BuildInfo(strings.NewReader("Package: x\n!!!\n"), TorrentName{Suite: "x"}); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("syntax error: %v", err)
	}
}

func TestTorrentName(t *testing.T) {
	for _, tt := range []struct {
		n    TorrentName
		want string
	}{
		{TorrentName{"Debian", "bookworm", "main", "amd64"}, "Debian/bookworm/main/binary-amd64"},
		{TorrentName{Suite: "bookworm-security", Component: "main", Arch: "arm64"}, "bookworm-security/main/binary-arm64"},
		{TorrentName{Origin: "Debian"}, "Debian"},
	} {
		if got := tt.n.String(); got != tt.want {
			t.Errorf("%+v: %q want %q", tt.n, got, tt.want)
		}
	}
}
