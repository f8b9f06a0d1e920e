package debtorrent

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/internal/aptproxy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProxyStatusFrom: every figure of the internal status reaches the
// public one.
func TestProxyStatusFrom(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	in := aptproxy.Status{Time: t0, Uptime: 90.5, Mirrors: map[string][]string{"d": {"http://d/"}},
		MirrorStates: []aptproxy.MirrorState{{Name: "d", URL: "http://d/", State: "down", LastError: "refused", Since: t0}},
		Torrents: []aptproxy.TorrentStatus{{Name: "n", InfoHash: "ih", Index: "i", Packages: 3, Bytes: 30,
			EngineTorrent: aptproxy.EngineTorrent{PiecesWanted: 2, PiecesDone: 1, Peers: 5, Machines: 4}, Added: t0}},
		Requests: 10, Errors: 2, RequestsByCode: map[string]int64{"200": 8, "404": 2}, BytesServed: 100, BytesToday: 50, IndexBytes: 7,
		BytesFromMirrors: 60, DebsBySource: map[string]int64{"mirror": 1}, DebBytesBySource: map[string]int64{"peers": 40},
		RateServed: 1, RatePeers: 2, RateMirror: 3, Samples: []aptproxy.Sample{{Start: t0, Served: 1, Peers: 2, Mirror: 3}},
		Engine:     &aptproxy.EngineStatus{Peers: 5, BytesFromPeers: 40, BytesToPeers: 9, BytesFromWeb: 8, VerificationFailures: 1, BannedPeers: 1},
		CacheBytes: 30, CachePieces: 1, CacheCap: 1000, Evictions: 6,
		Recent: []aptproxy.RequestLog{{Time: t0, Method: "GET", URL: "/d/x.deb", Status: 200, Bytes: 10, Source: "peers", Duration: 0.25}}}
	want := ProxyStatus{Time: t0, Uptime: 90.5, Mirrors: map[string][]string{"d": {"http://d/"}},
		MirrorStates: []ProxyMirrorStatus{{Name: "d", URL: "http://d/", State: "down", LastError: "refused", Since: t0}},
		Torrents:     []ProxyTorrentStatus{{Name: "n", InfoHash: "ih", Index: "i", Packages: 3, Bytes: 30, PiecesWanted: 2, PiecesDone: 1, Peers: 5, Machines: 4, Added: t0}},
		Requests:     10, Errors: 2, RequestsByCode: map[int]int64{200: 8, 404: 2}, BytesServed: 100, BytesToday: 50, IndexBytes: 7,
		BytesFromMirrors: 60, DebsBySource: map[string]int64{"mirror": 1}, DebBytesBySource: map[string]int64{"peers": 40},
		RateServed: 1, RatePeers: 2, RateMirror: 3, Samples: []ProxySample{{Start: t0, Served: 1, Peers: 2, Mirror: 3}},
		Engine:     &ProxyEngineStatus{Peers: 5, BytesFromPeers: 40, BytesToPeers: 9, BytesFromWeb: 8, VerificationFailures: 1, BannedPeers: 1},
		CacheBytes: 30, CachePieces: 1, CacheCap: 1000, Evictions: 6,
		Recent: []ProxyRequestLog{{Time: t0, Method: "GET", URL: "/d/x.deb", Status: 200, Bytes: 10, Source: "peers", Duration: 0.25}}}
	got := proxyStatusFrom(in)
	assert.Equal(t, want, got)
	in.Mirrors["d"][0] = "changed"
	in.DebsBySource["mirror"] = 99
	assert.Equal(t, "http://d/", got.Mirrors["d"][0], "nothing is shared with the internal status")
	assert.Equal(t, int64(1), got.DebsBySource["mirror"])
	assert.Nil(t, proxyStatusFrom(aptproxy.Status{}).Engine)
}

// TestProxyStatusDecodesStatusJSON: /status.json (aptproxy.Status as JSON)
// decodes into a ProxyStatus with the same figures as the conversion.
func TestProxyStatusDecodesStatusJSON(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	in := aptproxy.Status{Time: t0, Uptime: 3, Mirrors: map[string][]string{"d": {"http://d/"}},
		MirrorStates: []aptproxy.MirrorState{{Name: "d", URL: "http://d/", State: "up", LastError: "x", Since: t0}},
		Torrents: []aptproxy.TorrentStatus{{Name: "n", InfoHash: "ih", Index: "i", Packages: 3, Bytes: 30,
			EngineTorrent: aptproxy.EngineTorrent{PiecesWanted: 2, PiecesDone: 1, Peers: 5, Machines: 4}, Added: t0}},
		Requests: 10, Errors: 2, RequestsByCode: map[string]int64{"200": 8, "404": 2}, BytesServed: 100, BytesToday: 50, IndexBytes: 7,
		BytesFromMirrors: 60, DebsBySource: map[string]int64{"mirror": 1}, DebBytesBySource: map[string]int64{"peers": 40},
		RateServed: 1, RatePeers: 2, RateMirror: 3, Samples: []aptproxy.Sample{{Start: t0, Served: 1, Peers: 2, Mirror: 3}},
		Engine:     &aptproxy.EngineStatus{Peers: 5, BytesFromPeers: 40, BytesToPeers: 9, BytesFromWeb: 8, VerificationFailures: 1, BannedPeers: 1},
		CacheBytes: 30, CachePieces: 1, CacheCap: 1000, Evictions: 6,
		Recent: []aptproxy.RequestLog{{Time: t0, Method: "GET", URL: "/d/x.deb", Status: 200, Bytes: 10, Source: "peers", Duration: 0.25}}}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var got ProxyStatus
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, proxyStatusFrom(in), got)
}
