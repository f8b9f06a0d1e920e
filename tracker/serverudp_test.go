package tracker

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// udpHeader builds a request header: connection id, action, transaction id.
func udpHeader(connID uint64, action, tx uint32) []byte {
	b := binary.BigEndian.AppendUint64(nil, connID)
	b = binary.BigEndian.AppendUint32(b, action)
	return binary.BigEndian.AppendUint32(b, tx)
}

// TestUDPNoReflection sends datagrams with forged connection ids and other
// junk from a raw socket on loopback and checks that no reply is larger
// than what was sent (a forged source address must not turn the tracker
// into an amplifier), and which get a reply at all. After each datagram
// it sends a connect request: the server answers in order, so whatever it
// sent for the datagram arrives before the connect reply, and no wait for
// silence is needed.
func TestUDPNoReflection(t *testing.T) {
	tr := startTestTracker(t, NewServer(ServerConfig{}))
	server, err := net.ResolveUDPAddr("udp", strings.TrimSuffix(strings.TrimPrefix(tr.udpURL, "udp://"), "/announce"))
	require.NoError(t, err)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer conn.Close()

	const forged = 0x1122334455667788
	announce := udpAnnounceRequest(forged, 7, &AnnounceRequest{InfoHash: testHash("x"), Port: 1, NumWant: 200})
	badEvent := append([]byte(nil), announce...)
	binary.BigEndian.PutUint32(badEvent[80:], 9)
	tests := []struct {
		name      string
		pkt       []byte
		wantReply string // "" for none; else text the error must contain
	}{
		{name: "16 bytes, forged id, announce", pkt: udpHeader(forged, actionAnnounce, 7)},
		{name: "16 bytes, forged id, unknown action", pkt: udpHeader(forged, 9, 7)},
		{name: "16 bytes, forged id, scrape of nothing", pkt: udpHeader(forged, actionScrape, 7)},
		{name: "connect with a wrong magic", pkt: udpHeader(forged, actionConnect, 7)},
		{name: "shorter than a header", pkt: []byte{1, 2, 3}},
		{name: "forged id, scrape, ragged", pkt: append(udpHeader(forged, actionScrape, 7), 1, 2, 3, 4)},
		{name: "forged id, one-hash scrape", pkt: udpScrapeRequest(forged, 7, []metainfo.InfoHash{testHash("x")}), wantReply: "connection id"},
		{name: "forged id, full announce", pkt: announce, wantReply: "connection id"},
		// The id is checked first: without one, a sender learns nothing
		// about what else is wrong with its datagram.
		{name: "forged id, announce with an unknown event", pkt: badEvent, wantReply: "connection id"},
	}
	buf := make([]byte, maxUDPPacket)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conn.WriteToUDP(tt.pkt, server)
			require.NoError(t, err)
			connectTx := uint32(0xC0FFEE00 + i)
			_, err = conn.WriteToUDP(udpConnectRequest(connectTx), server)
			require.NoError(t, err)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			var replies [][]byte
			for {
				n, err := conn.Read(buf)
				require.NoError(t, err, "no connect reply within 10 s")
				if r, err := parseUDPReply(buf[:n]); err == nil && r.tx == connectTx && r.action == actionConnect {
					assert.Equal(t, udpConnectLen, n, "a connect reply is as long as its request")
					break
				}
				replies = append(replies, append([]byte(nil), buf[:n]...))
			}
			for _, r := range replies {
				assert.LessOrEqual(t, len(r), len(tt.pkt), "reply of %d bytes to %d", len(r), len(tt.pkt))
			}
			if tt.wantReply == "" {
				assert.Empty(t, replies, "no reply")
				return
			}
			require.Len(t, replies, 1)
			r, err := parseUDPReply(replies[0])
			require.NoError(t, err)
			assert.Equal(t, uint32(actionError), r.action)
			assert.Equal(t, uint32(7), r.tx)
			assert.Contains(t, string(r.body), tt.wantReply)
		})
	}
	assert.Equal(t, uint64(len(tests)), tr.srv.Stats().BadRequests)
}

// TestUDPErrorRepliesFitTheRequest checks the size rule itself, and that
// refusals of authenticated announces still reach the peer.
func TestUDPErrorRepliesFitTheRequest(t *testing.T) {
	assert.Empty(t, udpErrorReply(nil, 1, "12345678", 15), "8 + 8 bytes do not fit in 15")
	assert.Len(t, udpErrorReply(nil, 1, "12345678", 16), 16)
	assert.LessOrEqual(t, udpErrorHeaderLen+len(errBadConnID), udpHeaderLen+20, "fits a one-hash scrape")

	srv := NewServer(ServerConfig{Allow: func(metainfo.InfoHash) bool { return false }})
	from := netip.MustParseAddrPort("192.0.2.1:5000")
	pkt := udpAnnounceRequest(srv.connID.mint(from, time.Now()), 3, &AnnounceRequest{InfoHash: testHash("no"), Port: 1})
	r, err := parseUDPReply(srv.handleUDP(nil, pkt, from))
	require.NoError(t, err)
	assert.Equal(t, uint32(actionError), r.action)
	assert.Equal(t, errNotAllowed.Error(), string(r.body))
}
