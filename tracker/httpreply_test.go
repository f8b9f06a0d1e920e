package tracker

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// bstr bencodes a string.
func bstr(s string) string { return itoa(len(s)) + ":" + s }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestParseHTTPAnnounce(t *testing.T) {
	compact2 := "\x0a\x00\x00\x01\x1a\xe1" + "\x7f\x00\x00\x01\x00\x50" // 10.0.0.1:6881, 127.0.0.1:80
	v6 := string(netip.MustParseAddr("2001:db8::7").AsSlice()) + "\x1a\xe1"
	tests := []struct {
		name    string
		body    string
		want    *AnnounceResponse
		wantErr string
		failure string
	}{
		{
			name: "compact",
			body: "d8:completei4e10:incompletei2e8:intervali1800e12:min intervali900e5:peers" + bstr(compact2) + "e",
			want: &AnnounceResponse{Interval: 30 * time.Minute, MinInterval: 15 * time.Minute, Seeders: 4, Leechers: 2, Peers: []Peer{
				{Addr: netip.MustParseAddrPort("10.0.0.1:6881")},
				{Addr: netip.MustParseAddrPort("127.0.0.1:80")},
			}},
		},
		{
			name: "dictionary model with peer ids, skipping DNS names and bad ports",
			body: "d8:intervali60e5:peersl" +
				"d2:ip" + bstr("10.0.0.2") + "7:peer id" + bstr("-XX0001-abcdefghijkl") + "4:porti6881ee" +
				"d2:ip" + bstr("2001:db8::1") + "4:porti51413ee" +
				"d2:ip" + bstr("tracker.example") + "4:porti1ee" +
				"d2:ip" + bstr("10.0.0.3") + "4:porti70000ee" +
				"ee",
			want: &AnnounceResponse{Interval: time.Minute, Seeders: -1, Leechers: -1, Peers: []Peer{
				{Addr: netip.MustParseAddrPort("10.0.0.2:6881"), ID: []byte("-XX0001-abcdefghijkl")},
				{Addr: netip.MustParseAddrPort("[2001:db8::1]:51413")},
			}},
		},
		{
			name: "peers6, tracker id and warning",
			body: "d8:intervali60e5:peers0:6:peers6" + bstr(v6) + "10:tracker id3:abc15:warning message" + bstr("slow down") + "e",
			want: &AnnounceResponse{Interval: time.Minute, TrackerID: "abc", Warning: "slow down", Seeders: -1, Leechers: -1, Peers: []Peer{
				{Addr: netip.MustParseAddrPort("[2001:db8::7]:6881")},
			}},
		},
		{
			name: "unsorted keys as some trackers write them",
			body: "d8:intervali60e8:completei1e5:peers0:e",
			want: &AnnounceResponse{Interval: time.Minute, Seeders: 1, Leechers: -1, Peers: []Peer{}},
		},
		{name: "failure reason", body: "d14:failure reason" + bstr("unregistered torrent") + "e", failure: "unregistered torrent"},
		{name: "failure wins over peers", body: "d14:failure reason3:no!8:intervali60e5:peers0:e", failure: "no!"},
		{name: "not bencode", body: "<html>502 Bad Gateway</html>", wantErr: "announce reply"},
		{name: "truncated", body: "d8:intervali60e5:peers6:ab", wantErr: "announce reply"},
		{name: "ragged compact", body: "d8:intervali60e5:peers5:abcdee", wantErr: "not a multiple of 6"},
		{name: "ragged peers6", body: "d8:intervali60e5:peers0:6:peers65:abcdee", wantErr: "not a multiple of 18"},
		{name: "negative interval", body: "d8:intervali-5e5:peers0:e", wantErr: "negative interval"},
		{name: "peers of the wrong type", body: "d8:intervali60e5:peersi3ee", wantErr: "peers"},
		{name: "interval a string", body: "d8:interval2:60e", wantErr: "announce reply"},
		{name: "trailing garbage", body: "d8:intervali60eexx", wantErr: "announce reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHTTPAnnounce([]byte(tt.body))
			switch {
			case tt.failure != "":
				var fe *FailureError
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, tt.failure, fe.Reason)
			case tt.wantErr != "":
				require.ErrorContains(t, err, tt.wantErr)
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func TestParseHTTPAnnounceHugeInterval(t *testing.T) {
	got, err := parseHTTPAnnounce([]byte("d8:intervali99999999999999e5:peers0:e"))
	require.NoError(t, err)
	assert.Equal(t, maxInterval, got.Interval)
}

func TestParseHTTPScrape(t *testing.T) {
	h := testHash("s")
	tests := []struct {
		name    string
		body    string
		want    map[metainfo.InfoHash]ScrapeStats
		wantErr string
	}{
		{
			name: "one swarm",
			body: "d5:filesd20:" + string(h[:]) + "d8:completei3e10:downloadedi7e10:incompletei1eeee",
			want: map[metainfo.InfoHash]ScrapeStats{h: {Seeders: 3, Completed: 7, Leechers: 1}},
		},
		{name: "empty", body: "d5:filesdee", want: map[metainfo.InfoHash]ScrapeStats{}},
		{name: "negative counts clamp to zero", body: "d5:filesd20:" + string(h[:]) + "d8:completei-3eeee",
			want: map[metainfo.InfoHash]ScrapeStats{h: {}}},
		{name: "short key", body: "d5:filesd3:abcd8:completei3eeee", wantErr: "20-byte infohash"},
		{name: "failure", body: "d14:failure reason4:nopee", wantErr: "tracker refused: nope"},
		{name: "malformed", body: "d5:files", wantErr: "scrape reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHTTPScrape([]byte(tt.body))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzHTTPReply feeds the client's HTTP announce and scrape reply parsers
// arbitrary bodies. Seeds are real replies (opentracker's among them).
func FuzzHTTPReply(f *testing.F) {
	h := testHash("s")
	for _, s := range []string{
		// opentracker 2021, compact announce and scrape replies
		"d8:completei1e10:downloadedi0e10:incompletei0e8:intervali1689e12:min intervali844e5:peers6:\x7f\x00\x00\x01\x04\xd2e",
		"d5:filesd20:" + string(h[:]) + "d8:completei1e10:downloadedi0e10:incompletei0eeee",
		"d14:failure reason63:Requested download is not authorized for use with this tracker.e",
		"d8:intervali60e5:peersld2:ip8:10.0.0.27:peer id20:-XX0001-abcdefghijkl4:porti6881eeee",
		"d8:intervali60e5:peers0:6:peers618:" + strings.Repeat("\x01", 18) + "e",
		"d8:intervali60e5:peersll" + strings.Repeat("l", 70) + "e",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if r, err := parseHTTPAnnounce(body); err == nil {
			if len(r.Peers) > maxReplyPeers || r.Interval < 0 || r.Interval > maxInterval {
				t.Fatalf("accepted out-of-bounds reply: %d peers, interval %v", len(r.Peers), r.Interval)
			}
			for _, p := range r.Peers {
				if !p.Addr.IsValid() {
					t.Fatalf("invalid peer address %v", p.Addr)
				}
			}
		}
		if s, err := parseHTTPScrape(body); err == nil && len(s) > maxReplyPeers {
			t.Fatalf("%d swarms past the limit", len(s))
		}
	})
}
