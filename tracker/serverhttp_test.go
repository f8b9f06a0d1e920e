package tracker

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

func TestAnnounceQueryRoundTrip(t *testing.T) {
	var h metainfo.InfoHash
	var id PeerID
	for i := range h {
		h[i] = byte(i * 13) // includes ' ', '+', '%', '&', 0x00 and high bytes
		id[i] = byte(255 - i*11)
	}
	h[3], h[4], h[5] = ' ', '+', '&'
	req := AnnounceRequest{InfoHash: h, PeerID: id, Port: 51413, Uploaded: 1, Downloaded: 2, Left: 3,
		Event: EventStarted, NumWant: 80, Key: 0xabc, IP: netip.MustParseAddr("2001:db8::2"), TrackerID: "t&1"}
	raw := encodeAnnounceQuery(&req)
	assert.NotContains(t, raw, "+", "binary bytes are percent-encoded, never '+'")
	got, err := parseAnnounceQuery(raw)
	require.NoError(t, err)
	assert.Equal(t, h, got.req.InfoHash)
	assert.Equal(t, id, got.req.PeerID)
	assert.Equal(t, req.Port, got.req.Port)
	assert.Equal(t, []int64{1, 2, 3}, []int64{got.req.Uploaded, got.req.Downloaded, got.req.Left})
	assert.Equal(t, EventStarted, got.req.Event)
	assert.Equal(t, 80, got.req.NumWant)
	assert.Equal(t, req.IP, got.req.IP)
	assert.False(t, got.dict)
}

func TestParseAnnounceQuery(t *testing.T) {
	ih := "info_hash=" + escapeBytes(make([]byte, 20))
	pid := "&peer_id=" + escapeBytes(make([]byte, 20))
	base := ih + pid + "&port=1"
	tests := []struct {
		name    string
		raw     string
		wantErr string
		check   func(t *testing.T, q announceQuery)
	}{
		{name: "minimal", raw: base, check: func(t *testing.T, q announceQuery) {
			assert.Equal(t, int64(-1), q.req.Left, "no left: a leecher")
			assert.Equal(t, 0, q.req.NumWant)
		}},
		{name: "dictionary without peer ids", raw: base + "&compact=0&no_peer_id=1", check: func(t *testing.T, q announceQuery) {
			assert.True(t, q.dict)
			assert.True(t, q.noPeerID)
		}},
		{name: "numwant 0 wants none", raw: base + "&numwant=0", check: func(t *testing.T, q announceQuery) {
			assert.Equal(t, NoPeersWanted, q.req.NumWant)
		}},
		{name: "huge numwant is the default", raw: base + "&numwant=99999999999999999999", check: func(t *testing.T, q announceQuery) {
			assert.Equal(t, 0, q.req.NumWant)
		}},
		{name: "a DNS name as ip is ignored", raw: base + "&ip=peer.example", check: func(t *testing.T, q announceQuery) {
			assert.False(t, q.req.IP.IsValid())
		}},
		{name: "no info_hash", raw: pid + "&port=1", wantErr: "info_hash: want exactly one"},
		{name: "two info_hashes", raw: base + "&" + ih, wantErr: "info_hash: want exactly one"},
		{name: "short info_hash", raw: "info_hash=abc" + pid + "&port=1", wantErr: "info_hash of 3 bytes"},
		{name: "short peer_id", raw: ih + "&peer_id=x&port=1", wantErr: "peer_id of 1 bytes"},
		{name: "port 0", raw: ih + pid + "&port=0", wantErr: "port"},
		{name: "port too big", raw: ih + pid + "&port=65536", wantErr: "port"},
		{name: "negative left", raw: base + "&left=-1", wantErr: "left"},
		{name: "bad event", raw: base + "&event=exploded", wantErr: "unknown event"},
		{name: "bad numwant", raw: base + "&numwant=lots", wantErr: "numwant"},
		{name: "bad escape", raw: base + "&x=%zz", wantErr: "query"},
		{name: "too long", raw: base + "&x=" + strings.Repeat("a", maxQueryLen), wantErr: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := parseAnnounceQuery(tt.raw)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, q)
		})
	}
}

// serve runs one HTTP request from remote against srv and parses the reply.
func serve(t *testing.T, srv *Server, remote, target string) (*httptest.ResponseRecorder, *AnnounceResponse, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	resp, err := parseHTTPAnnounce(w.Body.Bytes())
	return w, resp, err
}

