package tracker

import (
	"context"
	"net/http"
	"net/netip"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkAnnounce measures announces per second over loopback, one at a
// time, against our server and opentracker in the same run: the ratio of
// their ns/op compares the two. Both trackers run in a process of their own
// (ours in a child copy of the test binary). Peers cycle through 1000 ports, so each
// swarm holds up to 1000 peers and every reply lists 50.
func BenchmarkAnnounce(b *testing.B) {
	h := testHash("bench")
	oursHTTP, oursUDP := startOurTrackerProcess(b)
	targets := []struct{ name, url string }{
		{"ours-udp", oursUDP},
		{"ours-http", oursHTTP},
		{"opentracker-udp", ""},
		{"opentracker-http", ""},
	}
	if _, err := exec.LookPath("opentracker"); err == nil {
		ot := startOpentracker(b, h)
		targets[2].url, targets[3].url = ot.udpURL, ot.httpURL
	}
	for _, tt := range targets {
		b.Run(tt.name, func(b *testing.B) {
			if tt.url == "" {
				b.Skip("opentracker not installed: apt-get install opentracker")
			}
			benchAnnounce(b, tt.url, h)
		})
	}
}

func benchAnnounce(b *testing.B, url string, h [20]byte) {
	c := NewClient(ClientConfig{
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}},
		UDPTimeout: time.Second,
		UDPRetries: 2,
	})
	ctx := context.Background()
	req := AnnounceRequest{InfoHash: h, Left: 1, NumWant: 50}
	b.ReportAllocs()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		req.Port = uint16(10000 + i%1000)
		req.PeerID = testPeerID(byte(i))
		if _, err := c.Announce(ctx, url, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "announces/s")
}

// BenchmarkServerUDPAnnounce measures the server alone: one UDP announce
// parsed, recorded and answered, without sockets.
func BenchmarkServerUDPAnnounce(b *testing.B) {
	srv := NewServer(ServerConfig{MaxPeersPerAddress: 1000}) // one address, 1000 ports
	from := netip.MustParseAddrPort("127.0.0.1:4000")
	h := testHash("bench")
	req := AnnounceRequest{InfoHash: h, Left: 1}
	var out []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req.Port = uint16(10000 + i%1000)
		pkt := udpAnnounceRequest(srv.connID.mint(from, time.Now()), uint32(i), &req)
		out = srv.handleUDP(out[:0], pkt, from)
		if len(out) < 20 {
			b.Fatal("no announce reply")
		}
	}
}

// BenchmarkAnnounceInterleaved announces to our tracker and opentracker in
// turn, one of each per iteration, so that the load of a shared machine
// weighs on both alike, and reports each one's mean time per announce and
// the ratios (opentracker's time over ours: above 1 means ours is faster).
func BenchmarkAnnounceInterleaved(b *testing.B) {
	if _, err := exec.LookPath("opentracker"); err != nil {
		b.Skip("opentracker not installed: apt-get install opentracker")
	}
	h := testHash("bench")
	oursHTTP, oursUDP := startOurTrackerProcess(b)
	ot := startOpentracker(b, h)
	targets := []struct {
		name, url string
		spent     time.Duration
	}{
		{name: "ours-udp", url: oursUDP},
		{name: "opentracker-udp", url: ot.udpURL},
		{name: "ours-http", url: oursHTTP},
		{name: "opentracker-http", url: ot.httpURL},
	}
	c := NewClient(ClientConfig{
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}},
		UDPTimeout: time.Second,
		UDPRetries: 2,
	})
	ctx := context.Background()
	req := AnnounceRequest{InfoHash: h, Left: 1, NumWant: 50}
	for i := 0; b.Loop(); i++ {
		req.Port = uint16(10000 + i%1000)
		req.PeerID = testPeerID(byte(i))
		for j := range targets {
			start := time.Now()
			if _, err := c.Announce(ctx, targets[j].url, req); err != nil {
				b.Fatal(err)
			}
			targets[j].spent += time.Since(start)
		}
	}
	for _, t := range targets {
		b.ReportMetric(float64(t.spent.Microseconds())/float64(b.N), t.name+"-µs/announce")
	}
	b.ReportMetric(float64(targets[1].spent)/float64(targets[0].spent), "udp-ratio")
	b.ReportMetric(float64(targets[3].spent)/float64(targets[2].spent), "http-ratio")
}
