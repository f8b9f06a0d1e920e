package bencode

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
)

// Unmarshal decodes the single bencode value in data into v, which must be
// a non-nil pointer. Decoding is strict: dict keys sorted by raw bytes and
// unique, integers and lengths without leading zeros, no "-0", and nothing
// after the value. Nesting is limited to DefaultMaxDepth.
//
// Values are stored as encoding/json would: into the pointed-to value,
// allocating pointers, maps and slices as needed. Dict keys with no matching
// struct field are skipped (still checked). Decoding into an `any` gives
// int64, string, []any and map[string]any. A struct is not cleared first:
// fields whose keys are absent keep their values; a slice is replaced.
//
// Errors are *SyntaxError for malformed input, *UnmarshalTypeError for a
// value that does not fit its Go destination, *InvalidUnmarshalError for a
// bad v; all give the byte offset. On error, v may be partly filled.
func Unmarshal(data []byte, v any) error {
	return unmarshal(data, 0, v, decodeOptions{maxDepth: DefaultMaxDepth})
}

// UnmarshalLoose is Unmarshal that accepts dict keys out of order, as found
// in some real-world .torrent files. Keys must still be unique, and
// everything else stays strict. A RawMessage still receives the exact
// original bytes, so an info dict's infohash is right even when its keys
// are unsorted.
func UnmarshalLoose(data []byte, v any) error {
	return unmarshal(data, 0, v, decodeOptions{maxDepth: DefaultMaxDepth, allowUnsorted: true})
}

// unmarshal decodes data, which starts at stream offset base.
func unmarshal(data []byte, base int64, v any, opts decodeOptions) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	d := decodeState{data: data, base: base, opts: opts}
	if err := d.value(rv); err != nil {
		return err
	}
	return d.checkEnd()
}

// typeError reports that the value at offset off, described by what, cannot
// be stored in type t.
func (d *decodeState) typeError(off int, what string, t reflect.Type) error {
	return &UnmarshalTypeError{Value: what, Type: t, Offset: d.pos(off)}
}

// withField prefixes the struct or map key to an UnmarshalTypeError's path.
func withField(err error, key string) error {
	var te *UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			te.Field = key
		} else {
			te.Field = key + "." + te.Field
		}
	}
	return err
}

// kindOf describes the value starting with byte c, for type errors.
func kindOf(c byte) string {
	switch {
	case c == 'i':
		return "integer"
	case c == 'l':
		return "list"
	case c == 'd':
		return "dict"
	}
	return "string"
}

// value decodes the next value into v.
func (d *decodeState) value(v reflect.Value) error {
	c, err := d.peekValue()
	if err != nil {
		return err
	}
	u, v := indirect(v)
	if u != nil {
		start := d.off
		raw, err := d.rawValue()
		if err != nil {
			return err
		}
		if err := u.UnmarshalBencode(raw); err != nil {
			return fmt.Errorf("bencode: at offset %d: %T.UnmarshalBencode: %w", d.pos(start), u, err)
		}
		return nil
	}
	if v.Kind() == reflect.Interface {
		if v.NumMethod() != 0 {
			return d.typeError(d.off, kindOf(c), v.Type())
		}
		x, err := d.anyValue()
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(x))
		return nil
	}
	return d.directValue(v, c, false)
}

// directValue decodes the value starting with byte c into v, which is
// neither a pointer, an interface nor an Unmarshaler. elemDirect says the
// same of v's elements, if it is a slice or array.
func (d *decodeState) directValue(v reflect.Value, c byte, elemDirect bool) error {
	switch {
	case c == 'i':
		return d.intValue(v)
	case isDigit(c):
		return d.stringValue(v)
	case c == 'l':
		return d.listValue(v, elemDirect)
	case c == 'd':
		return d.dictValue(v)
	}
	return d.badValueStart(c)
}

