package bencode

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// maxEncodeDepth bounds the nesting Marshal follows, which stops cyclic
// data (a map containing itself) with an error instead of a stack overflow.
const maxEncodeDepth = 1000

// Marshal returns the canonical bencoding of v:
//
//   - integers of every kind as i<n>e, bool as i0e or i1e;
//   - strings, []byte and byte arrays ([20]byte hashes) as byte strings;
//   - slices and arrays as lists;
//   - maps with string keys and structs as dicts, keys sorted by raw bytes.
//     Struct fields use the `bencode:"name,omitempty"` tag (default: the
//     field name; "-" leaves the field out); untagged embedded struct values
//     are flattened, untagged embedded struct pointers are ignored;
//   - pointers and interfaces as the value they hold. A nil pointer or nil
//     interface has no bencode form: as a struct field or map value it is
//     left out, anywhere else it is an error;
//   - Marshaler (and RawMessage) output, checked and copied verbatim.
//
// Floats, complex numbers, channels, functions and maps with non-string
// keys give an *UnsupportedTypeError.
func Marshal(v any) ([]byte, error) {
	e := encodeState{}
	if err := e.marshal(v); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// encodeState accumulates output.
type encodeState struct {
	buf   []byte
	depth int
}

// marshal appends the encoding of v to e.buf.
func (e *encodeState) marshal(v any) error {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return &UnsupportedValueError{Type: nil, Msg: "nil has no bencode form"}
	}
	return typeEncoder(rv.Type())(e, rv)
}

// encoderFunc appends the encoding of v (of the type it was built for).
type encoderFunc func(e *encodeState, v reflect.Value) error

// encoderCache maps reflect.Type to encoderFunc: like fieldCache, immutable
// per-type knowledge computed once.
var encoderCache sync.Map

// typeEncoder returns the encoder for t, building it once. A recursive type
// meets a placeholder that waits for the real encoder.
func typeEncoder(t reflect.Type) encoderFunc {
	if f, ok := encoderCache.Load(t); ok {
		return f.(encoderFunc)
	}
	var (
		ready sync.WaitGroup
		f     encoderFunc
	)
	ready.Add(1)
	placeholder := encoderFunc(func(e *encodeState, v reflect.Value) error {
		ready.Wait()
		return f(e, v)
	})
	if existing, loaded := encoderCache.LoadOrStore(t, placeholder); loaded {
		return existing.(encoderFunc)
	}
	f = newTypeEncoder(t, true)
	ready.Done()
	encoderCache.Store(t, f)
	return f
}

var marshalerType = reflect.TypeFor[Marshaler]()

// newTypeEncoder builds the encoder for t. With allowAddr, a type whose
// pointer implements Marshaler uses that method when the value is
// addressable.
func newTypeEncoder(t reflect.Type, allowAddr bool) encoderFunc {
	if t.Implements(marshalerType) {
		return marshalerEncoder
	}
	if allowAddr && t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(marshalerType) {
		plain := newTypeEncoder(t, false)
		return func(e *encodeState, v reflect.Value) error {
			if v.CanAddr() {
				return marshalerEncoder(e, v.Addr())
			}
			return plain(e, v)
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return boolEncoder
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intEncoder
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return uintEncoder
	case reflect.String:
		return stringEncoder
	case reflect.Interface:
		return interfaceEncoder
	case reflect.Pointer:
		return newPointerEncoder(t)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return bytesEncoder
		}
		return newListEncoder(t)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return byteArrayEncoder
		}
		return newListEncoder(t)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return unsupportedTypeEncoder
		}
		return newMapEncoder(t)
	case reflect.Struct:
		return newStructEncoder(t)
	}
	return unsupportedTypeEncoder
}

func unsupportedTypeEncoder(_ *encodeState, v reflect.Value) error {
	return &UnsupportedTypeError{Type: v.Type()}
}

// isNil reports whether v is a nil pointer or interface: no bencode form.
func isNil(v reflect.Value) bool {
	k := v.Kind()
	return (k == reflect.Pointer || k == reflect.Interface) && v.IsNil()
}

