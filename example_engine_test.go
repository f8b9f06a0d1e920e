package debtorrent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
)

// One client seeds a folder, another downloads it from the first: the whole
// engine on loopback.
func ExampleClient() {
	tmp, _ := os.MkdirTemp("", "debtorrent-example")
	defer os.RemoveAll(tmp)
	share := filepath.Join(tmp, "src", "share")
	os.MkdirAll(share, 0o755)
	os.WriteFile(filepath.Join(share, "hello.txt"), []byte("hello, swarm\n"), 0o644)
	info, err := metainfo.Create(context.Background(), share, metainfo.CreateOptions{})
	if err != nil {
		panic(err)
	}

	seeder, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", DataDir: filepath.Join(tmp, "seed")})
	if err != nil {
		panic(err)
	}
	defer seeder.Close()
	// ImportDir: the data to seed is already on disk, checked on the way in.
	if _, err := seeder.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: filepath.Join(tmp, "src")}); err != nil {
		panic(err)
	}

	leecher, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", DataDir: filepath.Join(tmp, "leech")})
	if err != nil {
		panic(err)
	}
	defer leecher.Close()
	t, err := leecher.AddTorrent(info, debtorrent.TorrentOptions{DownloadAll: true})
	if err != nil {
		panic(err)
	}
	t.AddPeer(seeder.Addr().String()) // or TorrentOptions.Trackers

	// Wait on the published statistics: once they say complete, they count
	// every byte of it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := t.WaitFor(ctx, debtorrent.TorrentStats.Complete); err != nil {
		panic(err)
	}
	data, _ := os.ReadFile(filepath.Join(tmp, "leech", "share", "hello.txt"))
	fmt.Printf("%s", data)
	fmt.Println("from peers:", t.Stats().BytesFromPeers, "bytes")
	// Output:
	// hello, swarm
	// from peers: 13 bytes
}

// Reading one piece as soon as it is there: ReadPiece makes it urgent, with
// the deadline the caller needs it by (WithDeadline, else ctx's), fetches it
// from peers or the torrent's web source, and opens it once verified.
func ExampleTorrent_ReadPiece() {
	tmp, _ := os.MkdirTemp("", "debtorrent-example")
	defer os.RemoveAll(tmp)
	share := filepath.Join(tmp, "src", "share")
	os.MkdirAll(share, 0o755)
	os.WriteFile(filepath.Join(share, "hello.txt"), []byte("hello, piece\n"), 0o644)
	info, _ := metainfo.Create(context.Background(), share, metainfo.CreateOptions{})

	seeder, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", DataDir: filepath.Join(tmp, "seed")})
	if err != nil {
		panic(err)
	}
	defer seeder.Close()
	seeder.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: filepath.Join(tmp, "src")})

	leecher, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", DataDir: filepath.Join(tmp, "leech")})
	if err != nil {
		panic(err)
	}
	defer leecher.Close()
	t, _ := leecher.AddTorrent(info, debtorrent.TorrentOptions{})
	t.AddPeer(seeder.Addr().String())

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := t.ReadPiece(ctx, 0, debtorrent.WithDeadline(time.Now().Add(2*time.Second)))
	if err != nil {
		panic(err) // errors.Is(err, debtorrent.ErrNoSource): nobody has it
	}
	defer r.Close()
	buf := make([]byte, r.Size())
	r.ReadAt(buf, 0)
	fmt.Printf("%s", buf)
	// Output:
	// hello, piece
}
