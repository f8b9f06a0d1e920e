package debtorrent_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
)

// dialFrom connects a raw peer from local (an IP of 127/8: Linux routes all
// of it to lo) with peer ID id, saying have, and reports whether the Client
// admitted it: admitted peers get the Client's first message (bitfield,
// have-all or have-none), refused ones see the connection close first,
// before or after the handshake. An admitted peer is returned, to be kept
// open or used.
func dialFrom(t *testing.T, local, addr string, info *metainfo.Info, id peerwire.PeerID, have peerwire.ID) (*rawPeer, bool) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	if _, err := peerwire.Initiate(ctx, nc, peerwire.Handshake{Reserved: peerwire.DefaultReserved(), InfoHash: info.InfoHash(), PeerID: id}); err != nil {
		require.NotErrorIs(t, err, context.DeadlineExceeded)
		nc.Close()
		return nil, false
	}
	conn := peerwire.NewConn(context.Background(), nc, peerwire.Config{
		Limits: peerwire.Limits{NumPieces: info.NumPieces(), Fast: true, Extensions: true},
	})
	t.Cleanup(func() { conn.Close() })
	p := &rawPeer{t: t, conn: conn, msgs: make(chan peerwire.Message, 256)}
	go func() {
		defer close(p.msgs)
		for {
			m, err := conn.ReadMessage()
			if err != nil {
				return
			}
			p.msgs <- m
		}
	}()
	// A refused peer may see its first message fail: the Client closed.
	_ = conn.Send(ctx, peerwire.Message{ID: have})
	select {
	case m, ok := <-p.msgs:
		if !ok {
			conn.Close() // its goroutines end now, not at cleanup
			return nil, false
		}
		switch m.ID {
		case peerwire.Bitfield, peerwire.HaveAll, peerwire.HaveNone:
			return p, true
		}
		t.Fatalf("first message from the Client: %v", m.ID)
	case <-ctx.Done():
		t.Fatal("neither admitted nor refused")
	}
	return nil, false
}

// handshakeAnswered connects from local and reports whether the Client
// answers the handshake.
func handshakeAnswered(t *testing.T, local, addr string, info *metainfo.Info, id peerwire.PeerID) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	_, err = peerwire.Initiate(ctx, nc, peerwire.Handshake{Reserved: peerwire.DefaultReserved(), InfoHash: info.InfoHash(), PeerID: id})
	require.NotErrorIs(t, err, context.DeadlineExceeded)
	return err == nil
}

// awaitClosed waits for the Client to close p's connection.
func awaitClosed(t *testing.T, p *rawPeer, what string) {
	t.Helper()
	deadline := time.NewTimer(swarmTimeout)
	defer deadline.Stop()
	for {
		select {
		case m, ok := <-p.msgs:
			if !ok {
				return
			}
			m.Release()
		case <-deadline.C:
			t.Fatalf("%s is still open", what)
		}
	}
}

// peerID returns a distinct test peer ID.
func peerID(n int) peerwire.PeerID {
	var id peerwire.PeerID
	copy(id[:], fmt.Sprintf("-TT0001-%012d", n))
	return id
}

// corrupt returns the pieces with every byte flipped.
func corrupt(pieces [][]byte) [][]byte {
	out := make([][]byte, len(pieces))
	for i, p := range pieces {
		out[i] = bytes.Clone(p)
		for k := range out[i] {
			out[i][k] ^= 0x55
		}
	}
	return out
}

// A seed that sends bad blocks is banned by IP: it is refused when it comes
// back from a new port with a new peer ID, by every torrent of the Client;
// its peer ID is refused from another address; honest peers from other
// addresses are admitted.
func TestLiarRefusedAfterBan(t *testing.T) {
	s := makeDebs(t, 3, 31)
	other := makeDebs(t, 2, 32)
	c, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.BanLoopbackByIP = true })
	tr, err := c.AddTorrent(s.info, debtorrent.TorrentOptions{DownloadAll: true})
	require.NoError(t, err)
	_, err = c.AddTorrent(other.info, debtorrent.TorrentOptions{})
	require.NoError(t, err)
	addr := c.Addr().String()
	pieces := make([][]byte, len(s.order))
	for i, p := range s.order {
		pieces[i] = s.debs[p]
	}

	elsewhere, ok := dialFrom(t, "127.0.0.2", addr, other.info, peerID(6), peerwire.HaveNone)
	require.True(t, ok, "the liar is in another torrent too")
	liar, ok := dialFrom(t, "127.0.0.2", addr, s.info, peerID(1), peerwire.HaveAll)
	require.True(t, ok, "the liar is admitted before it lies")
	liar.serveSeed(corrupt(pieces), 4<<20)
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	require.NoError(t, tr.WaitFor(ctx, func(s debtorrent.TorrentStats) bool { return s.Banned == 1 }))
	awaitClosed(t, elsewhere, "the liar's connection to the other torrent")
	require.False(t, handshakeAnswered(t, "127.0.0.2", addr, s.info, peerID(7)), "refused at accept time, before the handshake")

	cases := []struct {
		name  string
		local string
		info  *metainfo.Info
		id    peerwire.PeerID
		admit bool
	}{
		{"liar's IP, new port and ID", "127.0.0.2", s.info, peerID(2), false},
		{"liar's IP, another torrent", "127.0.0.2", other.info, peerID(3), false},
		{"liar's ID, another IP", "127.0.0.3", s.info, peerID(1), false},
		{"another IP", "127.0.0.3", s.info, peerID(4), true},
		{"another IP, another torrent", "127.0.0.3", other.info, peerID(5), true},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			_, admitted := dialFrom(t, cs.local, addr, cs.info, cs.id, peerwire.HaveNone)
			require.Equal(t, cs.admit, admitted)
		})
	}
	require.Equal(t, 1, tr.Stats().Banned, "refusals are not new bans")
}

