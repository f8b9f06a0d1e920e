package debtorrent

import (
	"github.com/debtorrent/debtorrent/piecepicker"
)

// resumeKept takes the blocks of piece i that the storage kept from an
// earlier attempt (a download interrupted, maybe by a restart: see
// PartialOpener.PartialLength) as received, so that neither peers nor the
// web source are asked for them again. The bytes are the storage's, so no
// source is blamed for them: if the piece then fails its hash it is fetched
// again whole. It runs on the loop when a piece is first waited for.
func (t *Torrent) resumeKept(i int) {
	po, ok := t.st.(PartialOpener)
	if !ok || t.pk.HavePiece(i) {
		return
	}
	kept := po.PartialLength(i)
	length := t.info.Pieces[i].Length
	if kept <= 0 {
		return
	}
	if kept < length {
		kept -= kept % piecepicker.BlockSize // whole blocks only
	}
	if t.resumed == nil {
		t.resumed = t.pk.AddWebSource()
	}
	done := false
	for off := int64(0); off < kept; off += piecepicker.BlockSize {
		r := piecepicker.Request{Piece: i, Begin: off, Length: min(piecepicker.BlockSize, length-off)}
		rc := t.pk.BlockReceived(t.resumed, r)
		for _, o := range rc.Cancel {
			if q := t.peerOf(o); q != nil {
				t.cancelRequest(q, r)
			}
		}
		done = done || rc.PieceDone
	}
	if kept > 0 {
		t.log.Debug("debtorrent: resuming a piece kept from an earlier attempt", "piece", i, "bytes", kept)
		t.activeOf(i).web.got += kept
	}
	if done {
		t.startVerify(i)
	}
}
