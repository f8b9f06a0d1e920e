package piecepicker

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/debtorrent/debtorrent/internal/bitfield"
	"github.com/debtorrent/debtorrent/metainfo"
)

// Options tunes a Picker. The zero value is usable.
type Options struct {
	// Rand breaks ties between equally rare pieces. Inject a seeded source
	// for reproducible picks; nil draws a randomly seeded one.
	Rand *rand.Rand
	// EndgameRequesters is the most peers one block may be requested from at
	// once during the endgame (the first request included). Zero means 2.
	EndgameRequesters int
}

// Picker is the request bookkeeping of one torrent. Build it with New or
// FromInfo. It is not safe for concurrent use.
type Picker struct {
	lengths []int64
	rng     *rand.Rand
	maxReq  int

	have      *bitfield.Bitfield // verified pieces
	prio      []Priority
	avail     []uint32 // non-seed peers that have each piece
	seeds     int      // peers that have every piece
	numWanted int      // pieces with priority above None, not verified

	// Where each piece with free blocks is filed (see filing.go).
	loc       []location
	slot      []int32 // position in its bucket or partial list
	buckets   [2]bucketSet
	partial   [2][]int32
	urgent    []urgentEntry
	urgentKey map[int32]urgentEntry
	urgentSeq uint64
	// unavailFiled counts filed pieces no non-seed peer has.
	unavailFiled int

	// Pieces in progress (see blocks.go).
	states    []*pieceState
	active    []int32
	pool      []*pieceState // block state for reuse: small pieces
	bigPool   []*pieceState // and big ones,
	bigPooled int           // holding this many blocks in all

	peers     []*Peer
	nextID    uint64
	cancelBuf []*Peer
}

// New returns a Picker for len(lengths) pieces, piece i being lengths[i] bytes
// long. Every piece is unwanted (None) and missing until told otherwise.
func New(lengths []int64, opts Options) (*Picker, error) {
	if len(lengths) > metainfo.MaxPieces {
		return nil, fmt.Errorf("piecepicker: %d pieces, more than %d", len(lengths), metainfo.MaxPieces)
	}
	for i, l := range lengths {
		if l <= 0 || l > maxPieceLength {
			return nil, fmt.Errorf("piecepicker: piece %d has length %d, want 1..%d", i, l, int64(maxPieceLength))
		}
	}
	rng := opts.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	maxReq := opts.EndgameRequesters
	if maxReq <= 0 {
		maxReq = 2
	}
	n := len(lengths)
	return &Picker{
		lengths:   append([]int64(nil), lengths...),
		rng:       rng,
		maxReq:    maxReq,
		have:      bitfield.New(n),
		prio:      make([]Priority, n),
		avail:     make([]uint32, n),
		loc:       make([]location, n),
		slot:      make([]int32, n),
		states:    make([]*pieceState, n),
		urgentKey: make(map[int32]urgentEntry),
	}, nil
}

// maxPieceLength keeps a piece's block count well inside int32 and its
// offsets inside the wire's uint32 for peers.
const maxPieceLength = 1 << 32

// FromInfo returns a Picker for the pieces of info.
func FromInfo(info *metainfo.Info, opts Options) (*Picker, error) {
	lengths := make([]int64, len(info.Pieces))
	for i, p := range info.Pieces {
		lengths[i] = p.Length
	}
	return New(lengths, opts)
}

// NumPieces returns the number of pieces.
func (pk *Picker) NumPieces() int { return len(pk.lengths) }

// PieceLength returns the length of piece i in bytes, or 0 out of range.
func (pk *Picker) PieceLength(i int) int64 {
	if uint(i) >= uint(len(pk.lengths)) {
		return 0
	}
	return pk.lengths[i]
}

// NumBlocks returns the number of blocks of piece i, or 0 out of range.
func (pk *Picker) NumBlocks(i int) int {
	return int((pk.PieceLength(i) + BlockSize - 1) / BlockSize)
}

// HavePiece reports whether piece i is verified.
func (pk *Picker) HavePiece(i int) bool { return pk.have.Has(i) }

// NumHave returns the number of verified pieces.
func (pk *Picker) NumHave() int { return pk.have.Count() }

// Have returns the set of verified pieces. The caller must not modify it.
func (pk *Picker) Have() *bitfield.Bitfield { return pk.have }

// NumWanted returns the number of pieces wanted (priority above None) and not
// yet verified.
func (pk *Picker) NumWanted() int { return pk.numWanted }

// Priority returns piece i's priority.
func (pk *Picker) Priority(i int) Priority {
	if uint(i) >= uint(len(pk.prio)) {
		return None
	}
	return pk.prio[i]
}

// Availability returns how many connected peers have piece i (seeds
// included, web sources not).
func (pk *Picker) Availability(i int) int {
	if uint(i) >= uint(len(pk.avail)) {
		return 0
	}
	return int(pk.avail[i]) + pk.seeds
}

// Endgame reports whether the endgame is on: some wanted piece is missing,
// yet every wanted block that a connected peer could send is requested or
// received. (Blocks of pieces no connected peer has do not hold the endgame
// back: they may be left to a web source, or to peers yet to come.)
func (pk *Picker) Endgame() bool { return pk.numWanted > 0 && pk.obtainable() == 0 }

// wanted reports whether piece i is wanted and missing.
func (pk *Picker) wanted(i int) bool { return pk.prio[i] != None && !pk.have.Has(i) }

