package tracker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
)

// opentracker is a running Debian opentracker, on loopback.
type opentracker struct {
	httpURL, udpURL string
}

// startOpentracker runs opentracker on a loopback port (TCP and UDP) with
// an allow-list of hashes (Debian builds it whitelist-only), waits until
// it accepts announces for every one of them, and kills it when the test
// ends. It skips the test if opentracker is not installed.
//
// Nothing here depends on timing: the port is picked below the kernel's
// ephemeral range, so that no socket another test opens on port 0 takes
// it; if something still took it (opentracker exits when it cannot bind)
// or anything else goes wrong before opentracker is ready, it starts again
// on another port; readiness is polled, with deadlines.
func startOpentracker(tb testing.TB, hashes ...metainfo.InfoHash) *opentracker {
	tb.Helper()
	bin, err := exec.LookPath("opentracker")
	if err != nil {
		tb.Skip("opentracker not installed: apt-get install opentracker")
	}
	dir := tb.TempDir()
	// opentracker drops to user nobody after chrooting into dir: it must be
	// able to read the allow-list there.
	require.NoError(tb, os.Chmod(dir, 0o755))
	var list strings.Builder
	for _, h := range hashes {
		list.WriteString(h.String() + "\n")
	}
	require.NoError(tb, os.WriteFile(filepath.Join(dir, "whitelist.txt"), []byte(list.String()), 0o644))
	conf := filepath.Join(dir, "ot.conf")
	require.NoError(tb, os.WriteFile(conf, []byte("access.whitelist /whitelist.txt\n"), 0o644))
	for try := range 5 {
		port := freeDualPort(tb)
		ot, stop, err := runOpentracker(bin, conf, dir, port, hashes)
		if err == nil {
			tb.Cleanup(stop)
			return ot
		}
		stop()
		tb.Logf("opentracker, try %d on port %d: %v", try+1, port, err)
	}
	tb.Fatal("opentracker did not become ready in 5 tries")
	return nil
}

// runOpentracker starts opentracker on port and waits until it accepts
// announces for every hash. stop kills it and waits for it to exit; the
// caller must call it in every case.
func runOpentracker(bin, conf, dir string, port int, hashes []metainfo.InfoHash) (_ *opentracker, stop func(), _ error) {
	p := strconv.Itoa(port)
	cmd := exec.Command(bin, "-f", conf, "-d", dir, "-i", "127.0.0.1", "-p", p, "-P", p, "-A", "127.0.0.1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, func() {}, fmt.Errorf("starting opentracker: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop = func() {
		cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", p)
	if err := waitForTCP(addr, exited); err != nil {
		return nil, stop, fmt.Errorf("%w: %s", err, out)
	}
	ot := &opentracker{httpURL: "http://" + addr + "/announce", udpURL: "udp://" + addr + "/announce"}
	for _, h := range hashes {
		if err := waitForWhitelist(ot.httpURL, h); err != nil {
			return nil, stop, fmt.Errorf("%w: %s", err, out)
		}
	}
	return ot, stop, nil
}

// syncBuffer is a strings.Builder safe to write from a process's output
// copier while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// whitelistProbePort is the port of the peer waitForWhitelist announces as;
// no test uses it.
const whitelistProbePort = 1

// waitForWhitelist polls until opentracker accepts announces for h.
// opentracker listens before its background thread has read the whitelist,
// so the first announces after start may be refused. The probe must be an
// announce that opentracker checks against its whitelist: it answers a
// "stopped" event without looking (so a stopped probe passed before the
// list was read, and the test's own announces were then refused, about one
// run in a hundred under load). So the probe joins the swarm, asking for no
// peers, and once accepted leaves it with a "stopped" event, which
// opentracker handles before it answers, leaving no trace for the test.
func waitForWhitelist(url string, h metainfo.InfoHash) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := NewClient(ClientConfig{})
	probe := AnnounceRequest{InfoHash: h, PeerID: testPeerID(0xfe), Port: whitelistProbePort, Left: 1, NumWant: NoPeersWanted}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := c.Announce(ctx, url, probe)
		if err == nil {
			break
		}
		var refused *FailureError
		if !errors.As(err, &refused) {
			return fmt.Errorf("whitelist probe for %s: %w", h, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still refusing %s after 30s: %w", h, err)
		case <-tick.C:
		}
	}
	probe.Event = EventStopped
	if _, err := c.Announce(ctx, url, probe); err != nil {
		return fmt.Errorf("removing the whitelist probe for %s: %w", h, err)
	}
	return nil
}

// freeDualPort finds a loopback port below the ephemeral range (so that no
// socket bound to port 0 elsewhere takes it) free for both TCP and UDP.
func freeDualPort(tb testing.TB) int {
	tb.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000) // Linux's ephemeral range starts at 32768
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	tb.Fatal("no port free for both TCP and UDP")
	return 0
}

// waitForTCP polls addr until it accepts, and reports an error if the
// process exits first (exited is closed) or 30 s pass.
func waitForTCP(addr string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited before listening")
		case <-ctx.Done():
			return fmt.Errorf("not listening on %s after 30s", addr)
		case <-tick.C:
		}
	}
}
