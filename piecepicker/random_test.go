package piecepicker

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/debtorrent/debtorrent/internal/bitfield"
)

// randomSeedEnv names the environment variable that runs TestRandomized
// with one seed only, to replay a failure:
//
//	PIECEPICKER_SEED=4 go test -run TestRandomized ./piecepicker
const randomSeedEnv = "PIECEPICKER_SEED"

// randomSeeds returns the seeds TestRandomized runs: 1 to 8, or the one
// named by randomSeedEnv.
func randomSeeds(t *testing.T) []uint64 {
	v := os.Getenv(randomSeedEnv)
	if v == "" {
		return []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	}
	seed, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want a number: %v", randomSeedEnv, v, err)
	}
	return []uint64{seed}
}

// TestRandomized drives a Picker with random haves, picks, arrivals,
// rejections, peer churn, web fetches, hash failures and priority changes,
// and after every step checks the invariants: the internal ones by brute
// force (check), and the rules on what Pick returns (checkPick).
//
// Each seed runs at least minSteps steps and then on until it has been
// through every path (picks, verifications, hash failures, endgame
// duplicates, web runs), failing if that takes more than maxSteps. A fixed
// step count does not fit every seed: the endgame comes only when every
// wanted piece of a torrent is in flight before half of it is had, and the
// first endgame duplicate comes after 72 to 1,890 steps over seeds 1 to 40
// (seed 4: 1,890, past the 1,000 steps -short used to stop at).
func TestRandomized(t *testing.T) {
	minSteps, maxSteps := 4000, 20000
	if testing.Short() {
		minSteps = 1000
	}
	for _, seed := range randomSeeds(t) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Logf("seed %d; replay with %s=%d go test -run TestRandomized ./piecepicker", seed, randomSeedEnv, seed)
			r := newRandomRun(t, seed)
			step := 0
			for ; step < maxSteps && (step < minSteps || !r.coveredAll()); step++ {
				op := r.step()
				if err := r.pk.check(); err != nil {
					t.Fatalf("seed %d step %d after %s: %v", seed, step, op, err)
				}
			}
			if !r.coveredAll() {
				t.Fatalf("seed %d: %d steps missed a path: picked %d verified %d failed %d endgame dups %d web runs %d",
					seed, step, r.picked, r.verified, r.failed, r.dups, r.webRuns)
			}
		})
	}
}

type randomRun struct {
	t     *testing.T
	rng   *rand.Rand
	pk    *Picker
	peers []*Peer
	webs  []*Peer
	buf   []Request

	picked, verified, failed, dups, webRuns int
}

// coveredAll reports whether the run has been through every path it counts.
func (r *randomRun) coveredAll() bool {
	return r.picked > 0 && r.verified > 0 && r.failed > 0 && r.dups > 0 && r.webRuns > 0
}

func newRandomRun(t *testing.T, seed uint64) *randomRun {
	return newRunFrom(t, rand.NewPCG(seed, 99))
}

// newRunFrom returns a run whose every choice comes from src.
func newRunFrom(t *testing.T, src rand.Source) *randomRun {
	r := &randomRun{t: t, rng: rand.New(src)}
	r.reset()
	return r
}

// reset starts over with a new torrent, when most of the last one is had.
func (r *randomRun) reset() {
	rng := r.rng
	n := 20 + rng.IntN(60)
	lengths := make([]int64, n)
	for i := range lengths {
		switch rng.IntN(4) {
		case 0:
			lengths[i] = 1 + rng.Int64N(BlockSize)
		case 1:
			lengths[i] = BlockSize * (1 + rng.Int64N(4))
		default:
			lengths[i] = 1 + rng.Int64N(12*BlockSize)
		}
	}
	pk, err := New(lengths, Options{Rand: rand.New(rand.NewPCG(rng.Uint64(), 7)), EndgameRequesters: 2 + rng.IntN(2)})
	if err != nil {
		r.t.Fatal(err)
	}
	r.pk, r.peers, r.webs = pk, nil, nil
}

