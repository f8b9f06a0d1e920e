package debtorrent

import (
	"bytes"
	"crypto/sha1"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/internal/rate"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/piecepicker"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// A ban lasts banBase, doubling at each repeat after it ended, up to banMax;
// a ban during a ban is the same offence.
func TestBanPeriodGrows(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := newBanList(clk.now, false)
	id := peerwire.PeerID{9}
	want := []time.Duration{10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute, 160 * time.Minute,
		320 * time.Minute, 640 * time.Minute, 1280 * time.Minute, 24 * time.Hour, 24 * time.Hour}
	for k, w := range want {
		require.Equal(t, w, b.ban("192.0.2.1:6881", id), "ban %d", k+1)
		require.True(t, b.bannedAddr("192.0.2.1:1"), "ban %d: by IP, any port", k+1)
		clk.t = clk.t.Add(w / 2)
		require.Equal(t, w/2, b.ban("192.0.2.1:6881", id), "ban %d: again while banned: not a repeat", k+1)
		clk.t = clk.t.Add(w / 2)
		require.False(t, b.bannedAddr("192.0.2.1:1"), "ban %d ended", k+1)
		require.False(t, b.banned("198.51.100.1:1", id), "ban %d ended (peer ID)", k+1)
	}
}

// What a ban covers: the IP (IPv6: its /64) and the peer ID; on loopback and
// link-local, the ip:port only unless banned strictly.
func TestBanKeys(t *testing.T) {
	liar := peerwire.PeerID{1}
	other := peerwire.PeerID{2}
	cases := []struct {
		name    string
		strict  bool
		banned  string // address the liar was banned at
		addr    string
		id      peerwire.PeerID
		refused bool
	}{
		{"IPv4 new port", false, "192.0.2.1:6881", "192.0.2.1:40000", other, true},
		{"IPv4 other address", false, "192.0.2.1:6881", "192.0.2.2:6881", other, false},
		{"peer ID from elsewhere", false, "192.0.2.1:6881", "198.51.100.7:1", liar, true},
		{"IPv6 same /64", false, "[2001:db8:1:2::1]:6881", "[2001:db8:1:2:ffff::9]:7", other, true},
		{"IPv6 other /64", false, "[2001:db8:1:2::1]:6881", "[2001:db8:1:3::1]:6881", other, false},
		{"IPv4-mapped IPv6", false, "192.0.2.1:6881", "[::ffff:192.0.2.1]:5", other, true},
		{"loopback same port", false, "127.0.0.1:5000", "127.0.0.1:5000", other, true},
		{"loopback new port", false, "127.0.0.1:5000", "127.0.0.1:5001", other, false},
		{"loopback new port, strict", true, "127.0.0.1:5000", "127.0.0.1:5001", other, true},
		{"other loopback address, strict", true, "127.0.0.2:5000", "127.0.0.3:5000", other, false},
		{"link-local new port", false, "[fe80::1]:5000", "[fe80::1]:5001", other, false},
		{"host name", false, "seed.example:6881", "seed.example:6881", other, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBanList(nil, c.strict)
			b.ban(c.banned, liar)
			require.Equal(t, c.refused, b.banned(c.addr, c.id))
		})
	}
}

// The ban list stays bounded: past maxBanKeys, keys are forgotten.
func TestBanListBounded(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := newBanList(clk.now, false)
	for i := range maxBanKeys + 200 {
		clk.t = clk.t.Add(time.Second)
		b.ban(net.JoinHostPort(net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)).String(), "1"), peerwire.PeerID{byte(i), byte(i >> 8), byte(i >> 16)})
	}
	require.LessOrEqual(t, len(b.keys), maxBanKeys)
	require.True(t, b.bannedAddr("10.0.16.199:9"), "the latest ban is kept")
}

