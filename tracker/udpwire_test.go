package tracker

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// udpAnnounceReplyBody builds an announce reply body: interval, leechers,
// seeders, then compact peers.
func udpAnnounceReplyBody(interval, leechers, seeders uint32, peers ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, interval)
	b = binary.BigEndian.AppendUint32(b, leechers)
	b = binary.BigEndian.AppendUint32(b, seeders)
	for _, p := range peers {
		b = appendCompactPeer(b, netip.MustParseAddrPort(p))
	}
	return b
}

func TestParseUDPAnnounce(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		ipv6    bool
		want    *AnnounceResponse
		wantErr string
	}{
		{
			name: "ipv4 peers",
			body: udpAnnounceReplyBody(1800, 3, 2, "10.0.0.1:6881", "192.168.1.2:51413"),
			want: &AnnounceResponse{Interval: 30 * time.Minute, Leechers: 3, Seeders: 2, Peers: []Peer{
				{Addr: netip.MustParseAddrPort("10.0.0.1:6881")},
				{Addr: netip.MustParseAddrPort("192.168.1.2:51413")},
			}},
		},
		{
			name: "ipv6 peers",
			body: udpAnnounceReplyBody(60, 0, 1, "[2001:db8::1]:6881"),
			ipv6: true,
			want: &AnnounceResponse{Interval: time.Minute, Seeders: 1, Peers: []Peer{
				{Addr: netip.MustParseAddrPort("[2001:db8::1]:6881")},
			}},
		},
		{name: "no peers", body: udpAnnounceReplyBody(5, 0, 0), want: &AnnounceResponse{Interval: 5 * time.Second, Peers: []Peer{}}},
		{name: "short", body: []byte{0, 0, 0, 1}, wantErr: "shorter than 12"},
		{name: "ragged peers", body: append(udpAnnounceReplyBody(5, 0, 0), 1, 2, 3), wantErr: "not a multiple of 6"},
		{name: "ipv4 peers read as ipv6", body: udpAnnounceReplyBody(5, 0, 0, "1.2.3.4:5"), ipv6: true, wantErr: "not a multiple of 18"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseUDPAnnounce(tt.body, tt.ipv6)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseUDPReplyHeaderAndScrape(t *testing.T) {
	_, err := parseUDPReply([]byte{0, 0, 0})
	require.Error(t, err)

	h1, h2 := testHash("a"), testHash("b")
	body := []byte{}
	for _, v := range []uint32{5, 10, 2, 0, 0, 0} {
		body = binary.BigEndian.AppendUint32(body, v)
	}
	got, err := parseUDPScrape(body, []metainfo.InfoHash{h1, h2})
	require.NoError(t, err)
	assert.Equal(t, map[metainfo.InfoHash]ScrapeStats{
		h1: {Seeders: 5, Completed: 10, Leechers: 2},
		h2: {},
	}, got)
	_, err = parseUDPScrape(body[:20], []metainfo.InfoHash{h1, h2})
	require.ErrorContains(t, err, "want 24")

	fe := udpErrorText(append([]byte("bad \xff"), make([]byte, 2000)...))
	var f *FailureError
	require.ErrorAs(t, fe, &f)
	assert.LessOrEqual(t, len(f.Reason), maxUDPErrorText+3)
	assert.Contains(t, f.Reason, "bad \uFFFD")
}

func TestUDPRequestRoundTrip(t *testing.T) {
	req := AnnounceRequest{
		InfoHash: testHash("x"), PeerID: testPeerID(7), Port: 6881,
		Uploaded: 1, Downloaded: 2, Left: 3, Event: EventCompleted, NumWant: 30, Key: 99,
		IP: netip.MustParseAddr("10.1.2.3"),
	}
	got, err := parseUDPRequest(udpAnnounceRequest(42, 7, &req))
	require.NoError(t, err)
	assert.Equal(t, uint64(42), got.connID)
	assert.Equal(t, uint32(actionAnnounce), got.action)
	assert.Equal(t, uint32(7), got.tx)
	assert.Equal(t, req, got.announce)

	none := AnnounceRequest{NumWant: NoPeersWanted}
	got, err = parseUDPRequest(udpAnnounceRequest(1, 1, &none))
	require.NoError(t, err)
	assert.Equal(t, NoPeersWanted, got.announce.NumWant)
	assert.False(t, got.announce.IP.IsValid(), "0.0.0.0 means no IP given")

	hashes := []metainfo.InfoHash{testHash("a"), testHash("b")}
	got, err = parseUDPRequest(udpScrapeRequest(1, 2, hashes))
	require.NoError(t, err)
	assert.Equal(t, hashes, got.hashes)

	got, err = parseUDPRequest(udpConnectRequest(5))
	require.NoError(t, err)
	assert.Equal(t, uint32(actionConnect), got.action)
}

func TestParseUDPRequestRejects(t *testing.T) {
	announce := udpAnnounceRequest(1, 2, &AnnounceRequest{})
	badEvent := append([]byte(nil), announce...)
	binary.BigEndian.PutUint32(badEvent[80:], 9)
	badMagic := udpConnectRequest(1)
	badMagic[0] = 1
	badAction := udpConnectRequest(1)
	binary.BigEndian.PutUint32(badAction[8:], 7)
	tooMany := udpScrapeRequest(1, 2, make([]metainfo.InfoHash, maxUDPScrapeHashes+1))
	tests := []struct {
		name, wantErr string
		pkt           []byte
	}{
		{"empty", "shorter than its 16-byte header", nil},
		{"short announce", "want at least 98", announce[:97]},
		{"bad event", "unknown event", badEvent},
		{"bad magic", "wrong protocol id", badMagic},
		{"bad action", "unknown action", badAction},
		{"empty scrape", "positive multiple of 20", udpScrapeRequest(1, 2, nil)},
		{"ragged scrape", "positive multiple of 20", append(udpScrapeRequest(1, 2, []metainfo.InfoHash{{}}), 1)},
		{"too many hashes", "more than the limit", tooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseUDPRequest(tt.pkt)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

// FuzzUDPReply feeds the client's UDP reply parsers arbitrary datagrams.
func FuzzUDPReply(f *testing.F) {
	f.Add(appendUDPHeader(nil, actionAnnounce, 1), false)
	f.Add(append(appendUDPHeader(nil, actionAnnounce, 1), udpAnnounceReplyBody(1800, 1, 2, "127.0.0.1:6881")...), false)
	f.Add(append(appendUDPHeader(nil, actionAnnounce, 1), udpAnnounceReplyBody(1800, 1, 2, "[::1]:6881")...), true)
	f.Add(binary.BigEndian.AppendUint64(appendUDPHeader(nil, actionConnect, 1), 0x1234), false)
	f.Add(append(appendUDPHeader(nil, actionError, 1), "unknown infohash"...), false)
	f.Add(append(appendUDPHeader(nil, actionScrape, 1), make([]byte, 24)...), false)
	hashes := []metainfo.InfoHash{testHash("a"), testHash("b")}
	f.Fuzz(func(t *testing.T, pkt []byte, ipv6 bool) {
		r, err := parseUDPReply(pkt)
		if err != nil {
			return
		}
		switch r.action {
		case actionConnect:
			parseUDPConnect(r.body)
		case actionAnnounce:
			resp, err := parseUDPAnnounce(r.body, ipv6)
			if err == nil && len(resp.Peers) > maxReplyPeers {
				t.Fatalf("%d peers past the limit", len(resp.Peers))
			}
		case actionScrape:
			parseUDPScrape(r.body, hashes)
		case actionError:
			udpErrorText(r.body)
		}
	})
}

// FuzzServerUDPPacket feeds the server's UDP handler arbitrary datagrams,
// with a valid connection id spliced in half the time.
func FuzzServerUDPPacket(f *testing.F) {
	f.Add(udpConnectRequest(1), false)
	f.Add(udpAnnounceRequest(0, 1, &AnnounceRequest{InfoHash: testHash("a"), Port: 6881, Event: EventStarted}), true)
	f.Add(udpAnnounceRequest(0, 1, &AnnounceRequest{InfoHash: testHash("a"), Port: 1, Event: EventStopped}), true)
	f.Add(udpScrapeRequest(0, 1, []metainfo.InfoHash{testHash("a")}), true)
	f.Add([]byte("garbage"), false)
	clock := newFakeClock()
	srv := NewServer(ServerConfig{Now: clock.Now, MaxSwarms: 10, MaxPeersPerSwarm: 5})
	from := netip.MustParseAddrPort("127.0.0.1:4000")
	f.Fuzz(func(t *testing.T, pkt []byte, useValidID bool) {
		if useValidID && len(pkt) >= 8 {
			pkt = append([]byte(nil), pkt...)
			binary.BigEndian.PutUint64(pkt, srv.connID.mint(from, clock.Now()))
		}
		out := srv.handleUDP(nil, pkt, from)
		if len(out) > 20+18*200 {
			t.Fatalf("reply of %d bytes", len(out))
		}
		if len(pkt) < udpHeaderLen && len(out) != 0 {
			t.Fatalf("replied to a %d-byte datagram", len(pkt))
		}
		if len(pkt) >= 8 && !srv.connID.valid(binary.BigEndian.Uint64(pkt), from, clock.Now()) && len(out) > len(pkt) {
			t.Fatalf("reply of %d bytes to an unauthenticated %d-byte datagram", len(out), len(pkt))
		}
		st := srv.Stats()
		if st.Swarms > 10 || st.Peers > 50 {
			t.Fatalf("limits broken: %+v", st)
		}
	})
}