func (r *randomRun) piece() int { return r.rng.IntN(r.pk.NumPieces()) }

func (r *randomRun) peer() *Peer {
	if len(r.peers) == 0 {
		p := r.pk.AddPeer()
		r.peers = append(r.peers, p)
	}
	return r.peers[r.rng.IntN(len(r.peers))]
}

// step performs one random operation and names it.
func (r *randomRun) step() string {
	if r.pk.NumHave() > r.pk.NumPieces()/2 {
		r.reset()
		return "reset"
	}
	pk := r.pk
	switch k := r.rng.IntN(100); {
	case k < 4:
		if len(r.peers) < 10 {
			p := pk.AddPeer()
			pk.SetChoking(p, r.rng.IntN(4) == 0)
			r.peers = append(r.peers, p)
		}
		return "add peer"
	case k < 7:
		if len(r.peers) > 0 {
			j := r.rng.IntN(len(r.peers))
			pk.RemovePeer(r.peers[j])
			r.peers = slices.Delete(r.peers, j, j+1)
		}
		return "remove peer"
	case k < 20:
		pk.PeerHave(r.peer(), r.piece())
		return "have"
	case k < 22:
		bf := bitfield.New(pk.NumPieces())
		for i := range pk.NumPieces() {
			if r.rng.IntN(3) == 0 {
				bf.Set(i)
			}
		}
		if err := pk.PeerBitfield(r.peer(), bf); err != nil {
			r.t.Fatal(err)
		}
		return "bitfield"
	case k < 23:
		pk.PeerHaveAll(r.peer())
		return "have-all"
	case k < 24:
		pk.PeerHaveNone(r.peer())
		return "have-none"
	case k < 28:
		pk.SetChoking(r.peer(), r.rng.IntN(8) == 0)
		return "choke/unchoke"
	case k < 29:
		pk.AllowFast(r.peer(), r.piece())
		return "allow fast"
	case k < 35:
		pk.SetPriority(r.piece(), Priority(r.rng.IntN(3)))
		return "priority"
	case k < 38:
		pk.SetUrgent(r.piece(), time.Unix(int64(r.rng.IntN(3)), 0))
		return "urgent"
	case k < 60:
		r.pick()
		return "pick"
	case k < 78:
		r.receive()
		return "receive"
	case k < 80:
		r.unsolicited()
		return "unsolicited"
	case k < 84:
		p := r.peer()
		if reqs := pk.Requests(p, nil); len(reqs) > 0 {
			req := reqs[r.rng.IntN(len(reqs))]
			if !pk.Reject(p, req) {
				r.t.Fatalf("reject of outstanding %v refused", req)
			}
			if pk.Cancel(p, req) {
				r.t.Fatalf("second withdrawal of %v accepted", req)
			}
		}
		return "reject"
	case k < 85:
		pk.DropRequests(r.peer())
		return "drop requests"
	case k < 94:
		r.web()
		return "web"
	default:
		if i := r.piece(); r.rng.IntN(10) == 0 {
			pk.PieceVerified(i)
			if !pk.HavePiece(i) {
				r.t.Fatalf("piece %d not had after PieceVerified", i)
			}
		}
		return "external verify"
	}
}

// pick asks for blocks for a random peer and checks the answer.
func (r *randomRun) pick() {
	pk := r.pk
	p := r.peer()
	max := 1 + r.rng.IntN(8)
	started := make([]bool, pk.NumPieces()) // pieces with block state before
	for i := range started {
		started[i] = pk.states[i] != nil
	}
	r.buf = pk.Pick(p, max, r.buf[:0])
	r.picked += len(r.buf)
	if len(r.buf) > max {
		r.t.Fatalf("picked %d blocks, asked for %d", len(r.buf), max)
	}
	if err := checkPick(pk, p, r.buf); err != nil {
		r.t.Fatal(err)
	}
	if err := checkRarestAndPartialFirst(pk, p, r.buf, started); err != nil {
		r.t.Fatal(err)
	}
	for _, req := range r.buf {
		if pk.states[req.Piece].blocks[req.Begin/BlockSize].owner != p {
			r.dups++
		}
	}
}

