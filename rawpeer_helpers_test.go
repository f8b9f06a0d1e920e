package debtorrent_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/debtorrent/debtorrent/metainfo"
	"github.com/debtorrent/debtorrent/peerwire"
)

// rawPeer is a hand-driven peer on loopback: the test sends what it wants
// and reads, in order, every message the Client sends it.
type rawPeer struct {
	t    testing.TB
	conn *peerwire.Conn
	msgs chan peerwire.Message
}

// dialRaw connects a raw peer (fast and extension protocols on) to the
// Client at addr for the torrent of info. If dontHaveID is not 0, its
// extension handshake says it speaks lt_donthave under that ID.
func dialRaw(t testing.TB, addr string, info *metainfo.Info, dontHaveID int) *rawPeer {
	return dialRawHave(t, addr, info, dontHaveID, peerwire.HaveNone)
}

// dialRawHave is dialRaw with the raw peer's first message: have-none or
// have-all.
func dialRawHave(t testing.TB, addr string, info *metainfo.Info, dontHaveID int, have peerwire.ID) *rawPeer {
	t.Helper()
	return dialRawAs(t, addr, info, dontHaveID, have, "raw test peer")
}

// dialRawAs is dialRawHave with the client name ("v") its extension
// handshake gives.
func dialRawAs(t testing.TB, addr string, info *metainfo.Info, dontHaveID int, have peerwire.ID, client string) *rawPeer {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	id, err := peerwire.NewPeerID(nil)
	if err != nil {
		id = peerwire.PeerID{'r', 'a', 'w'}
	}
	_, err = peerwire.Initiate(ctx, nc, peerwire.Handshake{Reserved: peerwire.DefaultReserved(), InfoHash: info.InfoHash(), PeerID: id})
	require.NoError(t, err)
	conn := peerwire.NewConn(context.Background(), nc, peerwire.Config{
		Limits: peerwire.Limits{NumPieces: info.NumPieces(), Fast: true, Extensions: true},
	})
	p := &rawPeer{t: t, conn: conn, msgs: make(chan peerwire.Message, 256)}
	t.Cleanup(func() { conn.Close() })
	go func() {
		defer close(p.msgs)
		for {
			m, err := conn.ReadMessage()
			if err != nil {
				return
			}
			p.msgs <- m
		}
	}()
	h := peerwire.ExtendedHandshake{M: map[string]int{}, V: client}
	if dontHaveID != 0 {
		h.M[peerwire.ExtensionDontHave] = dontHaveID
	}
	m, err := h.Message()
	require.NoError(t, err)
	p.send(peerwire.Message{ID: have})
	p.send(m)
	return p
}

func (p *rawPeer) send(m peerwire.Message) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), swarmTimeout)
	defer cancel()
	require.NoError(p.t, p.conn.Send(ctx, m))
}

// await reads messages until one satisfies match, failing the test after
// swarmTimeout (or the given timeout, if shorter) or when the connection
// closes.
func (p *rawPeer) await(what string, timeout time.Duration, match func(peerwire.Message) bool) peerwire.Message {
	p.t.Helper()
	deadline := time.NewTimer(min(timeout, swarmTimeout))
	defer deadline.Stop()
	for {
		select {
		case m, ok := <-p.msgs:
			if !ok {
				p.t.Fatalf("connection closed while waiting for %s", what)
			}
			if match(m) {
				return m
			}
			m.Release()
		case <-deadline.C:
			p.t.Fatalf("no %s within %v", what, timeout)
		}
	}
}

// serveSeed makes the raw peer a seed of pieces (dialled with have-all)
// uploading at rate bytes per second, one block per tick: it unchokes the
// Client when interested and serves its requests in order, dropping
// cancelled ones. It runs until the connection closes.
func (p *rawPeer) serveSeed(pieces [][]byte, rate float64) {
	var mu sync.Mutex
	var queue []peerwire.Message
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range p.msgs {
			switch m.ID {
			case peerwire.Interested:
				_ = p.conn.Send(context.Background(), peerwire.Message{ID: peerwire.Unchoke})
			case peerwire.Request:
				mu.Lock()
				queue = append(queue, m)
				mu.Unlock()
			case peerwire.Cancel:
				mu.Lock()
				queue = slices.DeleteFunc(queue, func(q peerwire.Message) bool {
					return q.Index == m.Index && q.Begin == m.Begin && q.Length == m.Length
				})
				mu.Unlock()
			}
			m.Release()
		}
	}()
	go func() {
		tick := time.NewTicker(time.Duration(float64(16<<10) / rate * float64(time.Second)))
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			mu.Lock()
			if len(queue) == 0 {
				mu.Unlock()
				continue
			}
			r := queue[0]
			queue = queue[1:]
			mu.Unlock()
			data := pieces[r.Index][r.Begin : r.Begin+r.Length]
			if err := p.conn.Send(context.Background(), peerwire.Message{ID: peerwire.Piece, Index: r.Index, Begin: r.Begin, Block: data}); err != nil {
				return
			}
		}
	}()
}
