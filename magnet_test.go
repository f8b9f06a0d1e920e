package debtorrent_test

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent"
	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
)

// magnetFor is info's magnet link naming peers by x.pe.
func magnetFor(info *metainfo.Info, peers ...string) string {
	s := metainfo.Magnet{InfoHash: info.InfoHash(), Name: info.Name}.String()
	for _, p := range peers {
		s += "&x.pe=" + p
	}
	return s
}

// A Client given only a magnet link fetches the metadata from our seed,
// then the data.
func TestAddMagnetFromOurSeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	src := t.TempDir()
	// Many files make an info dictionary of several metadata pieces.
	files := map[string]int{"a.bin": 1<<20 + 7}
	for i := range 1500 {
		files["many/file-"+strconv.Itoa(i)] = 100 + i
	}
	info := makeTree(t, src, "magnetic", files, 16<<10, 41)
	require.Greater(t, len(info.Bytes()), 2*peerwire.MetadataPieceSize)
	seedC, _ := newClient(t, nil)
	_, err := seedC.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src})
	require.NoError(t, err)

	c, dir := newClient(t, nil)
	start := time.Now()
	tr, err := c.AddMagnet(ctx, magnetFor(info, seedC.Addr().String()), debtorrent.TorrentOptions{DownloadAll: true})
	require.NoError(t, err)
	t.Logf("metadata (%d bytes, %d pieces) from our seed after %v", len(info.Bytes()),
		(len(info.Bytes())+peerwire.MetadataPieceSize-1)/peerwire.MetadataPieceSize, time.Since(start))
	require.Equal(t, info.Bytes(), tr.Info().Bytes())
	waitComplete(t, tr)
	sameTree(t, info, src, dir)
}

// AddMagnet with nowhere to look fails at once, saying so.
func TestAddMagnetNoSource(t *testing.T) {
	c, _ := newClient(t, nil)
	info := makeTree(t, t.TempDir(), "nowhere", map[string]int{"x": 100}, 1<<14, 1)
	_, err := c.AddMagnet(context.Background(), magnetFor(info), debtorrent.TorrentOptions{})
	require.ErrorContains(t, err, "nowhere to fetch")
	_, err = c.AddMagnet(context.Background(), magnetFor(info, "no-port"), debtorrent.TorrentOptions{})
	require.ErrorContains(t, err, "HOST:PORT")
}

// badMetadataSeed accepts peers for info and answers every ut_metadata
// request with a piece of the right size but wrong bytes. It counts the
// connections it accepted and closes closed when a peer hangs up.
func badMetadataSeed(t *testing.T, info *metainfo.Info) (addr string, accepted *atomic.Int32, closed <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	raw := []byte(strings.Repeat("x", len(info.Bytes())))
	accepted = new(atomic.Int32)
	hungUp := make(chan struct{})
	var once sync.Once
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer nc.Close()
				ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
				defer cancel()
				id, _ := peerwire.NewPeerID(nil)
				if _, err := peerwire.Accept(ctx, nc, func(metainfo.InfoHash) bool { return true }, peerwire.DefaultReserved(), id); err != nil {
					return
				}
				conn := peerwire.NewConn(ctx, nc, peerwire.Config{Limits: peerwire.Limits{Extensions: true, Fast: true}})
				defer conn.Close()
				h, _ := peerwire.ExtendedHandshake{M: map[string]int{peerwire.ExtensionMetadata: 5}, MetadataSize: len(raw)}.Message()
				if conn.Send(ctx, h) != nil {
					return
				}
				theirs := uint8(0)
				for {
					m, err := conn.ReadMessage()
					if err != nil {
						once.Do(func() { close(hungUp) })
						return
					}
					if m.ID != peerwire.Extended {
						continue
					}
					if m.ExtendedID == peerwire.HandshakeExtendedID {
						if eh, err := peerwire.ParseExtendedHandshake(m.Payload); err == nil {
							theirs, _ = eh.ID(peerwire.ExtensionMetadata)
						}
						continue
					}
					mm, err := peerwire.ParseMetadataMessage(m.Payload)
					if err != nil || mm.Type != peerwire.MetadataRequest {
						continue
					}
					end := min(len(raw), (mm.Piece+1)*peerwire.MetadataPieceSize)
					out, _ := peerwire.MarshalMetadataMessage(peerwire.MetadataMessage{Type: peerwire.MetadataData, Piece: mm.Piece,
						TotalSize: len(raw), Data: raw[mm.Piece*peerwire.MetadataPieceSize : end]})
					conn.Send(ctx, peerwire.Message{ID: peerwire.Extended, ExtendedID: theirs, Payload: out})
				}
			}()
		}
	}()
	return ln.Addr().String(), accepted, hungUp
}

