package debsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// fixturesDir finds ../shared/fixtures/debian relative to the module root,
// or skips the test.
func fixturesDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("module root not found")
		}
		dir = parent
	}
	fixtures := filepath.Join(dir, "..", "shared", "fixtures", "debian")
	if _, err := os.Stat(filepath.Join(fixtures, "bookworm", "InRelease")); err != nil {
		tb.Skipf("real Debian fixtures absent (%v): they live in ../shared/fixtures/debian next to the module root", err)
	}
	return fixtures
}

type fixtureSuite struct {
	suite      string
	pieces     int
	totalBytes int64
}

var fixtureSuites = []fixtureSuite{
	{"bookworm", 63440, 95257005352},
	{"bookworm-security", 3020, 34811061592},
}

// buildFromFixture verifies a suite's main/binary-amd64/Packages.xz against
// its InRelease while building the torrent, all in one streaming pass.
func buildFromFixture(tb testing.TB, dir, suite string) (*TorrentResult, *Release) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, suite, "InRelease"))
	if err != nil {
		tb.Fatal(err)
	}
	rel, _, err := ParseInRelease(context.Background(), raw, nil)
	if err != nil {
		tb.Fatal(err)
	}
	want, ok := rel.File("main/binary-amd64/Packages")
	if !ok {
		tb.Fatal("InRelease lists no main/binary-amd64/Packages")
	}
	f, err := os.Open(filepath.Join(dir, suite, "main", "binary-amd64", "Packages.xz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	d, err := Decompress(f, f.Name())
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close()
	v := NewVerifyingReader(d, suite+"/main/binary-amd64/Packages", want)
	res, err := BuildInfo(v, TorrentName{Origin: rel.Origin, Suite: rel.Codename, Component: "main", Arch: "amd64"})
	if err != nil {
		tb.Fatal(err)
	}
	if !v.Verified() {
		tb.Fatal("Packages was not read to its end and verified")
	}
	return res, rel
}

func TestRealPackagesToInfo(t *testing.T) {
	dir := fixturesDir(t)
	if testing.Short() {
		t.Skip("decompresses 50 MB of xz; skipped with -short")
	}
	for _, fs := range fixtureSuites {
		t.Run(fs.suite, func(t *testing.T) {
			res, rel := buildFromFixture(t, dir, fs.suite)
			info := res.Info
			if info.NumPieces() != fs.pieces {
				t.Errorf("%d pieces, want %d", info.NumPieces(), fs.pieces)
			}
			if info.TotalLength() != fs.totalBytes {
				t.Errorf("%d bytes, want %d", info.TotalLength(), fs.totalBytes)
			}
			if res.SkippedTotal() != 0 || res.Entries != info.NumPieces() {
				t.Errorf("%d entries, %d skipped %v", res.Entries, res.SkippedTotal(), res.Skipped)
			}
			var sum int64
			for _, p := range info.Pieces {
				if len(p.Hash) != 32 {
					t.Fatalf("piece %d has a %d-byte hash", p.Index, len(p.Hash))
				}
				sum += p.Length
			}
			if sum != info.TotalLength() {
				t.Errorf("pieces sum to %d, files to %d", sum, info.TotalLength())
			}
			if want := fmt.Sprintf("Debian/%s/main/binary-amd64", rel.Codename); info.Name != want {
				t.Errorf("name %q, want %q", info.Name, want)
			}
			t.Logf("%s: %d pieces, %d bytes, infohash %s", fs.suite, info.NumPieces(), info.TotalLength(), info.InfoHash())
		})
	}
}

func TestRealPackagesChecksumMismatch(t *testing.T) {
	dir := fixturesDir(t)
	raw, err := os.ReadFile(filepath.Join(dir, "bookworm-security", "InRelease"))
	if err != nil {
		t.Fatal(err)
	}
	rel, _, err := ParseInRelease(context.Background(), raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := rel.File("main/binary-amd64/Packages")
	want.SHA256[0] ^= 1
	f, err := os.Open(filepath.Join(dir, "bookworm-security", "main", "binary-amd64", "Packages.xz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := Decompress(f, f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = BuildInfo(NewVerifyingReader(d, "Packages", want), TorrentName{Suite: "x"})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("a wrong SHA256 gave %v, want ErrChecksum", err)
	}
}

func TestRealInReleaseGPGV(t *testing.T) {
	dir := fixturesDir(t)
	const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
	if _, err := os.Stat(keyring); err != nil {
		t.Skip("debian-archive-keyring not installed: apt-get install debian-archive-keyring")
	}
	if _, err := exec.LookPath("gpgv"); err != nil {
		t.Skip("gpgv not installed: apt-get install gpgv")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "bookworm", "InRelease"))
	if err != nil {
		t.Fatal(err)
	}
	v := GPGV{Keyrings: []string{keyring}}
	if _, _, err := ParseInRelease(context.Background(), raw, v); err != nil {
		t.Fatalf("the real InRelease did not verify: %v", err)
	}
	tampered := bytes.Replace(raw, []byte("Suite: oldstable"), []byte("Suite: oldstab1e"), 1)
	if _, _, err := ParseInRelease(context.Background(), tampered, v); err == nil {
		t.Fatal("a tampered InRelease verified")
	}
}
