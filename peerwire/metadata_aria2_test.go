package peerwire

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// TestAria2Metadata fetches a torrent's info dictionary from a real client
// by ut_metadata (BEP 9): aria2c seeds a torrent of many files (an info
// dictionary of several 16 KiB pieces, the last one short), the test
// requests every piece with MarshalMetadataMessage, decodes the answers with
// ParseMetadataMessage and assembles them with a MetadataAssembler, which
// must give back exactly the info dictionary.
func TestAria2Metadata(t *testing.T) {
	aria2, err := exec.LookPath("aria2c")
	if err != nil {
		t.Skip("aria2c not installed: apt-get install aria2")
	}
	if testing.Short() {
		t.Skip("starts aria2c; skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	content := filepath.Join(dataDir, "many")
	if err := os.MkdirAll(content, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		name := fmt.Sprintf("a-file-with-a-long-name-that-grows-the-info-dictionary-%04d.deb", i)
		if err := os.WriteFile(filepath.Join(content, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info, err := metainfo.Create(ctx, content, metainfo.CreateOptions{PieceLength: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	size := len(info.Bytes())
	if size <= 2*MetadataPieceSize || size%MetadataPieceSize == 0 {
		t.Fatalf("info dictionary of %d bytes: want more than two pieces and a short last one", size)
	}
	var tf bytes.Buffer
	if err := (&metainfo.MetaInfo{Info: info, Announce: "http://127.0.0.1:9/announce"}).Write(&tf); err != nil {
		t.Fatal(err)
	}
	torrentPath := filepath.Join(dir, "many.torrent")
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
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("aria2c said:\n%s", aria2Out.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitForListener(t, ctx, addr, exited).Close()

	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	id, err := NewPeerID(nil)
	if err != nil {
		t.Fatal(err)
	}
	hctx, hcancel := context.WithTimeout(ctx, 10*time.Second)
	peer, err := Initiate(hctx, nc, Handshake{Reserved: DefaultReserved(), InfoHash: info.InfoHash(), PeerID: id})
	hcancel()
	if err != nil {
		t.Fatal(err)
	}
	common := peer.Reserved.Common(DefaultReserved())
	conn := NewConn(ctx, nc, Config{Limits: Limits{NumPieces: info.NumPieces(), Fast: common.Fast(), Extensions: true}})
	defer conn.Close()
	reg, _ := NewExtensionRegistry(ExtensionMetadata)
	ourID, _ := reg.ID(ExtensionMetadata)
	hs, err := ExtendedHandshake{M: reg.M(), V: "debtorrent-test"}.Message()
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(ctx, hs); err != nil {
		t.Fatal(err)
	}

	var asm *MetadataAssembler
	start := time.Now()
	for {
		m, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != Extended {
			m.Release()
			continue
		}
		switch m.ExtendedID {
		case HandshakeExtendedID:
			h, err := ParseExtendedHandshake(m.Payload)
			if err != nil {
				t.Fatal(err)
			}
			theirID, ok := h.ID(ExtensionMetadata)
			if !ok || h.MetadataSize != size {
				t.Fatalf("aria2's handshake: ut_metadata %v, metadata_size %d; want it supported and %d", ok, h.MetadataSize, size)
			}
			if asm, err = NewMetadataAssembler(info.InfoHash(), h.MetadataSize); err != nil {
				t.Fatal(err)
			}
			for _, p := range asm.Missing() {
				payload, err := MarshalMetadataMessage(MetadataMessage{Type: MetadataRequest, Piece: p})
				if err != nil {
					t.Fatal(err)
				}
				if err := conn.Send(ctx, Message{ID: Extended, ExtendedID: theirID, Payload: payload}); err != nil {
					t.Fatal(err)
				}
			}
		case ourID:
			if asm == nil {
				t.Fatal("ut_metadata message before the extension handshake")
			}
			mm, err := ParseMetadataMessage(m.Payload)
			if err != nil {
				t.Fatalf("aria2's ut_metadata message: %v", err)
			}
			if mm.Type != MetadataData {
				t.Fatalf("aria2 answered piece %d with a %s", mm.Piece, mm.Type)
			}
			got, err := asm.Add(mm)
			if err != nil {
				t.Fatal(err)
			}
			if got != nil {
				if !bytes.Equal(got, info.Bytes()) {
					t.Fatal("assembled metadata differs from the info dictionary")
				}
				t.Logf("fetched %d bytes of metadata in %d pieces from aria2c in %v", size, asm.NumPieces(), time.Since(start))
				return
			}
		}
		m.Release()
	}
}