func marshalerEncoder(e *encodeState, v reflect.Value) error {
	if isNil(v) {
		return &UnsupportedValueError{Type: v.Type(), Msg: "nil Marshaler has no bencode form"}
	}
	m := v.Interface().(Marshaler)
	b, err := m.MarshalBencode()
	if err != nil {
		return &MarshalerError{Type: v.Type(), Err: err}
	}
	if err := checkValid(b, decodeOptions{maxDepth: maxEncodeDepth, allowUnsorted: true}); err != nil {
		return &MarshalerError{Type: v.Type(), Err: err}
	}
	e.buf = append(e.buf, b...)
	return nil
}

func boolEncoder(e *encodeState, v reflect.Value) error {
	if v.Bool() {
		e.buf = append(e.buf, "i1e"...)
	} else {
		e.buf = append(e.buf, "i0e"...)
	}
	return nil
}

func intEncoder(e *encodeState, v reflect.Value) error {
	e.buf = append(e.buf, 'i')
	e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	e.buf = append(e.buf, 'e')
	return nil
}

func uintEncoder(e *encodeState, v reflect.Value) error {
	e.buf = append(e.buf, 'i')
	e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	e.buf = append(e.buf, 'e')
	return nil
}

// appendString appends a byte string.
func (e *encodeState) appendString(s string) {
	e.buf = strconv.AppendInt(e.buf, int64(len(s)), 10)
	e.buf = append(e.buf, ':')
	e.buf = append(e.buf, s...)
}

// appendBytes appends a byte string.
func (e *encodeState) appendBytes(b []byte) {
	e.buf = strconv.AppendInt(e.buf, int64(len(b)), 10)
	e.buf = append(e.buf, ':')
	e.buf = append(e.buf, b...)
}

func stringEncoder(e *encodeState, v reflect.Value) error {
	e.appendString(v.String())
	return nil
}

func bytesEncoder(e *encodeState, v reflect.Value) error {
	e.appendBytes(v.Bytes())
	return nil
}

func byteArrayEncoder(e *encodeState, v reflect.Value) error {
	if !v.CanAddr() {
		// Bytes needs an addressable array; copy to one.
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c
	}
	e.appendBytes(v.Bytes())
	return nil
}

// interfaceEncoder encodes the value an interface holds, with fast paths
// for the types decoding into `any` produces.
func interfaceEncoder(e *encodeState, v reflect.Value) error {
	if v.IsNil() {
		return &UnsupportedValueError{Type: v.Type(), Msg: "nil interface has no bencode form"}
	}
	return e.anyValue(v.Interface())
}

// anyValue encodes x, with native code for the types decoding into `any`
// produces and reflection for the rest.
func (e *encodeState) anyValue(x any) error {
	switch x := x.(type) {
	case string:
		e.appendString(x)
		return nil
	case int64:
		e.buf = append(e.buf, 'i')
		e.buf = strconv.AppendInt(e.buf, x, 10)
		e.buf = append(e.buf, 'e')
		return nil
	case []any:
		return e.anyList(x)
	case map[string]any:
		return e.anyMap(x)
	}
	elem := reflect.ValueOf(x)
	return e.nested(elem, typeEncoder(elem.Type()))
}

// anyList encodes a []any.
func (e *encodeState) anyList(list []any) error {
	if e.depth++; e.depth > maxEncodeDepth {
		return &UnsupportedValueError{Type: reflect.TypeOf(list), Msg: "nested more than 1000 levels deep (cyclic data?)"}
	}
	e.buf = append(e.buf, 'l')
	for _, x := range list {
		if x == nil {
			return &UnsupportedValueError{Type: reflect.TypeOf(list), Msg: "nil element has no bencode form"}
		}
		if err := e.anyValue(x); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, 'e')
	e.depth--
	return nil
}

