package peerwire

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

var (
	hashA = metainfo.InfoHash{0xaa, 1, 2, 3}
	hashB = metainfo.InfoHash{0xbb, 4, 5, 6}
)

// pipe returns two connected conns, over net.Pipe or loopback TCP.
func pipe(t *testing.T, transport string) (net.Conn, net.Conn) {
	t.Helper()
	if transport == "pipe" {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func knows(hashes ...metainfo.InfoHash) func(metainfo.InfoHash) bool {
	return func(h metainfo.InfoHash) bool {
		for _, k := range hashes {
			if h == k {
				return true
			}
		}
		return false
	}
}

func mustPeerID(t *testing.T) PeerID {
	id, err := NewPeerID(nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestHandshake(t *testing.T) {
	for _, transport := range []string{"pipe", "tcp"} {
		for _, hash := range []metainfo.InfoHash{hashA, hashB} {
			t.Run(transport+"/"+hash.String()[:4], func(t *testing.T) {
				dialer, acceptor := pipe(t, transport)
				dialerID, acceptorID := mustPeerID(t), mustPeerID(t)
				var acceptorReserved Reserved
				acceptorReserved[fastByte] |= fastMask // fast only
				type result struct {
					hs  Handshake
					err error
				}
				done := make(chan result, 1)
				go func() {
					hs, err := Accept(context.Background(), acceptor, knows(hashA, hashB), acceptorReserved, acceptorID)
					done <- result{hs, err}
				}()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				got, err := Initiate(ctx, dialer, Handshake{Reserved: DefaultReserved(), InfoHash: hash, PeerID: dialerID})
				if err != nil {
					t.Fatal(err)
				}
				acc := <-done
				if acc.err != nil {
					t.Fatal(acc.err)
				}
				if got.InfoHash != hash || got.PeerID != acceptorID || got.Reserved != acceptorReserved {
					t.Errorf("dialer saw %+v", got)
				}
				if acc.hs.InfoHash != hash || acc.hs.PeerID != dialerID || !acc.hs.Reserved.Extensions() || !acc.hs.Reserved.Fast() {
					t.Errorf("acceptor saw %+v", acc.hs)
				}
				common := got.Reserved.Common(DefaultReserved())
				if !common.Fast() || common.Extensions() || common.DHT() {
					t.Errorf("common bits %x, want fast only", common)
				}
				// Deadlines are cleared: the connection still works.
				go dialer.Write([]byte("x"))
				var one [1]byte
				if _, err := acceptor.Read(one[:]); err != nil {
					t.Fatalf("read after handshake: %v", err)
				}
			})
		}
	}
}

func TestAcceptUnknownInfoHashGetsNoAnswer(t *testing.T) {
	dialer, acceptor := pipe(t, "tcp")
	errc := make(chan error, 1)
	go func() {
		_, err := Accept(context.Background(), acceptor, knows(hashA), DefaultReserved(), mustPeerID(t))
		acceptor.Close()
		errc <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Initiate(ctx, dialer, Handshake{InfoHash: hashB})
	if err == nil {
		t.Fatal("handshake for an unknown torrent succeeded")
	}
	if aerr := <-errc; !errors.Is(aerr, ErrUnknownInfoHash) || !strings.Contains(aerr.Error(), hashB.String()) {
		t.Fatalf("acceptor: %v, want ErrUnknownInfoHash naming %s", aerr, hashB)
	}
}

func TestInitiateInfoHashMismatch(t *testing.T) {
	dialer, other := pipe(t, "pipe")
	go func() {
		var buf [HandshakeLength]byte
		other.Read(buf[:])
		other.Write(Handshake{InfoHash: hashB}.AppendTo(nil))
	}()
	_, err := Initiate(context.Background(), dialer, Handshake{InfoHash: hashA})
	if !errors.Is(err, ErrInfoHashMismatch) {
		t.Fatalf("err = %v, want ErrInfoHashMismatch", err)
	}
}

func TestHandshakeNotBitTorrent(t *testing.T) {
	dialer, acceptor := pipe(t, "tcp")
	go dialer.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + strings.Repeat(" ", 60)))
	_, err := Accept(context.Background(), acceptor, knows(hashA), DefaultReserved(), mustPeerID(t))
	if err == nil || !strings.Contains(err.Error(), "not a BitTorrent handshake") {
		t.Fatalf("err = %v", err)
	}
}

func TestHandshakeDeadline(t *testing.T) {
	tests := []struct {
		name   string
		ctx    func() (context.Context, context.CancelFunc)
		reason error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dialer, _ := pipe(t, "tcp") // the other side never answers
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := Initiate(ctx, dialer, Handshake{InfoHash: hashA})
			if !errors.Is(err, tt.reason) {
				t.Fatalf("err = %v, want %v", err, tt.reason)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("handshake gave up after %v", d)
			}
		})
	}
}

func TestNewPeerID(t *testing.T) {
	a, err := NewPeerID(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewPeerID(nil)
	if !bytes.HasPrefix(a[:], []byte("-DT0001-")) || a == b {
		t.Fatalf("peer IDs %s and %s", a, b)
	}
	fixed, _ := NewPeerID(bytes.NewReader(bytes.Repeat([]byte{'z'}, 12)))
	if string(fixed[:]) != "-DT0001-zzzzzzzzzzzz" {
		t.Fatalf("peer ID from a fixed source: %s", fixed)
	}
	if _, err := NewPeerID(bytes.NewReader(nil)); err == nil {
		t.Fatal("no error from an empty random source")
	}
}

func TestReservedBits(t *testing.T) {
	r := DefaultReserved()
	// BEP 10: bit 20 from the right, i.e. byte 5 & 0x10; BEP 6: byte 7 & 0x04.
	if r != (Reserved{0, 0, 0, 0, 0, 0x10, 0, 0x04}) || !r.Extensions() || !r.Fast() || r.DHT() {
		t.Fatalf("DefaultReserved = %x", r)
	}
}
