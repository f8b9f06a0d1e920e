package piecepicker

import (
	"fmt"
	"sort"
)

// check verifies every internal invariant of the Picker by brute force. Tests
// call it after each step.
func (pk *Picker) check() error {
	n := len(pk.lengths)
	// Availability and interest, recounted from the peers.
	avail := make([]uint32, n)
	seeds, wanted := 0, 0
	for k, p := range pk.peers {
		if p.index != k || p.gone {
			return fmt.Errorf("peer %d: index %d gone %v", k, p.index, p.gone)
		}
		if p.web {
			continue
		}
		if p.seed {
			seeds++
			if p.have != nil {
				return fmt.Errorf("seed peer %d keeps a bitfield", p.id)
			}
			continue
		}
		w := 0
		if p.have != nil && p.have.Len() != n {
			return fmt.Errorf("peer %d: bitfield of %d pieces for %d", p.id, p.have.Len(), n)
		}
		if p.have == nil {
			if p.wanted != 0 {
				return fmt.Errorf("peer %d: wanted %d without a bitfield", p.id, p.wanted)
			}
			continue
		}
		for i := range p.have.Ones() {
			avail[i]++
			if pk.wanted(i) {
				w++
			}
		}
		if w != p.wanted {
			return fmt.Errorf("peer %d: wanted count %d, recount %d", p.id, p.wanted, w)
		}
	}
	if seeds != pk.seeds {
		return fmt.Errorf("seeds %d, recount %d", pk.seeds, seeds)
	}
	for i := range n {
		if avail[i] != pk.avail[i] {
			return fmt.Errorf("piece %d: availability %d, recount %d", i, pk.avail[i], avail[i])
		}
		if pk.wanted(i) {
			wanted++
		}
		if pk.loc[i] != pk.desired(i) {
			return fmt.Errorf("piece %d: filed at %d, belongs at %d", i, pk.loc[i], pk.desired(i))
		}
		if (pk.prio[i] == Urgent && !pk.have.Has(i)) != (pk.urgentKey[int32(i)] != urgentEntry{}) {
			return fmt.Errorf("piece %d: priority %v but urgent key %v", i, pk.prio[i], pk.urgentKey[int32(i)])
		}
		if pk.states[i] != nil && pk.have.Has(i) {
			return fmt.Errorf("piece %d: verified but in progress", i)
		}
		if pk.have.Has(i) && pk.loc[i] != locNone {
			return fmt.Errorf("piece %d: verified but filed", i)
		}
	}
	unavail := 0
	for i := range n {
		if pk.loc[i] != locNone && pk.avail[i] == 0 {
			unavail++
		}
	}
	if unavail != pk.unavailFiled {
		return fmt.Errorf("unavailFiled %d, recount %d", pk.unavailFiled, unavail)
	}
	if wanted != pk.numWanted {
		return fmt.Errorf("numWanted %d, recount %d", pk.numWanted, wanted)
	}
	if err := pk.checkFiling(); err != nil {
		return err
	}
	return pk.checkBlocks()
}

func (pk *Picker) checkFiling() error {
	count := make([]int, len(pk.lengths))
	for lv := range 2 {
		bs := &pk.buckets[lv]
		size := 0
		for a, l := range bs.lists {
			if (len(l) > 0) != (bs.nonEmpty[a>>6]&(1<<(a&63)) != 0) {
				return fmt.Errorf("bucket %d/%d: nonEmpty bit wrong", lv, a)
			}
			for k, i := range l {
				count[i]++
				size++
				if pk.loc[i] != locBucket || level(pk.prio[i]) != lv || pk.avail[i] != uint32(a) || pk.slot[i] != int32(k) {
					return fmt.Errorf("piece %d in bucket %d/%d at %d: loc %d prio %v avail %d slot %d", i, lv, a, k, pk.loc[i], pk.prio[i], pk.avail[i], pk.slot[i])
				}
			}
		}
		if size != bs.size {
			return fmt.Errorf("bucket set %d: size %d, recount %d", lv, bs.size, size)
		}
		for k, i := range pk.partial[lv] {
			count[i]++
			if pk.loc[i] != locPartial || level(pk.prio[i]) != lv || pk.slot[i] != int32(k) {
				return fmt.Errorf("piece %d in partial %d at %d: loc %d prio %v slot %d", i, lv, k, pk.loc[i], pk.prio[i], pk.slot[i])
			}
		}
	}
	if !sort.SliceIsSorted(pk.urgent, func(a, b int) bool { return pk.urgent[a].before(pk.urgent[b]) }) {
		return fmt.Errorf("urgent list out of order")
	}
	for _, e := range pk.urgent {
		count[e.piece]++
		if pk.loc[e.piece] != locUrgent || pk.urgentKey[e.piece] != e {
			return fmt.Errorf("urgent piece %d: loc %d key %v entry %v", e.piece, pk.loc[e.piece], pk.urgentKey[e.piece], e)
		}
	}
	for i, c := range count {
		if want := 0; pk.loc[i] != locNone {
			want = 1
			if c != want {
				return fmt.Errorf("piece %d filed %d times", i, c)
			}
		} else if c != 0 {
			return fmt.Errorf("unfiled piece %d listed %d times", i, c)
		}
	}
	return nil
}

