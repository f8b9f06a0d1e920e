package piecepicker

import (
	"math/bits"
	"sort"
)

// A wanted, missing piece with at least one free block is filed in exactly one
// place, and only such pieces are filed:
//
//   - urgent pieces in the urgent list, sorted by (deadline, sequence);
//   - started high or normal pieces in that priority's partial list;
//   - untouched high or normal pieces in that priority's bucket set, in the
//     bucket of their availability (non-seed peers having them).
//
// So Pick only walks pieces it could hand out, and a have moves a piece from
// one bucket to the next in O(1), as libtorrent's picker does with its
// priority-and-availability boundaries, without ever sorting.
type location uint8

const (
	locNone location = iota
	locBucket
	locPartial
	locUrgent
)

// level maps Normal and High to the index of their bucket set and partial
// list.
func level(p Priority) int { return int(p - Normal) }

// bucketSet groups pieces by availability: lists[a] holds the pieces that a
// non-seed peers have, in random order. nonEmpty has bit a set when lists[a]
// is not empty, so a scan skips empty buckets a word at a time.
type bucketSet struct {
	lists    [][]int32
	nonEmpty []uint64
	size     int
}

// insert adds piece i to bucket a at a random position (the tie-break
// between equally rare pieces).
func (pk *Picker) bucketInsert(bs *bucketSet, i int32, a uint32) {
	for int(a) >= len(bs.lists) {
		bs.lists = append(bs.lists, nil)
	}
	for int(a>>6) >= len(bs.nonEmpty) {
		bs.nonEmpty = append(bs.nonEmpty, 0)
	}
	l := append(bs.lists[a], i)
	last := int32(len(l) - 1)
	j := int32(pk.rng.IntN(len(l)))
	l[last], l[j] = l[j], i
	pk.slot[l[last]] = last
	pk.slot[i] = j
	bs.lists[a] = l
	bs.nonEmpty[a>>6] |= 1 << (a & 63)
	bs.size++
}

// bucketRemove removes piece i from bucket a.
func (pk *Picker) bucketRemove(bs *bucketSet, i int32, a uint32) {
	l := bs.lists[a]
	k := pk.slot[i]
	last := l[len(l)-1]
	l[k] = last
	pk.slot[last] = k
	l = l[:len(l)-1]
	bs.lists[a] = l
	if len(l) == 0 {
		bs.nonEmpty[a>>6] &^= 1 << (a & 63)
	}
	bs.size--
}

// nextBucket returns the smallest non-empty bucket index ≥ a, or -1.
func (bs *bucketSet) nextBucket(a int) int {
	w := a >> 6
	if w >= len(bs.nonEmpty) {
		return -1
	}
	v := bs.nonEmpty[w] &^ (1<<(uint(a)&63) - 1)
	for {
		if v != 0 {
			return w<<6 + bits.TrailingZeros64(v)
		}
		w++
		if w >= len(bs.nonEmpty) {
			return -1
		}
		v = bs.nonEmpty[w]
	}
}

// availChanged moves piece i after its availability went from old to new.
func (pk *Picker) availChanged(i int, old uint32) {
	if pk.loc[i] == locNone {
		return
	}
	if old == 0 {
		pk.unavailFiled--
	} else if pk.avail[i] == 0 {
		pk.unavailFiled++
	}
	if pk.loc[i] != locBucket {
		return
	}
	bs := &pk.buckets[level(pk.prio[i])]
	pk.bucketRemove(bs, int32(i), old)
	pk.bucketInsert(bs, int32(i), pk.avail[i])
}

// urgentEntry is a piece in the urgent list and its sort key.
type urgentEntry struct {
	piece    int32
	deadline int64
	seq      uint64
}

func (e urgentEntry) before(f urgentEntry) bool {
	return e.deadline < f.deadline || e.deadline == f.deadline && e.seq < f.seq
}

// urgentIndex returns where key belongs in the urgent list.
func (pk *Picker) urgentIndex(key urgentEntry) int {
	return sort.Search(len(pk.urgent), func(j int) bool { return !pk.urgent[j].before(key) })
}

// desired returns where piece i belongs.
func (pk *Picker) desired(i int) location {
	if pk.prio[i] == None || pk.have.Has(i) {
		return locNone
	}
	st := pk.states[i]
	switch {
	case st != nil && st.free == 0:
		return locNone
	case pk.prio[i] == Urgent:
		return locUrgent
	case st != nil:
		return locPartial
	}
	return locBucket
}

// file puts an unfiled piece where it belongs.
func (pk *Picker) file(i int) {
	loc := pk.desired(i)
	switch loc {
	case locBucket:
		pk.bucketInsert(&pk.buckets[level(pk.prio[i])], int32(i), pk.avail[i])
	case locPartial:
		l := &pk.partial[level(pk.prio[i])]
		pk.slot[i] = int32(len(*l))
		*l = append(*l, int32(i))
	case locUrgent:
		key := pk.urgentKey[int32(i)]
		j := pk.urgentIndex(key)
		pk.urgent = append(pk.urgent, urgentEntry{})
		copy(pk.urgent[j+1:], pk.urgent[j:])
		pk.urgent[j] = key
	}
	pk.loc[i] = loc
	if loc != locNone && pk.avail[i] == 0 {
		pk.unavailFiled++
	}
}

// unfile takes piece i out of wherever it is filed. It relies on the piece's
// priority and availability being those it was filed under.
func (pk *Picker) unfile(i int) {
	if pk.loc[i] != locNone && pk.avail[i] == 0 {
		pk.unavailFiled--
	}
	switch pk.loc[i] {
	case locBucket:
		pk.bucketRemove(&pk.buckets[level(pk.prio[i])], int32(i), pk.avail[i])
	case locPartial:
		l := &pk.partial[level(pk.prio[i])]
		k := pk.slot[i]
		last := (*l)[len(*l)-1]
		(*l)[k] = last
		pk.slot[last] = k
		*l = (*l)[:len(*l)-1]
	case locUrgent:
		j := pk.urgentIndex(pk.urgentKey[int32(i)])
		pk.urgent = append(pk.urgent[:j], pk.urgent[j+1:]...)
	}
	pk.loc[i] = locNone
}

// refile moves piece i if where it belongs changed (its priority must not
// have changed since it was filed).
func (pk *Picker) refile(i int) {
	if pk.desired(i) != pk.loc[i] {
		pk.unfile(i)
		pk.file(i)
	}
}

// settle releases the block state of piece i when nothing of it is
// requested or received any more, and refiles it.
func (pk *Picker) settle(i int) {
	if st := pk.states[i]; st != nil && st.free == len(st.blocks) {
		if pk.loc[i] == locUrgent {
			pk.deactivate(i) // filed by its key, not its state: stays put
			return
		}
		pk.unfile(i)
		pk.deactivate(i)
		pk.file(i)
		return
	}
	pk.refile(i)
}

// start gives filed or unfiled piece i block state and refiles it.
func (pk *Picker) start(i int) *pieceState {
	if pk.loc[i] == locUrgent {
		return pk.activate(i) // filed by its key, not its state: stays put
	}
	pk.unfile(i)
	st := pk.activate(i)
	pk.file(i)
	return st
}

// pickable returns the number of filed pieces: those with a free block.
func (pk *Picker) pickable() int {
	return pk.buckets[0].size + pk.buckets[1].size + len(pk.partial[0]) + len(pk.partial[1]) + len(pk.urgent)
}

// obtainable returns the number of filed pieces some connected peer has.
func (pk *Picker) obtainable() int {
	if pk.seeds > 0 {
		return pk.pickable()
	}
	return pk.pickable() - pk.unavailFiled
}
