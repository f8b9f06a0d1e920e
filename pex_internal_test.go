package debtorrent

import (
	"context"
	"crypto/sha1"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
)

// pexInfo is a small one-piece torrent for tests that only need a swarm.
func pexInfo(t *testing.T, name string) *metainfo.Info {
	t.Helper()
	data := []byte("peer exchange test data: " + name)
	sum := sha1.Sum(data)
	info, err := metainfo.NewInfo(name, 1<<14, []metainfo.File{{Path: name, Length: int64(len(data))}}, sum[:], true)
	require.NoError(t, err)
	return info
}

// pexClient starts a Client on loopback whose PEX interval is short.
func pexClient(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{ListenAddr: "127.0.0.1:0", DataDir: t.TempDir()})
	require.NoError(t, err)
	c.pexInterval = 20 * time.Millisecond // before any torrent reads it
	t.Cleanup(func() { c.Close() })
	return c
}

// waitPeers waits until tr has n peers connected.
func waitPeers(t *testing.T, tr *Torrent, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, tr.WaitFor(ctx, func(s TorrentStats) bool { return s.Peers >= n }))
}

// A knows only B and B knows only C: PEX brings A and C together, with no
// tracker.
func TestPEXIntroducesPeers(t *testing.T) {
	info := pexInfo(t, "pex")
	a, b, c := pexClient(t), pexClient(t), pexClient(t)
	ta, err := a.AddTorrent(info, TorrentOptions{})
	require.NoError(t, err)
	tb, err := b.AddTorrent(info, TorrentOptions{})
	require.NoError(t, err)
	tc, err := c.AddTorrent(info, TorrentOptions{})
	require.NoError(t, err)
	require.NoError(t, tb.AddPeer(c.Addr().String()))
	waitPeers(t, tb, 1)
	require.NoError(t, ta.AddPeer(b.Addr().String()))
	waitPeers(t, ta, 2)
	waitPeers(t, tc, 2)
}

// rawExtPeer connects to c for info, says it speaks ut_pex (under
// rawPEXID) and ut_metadata (under rawMetadataID) and returns the connection
// and the ut_metadata messages the client sends it.
func rawExtPeer(t *testing.T, c *Client, info *metainfo.Info) (*peerwire.Conn, <-chan []byte) {
	conn, meta, _ := rawExtPeerPEX(t, c, info)
	return conn, meta
}

// rawExtPeerPEX is rawExtPeer that also returns the ut_pex payloads the
// client sends.
func rawExtPeerPEX(t *testing.T, c *Client, info *metainfo.Info) (*peerwire.Conn, <-chan []byte, <-chan []byte) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", c.Addr().String(), 5*time.Second)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := peerwire.NewPeerID(nil)
	require.NoError(t, err)
	_, err = peerwire.Initiate(ctx, nc, peerwire.Handshake{Reserved: peerwire.DefaultReserved(), InfoHash: info.InfoHash(), PeerID: id})
	require.NoError(t, err)
	conn := peerwire.NewConn(context.Background(), nc, peerwire.Config{Limits: peerwire.Limits{NumPieces: info.NumPieces(), Fast: true, Extensions: true}})
	t.Cleanup(func() { conn.Close() })
	meta, pex := make(chan []byte, 64), make(chan []byte, 64)
	go func() {
		defer close(meta)
		defer close(pex)
		for {
			m, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if m.ID == peerwire.Extended && m.ExtendedID == rawMetadataID {
				select {
				case meta <- m.Payload:
				default:
				}
			}
			if m.ID == peerwire.Extended && m.ExtendedID == rawPEXID {
				select {
				case pex <- m.Payload:
				default:
				}
			}
			m.Release()
		}
	}()
	h, err := peerwire.ExtendedHandshake{M: map[string]int{peerwire.ExtensionPEX: rawPEXID, peerwire.ExtensionMetadata: rawMetadataID}, P: 1}.Message()
	require.NoError(t, err)
	require.NoError(t, conn.Send(ctx, peerwire.Message{ID: peerwire.HaveNone}))
	require.NoError(t, conn.Send(ctx, h))
	return conn, meta, pex
}

// The raw peer's extended IDs.
const (
	rawPEXID      = 7
	rawMetadataID = 9
)

// barrier asks the client for metadata piece 0 over conn and waits for the
// answer: the client's loop has then applied every message sent before.
func barrier(t *testing.T, conn *peerwire.Conn, meta <-chan []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := peerwire.MarshalMetadataMessage(peerwire.MetadataMessage{Type: peerwire.MetadataRequest})
	require.NoError(t, err)
	require.NoError(t, conn.Send(ctx, peerwire.Message{ID: peerwire.Extended, ExtendedID: extMetadata, Payload: req}))
	select {
	case _, ok := <-meta:
		require.True(t, ok, "connection closed before the ut_metadata answer")
	case <-ctx.Done():
		t.Fatal("no ut_metadata answer")
	}
}

