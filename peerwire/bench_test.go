package peerwire

import (
	"context"
	"net"
	"testing"
)

// BenchmarkPieceThroughput sends 16 KiB piece messages from one Conn to
// another over loopback TCP: Send queues a pooled block, the writer goroutine
// batches it out, ReadMessage reads it into a pooled block, Release recycles
// it. MB/s is payload throughput; allocs/op are per block, both sides.
func BenchmarkPieceThroughput(b *testing.B) {
	sender, receiver := benchConnPair(b)
	pool := sender.Pool()
	b.SetBytes(DefaultMaxBlock)
	b.ReportAllocs()
	b.ResetTimer()
	sendErr := make(chan error, 1)
	go func() {
		ctx := context.Background()
		for i := range b.N {
			blk := pool.Get(DefaultMaxBlock)
			m := Message{ID: Piece, Index: uint32(i % testPieces), Begin: 0, Block: blk.Bytes(), Buffer: blk}
			if err := sender.Send(ctx, m); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()
	for range b.N {
		m, err := receiver.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Block) != DefaultMaxBlock {
			b.Fatalf("got %s", m.String())
		}
		m.Release()
	}
	if err := <-sendErr; err != nil {
		b.Fatal(err)
	}
}

func benchConnPair(b *testing.B) (*Conn, *Conn) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan error, 1)
	var server *Conn
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			server = NewConn(context.Background(), nc, Config{Limits: testLimits})
		}
		accepted <- err
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	client := NewConn(context.Background(), nc, Config{Limits: testLimits})
	if err := <-accepted; err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// BenchmarkReadPiece measures the reader alone, from memory: the cost of
// framing, limits and pooling per 16 KiB block.
func BenchmarkReadPiece(b *testing.B) {
	wire, _ := (&Message{ID: Piece, Index: 1, Block: make([]byte, DefaultMaxBlock)}).AppendTo(nil)
	src := &repeatReader{data: wire}
	r := NewReader(src, "bench", testLimits, nil)
	b.SetBytes(DefaultMaxBlock)
	b.ReportAllocs()
	for b.Loop() {
		m, err := r.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		m.Release()
	}
}

// repeatReader yields data over and over.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// BenchmarkHaveMessages shows what batching buys for small messages: have
// messages sent through a Conn (queued, written by one goroutine, flushed
// when the queue drains) against one write system call per message.
func BenchmarkHaveMessages(b *testing.B) {
	b.Run("batched", func(b *testing.B) {
		sender, receiver := benchConnPair(b)
		b.ReportAllocs()
		done := make(chan error, 1)
		go func() {
			ctx := context.Background()
			for i := range b.N {
				if err := sender.Send(ctx, Message{ID: Have, Index: uint32(i % testPieces)}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		readN(b, receiver, b.N)
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	})
	b.Run("write-per-message", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			nc, _ := ln.Accept()
			accepted <- nc
		}()
		raw, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer raw.Close()
		nc := <-accepted
		receiver := NewConn(context.Background(), nc, Config{Limits: testLimits})
		defer receiver.Close()
		b.ReportAllocs()
		done := make(chan error, 1)
		go func() {
			for i := range b.N {
				m := Message{ID: Have, Index: uint32(i % testPieces)}
				if _, err := m.WriteTo(raw); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		readN(b, receiver, b.N)
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	})
}

func readN(b *testing.B, c *Conn, n int) {
	for range n {
		m, err := c.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		if m.ID != Have {
			b.Fatalf("got %s", m.String())
		}
	}
}
