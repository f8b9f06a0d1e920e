package lsd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// netnsUsable tells why network namespaces cannot be made here, if so.
func netnsUsable() error {
	if runtime.GOOS != "linux" {
		return errors.New("not Linux")
	}
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("no ip command (apt-get install iproute2): %w", err)
	}
	name := fmt.Sprintf("dtlsdprobe%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	return exec.Command("ip", "netns", "del", name).Run()
}

// mustRun runs a command, failing the test with its output on error.
func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

// newNetns makes a network namespace deleted when the test ends.
func newNetns(t *testing.T, suffix string) string {
	t.Helper()
	name := fmt.Sprintf("dtlsd%d%s", os.Getpid(), suffix)
	mustRun(t, "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	return name
}

// helperCommand returns this test binary, run inside ns, running only the
// tests matching run, with env added.
func helperCommand(t *testing.T, ctx context.Context, ns, run string, env ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, self, "-test.run", run, "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// runTestInNetns runs tests matching run in a child process inside ns and
// fails when they fail.
func runTestInNetns(t *testing.T, ns, run string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	out, err := helperCommand(t, ctx, ns, run, env...).CombinedOutput()
	t.Logf("in network namespace %s:\n%s", ns, out)
	if err != nil {
		t.Fatalf("the test inside the network namespace failed: %v", err)
	}
}

// Environment of the helper process of TestServicesAcrossNetns.
const (
	envHelperIface = "DEBTORRENT_LSD_HELPER_IFACE"
	envHelperGroup = "DEBTORRENT_LSD_HELPER_GROUP"
	envHelperPort  = "DEBTORRENT_LSD_HELPER_PORT"
	envHelperWant  = "DEBTORRENT_LSD_HELPER_WANT"
)

// helperInfoHash is the torrent the helpers of TestServicesAcrossNetns share.
var helperInfoHash = metainfo.InfoHash{0xde, 0xb7, 0x07, 0x7e, 0x47}

// TestServicesAcrossNetns runs one Service in each of two network
// namespaces joined by a veth pair, as two machines on one LAN, and checks
// that each reports the other at its address on the link, over IPv4 and over
// IPv6 (link-local addresses, from fixed MAC addresses, without duplicate
// address detection so they are usable at once).
func TestServicesAcrossNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("makes network namespaces; skipped with -short")
	}
	if err := netnsUsable(); err != nil {
		t.Skipf("network namespaces unavailable: %v", err)
	}
	nsA, nsB := newNetns(t, "a"), newNetns(t, "b")
	vethA, vethB := fmt.Sprintf("dtl%da", os.Getpid()), fmt.Sprintf("dtl%db", os.Getpid())
	_, err := os.Stat("/proc/sys/net/ipv6")
	ipv6 := err == nil
	if ipv6 {
		for _, ns := range []string{nsA, nsB} {
			mustRun(t, "ip", "netns", "exec", ns, "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad")
		}
	}
	mustRun(t, "ip", "link", "add", vethA, "address", "02:00:00:00:00:01", "netns", nsA, "type", "veth",
		"peer", "name", vethB, "address", "02:00:00:00:00:02", "netns", nsB)
	for _, c := range [][]string{
		{nsA, "ip", "addr", "add", "10.213.0.1/24", "dev", vethA},
		{nsB, "ip", "addr", "add", "10.213.0.2/24", "dev", vethB},
		{nsA, "ip", "link", "set", vethA, "up"},
		{nsB, "ip", "link", "set", vethB, "up"},
	} {
		mustRun(t, "ip", append([]string{"netns", "exec"}, c...)...)
	}
	specs := func(wantA, wantB string) []helperSpec {
		return []helperSpec{{nsA, vethA, "7001", wantA}, {nsB, vethB, "7002", wantB}}
	}
	t.Run("IPv4", func(t *testing.T) {
		group := netip.AddrPortFrom(DefaultGroup4.Addr(), freeUDPPort(t))
		runHelperPair(t, group, specs("10.213.0.2:7002", "10.213.0.1:7001"))
	})
	t.Run("IPv6", func(t *testing.T) {
		if !ipv6 {
			t.Skip("no IPv6 in this kernel")
		}
		group := netip.AddrPortFrom(DefaultGroup6.Addr(), freeUDPPort(t))
		runHelperPair(t, group, specs("[fe80::ff:fe00:2]:7002", "[fe80::ff:fe00:1]:7001"))
	})
}

// helperSpec says where a helper process runs and whom it must find.
type helperSpec struct{ ns, iface, port, want string }

// runHelperPair runs a helper Service per spec on group and waits until each
// found its peer.
func runHelperPair(t *testing.T, group netip.AddrPort, specs []helperSpec) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	// Each helper prints a line once it found its peer and then keeps
	// announcing (its peer may not have heard it yet) until its stdin is
	// closed.
	type helper struct {
		ns    string
		cmd   *exec.Cmd
		stdin io.Closer
		out   bytes.Buffer
	}
	found := make(chan string, 2)
	var helpers []*helper
	for _, h := range specs {
		hp := &helper{ns: h.ns, cmd: helperCommand(t, ctx, h.ns, "^TestHelperService$",
			envHelperIface+"="+h.iface, envHelperGroup+"="+group.String(), envHelperPort+"="+h.port, envHelperWant+"="+h.want)}
		stdin, err := hp.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		hp.stdin = stdin
		stdout, err := hp.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		hp.cmd.Stderr = &hp.out
		if err := hp.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		helpers = append(helpers, hp)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), helperFound) {
					found <- hp.ns + ": " + sc.Text()
				}
			}
			found <- "" // the helper ended
		}()
	}
	for range 2 {
		select {
		case line := <-found:
			if line == "" {
				t.Error("a helper ended before finding its peer")
			} else {
				t.Log(line)
			}
		case <-ctx.Done():
			t.Error("the helpers did not find each other in time")
		}
		if t.Failed() {
			break
		}
	}
	for _, hp := range helpers {
		hp.stdin.Close()
		if err := hp.cmd.Wait(); err != nil {
			t.Errorf("helper in %s: %v", hp.ns, err)
		}
		if t.Failed() {
			t.Logf("helper in %s:\n%s", hp.ns, hp.out.String())
		}
	}
}

// helperFound starts the line a helper prints when it found its peer.
const helperFound = "lsd-helper: found "

// TestHelperService is the helper process of TestServicesAcrossNetns; it
// does nothing unless that test started it.
func TestHelperService(t *testing.T) {
	iface := os.Getenv(envHelperIface)
	if iface == "" {
		return
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		t.Fatal(err)
	}
	group, err := netip.ParseAddrPort(os.Getenv(envHelperGroup))
	if err != nil {
		t.Fatal(err)
	}
	want, err := netip.ParseAddrPort(os.Getenv(envHelperWant))
	if err != nil {
		t.Fatal(err)
	}
	var port uint16
	if _, err := fmt.Sscan(os.Getenv(envHelperPort), &port); err != nil {
		t.Fatal(err)
	}
	s := startService(t, ifi, group, port)
	if err := s.Add(helperInfoHash); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := awaitPeer(s, port, Peer{InfoHash: helperInfoHash, Addr: want}); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s%v after %v\n", helperFound, want, time.Since(start))
	_, _ = io.Copy(io.Discard, os.Stdin) // keep announcing until told to stop
}
