package lsd

import (
	"bytes"
	"context"
	"crypto/sha1"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/bencode"
	"github.com/debtorrent/debtorrent/metainfo"
)

// envAria2InNetns marks the re-run of TestAria2 inside a network namespace.
const envAria2InNetns = "DEBTORRENT_LSD_ARIA2_IN_NETNS"

// TestAria2 checks BEP 14 against a real client: aria2c, leeching a torrent
// with only LSD to find peers, must be reported by our Service and must dial
// the port our Service announces. It runs in a fresh network namespace (lo
// with multicast on, the BEP's own group and port, nothing else listening).
func TestAria2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs aria2c in a network namespace; skipped with -short")
	}
	aria2, err := exec.LookPath("aria2c")
	if err != nil {
		t.Skip("no aria2c (apt-get install aria2)")
	}
	if os.Getenv(envAria2InNetns) == "" {
		if err := netnsUsable(); err != nil {
			t.Skipf("network namespaces unavailable: %v", err)
		}
		ns := newNetns(t, "aria2")
		mustRun(t, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up", "multicast", "on")
		runTestInNetns(t, ns, "^TestAria2$", envAria2InNetns+"=1")
		return
	}

	dir := t.TempDir()
	data := bytes.Repeat([]byte("lsd"), 10000)
	pieces := sha1.Sum(data)
	info, err := bencode.Marshal(struct {
		Length      int    `bencode:"length"`
		Name        string `bencode:"name"`
		PieceLength int    `bencode:"piece length"`
		Pieces      string `bencode:"pieces"`
	}{len(data), "lsd-test", 1 << 15, string(pieces[:])})
	if err != nil {
		t.Fatal(err)
	}
	ih := metainfo.InfoHash(sha1.Sum(info))
	torrent := append(append([]byte("d4:info"), info...), 'e')
	torrentPath := filepath.Join(dir, "lsd-test.torrent")
	if err := os.WriteFile(torrentPath, torrent, 0o644); err != nil {
		t.Fatal(err)
	}

	// Our side: a TCP listener at the announced port, and the Service.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ourPort := uint16(ln.Addr().(*net.TCPAddr).Port)
	lo, err := loopback()
	if err != nil {
		t.Fatal(err)
	}
	s := startService(t, lo, DefaultGroup4, ourPort)
	if err := s.Add(ih); err != nil {
		t.Fatal(err)
	}

	const aria2Port = 7003
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, aria2, "--dir="+filepath.Join(dir, "dl"), "--bt-enable-lpd=true", "--bt-lpd-interface=lo",
		"--enable-dht=false", "--enable-dht6=false", "--enable-peer-exchange=false", "--listen-port="+strconv.Itoa(aria2Port),
		"--seed-time=0", "--console-log-level=warn", "--summary-interval=0", torrentPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	defer func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("aria2c:\n%s", out.String())
		}
	}()

	// aria2c dials us. It starts with an encrypted (MSE) handshake; when we
	// close that connection it retries in plain, whose infohash we check.
	dialed := make(chan []byte, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				dialed <- nil
				return
			}
			_ = c.SetDeadline(time.Now().Add(waitLimit))
			hs := make([]byte, 48)
			_, err = io.ReadFull(c, hs)
			c.Close()
			if err == nil && bytes.HasPrefix(hs, []byte("\x13BitTorrent protocol")) {
				dialed <- hs
				return
			}
		}
	}()

	if err := awaitPeer(s, ourPort, Peer{InfoHash: ih, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), aria2Port)}); err != nil {
		t.Fatalf("aria2c's announce: %v", err)
	}
	t.Logf("our Service heard aria2c's announce %v after aria2c started", time.Since(started))
	select {
	case hs := <-dialed:
		if hs == nil || !bytes.Equal(hs[28:48], ih[:]) {
			t.Fatalf("aria2c's handshake %q, want one for %s", hs, ih)
		}
		t.Logf("aria2c dialled the port our Service announced (in plain) %v after it started", time.Since(started))
	case <-time.After(waitLimit):
		t.Fatalf("aria2c did not dial the port we announced within %v", waitLimit)
	}
}
