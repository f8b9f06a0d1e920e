package peerwire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// TestAria2Seed talks to a real client: aria2c seeds a small torrent on
// loopback and the test downloads every block of it over the peer protocol,
// checking each byte against the file.
func TestAria2Seed(t *testing.T) {
	aria2, err := exec.LookPath("aria2c")
	if err != nil {
		t.Skip("aria2c not installed: apt-get install aria2")
	}
	if testing.Short() {
		t.Skip("starts aria2c; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// 1.2 MiB of data in 256 KiB pieces: five pieces, the last one short.
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	content := make([]byte, 1<<20+200<<10+123)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	dataPath := filepath.Join(dataDir, "payload.bin")
	if err := os.WriteFile(dataPath, content, 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := metainfo.Create(ctx, dataPath, metainfo.CreateOptions{PieceLength: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	torrentPath := filepath.Join(dir, "payload.torrent")
	var tf bytes.Buffer
	// A tracker nobody answers on, on loopback: aria2 only needs one listed.
	if err := (&metainfo.MetaInfo{Info: info, Announce: "http://127.0.0.1:9/announce"}).Write(&tf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(torrentPath, tf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	cmd := exec.CommandContext(ctx, aria2,
		"--no-conf", "--interface=127.0.0.1", "--listen-port="+strconv.Itoa(port),
		"--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
		"--bt-seed-unverified=true", "--seed-ratio=0.0", "--dir="+dataDir, "--file-allocation=none",
		"--summary-interval=0", "--console-log-level=warn", "--bt-stop-timeout=0",
		torrentPath)
	var aria2Out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &aria2Out, &aria2Out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel() // kills aria2c
		<-exited
		if t.Failed() {
			t.Logf("aria2c said:\n%s", aria2Out.String())
		}
	})

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	probe := waitForListener(t, ctx, addr, exited)
	probe.Close()

	extOnly := DefaultReserved()
	extOnly[fastByte] &^= fastMask
	tests := []struct {
		name     string
		reserved Reserved
		want     ID // how the seed announces its pieces
	}{
		{"fast extension", DefaultReserved(), HaveAll},
		{"no fast extension", extOnly, Bitfield},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			downloadAll(t, ctx, nc, info, content, tt.reserved, tt.want)
		})
	}
}

// downloadAll handshakes with a seed of info over nc, checks how it announces
// its pieces, then requests every block and checks it against content.
func downloadAll(t *testing.T, ctx context.Context, nc net.Conn, info *metainfo.Info, content []byte, reserved Reserved, announce ID) {
	id, err := NewPeerID(nil)
	if err != nil {
		t.Fatal(err)
	}
	hctx, hcancel := context.WithTimeout(ctx, 10*time.Second)
	peer, err := Initiate(hctx, nc, Handshake{Reserved: reserved, InfoHash: info.InfoHash(), PeerID: id})
	hcancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("aria2 peer ID %s, reserved %x", peer.PeerID, peer.Reserved)
	common := peer.Reserved.Common(reserved)
	if !common.Extensions() {
		t.Fatalf("aria2 did not announce the extension protocol: reserved %x", peer.Reserved)
	}
	conn := NewConn(ctx, nc, Config{Limits: Limits{NumPieces: info.NumPieces(), Fast: common.Fast(), Extensions: true}})
	defer conn.Close()

	reg, _ := NewExtensionRegistry(ExtensionPEX, ExtensionMetadata)
	ours, err := ExtendedHandshake{M: reg.M(), V: "debtorrent-test", Reqq: 250}.Message()
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(ctx, ours); err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(ctx, Message{ID: Interested}); err != nil {
		t.Fatal(err)
	}

	d := newDownload(info, content, common.Fast())
	var gotExtHandshake bool
	var announced []ID
	for !d.done() {
		m, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("after %d of %d blocks: %v", d.received, len(d.blocks), err)
		}
		switch {
		case m.KeepAlive:
		case m.ID == Extended && m.ExtendedID == HandshakeExtendedID:
			h, err := ParseExtendedHandshake(m.Payload)
			if err != nil {
				t.Fatalf("aria2's extension handshake %q: %v", m.Payload, err)
			}
			t.Logf("aria2 extension handshake: %q -> v=%q extensions=%v", m.Payload, h.V, h.Names())
			gotExtHandshake = true
		case m.ID == Bitfield:
			if !m.Bitfield.All() {
				t.Fatalf("seed's bitfield has %d of %d pieces", m.Bitfield.Count(), info.NumPieces())
			}
			announced = append(announced, m.ID)
		case m.ID == HaveAll, m.ID == HaveNone:
			announced = append(announced, m.ID)
		default:
			if err := d.handle(ctx, conn, m); err != nil {
				t.Fatal(err)
			}
		}
		m.Release()
	}
	if !gotExtHandshake {
		t.Error("no extension handshake from aria2")
	}
	if len(announced) != 1 || announced[0] != announce {
		t.Errorf("aria2 announced its pieces with %v, want %v", announced, announce)
	}
}

// block is one 16 KiB request of the test download.
type block struct{ index, begin, length uint32 }

// download tracks the blocks of a whole torrent requested from one peer.
type download struct {
	content  []byte
	info     *metainfo.Info
	fast     bool
	blocks   []block
	state    map[block]int // 0 to request, 1 in flight, 2 received
	received int
	unchoked bool
}

func newDownload(info *metainfo.Info, content []byte, fast bool) *download {
	d := &download{content: content, info: info, fast: fast, state: map[block]int{}}
	for _, p := range info.Pieces {
		for off := int64(0); off < p.Length; off += DefaultMaxBlock {
			b := block{uint32(p.Index), uint32(off), uint32(min(DefaultMaxBlock, p.Length-off))}
			d.blocks = append(d.blocks, b)
			d.state[b] = 0
		}
	}
	return d
}

func (d *download) done() bool { return d.received == len(d.blocks) }

// handle reacts to one message from the seed.
func (d *download) handle(ctx context.Context, c *Conn, m Message) error {
	switch m.ID {
	case Unchoke:
		d.unchoked = true
		return d.requestAll(ctx, c)
	case Choke:
		d.unchoked = false
		if !d.fast { // without BEP 6, a choke drops every pending request
			for b, s := range d.state {
				if s == 1 {
					d.state[b] = 0
				}
			}
		}
	case Reject:
		b := block{m.Index, m.Begin, m.Length}
		if d.state[b] == 1 {
			d.state[b] = 0
		}
		if d.unchoked {
			return d.requestAll(ctx, c)
		}
	case Piece:
		b := block{m.Index, m.Begin, uint32(len(m.Block))}
		if s, ok := d.state[b]; !ok || s != 1 {
			return fmt.Errorf("unrequested block %d+%d:%d", b.index, b.begin, b.length)
		}
		off := d.info.Pieces[m.Index].Offset + int64(m.Begin)
		if !bytes.Equal(m.Block, d.content[off:off+int64(len(m.Block))]) {
			return fmt.Errorf("block %d+%d differs from the file", b.index, b.begin)
		}
		d.state[b] = 2
		d.received++
	}
	return nil
}

func (d *download) requestAll(ctx context.Context, c *Conn) error {
	for _, b := range d.blocks {
		if d.state[b] != 0 {
			continue
		}
		if err := c.Send(ctx, Message{ID: Request, Index: b.index, Begin: b.begin, Length: b.length}); err != nil {
			return err
		}
		d.state[b] = 1
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitForListener dials addr until it answers, the process exits or ctx ends.
func waitForListener(t *testing.T, ctx context.Context, addr string, exited <-chan error) net.Conn {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		nc, err := d.DialContext(dctx, "tcp", addr)
		dcancel()
		if err == nil {
			return nc
		}
		select {
		case err := <-exited:
			t.Fatalf("aria2c exited before listening on %s: %v", addr, err)
		case <-ctx.Done():
			t.Fatalf("aria2c not listening on %s: %v", addr, errors.Join(ctx.Err(), err))
		case <-tick.C:
		}
	}
}