func (pk *Picker) checkBlocks() error {
	type key struct {
		p    *Peer
		i, b int
	}
	outstanding := map[key]bool{}
	for k, a := range pk.active {
		i := int(a)
		st := pk.states[i]
		if st == nil || st.active != int32(k) {
			return fmt.Errorf("active piece %d: state %v", i, st)
		}
		if len(st.blocks) != pk.NumBlocks(i) {
			return fmt.Errorf("piece %d: %d blocks, want %d", i, len(st.blocks), pk.NumBlocks(i))
		}
		free, received := 0, 0
		for b, blk := range st.blocks {
			if b < st.missing && blk.sender == nil {
				return fmt.Errorf("piece %d: block %d missing below the received prefix %d", i, b, st.missing)
			}
			switch {
			case blk.sender != nil:
				received++
				if blk.owner != nil {
					return fmt.Errorf("piece %d block %d: received but owned", i, b)
				}
			case blk.owner != nil:
				outstanding[key{blk.owner, i, b}] = true
				if blk.owner.gone {
					return fmt.Errorf("piece %d block %d: owned by a removed peer", i, b)
				}
			default:
				free++
				if b < st.nextFree {
					return fmt.Errorf("piece %d: free block %d below nextFree %d", i, b, st.nextFree)
				}
			}
		}
		if free != st.free || received != st.received {
			return fmt.Errorf("piece %d: free %d received %d, recount %d %d", i, st.free, st.received, free, received)
		}
		if free == len(st.blocks) {
			return fmt.Errorf("piece %d: in progress with nothing requested or received", i)
		}
		for _, e := range st.extra {
			blk := st.blocks[e.block]
			k := key{e.peer, i, int(e.block)}
			if blk.owner == nil || blk.owner == e.peer || outstanding[k] || e.peer.gone {
				return fmt.Errorf("piece %d block %d: bad duplicate request by peer %d", i, e.block, e.peer.id)
			}
			outstanding[k] = true
			if st.requesters(int(e.block)) > pk.maxReq {
				return fmt.Errorf("piece %d block %d: %d requesters", i, e.block, st.requesters(int(e.block)))
			}
		}
	}
	for i, st := range pk.states {
		if st != nil && (int(st.active) >= len(pk.active) || int(pk.active[st.active]) != i) {
			return fmt.Errorf("piece %d in progress but not in the active list", i)
		}
	}
	records := 0
	for _, p := range pk.peers {
		for _, r := range p.reqs {
			if !outstanding[key{p, int(r.piece), int(r.block)}] {
				return fmt.Errorf("peer %d: stale request record %d/%d", p.id, r.piece, r.block)
			}
			records++
		}
		for k, r := range p.runs {
			owned := int32(0)
			for b := r.first; b < r.end; b++ {
				if st := pk.states[r.piece]; st != nil && st.blocks[b].owner == p && !laterRunCovers(p.runs[k+1:], r.piece, b) {
					owned++
					records++
				}
			}
			if owned != r.remaining || owned == 0 {
				return fmt.Errorf("web %d: run %v remaining %d, owns %d", p.id, r, r.remaining, owned)
			}
		}
	}
	if records != len(outstanding) {
		return fmt.Errorf("%d request records for %d outstanding requests", records, len(outstanding))
	}
	return nil
}

func laterRunCovers(runs []webRun, piece, b int32) bool {
	for _, r := range runs {
		if r.piece == piece && r.first <= b && b < r.end {
			return true
		}
	}
	return false
}