// By default a loopback liar is banned by ip:port and peer ID only: a new
// peer from the same loopback address is admitted (several honest peers run
// on one host), its ID is not.
func TestLoopbackBannedByPortAndID(t *testing.T) {
	s := makeDebs(t, 3, 33)
	c, _ := newClient(t, nil)
	tr, err := c.AddTorrent(s.info, debtorrent.TorrentOptions{DownloadAll: true})
	require.NoError(t, err)
	addr := c.Addr().String()
	pieces := make([][]byte, len(s.order))
	for i, p := range s.order {
		pieces[i] = s.debs[p]
	}
	liar, ok := dialFrom(t, "127.0.0.1", addr, s.info, peerID(1), peerwire.HaveAll)
	require.True(t, ok)
	liar.serveSeed(corrupt(pieces), 4<<20)
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	require.NoError(t, tr.WaitFor(ctx, func(s debtorrent.TorrentStats) bool { return s.Banned == 1 }))
	_, admitted := dialFrom(t, "127.0.0.1", addr, s.info, peerID(1), peerwire.HaveNone)
	require.False(t, admitted, "the liar's ID")
	_, admitted = dialFrom(t, "127.0.0.1", addr, s.info, peerID(2), peerwire.HaveNone)
	require.True(t, admitted, "another peer on the host")
}

// One address gets MaxConnsPerAddress connections per torrent and
// MaxConnsPerAddressTotal over the Client; other addresses are not
// affected.
func TestPerAddressLimits(t *testing.T) {
	a := makeDebs(t, 2, 34)
	b := makeDebs(t, 2, 35)
	c, _ := newClient(t, func(cfg *debtorrent.Config) {
		cfg.BanLoopbackByIP = true
		cfg.MaxConnsPerAddress = 3
		cfg.MaxConnsPerAddressTotal = 4
	})
	for _, s := range []debSet{a, b} {
		_, err := c.AddTorrent(s.info, debtorrent.TorrentOptions{})
		require.NoError(t, err)
	}
	addr := c.Addr().String()
	steps := []struct {
		local string
		info  *metainfo.Info
		admit bool
	}{
		{"127.0.0.2", a.info, true},
		{"127.0.0.2", a.info, true},
		{"127.0.0.2", a.info, true},
		{"127.0.0.2", a.info, false}, // 3 per torrent
		{"127.0.0.3", a.info, true},  // another address
		{"127.0.0.2", b.info, true},
		{"127.0.0.2", b.info, false}, // 4 over the Client
	}
	for k, st := range steps {
		_, admitted := dialFrom(t, st.local, addr, st.info, peerID(k), peerwire.HaveNone)
		require.Equal(t, st.admit, admitted, "step %d: from %s to %s", k, st.local, st.info.Name)
	}
}

// Fifty idle connections (keep-alive only) fill a torrent's slots; a real
// peer that comes later, dialling in or dialled, still gets one (an idle
// peer is dropped for it) and the download completes.
func TestSquattersDoNotKeepPeerOut(t *testing.T) {
	for _, dir := range []string{"incoming", "outgoing"} {
		t.Run(dir, func(t *testing.T) {
			src := t.TempDir()
			info := makeTree(t, src, "squat", map[string]int{"f": 1 << 20}, 64<<10, 36)
			leech, _ := newClient(t, func(cfg *debtorrent.Config) { cfg.IdlePeerTimeout = time.Nanosecond })
			tr, err := leech.AddTorrent(info, debtorrent.TorrentOptions{DownloadAll: true})
			require.NoError(t, err)
			for k := range debtorrent.DefaultMaxConnsPerTorrent {
				_, ok := dialFrom(t, "127.0.0.1", leech.Addr().String(), info, peerID(k), peerwire.HaveNone)
				require.True(t, ok, "squatter %d", k)
			}
			ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
			defer cancel()
			require.NoError(t, tr.WaitFor(ctx, func(s debtorrent.TorrentStats) bool {
				return s.Peers == debtorrent.DefaultMaxConnsPerTorrent
			}))

			seed, _ := newClient(t, nil)
			st, err := seed.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src})
			require.NoError(t, err)
			require.True(t, st.Stats().Complete())
			if dir == "incoming" {
				require.NoError(t, st.AddPeer(leech.Addr().String()))
			} else {
				require.NoError(t, tr.AddPeer(seed.Addr().String()))
			}
			waitComplete(t, tr)
			require.LessOrEqual(t, tr.Stats().Peers, debtorrent.DefaultMaxConnsPerTorrent)
		})
	}
}
