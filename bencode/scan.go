package bencode

import (
	"bytes"
	"io"
)

// DefaultMaxDepth is the nesting depth of lists and dicts that Unmarshal
// accepts and a Decoder accepts unless told otherwise.
const DefaultMaxDepth = 64

// decodeOptions are the strictness and limits of one decoding.
type decodeOptions struct {
	maxDepth      int
	allowUnsorted bool
	// validated marks input already checked by this decoding, re-walked
	// only to find keys: key order is not checked again, which keeps the
	// loose mode's rescans linear even when nested dicts are unsorted.
	validated bool
}

// decodeState walks one complete bencode value held in memory. It is used
// by Unmarshal directly and by Decoder once it has framed a value.
type decodeState struct {
	data  []byte
	off   int   // next byte to read in data
	base  int64 // stream offset of data[0], for error messages
	depth int
	opts  decodeOptions
}

// pos returns the stream offset of data[off].
func (d *decodeState) pos(off int) int64 { return d.base + int64(off) }

// peekValue returns the first byte of the next value, or an error if the
// input ends there.
func (d *decodeState) peekValue() (byte, error) {
	if d.off >= len(d.data) {
		return 0, syntaxErr(d.pos(d.off), io.ErrUnexpectedEOF, "unexpected end of input, expected a value")
	}
	return d.data[d.off], nil
}

// badValueStart reports a byte that cannot start a value.
func (d *decodeState) badValueStart(c byte) error {
	return syntaxErr(d.pos(d.off), nil, "expected a value ('i', 'l', 'd' or a string length), found %s", describeByte(c))
}

// enter records one more level of nesting at the list or dict opening at
// d.off, failing if that exceeds the depth limit.
func (d *decodeState) enter() error {
	d.depth++
	if d.depth > d.opts.maxDepth {
		return syntaxErr(d.pos(d.off), ErrLimit, "nesting deeper than %d lists and dicts", d.opts.maxDepth)
	}
	return nil
}

// listNext reports whether another list element follows, consuming the
// closing 'e' if not.
func (d *decodeState) listNext() (bool, error) {
	if d.off >= len(d.data) {
		return false, syntaxErr(d.pos(d.off), io.ErrUnexpectedEOF, "unexpected end of input in list, expected a value or 'e'")
	}
	if d.data[d.off] == 'e' {
		d.off++
		d.depth--
		return false, nil
	}
	return true, nil
}

// keyOrder checks that a dict's keys are unique and, unless unsorted keys
// are allowed, strictly increasing in raw byte order.
type keyOrder struct {
	dictStart int    // offset of the dict's 'd'
	prev      []byte // the previous key
	started   bool
	seen      map[string]struct{} // only once an unsorted key was allowed
}

// nextKey returns the next dict key, or done=true after consuming the
// closing 'e'. It enforces key order and uniqueness.
func (d *decodeState) nextKey(ko *keyOrder) (key []byte, done bool, err error) {
	if d.off >= len(d.data) {
		return nil, false, syntaxErr(d.pos(d.off), io.ErrUnexpectedEOF, "unexpected end of input in dict, expected a string key or 'e'")
	}
	c := d.data[d.off]
	if c == 'e' {
		d.off++
		d.depth--
		return nil, true, nil
	}
	if !isDigit(c) {
		return nil, false, syntaxErr(d.pos(d.off), nil, "expected a string key or 'e' in dict, found %s", describeByte(c))
	}
	keyOff := d.off
	key, d.off, err = lexString(d.data, d.off, d.base)
	if err != nil {
		return nil, false, err
	}
	if err := d.checkKeyOrder(ko, key, keyOff); err != nil {
		return nil, false, err
	}
	if d.off >= len(d.data) {
		return nil, false, syntaxErr(d.pos(d.off), io.ErrUnexpectedEOF, "unexpected end of input in dict, expected the value of key %q", key)
	}
	return key, false, nil
}

