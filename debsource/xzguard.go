package debsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is wrapped by the errors of a Decompressor whose input
// declares more memory than allowed (an xz dictionary past MaxXZDict) or
// produces more bytes than allowed (MaxBytes). Test with errors.Is.
var ErrTooLarge = errors.New("debsource: compressed file exceeds a limit")

// xzGuard reads an xz file for the decoder and walks its structure on the
// way (RFC-like spec: tukaani.org/xz/xz-file-format.txt): stream headers,
// block headers, LZMA2 chunk headers (whose sizes let it step over the
// compressed data without decoding it), indexes, footers and padding. It
// fails the read that would hand the decoder a block header declaring a
// dictionary larger than maxDict, because the decoder allocates whatever
// dictionary a block declares. Anything it does not recognise fails too:
// the guard must never lose track of where the block headers are.
type xzGuard struct {
	r       io.Reader
	maxDict int64
	err     error

	state  xzState
	need   int    // bytes still to collect into buf, or to skip
	buf    []byte // the structure being collected
	check  int    // size of the block check of the current stream
	count  int64  // bytes of the current block (header+data) or index so far
	off    int64  // offset in the input, for errors
	blocks int    // block headers seen

	// Index parsing: the record count, then 2 integers per record.
	idxCount   uint64 // records the index declares
	idxInts    uint64 // integers read after the count
	idxHasCnt  bool
	idxVal     uint64 // the integer being read
	idxShift   uint   // its bits so far
	idxTailLen int    // padding+CRC bytes still to skip, once known
	idxInTail  bool
}

type xzState uint8

const (
	xzStreamHeader  xzState = iota // collecting 12 bytes
	xzBlockOrIndex                 // next byte: a block header size, or 0 for the index
	xzBlockHeader                  // collecting the rest of a block header
	xzChunkControl                 // next byte: an LZMA2 chunk control
	xzChunkHeader                  // collecting the rest of a chunk header
	xzSkip                         // skipping need bytes of chunk data, then a chunk control
	xzBlockPadding                 // skipping zero bytes to a multiple of 4, then the check
	xzBlockCheck                   // skipping need bytes of check
	xzIndex                        // collecting the index (up to its end, found by parsing)
	xzFooter                       // collecting 12 bytes
	xzStreamPadding                // zero bytes, or the next stream's magic
)

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}

func newXZGuard(r io.Reader, maxDict int64) *xzGuard {
	return &xzGuard{r: r, maxDict: maxDict, state: xzStreamHeader, need: 12}
}

func (g *xzGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; {
		k, perr := g.step(p[i:n])
		if perr != nil {
			g.err = perr
			return 0, perr
		}
		i += k
		g.off += int64(k)
	}
	return n, err
}

func (g *xzGuard) fail(format string, args ...any) error {
	return fmt.Errorf("debsource: xz: at byte %d: %s", g.off, fmt.Sprintf(format, args...))
}

// collect appends up to g.need bytes of p to g.buf and reports how many it
// took and whether the structure is complete.
func (g *xzGuard) collect(p []byte) (int, bool) {
	k := min(g.need, len(p))
	g.buf = append(g.buf, p[:k]...)
	g.need -= k
	return k, g.need == 0
}

// step consumes a prefix of p (at least one byte) and advances the state.
func (g *xzGuard) step(p []byte) (int, error) {
	switch g.state {
	case xzStreamHeader:
		k, done := g.collect(p)
		if done {
			h := g.buf
			if !bytes.Equal(h[:6], xzMagic) || h[6] != 0 || h[7]&0xf0 != 0 {
				return 0, g.fail("not an xz stream header")
			}
			g.check = xzCheckSize(h[7] & 0x0f)
			g.buf = g.buf[:0]
			g.state = xzBlockOrIndex
		}
		return k, nil
	case xzBlockOrIndex:
		if p[0] == 0 {
			g.state, g.count = xzIndex, 1
			g.idxHasCnt, g.idxInts, g.idxVal, g.idxShift, g.idxInTail = false, 0, 0, 0, false
			return 1, nil
		}
		g.buf = append(g.buf[:0], p[0])
		g.need = (int(p[0])+1)*4 - 1
		g.count = 0
		g.state = xzBlockHeader
		return 1, nil
	case xzBlockHeader:
		k, done := g.collect(p)
		if done {
			if err := g.checkBlockHeader(g.buf); err != nil {
				return 0, err
			}
			g.blocks++
			g.count = int64(len(g.buf))
			g.buf = g.buf[:0]
			g.state = xzChunkControl
		}
		return k, nil
	case xzChunkControl:
		c := p[0]
		g.count++
		switch {
		case c == 0x00: // end of the LZMA2 data
			g.state = xzBlockPadding
			g.need = int((4 - g.count%4) % 4)
		case c == 0x01 || c == 0x02: // uncompressed chunk: 2 bytes of size
			g.buf = append(g.buf[:0], c)
			g.need = 2
			g.state = xzChunkHeader
		case c >= 0x80: // LZMA chunk: 4 bytes of sizes, and a props byte from 0xc0
			g.buf = append(g.buf[:0], c)
			g.need = 4
			if c >= 0xc0 {
				g.need = 5
			}
			g.state = xzChunkHeader
		default:
			return 0, g.fail("invalid LZMA2 chunk control byte %#x", c)
		}
		return 1, nil
	case xzChunkHeader:
		k, done := g.collect(p)
		g.count += int64(k)
		if done {
			h := g.buf
			if h[0] < 0x80 {
				g.need = (int(h[1])<<8 | int(h[2])) + 1
			} else {
				g.need = (int(h[3])<<8 | int(h[4])) + 1
			}
			g.buf = g.buf[:0]
			g.state = xzSkip
		}
		return k, nil
	case xzSkip:
		k := min(g.need, len(p))
		g.need -= k
		g.count += int64(k)
		if g.need == 0 {
			g.state = xzChunkControl
		}
		return k, nil
	case xzBlockPadding:
		if g.need == 0 {
			g.state, g.need = xzBlockCheck, g.check
			return 0, nil
		}
		if p[0] != 0 {
			return 0, g.fail("nonzero block padding")
		}
		g.need--
		return 1, nil
	case xzBlockCheck:
		if g.need == 0 {
			g.state = xzBlockOrIndex
			return 0, nil
		}
		k := min(g.need, len(p))
		g.need -= k
		return k, nil
	case xzIndex:
		return g.indexStep(p)
	case xzFooter:
		k, done := g.collect(p)
		if done {
			if !bytes.Equal(g.buf[10:12], []byte("YZ")) {
				return 0, g.fail("no xz stream footer")
			}
			g.buf = g.buf[:0]
			g.state = xzStreamPadding
		}
		return k, nil
	case xzStreamPadding:
		if p[0] == 0 {
			return 1, nil
		}
		g.state, g.need, g.blocks = xzStreamHeader, 12, 0
		return 0, nil
	}
	return 0, g.fail("internal state %d", g.state)
}

