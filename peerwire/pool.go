package peerwire

import "sync"

// Block is a pooled buffer holding one block of piece data.
type Block struct {
	buf      []byte
	n        int
	pool     *BlockPool
	released bool
}

// Bytes returns the block's data. It is valid until Release.
func (b *Block) Bytes() []byte { return b.buf[:b.n] }

// Release hands the buffer back to its pool. The data must not be used
// afterwards. Releasing twice is harmless; releasing a block that is not
// pooled does nothing.
func (b *Block) Release() {
	if b == nil || b.released || b.pool == nil {
		return
	}
	b.released = true
	b.pool.pool.Put(b)
}

// BlockPool recycles block buffers of one size, so that receiving (or
// sending) piece data does not allocate once the pool is warm. One pool may be
// shared by many Conns; it is safe for concurrent use.
type BlockPool struct {
	size int
	pool sync.Pool
}

// NewBlockPool returns a pool of buffers of size bytes (DefaultMaxBlock when
// size ≤ 0).
func NewBlockPool(size int) *BlockPool {
	if size <= 0 {
		size = DefaultMaxBlock
	}
	p := &BlockPool{size: size}
	p.pool.New = func() any { return &Block{buf: make([]byte, size), pool: p} }
	return p
}

// Size returns the capacity of the pool's buffers.
func (p *BlockPool) Size() int { return p.size }

// Get returns a block of n bytes (contents undefined). A request larger than
// the pool's size gets a buffer of its own that Release does not keep.
func (p *BlockPool) Get(n int) *Block {
	if n > p.size {
		return &Block{buf: make([]byte, n), n: n}
	}
	b := p.pool.Get().(*Block)
	b.n = n
	b.released = false
	return b
}