// checkPick checks what Pick returned for p against the rules.
func checkPick(pk *Picker, p *Peer, got []Request) error {
	seen := map[Request]bool{}
	lowest := Urgent + 1    // of the fresh blocks
	lowestDup := Urgent + 1 // of the endgame duplicates
	for _, req := range got {
		if seen[req] {
			return fmt.Errorf("block %v picked twice in one call", req)
		}
		seen[req] = true
		i := req.Piece
		if pk.prio[i] == None || pk.HavePiece(i) {
			return fmt.Errorf("picked %v of a piece unwanted or verified", req)
		}
		if !p.has(i) {
			return fmt.Errorf("picked %v of a piece the peer lacks", req)
		}
		if p.choking && !slices.Contains(p.fast, int32(i)) {
			return fmt.Errorf("picked %v from a choking peer, not allowed fast", req)
		}
		b, ok := pk.blockOf(req)
		if !ok {
			return fmt.Errorf("picked malformed %v", req)
		}
		st := pk.states[i]
		if st == nil || st.blocks[b].sender != nil || !st.requestedBy(b, p) {
			return fmt.Errorf("picked %v is not recorded as requested by the peer", req)
		}
		if st.blocks[b].owner != p {
			if !pk.Endgame() {
				return fmt.Errorf("block %v requested twice outside the endgame", req)
			}
			if pk.prio[i] > lowestDup {
				return fmt.Errorf("duplicate %v (%v) after a lower priority", req, pk.prio[i])
			}
			lowestDup = pk.prio[i]
			continue
		}
		if pk.prio[i] > lowest {
			return fmt.Errorf("picked %v (%v) after a lower priority", req, pk.prio[i])
		}
		lowest = pk.prio[i]
	}
	// Nothing of a higher priority than the lowest picked may be left free.
	for i := range pk.NumPieces() {
		if pk.prio[i] <= lowest || !pk.wanted(i) || !p.has(i) || (p.choking && !slices.Contains(p.fast, int32(i))) {
			continue
		}
		if st := pk.states[i]; st == nil || st.free > 0 {
			return fmt.Errorf("picked priority %v while piece %d (%v) has free blocks", lowest, i, pk.prio[i])
		}
	}
	return nil
}

// checkRarestAndPartialFirst checks, for an unchoked peer, that a high or
// normal piece was started only when no piece of its priority already started
// had a free block the peer could take, and was among the rarest of the
// untouched pieces of its priority the peer has.
func checkRarestAndPartialFirst(pk *Picker, p *Peer, got []Request, before []bool) error {
	if p.choking {
		return nil
	}
	for _, req := range got {
		i := req.Piece
		lvl := pk.prio[i]
		if before[i] || lvl == Urgent {
			continue
		}
		for j := range pk.NumPieces() {
			if j == i || pk.prio[j] != lvl || !pk.wanted(j) || !p.has(j) {
				continue
			}
			st := pk.states[j]
			if before[j] && st != nil && st.free > 0 {
				return fmt.Errorf("started piece %d while started piece %d (%v) had free blocks", i, j, lvl)
			}
			if st == nil && pk.avail[j] < pk.avail[i] {
				return fmt.Errorf("started piece %d (availability %d) before rarer piece %d (%d)", i, pk.avail[i], j, pk.avail[j])
			}
		}
	}
	return nil
}