// seenAddrs returns every address tr queued, dials, failed to reach or
// banned, asked on the loop.
func seenAddrs(t *testing.T, tr *Torrent) map[string]bool {
	t.Helper()
	seen := make(map[string]bool)
	require.NoError(t, tr.do(context.Background(), func() {
		for _, a := range tr.candidates {
			seen[a] = true
		}
		for a := range tr.dialing {
			seen[a] = true
		}
		for a := range tr.failedAt {
			seen[a] = true
		}
		for a := range tr.banned {
			seen[a] = true
		}
	}))
	return seen
}

// compactPEX builds a ut_pex payload by hand, as MarshalPEX refuses more
// than 50 added peers.
func compactPEX(addrs []netip.AddrPort) []byte {
	var list []byte
	for _, a := range addrs {
		list = append(list, a.Addr().AsSlice()...)
		list = append(list, byte(a.Port()>>8), byte(a.Port()))
	}
	return []byte(fmt.Sprintf("d5:added%d:%se", len(list), list))
}

// A ut_pex message adds at most 50 peers, never port 0 nor our own address.
func TestPEXReceiveBounds(t *testing.T) {
	info := pexInfo(t, "pexbounds")
	c := pexClient(t)
	tr, err := c.AddTorrent(info, TorrentOptions{})
	require.NoError(t, err)
	conn, meta := rawExtPeer(t, c, info)
	own := netip.MustParseAddrPort(c.Addr().String())
	addrs := []netip.AddrPort{own, netip.MustParseAddrPort("127.0.0.2:0")}
	for i := range 58 {
		addrs = append(addrs, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.3"), uint16(1000+i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, conn.Send(ctx, peerwire.Message{ID: peerwire.Extended, ExtendedID: extPEX, Payload: compactPEX(addrs)}))
	barrier(t, conn, meta)
	seen := seenAddrs(t, tr)
	require.False(t, seen[own.String()], "our own address was queued")
	require.False(t, seen["127.0.0.2:0"], "a port 0 address was queued")
	require.Len(t, seen, maxPEXAccepted, "addresses taken from one message")
}

// A malformed ut_pex message drops the peer.
func TestPEXMalformedDropsPeer(t *testing.T) {
	info := pexInfo(t, "pexbad")
	c := pexClient(t)
	tr, err := c.AddTorrent(info, TorrentOptions{})
	require.NoError(t, err)
	conn, meta := rawExtPeer(t, c, info)
	barrier(t, conn, meta)
	waitPeers(t, tr, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, conn.Send(ctx, peerwire.Message{ID: peerwire.Extended, ExtendedID: extPEX, Payload: []byte("d5:added5:abcdee")}))
	require.NoError(t, tr.WaitFor(ctx, func(s TorrentStats) bool { return s.Peers == 0 }))
}

// nextPEX waits for the next ut_pex message on pex.
func nextPEX(t *testing.T, pex <-chan []byte) peerwire.PEX {
	t.Helper()
	select {
	case b, ok := <-pex:
		require.True(t, ok, "connection closed before a ut_pex message")
		m, err := peerwire.ParsePEX(b)
		require.NoError(t, err)
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no ut_pex message")
	}
	return peerwire.PEX{}
}

// A PEX-capable peer is told of a peer we connected to (by its listen
// address), then that it dropped; nothing is sent while nothing changes.
func TestPEXSendsAddedAndDropped(t *testing.T) {
	info := pexInfo(t, "pexsend")
	x, y := pexClient(t), pexClient(t)
	tx, err := x.AddTorrent(info, TorrentOptions{})
	require.NoError(t, err)
	ty, err := y.AddTorrent(info, TorrentOptions{})
	require.NoError(t, err)
	_, _, pex := rawExtPeerPEX(t, x, info)
	waitPeers(t, tx, 1)
	require.NoError(t, tx.AddPeer(y.Addr().String()))
	m := nextPEX(t, pex)
	require.Len(t, m.Added, 1)
	require.Equal(t, y.Addr().String(), m.Added[0].Addr.String())
	require.Equal(t, peerwire.PEXReachable, m.Added[0].Flags)
	require.Empty(t, m.Dropped)
	require.NoError(t, ty.Close())
	m = nextPEX(t, pex)
	require.Empty(t, m.Added)
	require.Equal(t, []netip.AddrPort{netip.MustParseAddrPort(y.Addr().String())}, m.Dropped)
}

// A private torrent (BEP 27) takes no peers from PEX.
func TestPEXPrivateIgnored(t *testing.T) {
	data := []byte("private")
	sum := sha1.Sum(data)
	info, err := metainfo.NewInfo("private", 1<<14, []metainfo.File{{Path: "private", Length: int64(len(data))}}, sum[:], true, metainfo.WithPrivate())
	require.NoError(t, err)
	c := pexClient(t)
	tr, err := c.AddTorrent(info, TorrentOptions{})
	require.NoError(t, err)
	conn, meta := rawExtPeer(t, c, info)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.3:1000")}
	require.NoError(t, conn.Send(ctx, peerwire.Message{ID: peerwire.Extended, ExtendedID: extPEX, Payload: compactPEX(addrs)}))
	barrier(t, conn, meta)
	require.Empty(t, seenAddrs(t, tr))
}