func TestServeHTTPAnnounce(t *testing.T) {
	h := testHash("http")
	srv := NewServer(ServerConfig{Allow: func(x metainfo.InfoHash) bool { return x == h }})
	q := func(n byte, extra string) string {
		id := testPeerID(n)
		return "/announce?info_hash=" + escapeBytes(h[:]) + "&peer_id=" + escapeBytes(id[:]) + "&port=6881&left=5" + extra
	}
	_, _, err := serve(t, srv, "[2001:db8::1]:40000", q(1, ""))
	require.NoError(t, err)
	_, _, err = serve(t, srv, "192.0.2.1:40000", q(2, ""))
	require.NoError(t, err)

	w, resp, err := serve(t, srv, "192.0.2.3:40000", q(3, ""))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.ElementsMatch(t, []Peer{
		{Addr: netip.MustParseAddrPort("[2001:db8::1]:6881")},
		{Addr: netip.MustParseAddrPort("192.0.2.1:6881")},
	}, resp.Peers, "compact: IPv4 in peers, IPv6 in peers6")
	assert.Equal(t, 3, resp.Leechers)
	assert.Positive(t, resp.Interval)

	_, resp, err = serve(t, srv, "192.0.2.3:40000", q(3, "&compact=0"))
	require.NoError(t, err)
	id1, id2 := testPeerID(1), testPeerID(2)
	assert.ElementsMatch(t, []Peer{
		{Addr: netip.MustParseAddrPort("[2001:db8::1]:6881"), ID: id1[:]},
		{Addr: netip.MustParseAddrPort("192.0.2.1:6881"), ID: id2[:]},
	}, resp.Peers, "dictionary model with peer ids")

	_, resp, err = serve(t, srv, "192.0.2.3:40000", q(3, "&compact=0&no_peer_id=1"))
	require.NoError(t, err)
	for _, p := range resp.Peers {
		assert.Nil(t, p.ID)
	}

	other := testHash("other")
	w, _, err = serve(t, srv, "192.0.2.3:40000", "/announce?info_hash="+escapeBytes(other[:])+"&peer_id="+escapeBytes(id1[:])+"&port=1")
	var fe *FailureError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, errNotAllowed.Error(), fe.Reason)
	assert.Equal(t, http.StatusOK, w.Code)

	w, _, err = serve(t, srv, "192.0.2.3:40000", "/announce?port=1")
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, http.StatusBadRequest, w.Code)

	w, _, _ = serve(t, srv, "192.0.2.3:40000", "/elsewhere")
	assert.Equal(t, http.StatusNotFound, w.Code)
}

func TestServeHTTPScrape(t *testing.T) {
	srv := NewServer(ServerConfig{})
	h := testHash("scrape")
	announceAs(t, srv, h, 1, EventStarted, 0)
	tests := []struct {
		name, query string
		want        map[metainfo.InfoHash]ScrapeStats
		wantErr     string
	}{
		{name: "known swarm", query: "info_hash=" + escapeBytes(h[:]), want: map[metainfo.InfoHash]ScrapeStats{h: {Seeders: 1}}},
		{name: "full scrape refused", query: "", wantErr: "full scrapes are not offered"},
		{name: "short hash", query: "info_hash=abc", wantErr: "want 20"},
		{name: "too many", query: strings.Repeat("info_hash="+escapeBytes(h[:])+"&", maxScrapeHashes+1), wantErr: "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/scrape?"+tt.query, nil)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			got, err := parseHTTPScrape(w.Body.Bytes())
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzServerHTTPQuery feeds the server's announce and scrape handlers
// arbitrary query strings.
func FuzzServerHTTPQuery(f *testing.F) {
	h := testHash("fuzz")
	id := testPeerID(1)
	base := "info_hash=" + escapeBytes(h[:]) + "&peer_id=" + escapeBytes(id[:]) + "&port=6881"
	for _, s := range []string{
		base + "&uploaded=0&downloaded=0&left=100&event=started&numwant=50&compact=1&key=1a2b",
		base + "&left=0&event=completed&compact=0&no_peer_id=1&ip=10.0.0.1",
		base + "&event=stopped&numwant=0",
		"info_hash=" + escapeBytes(h[:]) + "&info_hash=" + escapeBytes(h[:]),
		"info_hash=%zz&port=-1",
	} {
		f.Add(s)
	}
	clock := newFakeClock()
	srv := NewServer(ServerConfig{Now: clock.Now, MaxSwarms: 10, MaxPeersPerSwarm: 5})
	f.Fuzz(func(t *testing.T, query string) {
		for _, path := range []string{"/announce", "/scrape"} {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.URL.Path, r.URL.RawQuery = path, query
			r.RemoteAddr = "127.0.0.1:5000"
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			if w.Body.Len() > 64<<10 {
				t.Fatalf("%s reply of %d bytes", path, w.Body.Len())
			}
			if path == "/announce" {
				if _, err := parseHTTPAnnounce(w.Body.Bytes()); err != nil {
					if _, ok := err.(*FailureError); !ok {
						t.Fatalf("announce reply does not parse: %v", err)
					}
				}
			}
		}
		if st := srv.Stats(); st.Swarms > 10 || st.Peers > 50 {
			t.Fatalf("limits broken: %+v", st)
		}
	})
}

// TestServeHTTPConcurrent announces from many goroutines at once; under
// -race it checks that replies share no memory with the swarms.
func TestServeHTTPConcurrent(t *testing.T) {
	srv := NewServer(ServerConfig{})
	h := testHash("concurrent")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				id := testPeerID(byte(i)) // the same peers re-announce with new ids
				target := "/announce?info_hash=" + escapeBytes(h[:]) + "&peer_id=" + escapeBytes(id[:]) +
					"&port=" + strconv.Itoa(1000+i%10) + "&left=1&compact=0"
				r := httptest.NewRequest(http.MethodGet, target, nil)
				r.RemoteAddr = "192.0.2." + strconv.Itoa(g+1) + ":1"
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, r)
				if _, err := parseHTTPAnnounce(w.Body.Bytes()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// 8 hosts of 10 ports each, kept to MaxPeersPerAddress (8) apiece.
	assert.Equal(t, 8*8, srv.Stats().Peers)
}
