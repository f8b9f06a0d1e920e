package peerwire

import (
	"encoding/binary"
	"fmt"
)

// ExtensionDontHave is BEP 54's lt_donthave: a peer that no longer has a
// piece it announced says so.
const ExtensionDontHave = "lt_donthave"

// dontHaveLen is the payload's exact length: a 4-byte piece index.
const dontHaveLen = 4

// DontHaveMessage returns the lt_donthave message for piece, to send under
// extID, the ID the peer's extension handshake gave lt_donthave.
func DontHaveMessage(extID uint8, piece uint32) Message {
	p := make([]byte, dontHaveLen)
	binary.BigEndian.PutUint32(p, piece)
	return Message{ID: Extended, ExtendedID: extID, Payload: p}
}

// ParseDontHave decodes an lt_donthave payload: exactly a 4-byte big-endian
// piece index below numPieces.
func ParseDontHave(payload []byte, numPieces int) (int, error) {
	if len(payload) != dontHaveLen {
		return 0, fmt.Errorf("peerwire: lt_donthave of %d bytes, want %d", len(payload), dontHaveLen)
	}
	i := binary.BigEndian.Uint32(payload)
	if uint64(i) >= uint64(max(numPieces, 0)) {
		return 0, fmt.Errorf("peerwire: lt_donthave for piece %d of a torrent of %d", i, numPieces)
	}
	return int(i), nil
}
