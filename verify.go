package debtorrent

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/piecepicker"
)

// maxSuspects bounds the suspects remembered per piece.
const maxSuspects = 64

// suspect is a source that sent blocks of a piece that failed verification:
// the hashes of what it sent are kept (not the data) until the piece
// verifies from another attempt and the two can be compared.
type suspect struct {
	addr   string
	id     peerwire.PeerID
	web    bool
	first  int      // first block it sent in the run
	hashes []uint64 // xxhash of each block of the run
}

type evGoodHashes struct {
	piece    int
	suspects []suspect
	good     []uint64 // xxhash of every block of the verified piece
	err      error
}

func (evGoodHashes) isEvent() {}

// onVerified takes the outcome of FinishPiece.
func (t *Torrent) onVerified(i int, err error) {
	if err == nil {
		t.pieceGood(i)
	} else {
		t.pieceBad(i, err)
	}
	t.dirty = true
}

// pieceGood records a verified piece: cancels, have messages, waiters,
// suspects, completion.
func (t *Torrent) pieceGood(i int) {
	if t.pk.HavePiece(i) {
		return
	}
	for _, pb := range t.pk.PieceVerified(i) {
		q := t.peerOf(pb.Peer)
		if q == nil {
			continue
		}
		for _, r := range blocksOf(pb.Request, t.info.Pieces[i].Length) {
			t.cancelRequest(q, r)
		}
	}
	t.counts.bytesHave += t.info.Pieces[i].Length
	t.broadcastHave(i)
	// Everything kept about the piece in progress is done with.
	a := t.active[i]
	delete(t.active, i)
	if a != nil && a.waiter != nil {
		close(a.waiter.done)
		// The piece was urgent only while waited for: if it is lost
		// later, it is wanted as before.
		t.pk.SetPriority(i, a.waiter.prevPrio)
	}
	if a != nil && len(a.suspects) > 0 {
		t.compareSuspects(i, a.suspects)
	}
	if t.pk.NumHave() == t.info.NumPieces() {
		select {
		case <-t.complete:
		default:
			close(t.complete)
			close(t.completedCh)
			t.log.Info("debtorrent: torrent complete")
		}
	}
}

// pieceLost takes back piece i, which the store no longer holds (evicted
// past its size cap, found bad): it is missing again and fetched again when
// wanted; peers that understand lt_donthave (BEP 54) are told, the others
// get a reject when they ask for it. Complete stays closed.
func (t *Torrent) pieceLost(i int) {
	if !t.pk.PieceLost(i) {
		return
	}
	t.log.Debug("debtorrent: piece no longer stored", "piece", i)
	t.counts.bytesHave -= t.info.Pieces[i].Length
	for p := range t.peers {
		if p.dontHaveID != 0 {
			p.out.push(peerwire.DontHaveMessage(p.dontHaveID, uint32(i)))
		}
	}
	if t.pk.Priority(i) != piecepicker.None {
		t.refillAll()
	}
	t.dirty = true
}

