// Package piecepicker decides which blocks to request next, and from whom.
//
// A Picker is the bookkeeping of one torrent's download: how many connected
// peers have each piece (availability), which pieces this machine wants and
// how badly (priority), which 16 KiB blocks of the pieces in progress are
// requested from which peer, received from which peer, or still free. The
// engine tells it what happens on the wire (AddPeer, PeerHave, PeerBitfield,
// PeerHaveAll, SetChoking, BlockReceived, Reject, Cancel, RemovePeer, ...) and
// asks it what to do next (Pick for a peer, PickForWeb for a mirror).
//
// The rules, in the order Pick applies them:
//
//   - only wanted pieces (priority above None) that are not verified yet are
//     ever picked;
//   - urgent pieces first, in deadline order and, for equal deadlines, in the
//     order they were made urgent (APT is waiting for them);
//   - then high, then normal priority; within a priority, pieces already
//     started are finished first, then the rarest pieces, ties broken at
//     random;
//   - several peers may fetch different blocks of one large piece at once;
//   - when no wanted block that a connected peer could send is free any more
//     (each is requested or received), the endgame starts: blocks still in
//     flight at peers are requested once more from other peers, and
//     BlockReceived names the peers whose duplicate requests should now be
//     cancelled;
//   - a web source (PickForWeb) gets whole pieces, or long runs of a huge
//     one, that no peer is fetching, urgent ones no peer has first.
//
// Costs: a have message moves a wanted piece between adjacent availability
// buckets in O(1) (unwanted pieces only change a counter); a peer that has
// every piece (BEP 6 have-all) is counted once, in O(1); Pick never sorts and
// does not allocate in steady state. Per-block state exists only for pieces
// in progress: it is allocated when a piece is started and released when the
// piece is verified, fails, or has no block received or requested any more.
//
// When a piece fails its hash check, PieceFailed returns it to the pool and
// names who sent which of its blocks, so that the engine can find the liar.
//
// A Picker is a plain data structure: it is not safe for concurrent use. The
// goroutine that owns a torrent's state owns its Picker.
package piecepicker
