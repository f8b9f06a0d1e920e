package metainfo_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/debtorrent/debtorrent/metainfo"
)

func ExampleLoadFile() {
	m, err := metainfo.LoadFile("testdata/mktorrent-single.torrent")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Info.Name, m.Info.TotalLength(), "bytes")
	fmt.Println(m.Info.NumPieces(), "pieces of", m.Info.PieceLength)
	fmt.Println(m.Info.InfoHash())
	// Output:
	// hello.txt 90000 bytes
	// 3 pieces of 32768
	// 9326064ee9443080476d6727a1fddc11fa9c1728
}

func ExampleLoad() {
	f, err := os.Open("testdata/mktorrent-multi.torrent")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	m, err := metainfo.Load(f)
	if err != nil {
		log.Fatal(err)
	}
	for _, file := range m.Info.Files {
		fmt.Println(file.Path, file.Length)
	}
	fmt.Println(m.AnnounceList)
	// Output:
	// .hidden 7
	// A-upper 6
	// a-c 5
	// a/b 6
	// empty 0
	// z/y/deep 70000
	// [[http://t1.example/announce http://t1b.example/announce] [udp://t2.example:6969]]
}

func ExampleParseMagnet() {
	m, err := metainfo.ParseMagnet("magnet:?xt=urn:btih:RJNELRPY4WRNHJL6DMNH3V5EXU6HXUPS&dn=debian+12&tr=udp%3A%2F%2Ftracker.example%3A6969")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.InfoHash)
	fmt.Println(m.Name)
	fmt.Println(m.Trackers)
	fmt.Println(m)
	// Output:
	// 8a5a45c5f8e5a2d3a57e1b1a7dd7a4bd3c7bd1f2
	// debian 12
	// [udp://tracker.example:6969]
	// magnet:?xt=urn:btih:8a5a45c5f8e5a2d3a57e1b1a7dd7a4bd3c7bd1f2&dn=debian+12&tr=udp%3A%2F%2Ftracker.example%3A6969
}

func ExampleNewPiecePerFileInfo() {
	// Two packages as a Packages file lists them: path, size and SHA256.
	hello := sha256.Sum256([]byte("hello .deb contents"))
	bye := sha256.Sum256([]byte("bye .deb contents"))
	files := []metainfo.File{
		{Path: "pool/main/h/hello/hello_2.10-3_amd64.deb", Length: 19},
		{Path: "pool/main/b/bye/bye_1.0_all.deb", Length: 17},
	}
	info, err := metainfo.NewPiecePerFileInfo("bookworm main amd64", files, append(hello[:], bye[:]...))
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range info.Pieces {
		fmt.Println(p.Index, p.Offset, p.Length, info.Files[p.Index].Path)
	}
	fmt.Println(info.HashType(), info.Layout)
	// Output:
	// 0 0 19 pool/main/h/hello/hello_2.10-3_amd64.deb
	// 1 19 17 pool/main/b/bye/bye_1.0_all.deb
	// sha256 per-file
}

func ExampleInfo_FileRanges() {
	m, err := metainfo.LoadFile("testdata/mktorrent-multi.torrent")
	if err != nil {
		log.Fatal(err)
	}
	// The first piece holds the small files and the start of z/y/deep.
	for _, r := range m.Info.FileRanges(0) {
		fmt.Printf("%-8s bytes %d-%d at %d in the piece\n", m.Info.Files[r.File].Path, r.Offset, r.Offset+r.Length-1, r.PieceOffset)
	}
	// Output:
	// .hidden  bytes 0-6 at 0 in the piece
	// A-upper  bytes 0-5 at 7 in the piece
	// a-c      bytes 0-4 at 13 in the piece
	// a/b      bytes 0-5 at 18 in the piece
	// z/y/deep bytes 0-32743 at 24 in the piece
}

func ExampleCreate() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(path, make([]byte, 100_000), 0o644); err != nil {
		log.Fatal(err)
	}
	info, err := metainfo.Create(context.Background(), path, metainfo.CreateOptions{PieceLength: 32 << 10})
	if err != nil {
		log.Fatal(err)
	}
	m := &metainfo.MetaInfo{Info: info, Announce: "http://tracker.example/announce", CreatedBy: "debtorrent"}
	fmt.Println(info.Name, info.NumPieces(), info.InfoHash())
	fmt.Println(m.Magnet())
	// Output:
	// notes.txt 4 abe9678af6a745131ca7f990001cd88a3945a368
	// magnet:?xt=urn:btih:abe9678af6a745131ca7f990001cd88a3945a368&dn=notes.txt&tr=http%3A%2F%2Ftracker.example%2Fannounce
}
