package piecepicker

// Pick appends to dst up to max new block requests for peer p and returns
// the extended slice; the engine sends them. It follows the package rules:
// urgent pieces first (deadline order), then high, then normal; within a
// priority, started pieces first, then the rarest, ties at random. A peer
// that is choking us gets only blocks of its allowed-fast pieces. In the
// endgame, blocks in flight at other peers are requested again.
//
// Pick does not allocate once dst and the peer's request list have grown to
// their working size.
func (pk *Picker) Pick(p *Peer, max int, dst []Request) []Request {
	if !pk.live(p) || max <= 0 {
		return dst
	}
	want := max
	if p.choking {
		return pk.pickAllowedFast(p, &want, dst)
	}
	if !p.seed && p.wanted == 0 {
		return dst
	}
	if pk.obtainable() > 0 {
		dst = pk.pickUrgent(p, &want, dst)
		for lvl := High; lvl >= Normal && want > 0; lvl-- {
			dst = pk.pickPartial(p, lvl, &want, dst)
			if want > 0 {
				dst = pk.pickRarest(p, lvl, &want, dst)
			}
		}
	}
	if want > 0 && pk.Endgame() {
		dst = pk.pickEndgame(p, &want, dst)
	}
	return dst
}

// pickUrgent takes free blocks of urgent pieces p has, in list order.
func (pk *Picker) pickUrgent(p *Peer, want *int, dst []Request) []Request {
	for j := 0; j < len(pk.urgent) && *want > 0; {
		i := int(pk.urgent[j].piece)
		if !p.has(i) {
			j++
			continue
		}
		dst = pk.pickFrom(p, i, want, dst)
		if j < len(pk.urgent) && int(pk.urgent[j].piece) == i {
			j++ // still filed: it kept free blocks
		}
	}
	return dst
}

// pickPartial takes free blocks of started pieces of priority lvl.
func (pk *Picker) pickPartial(p *Peer, lvl Priority, want *int, dst []Request) []Request {
	l := &pk.partial[level(lvl)]
	// Backwards, so that a piece leaving the list (swapped with the last)
	// does not hide an unvisited one.
	for k := len(*l) - 1; k >= 0 && *want > 0; k-- {
		if k >= len(*l) {
			continue
		}
		if i := int((*l)[k]); p.has(i) {
			dst = pk.pickFrom(p, i, want, dst)
		}
	}
	return dst
}

// pickRarest starts untouched pieces of priority lvl, rarest first.
func (pk *Picker) pickRarest(p *Peer, lvl Priority, want *int, dst []Request) []Request {
	bs := &pk.buckets[level(lvl)]
	a := 0
	if !p.seed {
		a = 1 // nobody but a seed has a piece in bucket 0
	}
	for *want > 0 {
		a = bs.nextBucket(a)
		if a < 0 {
			break
		}
		for k := len(bs.lists[a]) - 1; k >= 0 && *want > 0; k-- {
			l := bs.lists[a]
			if k >= len(l) {
				continue
			}
			if i := int(l[k]); p.has(i) {
				dst = pk.pickFrom(p, i, want, dst)
			}
		}
		a++
	}
	return dst
}

// pickFrom takes free blocks of filed piece i for p, starting it if needed.
func (pk *Picker) pickFrom(p *Peer, i int, want *int, dst []Request) []Request {
	st := pk.states[i]
	if st == nil {
		st = pk.start(i)
	}
	dst = pk.takeBlocks(p, i, st, want, dst)
	pk.refile(i)
	return dst
}

// pickAllowedFast serves a choking peer from its allowed-fast pieces, higher
// priorities first.
func (pk *Picker) pickAllowedFast(p *Peer, want *int, dst []Request) []Request {
	for lvl := Urgent; lvl >= Normal && *want > 0; lvl-- {
		for _, f := range p.fast {
			i := int(f)
			if *want == 0 {
				break
			}
			if pk.prio[i] == lvl && pk.loc[i] != locNone && p.has(i) {
				dst = pk.pickFrom(p, i, want, dst)
			}
		}
	}
	return dst
}

// pickEndgame requests again, from p, blocks in flight at other peers, of
// wanted pieces p has, higher priorities first, each block from at most
// maxReq peers. Blocks a web source is fetching are left to it.
func (pk *Picker) pickEndgame(p *Peer, want *int, dst []Request) []Request {
	for lvl := Urgent; lvl >= Normal && *want > 0; lvl-- {
		for _, a := range pk.active {
			i := int(a)
			if pk.prio[i] != lvl || pk.have.Has(i) || !p.has(i) {
				continue
			}
			st := pk.states[i]
			for st.missing < len(st.blocks) && st.blocks[st.missing].sender != nil {
				st.missing++
			}
			for b := st.missing; b < len(st.blocks); b++ {
				if *want == 0 {
					return dst
				}
				blk := &st.blocks[b]
				if blk.sender != nil || blk.owner == nil || blk.owner.web || st.requestedBy(b, p) || st.requesters(b) >= pk.maxReq {
					continue
				}
				st.extra = append(st.extra, extraRequest{block: int32(b), peer: p})
				p.reqs = append(p.reqs, blockRef{piece: a, block: int32(b)})
				dst = append(dst, pk.blockRequest(i, b))
				*want--
			}
		}
	}
	return dst
}
