package tracker

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// serveEnv, when set in the environment, makes the test binary run our
// tracker instead of the tests (see startOurTrackerProcess).
const serveEnv = "DEBTORRENT_TRACKER_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) != "" {
		if err := serveUntilStdinCloses(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveUntilStdinCloses serves a Server on a loopback port (TCP and UDP),
// prints the address, and stops when stdin reaches its end.
func serveUntilStdinCloses() error {
	// Benchmarks announce from one address on many ports, as opentracker,
	// which has no per-address limit, lets them: lift ours to compare like
	// with like.
	srv := NewServer(ServerConfig{MaxPeersPerAddress: 1000})
	var (
		ln  net.Listener
		pc  net.PacketConn
		err error
	)
	for range 20 {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return err
		}
		if pc, err = net.ListenPacket("udp", ln.Addr().String()); err == nil {
			break
		}
		ln.Close()
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
		ln.Close()
	}()
	go http.Serve(ln, srv)
	fmt.Println(ln.Addr())
	return srv.Serve(ctx, pc)
}

// startOurTrackerProcess runs our tracker in a child process, as
// opentracker runs in its own, so that a benchmark compares like with like.
func startOurTrackerProcess(tb testing.TB) (httpURL, udpURL string) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close() // asks it to stop
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("tracker process did not report its address: %v", err)
	}
	addr := strings.TrimSpace(line)
	return "http://" + addr + "/announce", "udp://" + addr + "/announce"
}