// pieceBad returns a failed piece to the pool and records who sent it. A
// piece sent entirely by one source convicts that source at once; otherwise
// its senders are suspects until the piece verifies.
func (t *Torrent) pieceBad(i int, err error) {
	mismatch := errIsMismatch(err)
	if mismatch {
		t.counts.hashFailures++
		t.log.Info("debtorrent: piece failed verification; fetching it again", "piece", i)
	} else {
		t.log.Error("debtorrent: cannot verify piece; fetching it again", "piece", i, "err", err)
	}
	if t.pk.HavePiece(i) {
		return // stored meanwhile through another torrent: nothing to fetch
	}
	senders := t.pk.PieceFailed(i)
	a := t.activeOf(i)
	hashes := a.recv
	a.recv = nil
	// What arrived of the attempt is gone: the web rule starts over.
	a.web.got, a.web.peerGot = 0, 0
	if a.waiter != nil {
		a.web.urgentSince = time.Now()
	}
	defer t.release(i)
	if !mismatch {
		t.refillAll()
		return
	}
	distinct := map[*piecepicker.Peer]bool{}
	for _, pb := range senders {
		if pb.Peer != t.resumed {
			distinct[pb.Peer] = true
		}
	}
	for _, pb := range senders {
		if pb.Peer == t.resumed {
			continue // kept by the storage from an earlier attempt: nobody to blame
		}
		s := suspect{first: int(pb.Request.Begin / piecepicker.BlockSize)}
		if pb.Peer.IsWeb() {
			s.web = true
		} else if q := t.peerOf(pb.Peer); q != nil {
			s.addr, s.id = q.addr, q.id
		} else {
			continue // gone and unnamed: nothing to ban
		}
		if len(distinct) == 1 {
			t.convict(s, i)
			continue
		}
		n := int((pb.Request.Length + piecepicker.BlockSize - 1) / piecepicker.BlockSize)
		if hashes != nil && s.first+n <= len(hashes) {
			s.hashes = append([]uint64(nil), hashes[s.first:s.first+n]...)
		}
		if len(a.suspects) < maxSuspects && !s.web {
			a.suspects = append(a.suspects, s)
		}
	}
	t.refillAll()
}

// compareSuspects hashes the blocks of verified piece i off the loop, then
// convicts the suspects whose blocks differ.
func (t *Torrent) compareSuspects(i int, sus []suspect) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		good, err := t.blockHashes(i)
		t.send(evGoodHashes{piece: i, suspects: sus, good: good, err: err})
	}()
}

// blockHashes reads verified piece i and returns the xxhash of each block.
func (t *Torrent) blockHashes(i int) ([]uint64, error) {
	rd, err := t.st.OpenPiece(i)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	buf := make([]byte, piecepicker.BlockSize)
	var out []uint64
	for off := int64(0); off < rd.Size(); off += piecepicker.BlockSize {
		n := min(piecepicker.BlockSize, rd.Size()-off)
		if _, err := rd.ReadAt(buf[:n], off); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read piece %d: %w", i, err)
		}
		out = append(out, xxhash.Sum64(buf[:n]))
	}
	return out, nil
}

// onGoodHashes convicts the suspects of a piece whose blocks differ from the
// verified data.
func (t *Torrent) onGoodHashes(ev evGoodHashes) {
	if ev.err != nil {
		t.log.Warn("debtorrent: cannot compare suspects' blocks", "piece", ev.piece, "err", ev.err)
		return
	}
	for _, s := range ev.suspects {
		for k, h := range s.hashes {
			b := s.first + k
			if b < len(ev.good) && ev.good[b] != h {
				t.convict(s, ev.piece)
				break
			}
		}
	}
}

// convict bans the source s that sent bad data for piece: its connections
// close and it may not come back to any torrent of the Client (by IP,
// ip:port or peer ID; see banList) until its ban ends. A web source is told
// which of its mirrors served the bad data.
func (t *Torrent) convict(s suspect, piece int) {
	if s.web {
		if t.web != nil {
			t.web.badHash(piece)
		}
		return
	}
	if !t.c.bans.banned(s.addr, s.id) {
		d := t.c.bans.ban(s.addr, s.id)
		t.log.Warn("debtorrent: banning peer that sent bad data", "peer", s.addr, "piece", piece, "for", d)
		t.counts.banned++
		t.dirty = true
	}
	for p := range t.peers {
		if p.id == s.id || t.c.bans.bannedAddr(p.addr) {
			t.removePeer(p, errors.New("banned: sent bad data"))
		}
	}
}

// blocksOf splits a block-aligned run of a piece of pieceLen bytes into
// block requests.
func blocksOf(r piecepicker.Request, pieceLen int64) []piecepicker.Request {
	var out []piecepicker.Request
	for b := r.Begin; b < r.Begin+r.Length; b += piecepicker.BlockSize {
		out = append(out, piecepicker.Request{Piece: r.Piece, Begin: b, Length: min(piecepicker.BlockSize, pieceLen-b)})
	}
	return out
}
