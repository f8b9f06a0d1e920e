package lsd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// waitLimit bounds every wait of these tests.
const waitLimit = 20 * time.Second

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no port", Config{}, "Port is 0"},
		{"unicast group", Config{Port: 1, Group: netip.MustParseAddrPort("10.0.0.1:6771")}, "not a multicast"},
		{"group port 0", Config{Port: 1, Group: netip.MustParseAddrPort("239.192.152.143:0")}, "not a multicast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestAddBeyondCap(t *testing.T) {
	s, err := New(Config{Port: 1, MaxTorrents: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Add(ihN(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add(ihN(2)); !errors.Is(err, ErrFull) {
		t.Fatalf("Add beyond MaxTorrents: %v, want ErrFull", err)
	}
	s.Remove(ihN(0)) // never announced: forgotten at once
	if err := s.Add(ihN(2)); err != nil {
		t.Fatalf("Add after Remove: %v", err)
	}
}

func TestRunTwice(t *testing.T) {
	s, err := New(Config{Port: 1, Group: netip.AddrPortFrom(DefaultGroup4.Addr(), freeUDPPort(t))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.Run(ctx) // returns at once, with or without a usable network
	if err := s.Run(ctx); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("second Run: %v, want an error", err)
	}
}

// freeUDPPort returns a UDP port nobody on this machine uses now.
func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// startService runs a Service with short intervals until the test ends.
func startService(t *testing.T, ifi *net.Interface, group netip.AddrPort, port uint16) *Service {
	t.Helper()
	s, err := New(Config{Port: port, Interface: ifi, Group: group, Interval: 200 * time.Millisecond, MinInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitLimit):
			t.Errorf("Run did not return within %v of its context ending", waitLimit)
		}
		for range s.Peers() { // closed by Run
		}
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(waitLimit):
		t.Fatalf("Service not ready within %v", waitLimit)
	}
	return s
}

// awaitPeer waits for s to report want. It fails on a peer at s's own port
// (its own announce, which the cookie must filter) or for a torrent other
// than want's. Zones (of IPv6 link-local addresses) are not compared: they
// name the receiving side's interface.
func awaitPeer(s *Service, ownPort uint16, want Peer) error {
	deadline := time.After(waitLimit)
	for {
		select {
		case p, ok := <-s.Peers():
			if !ok {
				return errors.New("Peers closed")
			}
			if !p.Addr.Addr().IsValid() || p.Addr.Addr().IsUnspecified() {
				return fmt.Errorf("reported a peer without an address: %v", p)
			}
			if p.Addr.Port() == ownPort {
				return fmt.Errorf("reported its own announce %v", p)
			}
			if p.InfoHash != want.InfoHash {
				return fmt.Errorf("reported %v, a torrent it does not announce", p)
			}
			p.Addr = netip.AddrPortFrom(p.Addr.Addr().WithZone(""), p.Addr.Port())
			if p == want {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("no announce of %v within %v", want, waitLimit)
		}
	}
}

// pairFindEachOther runs two Services on ifi and checks that each reports
// the other, at addrA and addrB, for the torrent they share and nothing else.
func pairFindEachOther(t *testing.T, ifi *net.Interface, ip netip.Addr) {
	group := netip.AddrPortFrom(DefaultGroup4.Addr(), freeUDPPort(t))
	a := startService(t, ifi, group, 7001)
	b := startService(t, ifi, group, 7002)
	// Each side's own torrent sorts before the shared one, so it comes first in
	// its announce and a missing filter would show before the shared peer.
	onlyA, onlyB, shared := ihN(1), ihN(2), ihN(3)
	for _, add := range []struct {
		s  *Service
		ih metainfo.InfoHash
	}{{a, onlyA}, {a, shared}, {b, onlyB}, {b, shared}} {
		if err := add.s.Add(add.ih); err != nil {
			t.Fatal(err)
		}
		if add.s == a && add.ih == shared {
			// An announce with no source address (as Linux sends from a
			// socket bound to no address of lo), before B's: A must not
			// report it.
			sendUnbound(t, ifi, group, Message{Host: group.String(), Port: 7009, InfoHashes: []metainfo.InfoHash{shared}, Cookie: "rogue"})
		}
	}
	if err := awaitPeer(a, 7001, Peer{InfoHash: shared, Addr: netip.AddrPortFrom(ip, 7002)}); err != nil {
		t.Fatalf("service A: %v", err)
	}
	if err := awaitPeer(b, 7002, Peer{InfoHash: shared, Addr: netip.AddrPortFrom(ip, 7001)}); err != nil {
		t.Fatalf("service B: %v", err)
	}
}

// sendUnbound sends m to group out of ifi from a socket bound to no
// address.
func sendUnbound(t *testing.T, ifi *net.Interface, group netip.AddrPort, m Message) {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return setMulticastOptions(c, false, ifi, 1)
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	d, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.WriteTo(d[0], net.UDPAddrFromAddrPort(group)); err != nil {
		t.Fatal(err)
	}
}

// envInNetns marks a test process re-executed inside a network namespace.
const envInNetns = "DEBTORRENT_LSD_IN_NETNS"

// TestServicesFindEachOtherOnLoopback runs two Services on the loopback
// interface. Linux's lo has no MULTICAST flag by default; when it lacks it
// here and we are root, the test re-runs itself in a fresh network namespace
// whose lo has the flag set, so the host is left untouched.
func TestServicesFindEachOtherOnLoopback(t *testing.T) {
	lo, err := loopback()
	if err != nil {
		t.Fatal(err)
	}
	if lo.Flags&net.FlagMulticast != 0 {
		pairFindEachOther(t, lo, netip.MustParseAddr("127.0.0.1"))
		return
	}
	if os.Getenv(envInNetns) != "" {
		t.Fatal("lo has no MULTICAST flag inside the test's network namespace")
	}
	if err := netnsUsable(); err != nil {
		t.Skipf("lo has no MULTICAST flag (as root: ip link set lo multicast on) and no network namespace can be made instead: %v", err)
	}
	ns := newNetns(t, "lo")
	mustRun(t, "ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up", "multicast", "on")
	runTestInNetns(t, ns, "^TestServicesFindEachOtherOnLoopback$", envInNetns+"=1")
}

// loopback returns the loopback interface.
func loopback() (*net.Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	for i := range ifs {
		if ifs[i].Flags&net.FlagLoopback != 0 {
			return &ifs[i], nil
		}
	}
	return nil, errors.New("no loopback interface")
}
