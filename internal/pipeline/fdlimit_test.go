//go:build linux

package pipeline

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv switches the test binary into the fd-limited server of
// TestFDLimitChild; its value is the MaxConns to use (0: the default).
const childEnv = "PIPELINE_FDLIMIT_CHILD"

// childFDLimit is the open-file limit the child sets, as `ulimit -n 1024`.
const childFDLimit = 1024

// TestFDLimitChild is the server process of TestFDExhaustion, not a test of
// its own: it lowers its open-file limit, serves on a loopback port it
// prints, and stops when its stdin closes.
func TestFDLimitChild(t *testing.T) {
	v, ok := os.LookupEnv(childEnv)
	if !ok {
		t.Skip("helper process of TestFDExhaustion")
	}
	maxConns, err := strconv.Atoi(v)
	require.NoError(t, err)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: childFDLimit, Max: childFDLimit}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &Server{Handler: okHandler(), MaxConns: maxConns}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	fmt.Printf("ADDR %s\n", ln.Addr())
	stdinClosed := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stdinClosed) }()
	select {
	case err := <-done:
		t.Fatalf("Serve returned while connections were open: %v", err)
	case <-stdinClosed:
	}
	s.Close()
	require.ErrorIs(t, <-done, ErrServerClosed)
}

// TestFDExhaustion starts a server process limited to 1024 open files,
// opens 2,000 idle connections to it, and checks that it keeps answering:
// on a connection it accepted, and on a new one once some close. With
// MaxConns left to its default the server stops accepting before running
// out of descriptors; with a huge MaxConns it runs into EMFILE and must
// survive it.
func TestFDExhaustion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process and opens 2,000 connections")
	}
	const conns = 2000
	var rl syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl))
	if rl.Cur < conns+200 {
		want := min(uint64(conns+500), rl.Max)
		rl.Cur = want
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || want < conns+200 {
			t.Skipf("need %d open files in the test process, have %d", conns+200, rl.Cur)
		}
	}
	for _, c := range []struct {
		name     string
		maxConns int
	}{
		{"default MaxConns", 0},
		{"EMFILE", 100000},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFDLimitChild$", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(c.maxConns))
			stdin, err := cmd.StdinPipe()
			require.NoError(t, err)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			cmd.Stderr = os.Stderr
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			lines := bufio.NewScanner(stdout)
			var addr string
			for lines.Scan() {
				if a, ok := strings.CutPrefix(lines.Text(), "ADDR "); ok {
					addr = a
					break
				}
			}
			require.NotEmpty(t, addr, "child printed no address")
			var tail strings.Builder
			go func() {
				for lines.Scan() {
					tail.WriteString(lines.Text() + "\n")
				}
				exited <- cmd.Wait()
			}()

			var open []net.Conn
			defer func() {
				for _, nc := range open {
					nc.Close()
				}
			}()
			for range conns {
				nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
				require.NoError(t, err, "dial after %d connections", len(open))
				open = append(open, nc)
			}
			// The first connection was accepted: it is answered.
			ask := func(nc net.Conn, path string) {
				t.Helper()
				nc.SetDeadline(time.Now().Add(20 * time.Second))
				_, err := io.WriteString(nc, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
				require.NoError(t, err)
				resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
				require.NoError(t, err, "no answer to %s", path)
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 100))
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, path+"\n", string(body))
			}
			ask(open[0], "/held")
			// Closing most connections lets a new one in.
			for _, nc := range open[1:1500] {
				nc.Close()
			}
			open = append(open[:1:1], open[1500:]...)
			fresh, err := net.DialTimeout("tcp", addr, 5*time.Second)
			require.NoError(t, err)
			open = append(open, fresh)
			ask(fresh, "/fresh")
			ask(open[0], "/held-again")

			stdin.Close()
			select {
			case err := <-exited:
				require.NoError(t, err, "child failed:\n%s", tail.String())
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("child did not stop")
			}
		})
	}
}