// A peer whose metadata does not hash to the infohash is dropped and not
// asked again; an honest one listed too delivers.
func TestAddMagnetDropsBadMetadataPeer(t *testing.T) {
	src := t.TempDir()
	info := makeTree(t, src, "badmeta", map[string]int{"a.bin": 300_000}, 16<<10, 42)
	bad, accepted, hungUp := badMetadataSeed(t, info)
	c, _ := newClient(t, nil)

	// Alone, the bad peer yields nothing: it is hung up on and, within a
	// window that would see a retry of a peer that merely failed (1 s, 2 s),
	// not dialled again.
	ctx, cancel := context.WithTimeout(context.Background(), 3500*time.Millisecond)
	defer cancel()
	_, err := c.AddMagnet(ctx, magnetFor(info, bad), debtorrent.TorrentOptions{})
	require.Error(t, err)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	require.ErrorContains(t, err, "does not match the infohash")
	select {
	case <-hungUp:
	default:
		t.Fatal("the bad peer was not hung up on")
	}
	require.Equal(t, int32(1), accepted.Load(), "connections to the bad peer")

	seedC, _ := newClient(t, nil)
	_, err = seedC.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src})
	require.NoError(t, err)
	ctx2, cancel2 := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel2()
	tr, err := c.AddMagnet(ctx2, magnetFor(info, bad, seedC.Addr().String()), debtorrent.TorrentOptions{})
	require.NoError(t, err)
	require.Equal(t, info.InfoHash(), tr.InfoHash())
}

// (e) Our Client gets a magnet link's metadata and data from an aria2c
// seed, given its address by x.pe.
func TestAddMagnetFromAria2(t *testing.T) {
	aria2Path(t)
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	src := t.TempDir()
	// Enough files for an info dictionary of several metadata pieces.
	files := map[string]int{"one.bin": 1<<20 + 99, "two/three.bin": 300_001}
	for i := range 1200 {
		files["many/f"+strconv.Itoa(i)] = 10 + i
	}
	info := makeTree(t, src, "magnet-aria", files, 16<<10, 43)
	require.Greater(t, len(info.Bytes()), 2*peerwire.MetadataPieceSize)
	tf := writeTorrent(t, info, "http://127.0.0.1:9/announce")
	port := freePort(t)
	runAria2(t, ctx, "--listen-port="+strconv.Itoa(port), "--bt-seed-unverified=true", "--seed-ratio=0.0", "--dir="+src, tf)

	c, dir := newClient(t, nil)
	start := time.Now()
	tr, err := c.AddMagnet(ctx, magnetFor(info, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))), debtorrent.TorrentOptions{DownloadAll: true})
	require.NoError(t, err)
	t.Logf("metadata (%d bytes) from aria2c after %v", len(info.Bytes()), time.Since(start))
	waitComplete(t, tr)
	sameTree(t, info, src, dir)
	require.Equal(t, info.TotalLength(), tr.Stats().BytesFromPeers)
}

// ltMagnetLeech downloads a magnet link with libtorrent-rasterbar into DIR,
// connecting to the peer at PORT; it exits 0 once it seeds.
const ltMagnetLeech = `
import sys, time
import libtorrent as lt
magnet, save, port, peer = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ses = lt.session({"listen_interfaces": "127.0.0.1:%d" % port, "enable_dht": False, "enable_lsd": False,
    "enable_upnp": False, "enable_natpmp": False, "allow_multiple_connections_per_ip": True,
    "enable_outgoing_utp": False, "enable_incoming_utp": False})
atp = lt.parse_magnet_uri(magnet)
atp.save_path = save
h = ses.add_torrent(atp)
while True:
    h.connect_peer(("127.0.0.1", peer))
    for _ in range(100):
        s = h.status()
        if s.is_seeding:
            sys.exit(0)
        time.sleep(0.01)
`

// (e) libtorrent-rasterbar, given only a magnet link and our address, gets
// the metadata and the data from our seed.
func TestLibtorrentMagnetFromUs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts libtorrent; skipped in -short mode")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import libtorrent").Run(); err != nil {
		t.Skip("libtorrent for python3 not installed: apt-get install python3-libtorrent")
	}
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	src := t.TempDir()
	files := map[string]int{"a.bin": 2<<20 + 3, "b/c.bin": 200_001}
	for i := range 1200 {
		files["many/f"+strconv.Itoa(i)] = 10 + i
	}
	info := makeTree(t, src, "magnet-lt", files, 16<<10, 44)
	require.Greater(t, len(info.Bytes()), 2*peerwire.MetadataPieceSize)
	c, _ := newClient(t, nil)
	seed, err := c.AddTorrent(info, debtorrent.TorrentOptions{ImportDir: src})
	require.NoError(t, err)
	out := t.TempDir()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "-c", ltMagnetLeech, magnetFor(info), out,
		strconv.Itoa(freePort(t)), strconv.Itoa(c.Addr().(*net.TCPAddr).Port))
	output, err := cmd.CombinedOutput()
	require.NoError(t, err, "libtorrent: %s", output)
	sameTree(t, info, src, out)
	require.GreaterOrEqual(t, seed.Stats().BytesUploaded, info.TotalLength())
}
