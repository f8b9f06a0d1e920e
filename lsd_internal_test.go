package debtorrent

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/internal/lsd"
)

// envLSDInNetns marks the child process TestLSDConnectsClients runs in a
// network namespace.
const envLSDInNetns = "DEBTORRENT_CLIENT_LSD_IN_NETNS"

// Two Clients on one LAN (here: loopback with multicast on) find each other
// by local service discovery alone: no tracker, no AddPeer. Linux's lo has
// no MULTICAST flag by default; the test then re-runs itself in a fresh
// network namespace whose lo has it, leaving the host untouched.
func TestLSDConnectsClients(t *testing.T) {
	lo := loopbackInterface(t)
	if lo.Flags&net.FlagMulticast == 0 {
		if os.Getenv(envLSDInNetns) != "" {
			t.Fatal("lo has no MULTICAST flag inside the test's network namespace")
		}
		runInNetnsWithMulticastLo(t, "^TestLSDConnectsClients$")
		return
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	group := netip.AddrPortFrom(lsd.DefaultGroup4.Addr(), uint16(port))
	info := pexInfo(t, "lsd")
	var ts []*Torrent
	for range 2 {
		c, err := New(Config{ListenAddr: "127.0.0.1:0", DataDir: t.TempDir()})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		require.NoError(t, c.startLSD(lsd.Config{Interface: lo, Group: group}))
		tr, err := c.AddTorrent(info, TorrentOptions{})
		require.NoError(t, err)
		ts = append(ts, tr)
	}
	for _, tr := range ts {
		waitPeers(t, tr, 1)
	}

	// Config.LocalDiscovery runs the Service on the default group: here,
	// with no default route, it fails to start and the Client works on.
	c, err := New(Config{ListenAddr: "127.0.0.1:0", DataDir: t.TempDir(), LocalDiscovery: true})
	require.NoError(t, err)
	require.NotNil(t, c.lsd)
	_, err = c.AddTorrent(info, TorrentOptions{})
	require.NoError(t, err)
	require.NoError(t, c.Close())
}

// loopbackInterface returns the loopback interface.
func loopbackInterface(t *testing.T) *net.Interface {
	t.Helper()
	ifs, err := net.Interfaces()
	require.NoError(t, err)
	for i := range ifs {
		if ifs[i].Flags&net.FlagLoopback != 0 {
			return &ifs[i]
		}
	}
	t.Fatal("no loopback interface")
	return nil
}

// runInNetnsWithMulticastLo re-runs the tests matching run in a new network
// namespace whose lo is up with MULTICAST, or skips when none can be made.
func runInNetnsWithMulticastLo(t *testing.T, run string) {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("lo has no MULTICAST flag and network namespaces need root on Linux")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("lo has no MULTICAST flag and there is no ip command (apt-get install iproute2)")
	}
	ns := fmt.Sprintf("dtclient%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("lo has no MULTICAST flag and no network namespace can be made: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	if out, err := exec.Command("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up", "multicast", "on").CombinedOutput(); err != nil {
		t.Fatalf("set lo up in %s: %v: %s", ns, err, out)
	}
	self, err := os.Executable()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, self, "-test.run", run, "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envLSDInNetns+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in network namespace %s:\n%s", ns, out)
	if err != nil {
		t.Fatalf("the test inside the network namespace failed: %v", err)
	}
}
