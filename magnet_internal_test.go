package debtorrent

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMagnetPeers(t *testing.T) {
	const ih = "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name, magnet string
		want         []string
		err          string
	}{
		{"none", ih, []string{}, ""},
		{"v4 and v6", ih + "&x.pe=127.0.0.1:6881&x.pe=%5B::1%5D:7000", []string{"127.0.0.1:6881", "[::1]:7000"}, ""},
		{"host name", ih + "&x.pe=seed.lan:51413", []string{"seed.lan:51413"}, ""},
		{"no port", ih + "&x.pe=127.0.0.1", nil, "HOST:PORT"},
		{"no host", ih + "&x.pe=:6881", nil, "HOST:PORT"},
		{"port 0", ih + "&x.pe=127.0.0.1:0", nil, "1..65535"},
		{"port too big", ih + "&x.pe=127.0.0.1:65536", nil, "1..65535"},
		{"not a magnet", "http://x/", nil, "not a magnet"},
		{"too many", ih + strings.Repeat("&x.pe=1.2.3.4:5", maxMagnetPeers+1), nil, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := magnetPeers(tt.magnet)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// FuzzMagnetPeers: any input gives addresses that dial as host:port with a
// valid port, or an error; never a panic, never more than maxMagnetPeers.
func FuzzMagnetPeers(f *testing.F) {
	f.Add("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&x.pe=127.0.0.1:6881")
	f.Add("magnet:?x.pe=%5B::1%5D:1&x.pe=a:65535")
	f.Add("magnet:?x.pe=%zz")
	f.Fuzz(func(t *testing.T, s string) {
		peers, err := magnetPeers(s)
		if err != nil {
			return
		}
		if len(peers) > maxMagnetPeers {
			t.Fatalf("%d peers", len(peers))
		}
		for _, p := range peers {
			host, port, err := net.SplitHostPort(p)
			if err != nil || host == "" {
				t.Fatalf("peer %q: %v", p, err)
			}
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				t.Fatalf("peer %q: port", p)
			}
		}
	})
}
