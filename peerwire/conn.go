package peerwire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Defaults of Config.
const (
	// DefaultIdleTimeout fails a read when the peer has sent nothing, not even
	// a keep-alive (due every 2 minutes), for this long.
	DefaultIdleTimeout = 3 * time.Minute
	// DefaultKeepAliveInterval is how long the Conn stays silent before it
	// sends a keep-alive.
	DefaultKeepAliveInterval = 2 * time.Minute
	// DefaultWriteTimeout bounds one flush of queued messages to the peer.
	DefaultWriteTimeout = time.Minute
	// DefaultQueueLength is how many messages Send queues before it blocks.
	DefaultQueueLength = 256
	// DefaultBufferSize is the size of the read and write buffers.
	DefaultBufferSize = 64 << 10
)

// ErrClosed is wrapped by errors of a Conn that was closed (by Close, by the
// end of its context, or after a write failed).
var ErrClosed = errors.New("peerwire: connection closed")

// Config tunes a Conn. The zero value is usable: zero fields take defaults.
type Config struct {
	// Limits says what the peer may send.
	Limits Limits
	// Pool supplies piece buffers; share one among Conns (nil: one per Conn).
	Pool *BlockPool
	// IdleTimeout: see DefaultIdleTimeout. The read deadline is refreshed
	// before every message.
	IdleTimeout time.Duration
	// KeepAliveInterval: see DefaultKeepAliveInterval.
	KeepAliveInterval time.Duration
	// WriteTimeout: see DefaultWriteTimeout.
	WriteTimeout time.Duration
	// QueueLength: see DefaultQueueLength.
	QueueLength int
	// BufferSize: see DefaultBufferSize.
	BufferSize int
}

func (c Config) withDefaults() Config {
	c.Limits = c.Limits.normalized()
	if c.Pool == nil {
		c.Pool = NewBlockPool(c.Limits.MaxBlock)
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.KeepAliveInterval <= 0 {
		c.KeepAliveInterval = DefaultKeepAliveInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.QueueLength <= 0 {
		c.QueueLength = DefaultQueueLength
	}
	if c.BufferSize <= 0 {
		c.BufferSize = DefaultBufferSize
	}
	return c
}

// Conn reads and writes framed messages on a connection whose handshake is
// done.
//
// Reading: one goroutine calls ReadMessage in a loop. Writing: any goroutine
// calls Send, which queues the message; the Conn's own writer goroutine writes
// queued messages into a buffer and flushes it when the queue is empty, so a
// burst of messages costs one system call, and sends a keep-alive after
// KeepAliveInterval of silence.
//
// Close, or the end of the context given to NewConn, closes the connection
// and stops the writer; messages still queued are dropped.
type Conn struct {
	nc   net.Conn
	peer string
	cfg  Config
	r    *Reader

	queue      chan Message
	done       chan struct{} // closed once the Conn is closed
	writerDone chan struct{} // closed when the writer goroutine returns
	stopCtx    func() bool

	closeOnce sync.Once
	mu        sync.Mutex
	err       error // why the Conn closed
}

// NewConn wraps nc, whose handshake is complete, and starts its writer
// goroutine. The Conn closes when ctx ends.
func NewConn(ctx context.Context, nc net.Conn, cfg Config) *Conn {
	cfg = cfg.withDefaults()
	peer := nc.RemoteAddr().String()
	c := &Conn{
		nc:         nc,
		peer:       peer,
		cfg:        cfg,
		r:          NewReader(bufio.NewReaderSize(nc, cfg.BufferSize), peer, cfg.Limits, cfg.Pool),
		queue:      make(chan Message, cfg.QueueLength),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	c.stopCtx = context.AfterFunc(ctx, func() { c.closeWith(context.Cause(ctx)) })
	go c.writeLoop()
	return c
}

// Peer returns the other side's address, as errors name it.
func (c *Conn) Peer() string { return c.peer }

// Pool returns the pool that holds received blocks; senders may take blocks
// for piece messages from it too.
func (c *Conn) Pool() *BlockPool { return c.cfg.Pool }

// SetLimits changes what the peer may send, e.g. once the piece count of a
// magnet link is known. Call it only from the goroutine that calls
// ReadMessage.
func (c *Conn) SetLimits(lim Limits) { c.r.SetLimits(lim) }

// ReadMessage reads the next message, waiting at most IdleTimeout for it. A
// piece message's Block is the caller's until Message.Release (see the
// package documentation). Errors name the peer and the message and are
// *MessageError; after Close they wrap ErrClosed.
func (c *Conn) ReadMessage() (Message, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(c.cfg.IdleTimeout)); err != nil {
		return Message{}, c.closedOr(&MessageError{Peer: c.peer, Op: "read", Err: err})
	}
	m, err := c.r.ReadMessage()
	if err != nil {
		return m, c.closedOr(err)
	}
	return m, nil
}

// Send queues m for the writer goroutine. It blocks while the queue is full,
// until ctx ends or the Conn closes. Send takes ownership of everything m
// points to (Block, Bitfield, Payload): do not modify them afterwards. When
// m.Buffer is set it is released once written (or dropped). Send is safe for
// concurrent use; messages go out in the order Send accepted them.
func (c *Conn) Send(ctx context.Context, m Message) error {
	if _, err := m.bodyLen(); err != nil {
		m.Release()
		return &MessageError{Peer: c.peer, Op: "write", Message: m.ID, Known: true, Err: err}
	}
	select {
	case <-c.done:
		m.Release()
		return c.Err()
	default:
	}
	select {
	case c.queue <- m:
		return nil
	case <-c.done:
		m.Release()
		return c.Err()
	case <-ctx.Done():
		m.Release()
		return fmt.Errorf("peerwire: %s: send %s: %w", c.peer, m.ID, context.Cause(ctx))
	}
}

// Close closes the connection and waits for the writer goroutine to stop.
// Messages still queued are dropped. Close is idempotent and returns nil.
// Always call it (or end the context) when done with a Conn.
func (c *Conn) Close() error {
	c.stopCtx()
	c.closeWith(nil)
	return nil
}

// Done is closed when the Conn has closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the Conn closed (wrapping ErrClosed), or nil while open.
func (c *Conn) Err() error {
	select {
	case <-c.done:
	default:
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var me *MessageError
	switch {
	case errors.As(c.err, &me):
		return fmt.Errorf("%w (%w)", c.err, ErrClosed) // already names the peer
	case c.err != nil:
		return fmt.Errorf("%w: %s: %w", ErrClosed, c.peer, c.err)
	}
	return fmt.Errorf("%w: %s", ErrClosed, c.peer)
}

// closeWith closes the Conn once, recording cause (nil for Close).
func (c *Conn) closeWith(cause error) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.err = cause
		c.mu.Unlock()
		close(c.done)
		_ = c.nc.Close()
	})
	<-c.writerDone
}

