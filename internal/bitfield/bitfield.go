// Package bitfield is a fixed-length set of piece indexes, convertible to and
// from the BitTorrent wire form (BEP 3: the high bit of the first byte is piece
// 0; spare bits at the end are zero).
//
// Count is O(1): the number of set bits is kept as bits change. The zero value
// is an empty bitfield of length 0. A Bitfield is not safe for concurrent use.
package bitfield

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math/bits"
)

// Bitfield is a set of indexes in [0, Len()).
type Bitfield struct {
	words []uint64 // piece 64w+k is bit 63-k of words[w]
	n     int
	count int
}

// New returns an empty bitfield for n indexes.
func New(n int) *Bitfield {
	if n < 0 {
		n = 0
	}
	return &Bitfield{words: make([]uint64, (n+63)/64), n: n}
}

// ByteLen is the size in bytes of the wire form of a bitfield of n indexes.
func ByteLen(n int) int { return (n + 7) / 8 }

// FromBytes reads the wire form of a bitfield of n indexes. It refuses a
// length other than ByteLen(n) and any set spare bit, as BEP 3 requires.
func FromBytes(b []byte, n int) (*Bitfield, error) {
	if len(b) != ByteLen(n) {
		return nil, fmt.Errorf("bitfield: %d bytes for %d pieces, want %d", len(b), n, ByteLen(n))
	}
	if n%8 != 0 && b[len(b)-1]&(0xff>>(n%8)) != 0 {
		return nil, fmt.Errorf("bitfield: spare bits set after piece %d", n-1)
	}
	bf := New(n)
	var buf [8]byte
	for w := range bf.words {
		clear(buf[:])
		copy(buf[:], b[w*8:])
		bf.words[w] = binary.BigEndian.Uint64(buf[:])
		bf.count += bits.OnesCount64(bf.words[w])
	}
	return bf, nil
}

// Bytes returns the wire form: ByteLen(Len()) bytes, spare bits zero.
func (b *Bitfield) Bytes() []byte {
	out := make([]byte, len(b.words)*8)
	for w, v := range b.words {
		binary.BigEndian.PutUint64(out[w*8:], v)
	}
	return out[:ByteLen(b.n)]
}

// Len returns the number of indexes the bitfield holds.
func (b *Bitfield) Len() int { return b.n }

// Count returns how many indexes are set.
func (b *Bitfield) Count() int { return b.count }

// All reports whether every index is set.
func (b *Bitfield) All() bool { return b.count == b.n }

// None reports whether no index is set.
func (b *Bitfield) None() bool { return b.count == 0 }

// Has reports whether index i is set; false when i is out of range.
func (b *Bitfield) Has(i int) bool {
	if uint(i) >= uint(b.n) {
		return false
	}
	return b.words[i>>6]&(1<<(63-uint(i&63))) != 0
}

// Set sets index i and reports whether it changed. It panics when i is out of
// range, as a slice index would.
func (b *Bitfield) Set(i int) bool {
	b.check(i)
	m := uint64(1) << (63 - uint(i&63))
	if b.words[i>>6]&m != 0 {
		return false
	}
	b.words[i>>6] |= m
	b.count++
	return true
}

// Clear clears index i and reports whether it changed. It panics when i is out
// of range.
func (b *Bitfield) Clear(i int) bool {
	b.check(i)
	m := uint64(1) << (63 - uint(i&63))
	if b.words[i>>6]&m == 0 {
		return false
	}
	b.words[i>>6] &^= m
	b.count--
	return true
}

// SetAll sets every index.
func (b *Bitfield) SetAll() {
	for w := range b.words {
		b.words[w] = ^uint64(0)
	}
	if r := b.n % 64; r != 0 {
		b.words[len(b.words)-1] = ^uint64(0) << (64 - r)
	}
	b.count = b.n
}

// ClearAll clears every index.
func (b *Bitfield) ClearAll() {
	clear(b.words)
	b.count = 0
}

// Clone returns an independent copy.
func (b *Bitfield) Clone() *Bitfield {
	c := &Bitfield{words: make([]uint64, len(b.words)), n: b.n, count: b.count}
	copy(c.words, b.words)
	return c
}

// NextSet returns the smallest set index ≥ i, or -1.
func (b *Bitfield) NextSet(i int) int { return b.next(i, 0) }

// NextClear returns the smallest clear index ≥ i, or -1.
func (b *Bitfield) NextClear(i int) int { return b.next(i, ^uint64(0)) }

// next returns the smallest index ≥ i whose bit, XORed with flip's, is set:
// flip 0 finds set bits, all ones finds clear bits.
func (b *Bitfield) next(i int, flip uint64) int {
	if i < 0 {
		i = 0
	}
	if i >= b.n {
		return -1
	}
	w := i >> 6
	v := (b.words[w] ^ flip) & (^uint64(0) >> uint(i&63))
	for {
		if v != 0 {
			j := w<<6 + bits.LeadingZeros64(v)
			if j >= b.n {
				return -1
			}
			return j
		}
		w++
		if w >= len(b.words) {
			return -1
		}
		v = b.words[w] ^ flip
	}
}

// Ones iterates over the set indexes in increasing order. The bitfield must
// not change during the iteration.
func (b *Bitfield) Ones() iter.Seq[int] {
	return func(yield func(int) bool) {
		for w, v := range b.words {
			for v != 0 {
				k := bits.LeadingZeros64(v)
				if !yield(w<<6 + k) {
					return
				}
				v &^= 1 << (63 - uint(k))
			}
		}
	}
}

func (b *Bitfield) check(i int) {
	if uint(i) >= uint(b.n) {
		panic(fmt.Sprintf("bitfield: index %d out of range [0, %d)", i, b.n))
	}
}