// SetPriority sets piece i's priority to None, Normal or High; Urgent is the
// same as SetUrgent(i, time.Time{}). Lowering a piece to None keeps its
// outstanding requests and received blocks: the engine may cancel them.
func (pk *Picker) SetPriority(i int, prio Priority) {
	if uint(i) >= uint(len(pk.prio)) || prio > Urgent {
		return
	}
	if prio == Urgent {
		pk.SetUrgent(i, time.Time{})
		return
	}
	if pk.prio[i] == prio {
		return
	}
	pk.unfile(i)
	delete(pk.urgentKey, int32(i))
	pk.setPrio(i, prio)
	pk.settle(i)
}

// SetUrgent makes piece i urgent: it is picked before every non-urgent piece,
// after urgent pieces with an earlier deadline or, for equal deadlines, made
// urgent earlier. The zero deadline sorts after every real one. Calling it
// again on an urgent piece can only bring its deadline forward.
func (pk *Picker) SetUrgent(i int, deadline time.Time) {
	if uint(i) >= uint(len(pk.prio)) {
		return
	}
	if pk.have.Has(i) {
		pk.prio[i] = Urgent // nothing to fetch: no place in the urgent list
		return
	}
	d := int64(math.MaxInt64)
	if !deadline.IsZero() {
		d = deadline.UnixNano()
	}
	key, was := pk.urgentKey[int32(i)]
	if was && key.deadline <= d {
		return
	}
	pk.unfile(i)
	if !was {
		pk.urgentSeq++
		key = urgentEntry{piece: int32(i), seq: pk.urgentSeq}
	}
	key.deadline = d
	pk.urgentKey[int32(i)] = key
	pk.setPrio(i, Urgent)
	pk.settle(i)
}

// setPrio changes piece i's priority and keeps the wanted counts right. The
// piece must be unfiled.
func (pk *Picker) setPrio(i int, prio Priority) {
	was := pk.wanted(i)
	pk.prio[i] = prio
	pk.wantedChanged(i, was)
}

// wantedChanged updates the wanted counters after piece i's wanted state may
// have changed from was. It costs O(peers) when it did change.
func (pk *Picker) wantedChanged(i int, was bool) {
	now := pk.wanted(i)
	if now == was {
		return
	}
	d := 1
	if !now {
		d = -1
	}
	pk.numWanted += d
	for _, p := range pk.peers {
		if !p.seed && !p.web && p.have != nil && p.have.Has(i) {
			p.wanted += d
		}
	}
}

// PieceVerified records piece i as verified: it is never picked again. It
// returns the requests still outstanding for the piece (normally none; some
// when the piece was obtained another way) so that the engine can cancel
// them; they are forgotten.
func (pk *Picker) PieceVerified(i int) []PeerBlocks {
	if uint(i) >= uint(len(pk.prio)) || pk.have.Has(i) {
		return nil
	}
	pk.unfile(i)
	var out []PeerBlocks
	if st := pk.states[i]; st != nil {
		out = pk.dropAllRequests(i, st)
		pk.deactivate(i)
	}
	was := pk.wanted(i)
	pk.have.Set(i)
	pk.wantedChanged(i, was)
	delete(pk.urgentKey, int32(i))
	return out
}

// PieceFailed returns piece i, which failed its hash check, to the pool:
// every block is free again. It returns who sent which blocks, as runs of
// consecutive blocks from one sender, so that the engine can find the peer
// that lied.
func (pk *Picker) PieceFailed(i int) []PeerBlocks {
	if uint(i) >= uint(len(pk.prio)) || pk.have.Has(i) {
		return nil
	}
	st := pk.states[i]
	if st == nil {
		return nil
	}
	out := pk.senders(i, st)
	pk.unfile(i)
	pk.dropAllRequests(i, st)
	pk.deactivate(i)
	pk.file(i)
	return out
}

// Senders returns who sent the blocks of piece i received so far, as runs of
// consecutive blocks from one sender; nil for a piece not in progress.
func (pk *Picker) Senders(i int) []PeerBlocks {
	if uint(i) >= uint(len(pk.prio)) || pk.states[i] == nil {
		return nil
	}
	return pk.senders(i, pk.states[i])
}

func (pk *Picker) senders(i int, st *pieceState) []PeerBlocks {
	var out []PeerBlocks
	for b := range st.blocks {
		s := st.blocks[b].sender
		if s == nil {
			continue
		}
		r := pk.blockRequest(i, b)
		if n := len(out); n > 0 && out[n-1].Peer == s && out[n-1].Request.Begin+out[n-1].Request.Length == r.Begin {
			out[n-1].Request.Length += r.Length
			continue
		}
		out = append(out, PeerBlocks{Peer: s, Request: r})
	}
	return out
}

// blockRequest returns the request for block b of piece i.
func (pk *Picker) blockRequest(i, b int) Request {
	begin := int64(b) * BlockSize
	return Request{Piece: i, Begin: begin, Length: min(BlockSize, pk.lengths[i]-begin)}
}

// blockOf returns the block index a peer request names, checking that it is
// exactly one block of an existing piece.
func (pk *Picker) blockOf(r Request) (int, bool) {
	if uint(r.Piece) >= uint(len(pk.lengths)) || r.Begin < 0 || r.Begin%BlockSize != 0 || r.Begin >= pk.lengths[r.Piece] {
		return 0, false
	}
	b := int(r.Begin / BlockSize)
	if r.Length != pk.blockRequest(r.Piece, b).Length {
		return 0, false
	}
	return b, true
}
