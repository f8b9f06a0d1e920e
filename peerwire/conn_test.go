package peerwire

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// readOrFail reads one message, failing the test after 5 s.
func readOrFail(t *testing.T, c *Conn) Message {
	t.Helper()
	type result struct {
		m   Message
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := c.ReadMessage()
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5 s")
		return Message{}
	}
}

func newConnPair(t *testing.T, transport string, cfg Config) (*Conn, *Conn) {
	t.Helper()
	a, b := pipe(t, transport)
	ca, cb := NewConn(context.Background(), a, cfg), NewConn(context.Background(), b, cfg)
	t.Cleanup(func() { ca.Close(); cb.Close() })
	return ca, cb
}

func TestConnExchangesEveryMessage(t *testing.T) {
	for _, transport := range []string{"pipe", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			a, b := newConnPair(t, transport, Config{Limits: testLimits})
			msgs := everyMessage()
			for _, m := range msgs {
				if err := a.Send(context.Background(), m); err != nil {
					t.Fatal(err)
				}
			}
			for _, want := range msgs {
				got := readOrFail(t, b)
				sameMessage(t, want, got)
				got.Release()
			}
			// And back the other way.
			if err := b.Send(context.Background(), Message{ID: Have, Index: 42}); err != nil {
				t.Fatal(err)
			}
			if got := readOrFail(t, a); got.ID != Have || got.Index != 42 {
				t.Fatalf("got %s", got.String())
			}
		})
	}
}

// gatedConn counts Write calls and holds the first one until gate closes.
type gatedConn struct {
	net.Conn
	writes  atomic.Int32
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedConn) Write(p []byte) (int, error) {
	if g.writes.Add(1) == 1 {
		close(g.entered)
		<-g.gate
	}
	return g.Conn.Write(p)
}

func TestConnBatchesWrites(t *testing.T) {
	a, b := pipe(t, "tcp")
	g := &gatedConn{Conn: a, entered: make(chan struct{}), gate: make(chan struct{})}
	ca := NewConn(context.Background(), g, Config{Limits: testLimits})
	cb := NewConn(context.Background(), b, Config{Limits: testLimits})
	defer ca.Close()
	defer cb.Close()

	ctx := context.Background()
	if err := ca.Send(ctx, Message{ID: Have, Index: 0}); err != nil {
		t.Fatal(err)
	}
	<-g.entered // the writer is flushing the first message, and stuck
	const burst = 100
	for i := 1; i <= burst; i++ {
		if err := ca.Send(ctx, Message{ID: Have, Index: uint32(i % testPieces)}); err != nil {
			t.Fatal(err)
		}
	}
	close(g.gate)
	for i := 0; i <= burst; i++ {
		if m := readOrFail(t, cb); m.ID != Have || m.Index != uint32(i%testPieces) {
			t.Fatalf("message %d: %s", i, m.String())
		}
	}
	if n := g.writes.Load(); n != 2 {
		t.Fatalf("%d messages took %d writes, want 2 (one for the first, one for the burst)", burst+1, n)
	}
}

func TestConnSendsKeepAlives(t *testing.T) {
	a, b := pipe(t, "pipe")
	ca := NewConn(context.Background(), a, Config{KeepAliveInterval: 20 * time.Millisecond})
	cb := NewConn(context.Background(), b, Config{})
	defer ca.Close()
	defer cb.Close()
	for range 2 {
		if m := readOrFail(t, cb); !m.KeepAlive {
			t.Fatalf("got %s, want a keep-alive", m.String())
		}
	}
}

func TestConnIdleTimeout(t *testing.T) {
	a, b := newConnPair(t, "tcp", Config{IdleTimeout: 50 * time.Millisecond})
	_ = b // silent
	_, err := a.ReadMessage()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
	if !strings.HasPrefix(err.Error(), "peerwire: "+a.Peer()+": read message") {
		t.Fatalf("err = %q, want it to name the peer", err)
	}
}

func TestConnErrorNamesPeerAndMessage(t *testing.T) {
	a, b := pipe(t, "tcp")
	ca := NewConn(context.Background(), a, Config{Limits: testLimits})
	defer ca.Close()
	go b.Write(frame(9+DefaultMaxBlock+1, byte(Piece)))
	_, err := ca.ReadMessage()
	want := "peerwire: " + b.LocalAddr().String() + ": read piece: message too large"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want %q...", err, want)
	}
}

func TestConnCloseStopsEverything(t *testing.T) {
	a, _ := newConnPair(t, "tcp", Config{})
	readErr := make(chan error, 1)
	go func() {
		_, err := a.ReadMessage()
		readErr <- err
	}()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.writerDone:
	default:
		t.Fatal("Close returned before the writer goroutine stopped")
	}
	if err := <-readErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked read: %v, want ErrClosed", err)
	}
	if err := a.Send(context.Background(), Message{ID: Choke}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v, want ErrClosed", err)
	}
	a.Close() // idempotent
}

func TestConnClosesWithContext(t *testing.T) {
	x, _ := pipe(t, "pipe")
	ctx, cancel := context.WithCancelCause(context.Background())
	c := NewConn(ctx, x, Config{})
	defer c.Close()
	reason := errors.New("torrent removed")
	cancel(reason)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Conn still open 5 s after its context ended")
	}
	<-c.writerDone
	if err := c.Err(); !errors.Is(err, ErrClosed) || !errors.Is(err, reason) {
		t.Fatalf("Err() = %v, want ErrClosed and the cause", err)
	}
}

func TestConnWriteFailureCloses(t *testing.T) {
	a, b := pipe(t, "pipe")
	c := NewConn(context.Background(), a, Config{})
	defer c.Close()
	b.Close()
	_ = c.Send(context.Background(), Message{ID: Interested})
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Conn still open 5 s after a failed write")
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "write interested") {
		t.Fatalf("Err() = %v, want the failed write named", err)
	}
}

func TestConnSendReleasesPooledBlocks(t *testing.T) {
	a, b := newConnPair(t, "tcp", Config{Limits: testLimits})
	blk := a.Pool().Get(5)
	copy(blk.Bytes(), "hello")
	if err := a.Send(context.Background(), Message{ID: Piece, Index: 1, Block: blk.Bytes(), Buffer: blk}); err != nil {
		t.Fatal(err)
	}
	got := readOrFail(t, b)
	if !bytes.Equal(got.Block, []byte("hello")) {
		t.Fatalf("block %q", got.Block)
	}
	// The block was released by the writer after writing; once the reader
	// has the data, the write is done.
	b.Send(context.Background(), Message{ID: Choke})
	readOrFail(t, a)
	if !blk.released {
		t.Fatal("the sent block was not released")
	}
}

func TestConnSendBlocksWhenQueueFull(t *testing.T) {
	a, _ := pipe(t, "pipe")
	g := &gatedConn{Conn: a, entered: make(chan struct{}), gate: make(chan struct{})}
	c := NewConn(context.Background(), g, Config{QueueLength: 1})
	defer func() { close(g.gate); c.Close() }()
	ctx := context.Background()
	_ = c.Send(ctx, Message{ID: Choke})
	<-g.entered
	_ = c.Send(ctx, Message{ID: Choke}) // fills the queue
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := c.Send(short, Message{ID: Choke}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send to a full queue: %v, want the context's error", err)
	}
}

func TestConnRefusesUnsendable(t *testing.T) {
	a, _ := newConnPair(t, "pipe", Config{})
	if err := a.Send(context.Background(), Message{ID: 99, Unknown: true}); err == nil {
		t.Fatal("an unknown message was queued")
	}
}