// stoppedTorrent makes a torrent of one piece of two blocks whose loop does
// not run (the test plays it), on a Client configured by mod.
func stoppedTorrent(t *testing.T, mod func(*Config)) (*Torrent, []byte) {
	t.Helper()
	good := bytes.Repeat([]byte("0123456789abcdef"), 2*piecepicker.BlockSize/16)
	sum := sha1.Sum(good)
	info, err := metainfo.NewInfo("p", int64(len(good)), []metainfo.File{{Path: "p", Length: int64(len(good))}}, sum[:], true)
	require.NoError(t, err)
	cfg := Config{ListenAddr: "127.0.0.1:0", DataDir: t.TempDir()}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	ts, err := c.storage.OpenTorrent(info)
	require.NoError(t, err)
	tr, err := newTorrent(c, info, ts, TorrentOptions{DownloadAll: true})
	require.NoError(t, err)
	tr.startWriters()
	t.Cleanup(func() {
		tr.cancel()
		tr.wg.Wait()
		ts.Close()
		c.Close()
	})
	return tr, good
}

// newPeer makes a connected peer of tr that is not admitted yet, over a pipe
// nobody reads.
func newPeer(t *testing.T, tr *Torrent, addr string, id byte) *peer {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	p := &peer{
		t: tr, conn: peerwire.NewConn(tr.ctx, a, peerwire.Config{}), addr: addr, id: peerwire.PeerID{id},
		down: rate.NewMeter(0), up: rate.NewMeter(0), sent: map[piecepicker.Request]time.Time{},
		connectedAt: time.Now(), reqq: 250, fast: true,
	}
	p.out.wake = make(chan struct{}, 1)
	p.amChoking.Store(true)
	return p
}

// onPeer refuses a banned peer however it comes back: from another port of
// the IP, or under its peer ID from elsewhere.
func TestOnPeerRefusesBanned(t *testing.T) {
	cases := []struct {
		name  string
		addr  string
		id    byte
		admit bool
	}{
		{"same IP, new port and ID", "192.0.2.1:40000", 20, false},
		{"same peer ID, other IP", "198.51.100.1:6881", 1, false},
		{"someone else", "192.0.2.2:6881", 21, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, _ := stoppedTorrent(t, nil)
			tr.c.bans.ban("192.0.2.1:6881", peerwire.PeerID{1})
			p := newPeer(t, tr, c.addr, c.id)
			tr.onPeer(p)
			_, in := tr.peers[p]
			require.Equal(t, c.admit, in)
		})
	}
}

// A banned address is never dialled: not queued by addCandidates, not
// dialled by dialMore if it was queued before the ban.
func TestBannedNeverDialled(t *testing.T) {
	const liar = "192.0.2.7:6881"
	t.Run("addCandidates", func(t *testing.T) {
		tr, _ := stoppedTorrent(t, func(c *Config) { c.MaxConnsPerTorrent = 1 })
		tr.dialing["192.0.2.99:1"] = true // the only slot: dialMore dials nothing
		tr.c.bans.ban("192.0.2.7:1", peerwire.PeerID{1})
		tr.addCandidates([]string{liar, "192.0.2.8:6881"}, true)
		require.Equal(t, []string{"192.0.2.8:6881"}, tr.candidates)
	})
	t.Run("dialMore", func(t *testing.T) {
		tr, _ := stoppedTorrent(t, nil)
		tr.candidates = []string{liar}
		tr.c.bans.ban("192.0.2.7:1", peerwire.PeerID{1})
		tr.dialMore()
		require.Empty(t, tr.dialing)
		require.Empty(t, tr.candidates)
	})
}