// checkKeyOrder applies the ordering rules to a key found at keyOff.
func (d *decodeState) checkKeyOrder(ko *keyOrder, key []byte, keyOff int) error {
	if d.opts.validated {
		return nil
	}
	if !ko.started {
		ko.started = true
		ko.prev = key
		return nil
	}
	if ko.seen != nil {
		if _, dup := ko.seen[string(key)]; dup {
			return syntaxErr(d.pos(keyOff), nil, "duplicate dict key %q", key)
		}
		ko.seen[string(key)] = struct{}{}
		return nil
	}
	switch cmp := bytes.Compare(key, ko.prev); {
	case cmp == 0:
		return syntaxErr(d.pos(keyOff), nil, "duplicate dict key %q", key)
	case cmp < 0 && !d.opts.allowUnsorted:
		return syntaxErr(d.pos(keyOff), nil, "dict keys not sorted: %q after %q", key, ko.prev)
	case cmp < 0:
		// First out-of-order key in a loosely decoded dict: from now on
		// uniqueness needs a set of every key seen, earlier ones included.
		seen, err := d.keysBefore(ko.dictStart, keyOff)
		if err != nil {
			return err
		}
		if _, dup := seen[string(key)]; dup {
			return syntaxErr(d.pos(keyOff), nil, "duplicate dict key %q", key)
		}
		seen[string(key)] = struct{}{}
		ko.seen = seen
		return nil
	}
	ko.prev = key
	return nil
}

// keysBefore collects the keys of the dict opening at dictStart that lie
// before offset end. That stretch has already been validated.
func (d *decodeState) keysBefore(dictStart, end int) (map[string]struct{}, error) {
	sub := decodeState{data: d.data[:end], off: dictStart + 1, base: d.base, opts: d.opts}
	sub.opts.validated = true
	seen := make(map[string]struct{})
	for sub.off < end {
		key, next, err := lexString(sub.data, sub.off, sub.base)
		if err != nil {
			return nil, err
		}
		seen[string(key)] = struct{}{}
		sub.off = next
		if err := sub.skip(); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

// skip validates the next value and moves past it.
func (d *decodeState) skip() error {
	c, err := d.peekValue()
	if err != nil {
		return err
	}
	switch {
	case c == 'i':
		_, d.off, err = lexInt(d.data, d.off, d.base)
		return err
	case isDigit(c):
		_, d.off, err = lexString(d.data, d.off, d.base)
		return err
	case c == 'l':
		if err := d.enter(); err != nil {
			return err
		}
		d.off++
		for {
			more, err := d.listNext()
			if err != nil || !more {
				return err
			}
			if err := d.skip(); err != nil {
				return err
			}
		}
	case c == 'd':
		if err := d.enter(); err != nil {
			return err
		}
		ko := keyOrder{dictStart: d.off}
		d.off++
		for {
			_, done, err := d.nextKey(&ko)
			if err != nil || done {
				return err
			}
			if err := d.skip(); err != nil {
				return err
			}
		}
	}
	return d.badValueStart(c)
}

// rawValue validates the next value and returns its exact bytes (aliasing
// the input).
func (d *decodeState) rawValue() ([]byte, error) {
	start := d.off
	if err := d.skip(); err != nil {
		return nil, err
	}
	return d.data[start:d.off:d.off], nil
}

// checkValid reports whether data holds exactly one well-formed value under
// opts.
func checkValid(data []byte, opts decodeOptions) error {
	d := decodeState{data: data, opts: opts}
	if err := d.skip(); err != nil {
		return err
	}
	return d.checkEnd()
}

// checkEnd fails if input remains after the top-level value.
func (d *decodeState) checkEnd() error {
	if d.off != len(d.data) {
		return syntaxErr(d.pos(d.off), nil, "trailing data after the top-level value (%d bytes, starting %s)",
			len(d.data)-d.off, describeByte(d.data[d.off]))
	}
	return nil
}
