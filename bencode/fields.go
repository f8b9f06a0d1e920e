package bencode

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// field describes one struct field that has a dict key.
type field struct {
	name      string       // the dict key
	index     []int        // reflect index path (several steps when flattened from embedded structs)
	typ       reflect.Type // the field's type
	omitEmpty bool
	depth     int // embedding depth, for resolving clashes
	// direct: decoding needs no pointer chasing and no Unmarshaler
	// check for this field's value; elemDirect: the same for the elements
	// of a slice or array field. Both spare a reflect lookup per value.
	direct, elemDirect bool
}

var unmarshalerType = reflect.TypeFor[Unmarshaler]()

// isDirect reports whether values of type t are decoded without indirect:
// t is not a pointer or interface and neither t nor *t is an Unmarshaler.
func isDirect(t reflect.Type) bool {
	k := t.Kind()
	return k != reflect.Pointer && k != reflect.Interface &&
		!t.Implements(unmarshalerType) && !reflect.PointerTo(t).Implements(unmarshalerType)
}

// structFields is the immutable bencode view of one struct type.
type structFields struct {
	list   []field        // sorted by name in raw byte order: encoding order
	byName map[string]int // name -> index in list
	err    error          // non-nil if the type cannot be used (two fields for one key)
}

// fieldCache maps reflect.Type to *structFields. It is the package's only
// shared state: metadata derived from a type, computed once, never changed
// afterwards, the same for every caller (as encoding/json does).
var fieldCache sync.Map

// cachedFields returns the field metadata of struct type t.
func cachedFields(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f, _ := fieldCache.LoadOrStore(t, typeFields(t))
	return f.(*structFields)
}

// parseTag splits a `bencode:"name,opt,opt"` tag.
func parseTag(tag string) (name string, omitEmpty bool) {
	name, opts, _ := strings.Cut(tag, ",")
	for opts != "" {
		var opt string
		opt, opts, _ = strings.Cut(opts, ",")
		if opt == "omitempty" {
			omitEmpty = true
		}
	}
	return name, omitEmpty
}

// typeFields computes the fields of struct type t. Untagged embedded struct
// values are flattened; a field at a shallower depth hides one at a deeper
// depth; two fields at the same depth with one key make the type unusable.
func typeFields(t reflect.Type) *structFields {
	var all []field
	collectFields(t, nil, 0, &all, map[reflect.Type]bool{t: true})

	// Shallower fields first, so that they win over deeper ones.
	slices.SortStableFunc(all, func(a, b field) int { return a.depth - b.depth })
	byName := make(map[string]int, len(all))
	var kept []field
	var err error
	for _, f := range all {
		i, clash := byName[f.name]
		switch {
		case !clash:
			byName[f.name] = len(kept)
			kept = append(kept, f)
		case f.depth == kept[i].depth && err == nil:
			err = fmt.Errorf("struct %v has two fields for dict key %q at the same embedding depth", t, f.name)
		}
	}
	slices.SortFunc(kept, func(a, b field) int { return strings.Compare(a.name, b.name) })
	for i, f := range kept {
		byName[f.name] = i
	}
	return &structFields{list: kept, byName: byName, err: err}
}

// collectFields appends the fields of t (reached through index path prefix
// at embedding depth depth) to out, flattening untagged embedded structs.
func collectFields(t reflect.Type, prefix []int, depth int, out *[]field, visiting map[reflect.Type]bool) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("bencode")
		if tag == "-" {
			continue
		}
		name, omitEmpty := parseTag(tag)
		index := append(slices.Clip(prefix), i)
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			// Flatten embedded struct values, exported type or not (their
			// exported fields are reachable), but never loop.
			if !visiting[sf.Type] {
				visiting[sf.Type] = true
				collectFields(sf.Type, index, depth+1, out, visiting)
				delete(visiting, sf.Type)
			}
			continue
		}
		if !sf.IsExported() || (sf.Anonymous && name == "" && isStructPointer(sf.Type)) {
			// Unexported fields and untagged embedded struct pointers are
			// ignored.
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := field{name: name, index: index, typ: sf.Type, omitEmpty: omitEmpty, depth: depth, direct: isDirect(sf.Type)}
		if k := sf.Type.Kind(); k == reflect.Slice || k == reflect.Array {
			f.elemDirect = isDirect(sf.Type.Elem())
		}
		*out = append(*out, f)
	}
}

func isStructPointer(t reflect.Type) bool {
	return t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct
}
