package piecepicker

import "fmt"

// BlockSize is the size of a block on the wire (BEP 3's customary request
// size). Every block of a piece is this long except the piece's last block,
// which may be shorter.
const BlockSize = 16 * 1024

// Priority says how badly this machine wants a piece.
type Priority uint8

const (
	// None means the piece is not wanted: it is never picked. It is every
	// piece's priority until told otherwise.
	None Priority = iota
	// Normal is the priority of a piece wanted in the background.
	Normal
	// High is picked before Normal.
	High
	// Urgent is picked before everything else: someone (APT) is waiting for
	// the piece. Urgent pieces are picked in deadline order, then in the
	// order they were made urgent. Set it with SetUrgent.
	Urgent
)

// String returns the priority's name.
func (p Priority) String() string {
	switch p {
	case None:
		return "none"
	case Normal:
		return "normal"
	case High:
		return "high"
	case Urgent:
		return "urgent"
	}
	return fmt.Sprintf("Priority(%d)", uint8(p))
}

// Request names a run of bytes of one piece. For a peer it is one block
// (Begin a multiple of BlockSize, Length BlockSize or the shorter tail of the
// piece); for a web source it may be a whole piece or a run of blocks.
type Request struct {
	// Piece is the piece's index.
	Piece int
	// Begin is the offset of the first byte within the piece.
	Begin int64
	// Length is the number of bytes.
	Length int64
}

// String formats the request as piece:begin+length.
func (r Request) String() string {
	return fmt.Sprintf("%d:%d+%d", r.Piece, r.Begin, r.Length)
}

// PeerBlocks ties a run of blocks of one piece to one peer: the peer that
// sent them (PieceFailed) or the peer whose request for them should be
// cancelled (PieceVerified).
type PeerBlocks struct {
	// Peer is the peer (or web source).
	Peer *Peer
	// Request is the run of blocks, block-aligned.
	Request Request
}

// Receipt is what BlockReceived reports about a block that arrived.
type Receipt struct {
	// Wanted is true when the block was needed and is now recorded as
	// received: the engine should store it. False for a duplicate, a block of
	// a piece already verified or not wanted, or a malformed request.
	Wanted bool
	// Cancel lists the other peers that had this block requested (endgame,
	// or a late answer to a request that was given to another peer): send
	// them a cancel. A web source may be listed too (a peer answered first):
	// there is nothing to send it; its own copy will come back as not
	// Wanted. The slice is owned by the Picker and valid only until the next
	// call on it.
	Cancel []*Peer
	// PieceDone is true when this block was the piece's last missing one:
	// the piece is ready to be verified (then call PieceVerified or
	// PieceFailed).
	PieceDone bool
}
