package debtorrent

import (
	"errors"

	"github.com/debtorrent/debtorrent/peerwire"
)

// maxMetadataServedExtra is how many ut_metadata requests one connection
// may make beyond two per metadata piece; later ones are rejected, so a peer
// asking in a loop cannot make us queue data without end.
const maxMetadataServedExtra = 16

// onMetadata answers a ut_metadata request from p with the piece of our
// info dictionary's raw bytes it names, or a reject (out of range, or p
// asked too often). Data and rejects sent to us are ignored: we have the
// metadata. A malformed message drops the peer; one of an unknown type is
// ignored, as BEP 9 says.
func (t *Torrent) onMetadata(p *peer, payload []byte) {
	m, err := peerwire.ParseMetadataMessage(payload)
	if err != nil {
		if !errors.Is(err, peerwire.ErrMetadataUnknownType) {
			t.removePeer(p, err)
		}
		return
	}
	if m.Type != peerwire.MetadataRequest {
		return
	}
	e := t.ext(p)
	if e.metadataID == 0 {
		return // it never told us where to send answers
	}
	raw := t.info.Bytes()
	n := (len(raw) + peerwire.MetadataPieceSize - 1) / peerwire.MetadataPieceSize
	reply := peerwire.MetadataMessage{Type: peerwire.MetadataReject, Piece: m.Piece}
	if m.Piece < n && e.metaServed < 2*n+maxMetadataServedExtra {
		e.metaServed++
		end := min(len(raw), (m.Piece+1)*peerwire.MetadataPieceSize)
		reply = peerwire.MetadataMessage{Type: peerwire.MetadataData, Piece: m.Piece, TotalSize: len(raw),
			Data: raw[m.Piece*peerwire.MetadataPieceSize : end]}
	}
	out, err := peerwire.MarshalMetadataMessage(reply)
	if err != nil {
		t.log.Debug("debtorrent: cannot encode ut_metadata", "err", err)
		return
	}
	p.out.push(peerwire.Message{ID: peerwire.Extended, ExtendedID: e.metadataID, Payload: out})
}
