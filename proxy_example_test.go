package debtorrent_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/debtorrent/debtorrent"
)

// A proxy that serves deb.debian.org to APT, mirror only (no peers). Point
// APT at it with Acquire::http::Proxy "http://127.0.0.1:9988"; or with
// "deb http://127.0.0.1:9988/debian bookworm main".
func ExampleNewProxy() {
	dir, err := os.MkdirTemp("", "debtorrent-proxy")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	p, err := debtorrent.NewProxy(debtorrent.ProxyConfig{
		Mirrors:  []debtorrent.ProxyMirror{{Name: "debian", URLs: []string{"http://deb.debian.org/debian/"}}},
		CacheDir: dir,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Mirrors()[0].Name, p.Mirrors()[0].URLs[0])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	stop() // in a real program: serve until interrupted
	if err := p.Run(ctx, "127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	// Output: debian http://deb.debian.org/debian/
}

// The main use: a proxy whose .debs come from a Client's swarms, with the
// mirror as each torrent's web source. Packages files that pass through the
// proxy become the Client's torrents; the storage is shared, so what the
// proxy serves is what the Client seeds.
func ExampleNewProxy_withClient() {
	dir, err := os.MkdirTemp("", "debtorrent-proxy")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	storage, err := debtorrent.OpenDiskStorage(filepath.Join(dir, "packages"), debtorrent.DiskOptions{MaxBytes: 20 << 30})
	if err != nil {
		log.Fatal(err)
	}
	defer storage.Close()
	client, err := debtorrent.New(debtorrent.Config{ListenAddr: "127.0.0.1:0", Storage: storage})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	p, err := debtorrent.NewProxy(debtorrent.ProxyConfig{
		Mirrors:  []debtorrent.ProxyMirror{{Name: "debian", URLs: []string{"http://deb.debian.org/debian/"}}},
		CacheDir: dir,
		Client:   client,
		Trackers: []string{"http://tracker.example.lan:6969/announce"},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	stop() // in a real program: serve until interrupted
	if err := p.Run(ctx, "127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Status().Engine != nil)
	// Output: true
}