// anyMap encodes a map[string]any, keys sorted, nil values left out.
func (e *encodeState) anyMap(m map[string]any) error {
	if e.depth++; e.depth > maxEncodeDepth {
		return &UnsupportedValueError{Type: reflect.TypeOf(m), Msg: "nested more than 1000 levels deep (cyclic data?)"}
	}
	keys := make([]string, 0, len(m))
	for k, x := range m {
		if x != nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	e.buf = append(e.buf, 'd')
	for _, k := range keys {
		e.appendString(k)
		if err := e.anyValue(m[k]); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, 'e')
	e.depth--
	return nil
}

// nested runs enc on v one level deeper, failing on runaway depth.
func (e *encodeState) nested(v reflect.Value, enc encoderFunc) error {
	e.depth++
	if e.depth > maxEncodeDepth {
		return &UnsupportedValueError{Type: v.Type(), Msg: "nested more than 1000 levels deep (cyclic data?)"}
	}
	err := enc(e, v)
	e.depth--
	return err
}

func newPointerEncoder(t reflect.Type) encoderFunc {
	elemEnc := typeEncoder(t.Elem())
	return func(e *encodeState, v reflect.Value) error {
		if v.IsNil() {
			return &UnsupportedValueError{Type: v.Type(), Msg: "nil pointer has no bencode form"}
		}
		return e.nested(v.Elem(), elemEnc)
	}
}

func newListEncoder(t reflect.Type) encoderFunc {
	elemEnc := typeEncoder(t.Elem())
	return func(e *encodeState, v reflect.Value) error {
		e.depth++
		if e.depth > maxEncodeDepth {
			return &UnsupportedValueError{Type: v.Type(), Msg: "nested more than 1000 levels deep (cyclic data?)"}
		}
		e.buf = append(e.buf, 'l')
		for i := range v.Len() {
			if err := elemEnc(e, v.Index(i)); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, 'e')
		e.depth--
		return nil
	}
}

// mapEntry is one map entry during sorting.
type mapEntry struct {
	key   string
	value reflect.Value
}

func newMapEncoder(t reflect.Type) encoderFunc {
	elemEnc := typeEncoder(t.Elem())
	return func(e *encodeState, v reflect.Value) error {
		e.depth++
		if e.depth > maxEncodeDepth {
			return &UnsupportedValueError{Type: v.Type(), Msg: "nested more than 1000 levels deep (cyclic data?)"}
		}
		entries := make([]mapEntry, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			val := it.Value()
			if isNil(val) {
				continue
			}
			entries = append(entries, mapEntry{key: it.Key().String(), value: val})
		}
		slices.SortFunc(entries, func(a, b mapEntry) int { return strings.Compare(a.key, b.key) })
		e.buf = append(e.buf, 'd')
		for _, en := range entries {
			e.appendString(en.key)
			if err := elemEnc(e, en.value); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, 'e')
		e.depth--
		return nil
	}
}

// isEmpty reports whether v counts as empty for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

func newStructEncoder(t reflect.Type) encoderFunc {
	fields := cachedFields(t)
	if fields.err != nil {
		err := fields.err
		return func(_ *encodeState, v reflect.Value) error {
			return &UnsupportedValueError{Type: v.Type(), Msg: err.Error()}
		}
	}
	encs := make([]encoderFunc, len(fields.list))
	for i, f := range fields.list {
		encs[i] = typeEncoder(f.typ)
	}
	return func(e *encodeState, v reflect.Value) error {
		e.depth++
		if e.depth > maxEncodeDepth {
			return &UnsupportedValueError{Type: v.Type(), Msg: "nested more than 1000 levels deep (cyclic data?)"}
		}
		e.buf = append(e.buf, 'd')
		for i := range fields.list {
			f := &fields.list[i]
			fv := v
			for _, x := range f.index {
				fv = fv.Field(x)
			}
			if isNil(fv) || (f.omitEmpty && isEmpty(fv)) {
				continue
			}
			e.appendString(f.name)
			if err := encs[i](e, fv); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, 'e')
		e.depth--
		return nil
	}
}