// checkBlockHeader reads a block header's filter flags and refuses an LZMA2
// dictionary larger than maxDict.
func (g *xzGuard) checkBlockHeader(h []byte) error {
	flags := h[1]
	if flags&0x3c != 0 {
		return g.fail("reserved block header flags %#x", flags)
	}
	rest := h[2:]
	var err error
	if flags&0x40 != 0 {
		if _, rest, err = uvarint(rest); err != nil {
			return g.fail("block header: compressed size: %v", err)
		}
	}
	if flags&0x80 != 0 {
		if _, rest, err = uvarint(rest); err != nil {
			return g.fail("block header: uncompressed size: %v", err)
		}
	}
	filters := int(flags&0x03) + 1
	var id uint64
	for i := range filters {
		var size uint64
		if id, rest, err = uvarint(rest); err != nil {
			return g.fail("block header: filter %d: %v", i, err)
		}
		if size, rest, err = uvarint(rest); err != nil || size > uint64(len(rest)) {
			return g.fail("block header: filter %d properties", i)
		}
		props := rest[:size]
		rest = rest[size:]
		if id == 0x21 { // LZMA2
			if len(props) != 1 {
				return g.fail("LZMA2 filter with %d property bytes", len(props))
			}
			dict, ok := lzma2DictSize(props[0])
			if !ok {
				return g.fail("LZMA2 dictionary code %d is invalid", props[0])
			}
			if dict > g.maxDict {
				return fmt.Errorf("%w: xz block %d declares a dictionary of %d bytes, more than the %d allowed (Debian uses 8 MiB)",
					ErrTooLarge, g.blocks+1, dict, g.maxDict)
			}
		}
	}
	if id != 0x21 {
		return g.fail("the last filter is %#x, not LZMA2", id)
	}
	return nil
}

// lzma2DictSize decodes LZMA2's one-byte dictionary size.
func lzma2DictSize(c byte) (int64, bool) {
	switch {
	case c > 40:
		return 0, false
	case c == 40:
		return 1<<32 - 1, true
	}
	return int64(2|c&1) << (c/2 + 11), true
}

// xzCheckSize returns the size of a block check of the given type.
func xzCheckSize(t byte) int {
	switch {
	case t == 0:
		return 0
	case t <= 3:
		return 4
	case t <= 6:
		return 8
	case t <= 9:
		return 16
	case t <= 12:
		return 32
	}
	return 64
}

// indexStep consumes index bytes after the indicator: the record count,
// two integers per record, padding to a multiple of 4 and a CRC32.
func (g *xzGuard) indexStep(p []byte) (int, error) {
	if g.idxInTail {
		k := min(g.idxTailLen, len(p))
		g.idxTailLen -= k
		if g.idxTailLen == 0 {
			g.state, g.need = xzFooter, 12
			g.buf = g.buf[:0]
		}
		return k, nil
	}
	b := p[0]
	g.count++
	if g.idxShift >= 63 {
		return 0, g.fail("index integer longer than 9 bytes")
	}
	g.idxVal |= uint64(b&0x7f) << g.idxShift
	g.idxShift += 7
	if b&0x80 != 0 {
		return 1, nil
	}
	v := g.idxVal
	g.idxVal, g.idxShift = 0, 0
	if !g.idxHasCnt {
		if v != uint64(g.blocks) {
			return 0, g.fail("index lists %d blocks, the stream has %d", v, g.blocks)
		}
		g.idxHasCnt, g.idxCount = true, v
	} else {
		g.idxInts++
	}
	if g.idxInts == 2*g.idxCount {
		g.idxInTail = true
		g.idxTailLen = int((4-g.count%4)%4) + 4
	}
	return 1, nil
}

// uvarint reads xz's multibyte integer (at most 9 bytes).
func uvarint(b []byte) (uint64, []byte, error) {
	var v uint64
	for i := 0; i < 9; i++ {
		if i == len(b) {
			return 0, b, io.ErrUnexpectedEOF
		}
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, b[i+1:], nil
		}
	}
	return 0, b, errors.New("integer longer than 9 bytes")
}
