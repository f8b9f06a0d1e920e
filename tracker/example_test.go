package tracker_test

import (
	"context"
	"crypto/sha1"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/tracker"
)

// An embedded tracker serving HTTP and UDP on loopback, and a client
// announcing to it over both.
func Example() {
	srv := tracker.NewServer(tracker.ServerConfig{Interval: 10 * time.Minute})

	web := httptest.NewServer(srv) // answers /announce and /scrape
	defer web.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer pc.Close()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, pc) }()
	defer func() { stop(); <-served }()

	client := tracker.NewClient(tracker.ClientConfig{HTTPClient: web.Client()})
	hash := metainfo.InfoHash(sha1.Sum([]byte("an info dict")))
	seed := tracker.AnnounceRequest{InfoHash: hash, PeerID: tracker.PeerID([]byte("-DT0001-seed-seed-se")), Port: 6881, Event: tracker.EventStarted}
	if _, err := client.Announce(ctx, web.URL+"/announce", seed); err != nil {
		panic(err)
	}
	leech := tracker.AnnounceRequest{InfoHash: hash, PeerID: tracker.PeerID([]byte("-DT0001-leech-leech-")), Port: 6882, Left: 1000, Event: tracker.EventStarted}
	resp, err := client.Announce(ctx, "udp://"+pc.LocalAddr().String()+"/announce", leech)
	if err != nil {
		panic(err)
	}
	fmt.Println("interval:", resp.Interval)
	fmt.Println("seeders:", resp.Seeders, "leechers:", resp.Leechers)
	for _, p := range resp.Peers {
		fmt.Println("peer:", p.Addr)
	}
	fmt.Printf("%+v\n", srv.Stats())
	// Output:
	// interval: 10m0s
	// seeders: 1 leechers: 1
	// peer: 127.0.0.1:6881
	// {Announces:2 Scrapes:0 Refusals:0 Connects:1 BadRequests:0 Swarms:1 Peers:2 Seeders:1}
}

// Scraping a tracker for the counts of a swarm.
func ExampleClient_Scrape() {
	srv := tracker.NewServer(tracker.ServerConfig{})
	web := httptest.NewServer(srv)
	defer web.Close()
	client := tracker.NewClient(tracker.ClientConfig{HTTPClient: web.Client()})
	hash := metainfo.InfoHash(sha1.Sum([]byte("an info dict")))
	ctx := context.Background()
	client.Announce(ctx, web.URL+"/announce", tracker.AnnounceRequest{InfoHash: hash, Port: 6881, Event: tracker.EventStarted})

	stats, err := client.Scrape(ctx, web.URL+"/announce", hash)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", stats[hash])
	// Output:
	// {Seeders:1 Completed:0 Leechers:0}
}

// Walking an announce list by BEP 12: the tracker that answers moves to the
// front of its tier.
func ExampleTiers() {
	srv := tracker.NewServer(tracker.ServerConfig{})
	web := httptest.NewServer(srv)
	defer web.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	defer down.Close()

	client := tracker.NewClient(tracker.ClientConfig{})
	tiers := tracker.NewTiers(client, [][]string{
		{down.URL + "/announce"},
		{down.URL + "/other/announce", web.URL + "/announce"},
	})
	hash := metainfo.InfoHash(sha1.Sum([]byte("an info dict")))
	_, used, err := tiers.Announce(context.Background(), tracker.AnnounceRequest{InfoHash: hash, Port: 6881})
	if err != nil {
		panic(err)
	}
	fmt.Println(used == web.URL+"/announce")
	fmt.Println(tiers.List()[1][0] == web.URL+"/announce")
	// Output:
	// true
	// true
}