// indirect walks down v through pointers (allocating nil ones) and non-nil
// interfaces holding pointers, stopping at an Unmarshaler or at a value that
// is neither.
func indirect(v reflect.Value) (Unmarshaler, reflect.Value) {
	v0 := v
	haveAddr := false
	// Start from the address of a named addressable value so that methods
	// with pointer receivers are found.
	if v.Kind() != reflect.Pointer && v.Type().Name() != "" && v.CanAddr() {
		haveAddr = true
		v = v.Addr()
	}
	for {
		if v.Kind() == reflect.Interface && !v.IsNil() {
			if e := v.Elem(); e.Kind() == reflect.Pointer && !e.IsNil() {
				haveAddr = false
				v = e
				continue
			}
		}
		if v.Kind() != reflect.Pointer {
			return nil, v
		}
		if !v.IsNil() && v.Elem().Kind() == reflect.Interface && v.Elem().Elem().Equal(v) {
			// A pointer to an interface holding that same pointer: stop
			// rather than loop forever.
			return nil, v.Elem()
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if v.Type().NumMethod() > 0 && v.CanInterface() {
			if u, ok := v.Interface().(Unmarshaler); ok {
				return u, reflect.Value{}
			}
		}
		if haveAddr {
			v = v0
			haveAddr = false
		} else {
			v = v.Elem()
		}
	}
}

// intValue decodes an integer into v.
func (d *decodeState) intValue(v reflect.Value) error {
	start := d.off
	tok, next, err := lexInt(d.data, d.off, d.base)
	if err != nil {
		return err
	}
	d.off = next
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, ok := tok.int64()
		if !ok || v.OverflowInt(x) {
			return d.typeError(start, tok.describe(), v.Type())
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if tok.neg || tok.overflow || v.OverflowUint(tok.mag) {
			return d.typeError(start, tok.describe(), v.Type())
		}
		v.SetUint(tok.mag)
	case reflect.Bool:
		if tok.neg || tok.overflow || tok.mag > 1 {
			return d.typeError(start, tok.describe(), v.Type())
		}
		v.SetBool(tok.mag == 1)
	default:
		return d.typeError(start, tok.describe(), v.Type())
	}
	return nil
}

// stringValue decodes a string into v: a string, a byte slice (one copy)
// or a byte array of exactly the string's length.
func (d *decodeState) stringValue(v reflect.Value) error {
	start := d.off
	s, next, err := lexString(d.data, d.off, d.base)
	if err != nil {
		return err
	}
	d.off = next
	switch {
	case v.Kind() == reflect.String:
		v.SetString(string(s))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8:
		v.SetBytes(bytes.Clone(s))
	case v.Kind() == reflect.Array && v.Type().Elem().Kind() == reflect.Uint8 && v.CanAddr():
		if len(s) != v.Len() {
			return d.typeError(start, fmt.Sprintf("string of %d bytes", len(s)), v.Type())
		}
		copy(v.Bytes(), s)
	default:
		return d.typeError(start, "string", v.Type())
	}
	return nil
}

// listValue decodes a list into a slice (replacing its contents) or an
// array (which must have exactly as many elements).
func (d *decodeState) listValue(v reflect.Value, elemDirect bool) error {
	start := d.off
	kind := v.Kind()
	if kind != reflect.Slice && kind != reflect.Array {
		return d.typeError(start, "list", v.Type())
	}
	if err := d.enter(); err != nil {
		return err
	}
	d.off++
	if kind == reflect.Slice {
		if n, ok := d.countScalars(); ok && n > v.Cap() {
			v.Grow(n - v.Len())
		}
	}
	i := 0
	for ; ; i++ {
		more, err := d.listNext()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if kind == reflect.Slice {
			if i >= v.Cap() {
				v.Grow(d.growBy(v.Cap()))
			}
			if i >= v.Len() {
				v.SetLen(i + 1)
			}
		} else if i >= v.Len() {
			return d.typeError(start, fmt.Sprintf("list of more than %d elements", v.Len()), v.Type())
		}
		elem := v.Index(i)
		elem.SetZero()
		if elemDirect {
			err = d.directValue(elem, d.data[d.off], false)
		} else {
			err = d.value(elem)
		}
		if err != nil {
			return withField(err, fmt.Sprint(i))
		}
	}
	switch {
	case kind == reflect.Array && i != v.Len():
		return d.typeError(start, fmt.Sprintf("list of %d elements", i), v.Type())
	case kind == reflect.Slice && v.IsNil():
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	case kind == reflect.Slice:
		v.SetLen(i)
	}
	return nil
}

// countScalars counts the elements of the list whose first element is at
// d.off if they are all integers and strings, hopping over them without
// decoding. It reports false, having looked at no more than the first
// non-scalar, for other lists and for malformed input (left for the decoding
// proper to report). The count is backed by bytes present in the input.
func (d *decodeState) countScalars() (int, bool) {
	n := 0
	for p := d.off; p < len(d.data); n++ {
		switch c := d.data[p]; {
		case c == 'e':
			return n, true
		case isDigit(c):
			length, next, err := lexLength(d.data, p, d.base)
			if err != nil || length > int64(len(d.data)-next) {
				return 0, false
			}
			p = next + int(length)
		case c == 'i':
			end := bytes.IndexByte(d.data[p:], 'e')
			if end < 0 {
				return 0, false
			}
			p += end + 1
		default:
			return 0, false
		}
	}
	return 0, false
}

// minListGrowth is the capacity a slice first gets while decoding a list:
// growing one element at a time would cost an allocation per doubling for
// the short lists (paths, tiers) torrents are full of.
const minListGrowth = 4

// growBy returns how many elements to add to a slice of capacity c that is
// full: it doubles, starting at minListGrowth, but never reserves more
// elements than the rest of the input could hold (each takes at least 2
// bytes), so a hostile list cannot make it over-allocate.
func (d *decodeState) growBy(c int) int {
	return max(1, min(max(c, minListGrowth), (len(d.data)-d.off)/2))
}

// dictValue decodes a dict into a struct or a map with string keys.
func (d *decodeState) dictValue(v reflect.Value) error {
	switch {
	case v.Kind() == reflect.Struct:
		return d.structValue(v)
	case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
		return d.mapValue(v)
	}
	return d.typeError(d.off, "dict", v.Type())
}

// structValue decodes a dict into struct v, skipping unknown keys.
func (d *decodeState) structValue(v reflect.Value) error {
	fields := cachedFields(v.Type())
	if fields.err != nil {
		return &UnsupportedValueError{Type: v.Type(), Msg: fields.err.Error()}
	}
	if err := d.enter(); err != nil {
		return err
	}
	ko := keyOrder{dictStart: d.off}
	d.off++
	for {
		key, done, err := d.nextKey(&ko)
		if err != nil || done {
			return err
		}
		i, ok := fields.byName[string(key)]
		if !ok {
			if err := d.skip(); err != nil {
				return err
			}
			continue
		}
		f := &fields.list[i]
		fv := v
		for _, x := range f.index {
			fv = fv.Field(x)
		}
		if f.direct {
			err = d.directValue(fv, d.data[d.off], f.elemDirect)
		} else {
			err = d.value(fv)
		}
		if err != nil {
			return withField(err, f.name)
		}
	}
}

// mapValue decodes a dict into map v (allocated if nil), adding its entries.
func (d *decodeState) mapValue(v reflect.Value) error {
	t := v.Type()
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	if err := d.enter(); err != nil {
		return err
	}
	ko := keyOrder{dictStart: d.off}
	d.off++
	keyValue := reflect.New(t.Key()).Elem()
	elem := reflect.New(t.Elem()).Elem()
	for {
		key, done, err := d.nextKey(&ko)
		if err != nil || done {
			return err
		}
		elem.SetZero()
		if err := d.value(elem); err != nil {
			return withField(err, string(key))
		}
		keyValue.SetString(string(key))
		v.SetMapIndex(keyValue, elem)
	}
}

var int64Type = reflect.TypeFor[int64]()

// anyValue decodes the next value as int64, string, []any or
// map[string]any.
func (d *decodeState) anyValue() (any, error) {
	c, err := d.peekValue()
	if err != nil {
		return nil, err
	}
	start := d.off
	switch {
	case c == 'i':
		tok, next, err := lexInt(d.data, d.off, d.base)
		if err != nil {
			return nil, err
		}
		d.off = next
		x, ok := tok.int64()
		if !ok {
			return nil, d.typeError(start, tok.describe(), int64Type)
		}
		return x, nil
	case isDigit(c):
		s, next, err := lexString(d.data, d.off, d.base)
		if err != nil {
			return nil, err
		}
		d.off = next
		return string(s), nil
	case c == 'l':
		if err := d.enter(); err != nil {
			return nil, err
		}
		d.off++
		n, ok := d.countScalars()
		if !ok {
			n = d.growBy(0)
		}
		list := make([]any, 0, n)
		for {
			more, err := d.listNext()
			if err != nil || !more {
				return list, err
			}
			x, err := d.anyValue()
			if err != nil {
				return nil, err
			}
			list = append(list, x)
		}
	case c == 'd':
		if err := d.enter(); err != nil {
			return nil, err
		}
		ko := keyOrder{dictStart: d.off}
		d.off++
		m := map[string]any{}
		for {
			key, done, err := d.nextKey(&ko)
			if err != nil || done {
				return m, err
			}
			x, err := d.anyValue()
			if err != nil {
				return nil, err
			}
			m[string(key)] = x
		}
	}
	return nil, d.badValueStart(c)
}