// closedOr wraps err with ErrClosed when the Conn was closed, since a read
// interrupted by Close fails with a confusing "use of closed connection".
func (c *Conn) closedOr(err error) error {
	if cerr := c.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", cerr, err)
	}
	return err
}

// writeLoop is the writer goroutine: it owns the buffered writer.
func (c *Conn) writeLoop() {
	defer close(c.writerDone)
	bw := bufio.NewWriterSize(c.nc, c.cfg.BufferSize)
	idle := time.NewTimer(c.cfg.KeepAliveInterval)
	defer idle.Stop()
	for {
		var first Message
		select {
		case <-c.done:
			c.drop()
			return
		case <-idle.C:
			first = Message{KeepAlive: true}
		case first = <-c.queue:
		}
		kind := Message{ID: first.ID, KeepAlive: first.KeepAlive}
		if err := c.write(bw, first); err != nil {
			c.failWrite(err)
			return
		}
		// Write whatever else is queued, then flush once the queue is empty.
		if err := c.drainAndFlush(bw, kind); err != nil {
			c.failWrite(err)
			return
		}
		idle.Reset(c.cfg.KeepAliveInterval)
	}
}

// drainAndFlush writes whatever else is queued after last, then flushes.
// A failed flush is reported as a failure to write the batch's last message.
func (c *Conn) drainAndFlush(bw *bufio.Writer, last Message) error {
	for {
		select {
		case m := <-c.queue:
			last.ID, last.KeepAlive = m.ID, m.KeepAlive
			if err := c.write(bw, m); err != nil {
				return err
			}
			continue
		default:
		}
		break
	}
	fail := func(err error) error {
		return &MessageError{Peer: c.peer, Op: "write", Message: last.ID, Known: !last.KeepAlive, Err: err}
	}
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	return nil
}

// write buffers one message and releases its block.
func (c *Conn) write(bw *bufio.Writer, m Message) error {
	if n, _ := m.bodyLen(); bw.Available() < 4+n {
		// The buffer may be flushed inside WriteTo: give it a deadline.
		if err := c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
			m.Release()
			return &MessageError{Peer: c.peer, Op: "write", Message: m.ID, Known: !m.KeepAlive, Err: err}
		}
	}
	_, err := m.WriteTo(bw)
	m.Release()
	if err != nil {
		return &MessageError{Peer: c.peer, Op: "write", Message: m.ID, Known: !m.KeepAlive, Err: err}
	}
	return nil
}

// failWrite closes the Conn after a write error, from the writer goroutine
// (which must not wait for itself).
func (c *Conn) failWrite(err error) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
		_ = c.nc.Close()
	})
	c.drop()
}

// drop releases the buffers of messages still queued.
func (c *Conn) drop() {
	for {
		select {
		case m := <-c.queue:
			m.Release()
		default:
			return
		}
	}
}
