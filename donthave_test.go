package debtorrent_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/peerwire"
)

// A peer that says lt_donthave (BEP 54) for a piece is no longer counted
// as having it; its other pieces still count.
func TestPeerDontHave(t *testing.T) {
	s := makeDebs(t, 3, 25)
	c, _ := newClient(t, nil)
	tr, err := c.AddTorrent(s.info, debtorrent.TorrentOptions{})
	require.NoError(t, err)
	peer := dialRawHave(t, c.Addr().String(), s.info, 0, peerwire.HaveAll)
	hs := peer.await("extension handshake", swarmTimeout, func(m peerwire.Message) bool {
		return m.ID == peerwire.Extended && m.ExtendedID == peerwire.HandshakeExtendedID
	})
	h, err := peerwire.ParseExtendedHandshake(hs.Payload)
	require.NoError(t, err)
	id, ok := h.ID(peerwire.ExtensionDontHave)
	require.True(t, ok, "lt_donthave is advertised: %v", h.M)

	waitAvail := func(i, want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for tr.Availability(i) != want {
			if time.Now().After(deadline) {
				t.Fatalf("availability of piece %d: %d, want %d", i, tr.Availability(i), want)
			}
			<-tick.C
		}
	}
	waitAvail(1, 1)
	peer.send(peerwire.DontHaveMessage(id, 1))
	waitAvail(1, 0)
	require.Equal(t, 1, tr.Availability(0))
	require.Equal(t, 1, tr.Availability(2))
}
