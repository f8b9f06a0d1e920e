package lsd_test

import (
	"context"
	"fmt"
	"log"

	"github.com/debtorrent/debtorrent/internal/lsd"
	"github.com/debtorrent/debtorrent/metainfo"
)

// A Service announces the torrents added to it on the LAN and reports the
// machines that announce the same ones. The engine dials what Peers gives.
func ExampleService() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := lsd.New(lsd.Config{Port: 6881}) // our BitTorrent listening port
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		if err := s.Run(ctx); err != nil {
			log.Print(err)
		}
	}()
	ih, _ := metainfo.ParseInfoHash("0123456789abcdef0123456789abcdef01234567")
	if err := s.Add(ih); err != nil { // announced at once, then every 5 minutes
		log.Fatal(err)
	}
	for p := range s.Peers() { // closed when Run returns
		fmt.Println("dial", p.Addr, "for", p.InfoHash)
	}
}

// Encode splits an announce of many torrents over datagrams of at most
// 1400 bytes; Parse reads one back.
func ExampleEncode() {
	var ihs []metainfo.InfoHash
	for i := range 60 {
		ihs = append(ihs, metainfo.InfoHash{byte(i)})
	}
	datagrams, err := lsd.Encode(lsd.Message{Host: lsd.DefaultGroup4.String(), Port: 6881, InfoHashes: ihs, Cookie: "me"})
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range datagrams {
		m, err := lsd.Parse(d)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(len(d), "bytes,", len(m.InfoHashes), "torrents, port", m.Port)
	}
	// Output:
	// 1378 bytes, 25 torrents, port 6881
	// 1378 bytes, 25 torrents, port 6881
	// 598 bytes, 10 torrents, port 6881
}
