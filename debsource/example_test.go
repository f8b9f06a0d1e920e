package debsource_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/debtorrent/debtorrent/debsource"
)

// Build the torrent of a Packages file (any compression), checking its
// uncompressed content against the InRelease in the same pass.
func ExampleBuildInfo() {
	raw, err := os.ReadFile("testdata/InRelease.bookworm")
	if err != nil {
		log.Fatal(err)
	}
	rel, _, err := debsource.ParseInRelease(context.Background(), raw, nil) // pass debsource.GPGV{...} to check the signature
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open("testdata/Packages.excerpt.bz2")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	d, err := debsource.Decompress(f, f.Name())
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	// With the real Packages file, wrap d in a VerifyingReader:
	//   want, _ := rel.File("main/binary-amd64/Packages")
	//   input := debsource.NewVerifyingReader(d, "Packages", want)
	name := debsource.TorrentName{Origin: rel.Origin, Suite: rel.Codename, Component: "main", Arch: "amd64"}
	res, err := debsource.BuildInfo(d, name)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Info.Name, d.Compression)
	fmt.Println(res.Info.NumPieces(), "pieces,", res.Info.TotalLength(), "bytes,", res.SkippedTotal(), "skipped")
	fmt.Println(res.Info.Files[0].Path)
	// Output:
	// Debian/bookworm/main/binary-amd64 bzip2
	// 4 pieces, 1386282384 bytes, 0 skipped
	// pool/main/0/0ad/0ad_0.0.26-3_amd64.deb
}

// Name what APT asks a proxy for.
func ExampleClassifyPath() {
	for _, p := range []string{
		"dists/bookworm/InRelease",
		"dists/bookworm/main/binary-amd64/Packages.xz",
		"pool/main/h/hello/hello_2.10-3_amd64.deb",
		"pool/%2e%2e/%2e%2e/etc/passwd",
	} {
		mp, err := debsource.ClassifyPath(p)
		if err != nil {
			fmt.Println("refused:", strings.TrimPrefix(err.Error(), "debsource: "))
			continue
		}
		fmt.Println(mp.Kind, mp.Index, mp.Suite, mp.Component, mp.Arch, mp.Compression)
	}
	// Output:
	// release other bookworm   none
	// index Packages bookworm main amd64 xz
	// pool other  main  none
	// refused: unsafe mirror path: "pool/%2e%2e/%2e%2e/etc/passwd" percent-encodes '.', '/', '\', NUL or '%'
}

// Resolve a by-hash request to the index it names.
func ExampleRelease_ByHash() {
	f, err := os.Open("testdata/Release.excerpt")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	rel, err := debsource.ParseRelease(f)
	if err != nil {
		log.Fatal(err)
	}
	idx, ok := rel.ByHash("main/binary-amd64/by-hash/SHA256/9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5")
	fmt.Println(idx.Path, idx.Size, ok)
	// Output: main/binary-amd64/Packages.xz 8790396 true
}