// A piece sent wholly by one peer that fails verification convicts it at
// once: there is nobody else to suspect.
func TestSoleLiarBannedAtOnce(t *testing.T) {
	tr, good := stoppedTorrent(t, nil)
	liar := fakePeer(t, tr, "192.0.2.2:2", 2)
	other := fakePeer(t, tr, "192.0.2.3:3", 3)
	bad := bytes.Clone(good)
	bad[7] ^= 1
	for b := range 2 {
		r := piecepicker.Request{Piece: 0, Begin: int64(b) * piecepicker.BlockSize, Length: piecepicker.BlockSize}
		rc := tr.pk.BlockReceived(liar.pp, r)
		require.True(t, rc.Wanted)
		tr.keepBlock(r, bad[r.Begin:r.Begin+r.Length], nil, rc.PieceDone)
	}
	next(tr) // verification fails
	require.Equal(t, 1, tr.counts.hashFailures)
	require.Equal(t, 1, tr.counts.banned, "banned without waiting for a good copy")
	require.True(t, liar.removed)
	require.False(t, other.removed)
	require.True(t, tr.c.bans.banned("192.0.2.2:9", peerwire.PeerID{30}))
	require.Empty(t, tr.activeOf(0).suspects)
}

// In the endgame a block asked of two peers is cancelled at the one that did
// not send it.
func TestEndgameCancelsSent(t *testing.T) {
	tr, good := stoppedTorrent(t, nil)
	a := fakePeer(t, tr, "192.0.2.1:1", 1)
	b := fakePeer(t, tr, "192.0.2.2:2", 2)
	tr.fill(a)
	require.Len(t, a.sent, 2, "a has every block requested")
	require.True(t, tr.pk.Endgame())
	tr.fill(b)
	require.Len(t, b.sent, 2, "the endgame asks b too")
	r := piecepicker.Request{Piece: 0, Begin: 0, Length: piecepicker.BlockSize}
	b.out.ctrl = nil
	tr.onBlock(a, peerwire.Message{ID: peerwire.Piece, Index: 0, Begin: 0, Block: bytes.Clone(good[:piecepicker.BlockSize])})
	_, still := b.sent[r]
	require.False(t, still, "b is no longer counted on for the block")
	require.Contains(t, b.out.ctrl, peerwire.Message{ID: peerwire.Cancel, Index: 0, Begin: 0, Length: piecepicker.BlockSize})
}

// The peer dropped for a newcomer is the idle one connected longest ago:
// never one that is interested, that we are interested in, that sent or
// was sent a block lately, or that connected less than IdlePeerTimeout ago.
func TestIdlestPeer(t *testing.T) {
	tr, _ := stoppedTorrent(t, func(c *Config) { c.IdlePeerTimeout = time.Minute })
	now := time.Now()
	mk := func(id byte, age time.Duration) *peer {
		p := fakePeer(t, tr, "192.0.2.1:1", id)
		p.connectedAt = now.Add(-age)
		return p
	}
	const old = time.Hour
	mk(1, old+5*time.Minute).interested = true
	mk(2, old+4*time.Minute).amInterested = true
	mk(3, old+3*time.Minute).lastBlockAt = now.Add(-time.Second)
	mk(4, old+2*time.Minute).up.Add(16<<10, now.Add(-time.Second))
	mk(5, time.Second) // just connected
	want := mk(6, old)
	mk(7, old-time.Minute)
	require.Equal(t, want, tr.idlest(now))
	require.Equal(t, 2, tr.numIdle(now, 10))
}

// Any address string, hostile or not, gets keys without panicking, and a
// source banned at an address is banned there.
func FuzzBanKeys(f *testing.F) {
	for _, s := range []string{"192.0.2.1:6881", "[2001:db8::1]:1", "[::ffff:10.0.0.1]:2", "127.0.0.1:5", "[fe80::1%eth0]:3", "host:1", "", ":", "[::]:0"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, addr string, strict bool) {
		b := newBanList(nil, strict)
		ipPort, ip := b.addrKeys(addr)
		require.NotEmpty(t, ipPort)
		require.NotEmpty(t, b.limitKey(addr))
		if ip != "" {
			require.NotEqual(t, ipPort, ip)
		}
		b.ban(addr, peerwire.PeerID{1})
		require.True(t, b.bannedAddr(addr))
		require.True(t, b.banned("", peerwire.PeerID{1}))
	})
}