// receive delivers one outstanding request of a random peer and, when the
// piece is complete, verifies or fails it.
func (r *randomRun) receive() {
	pk := r.pk
	p := r.peer()
	reqs := pk.Requests(p, nil)
	if len(reqs) == 0 {
		return
	}
	req := reqs[r.rng.IntN(len(reqs))]
	rc := pk.BlockReceived(p, req)
	if !rc.Wanted {
		r.t.Fatalf("outstanding %v not wanted on arrival", req)
	}
	if slices.Contains(rc.Cancel, p) {
		r.t.Fatalf("sender told to cancel its own block %v", req)
	}
	if again := pk.BlockReceived(p, req); again.Wanted {
		r.t.Fatalf("duplicate %v wanted", req)
	}
	if rc.PieceDone {
		r.finish(req.Piece)
	}
}

// finish verifies or fails a complete piece.
func (r *randomRun) finish(i int) {
	pk := r.pk
	if r.rng.IntN(4) == 0 {
		senders := pk.PieceFailed(i)
		var total int64
		for _, s := range senders {
			total += s.Request.Length
		}
		if total != pk.PieceLength(i) {
			r.t.Fatalf("failed piece %d: senders cover %d of %d bytes", i, total, pk.PieceLength(i))
		}
		r.failed++
		return
	}
	if c := pk.PieceVerified(i); len(c) != 0 {
		r.t.Fatalf("complete piece %d still had requests %v", i, c)
	}
	r.verified++
}

// unsolicited delivers a random block from a random peer.
func (r *randomRun) unsolicited() {
	pk := r.pk
	i := r.piece()
	b := r.rng.IntN(pk.NumBlocks(i))
	rc := pk.BlockReceived(r.peer(), pk.blockRequest(i, b))
	if rc.PieceDone {
		r.finish(i)
	}
}

// web runs a web source: starts a run, delivers part of one, or fails one.
func (r *randomRun) web() {
	pk := r.pk
	if len(r.webs) == 0 || r.rng.IntN(20) == 0 {
		if len(r.webs) > 0 {
			pk.RemovePeer(r.webs[0])
			r.webs = r.webs[1:]
		}
		r.webs = append(r.webs, pk.AddWebSource())
	}
	w := r.webs[r.rng.IntN(len(r.webs))]
	runs := pk.Requests(w, nil)
	switch {
	case len(runs) == 0 || r.rng.IntN(3) == 0:
		req, ok := pk.PickForWeb(w, int64(r.rng.IntN(4))*BlockSize, Priority(r.rng.IntN(4)))
		if ok {
			r.webRuns++
			if err := checkWebRun(pk, w, req); err != nil {
				r.t.Fatal(err)
			}
		}
	case r.rng.IntN(4) == 0:
		pk.WebFailed(w, runs[r.rng.IntN(len(runs))])
	default:
		run := runs[r.rng.IntN(len(runs))]
		for off := run.Begin; off < run.Begin+run.Length; off += BlockSize {
			if rc := pk.BlockReceived(w, pk.blockRequest(run.Piece, int(off/BlockSize))); rc.PieceDone {
				r.finish(run.Piece)
				break
			}
			if r.rng.IntN(3) == 0 {
				break
			}
		}
	}
}

// checkWebRun checks a run PickForWeb returned.
func checkWebRun(pk *Picker, w *Peer, req Request) error {
	i := req.Piece
	if !pk.wanted(i) || req.Length <= 0 || req.Begin%BlockSize != 0 || req.Begin+req.Length > pk.PieceLength(i) {
		return fmt.Errorf("web run %v: bad run or piece not wanted", req)
	}
	st := pk.states[i]
	for b := req.Begin / BlockSize; b*BlockSize < req.Begin+req.Length; b++ {
		if st.blocks[b].owner != w {
			return fmt.Errorf("web run %v: block %d not owned by the web source", req, b)
		}
	}
	// An urgent piece no peer has goes first.
	if pk.prio[i] != Urgent || pk.Availability(i) != 0 {
		for _, e := range pk.urgent {
			if pk.Availability(int(e.piece)) == 0 {
				return fmt.Errorf("web run %v while urgent piece %d, which no peer has, is free", req, e.piece)
			}
		}
	}
	return nil
}
