// Package bencode encodes and decodes bencoding, the serialisation format of
// BitTorrent (BEP 3), with an API shaped like encoding/json: Marshal and
// Unmarshal with `bencode:"name,omitempty"` struct tags, a streaming Decoder
// and Encoder, RawMessage and the Marshaler/Unmarshaler interfaces.
//
// # Strictness
//
// Marshal always writes the canonical form: dict keys sorted by raw bytes,
// integers without leading zeros. Unmarshal and Decoder accept only that
// form: dict keys sorted and unique, no leading zeros in integers or string
// lengths ("i03e", "03:abc"), no "i-0e", no "ie" or "i-e", and for
// Unmarshal nothing after the top-level value. Every error is a
// *SyntaxError or *UnmarshalTypeError giving the byte offset, for example
//
//	bencode: at offset 17: dict keys not sorted: "b" after "c"
//
// Real-world .torrent files sometimes have unsorted keys; UnmarshalLoose and
// Decoder.AllowUnsorted accept those (keys must still be unique). Decoding
// into a RawMessage keeps the exact original bytes either way, so the SHA1
// of an info dict (the infohash) is right for non-canonical files too.
//
// # Limits
//
// Hostile input gets an error, never a panic, a hang or a huge allocation:
//
//   - nesting of lists and dicts is limited (DefaultMaxDepth, 64;
//     Decoder.SetMaxDepth);
//   - integers have at most 20 digits and string lengths at most 18, so no
//     arithmetic overflows;
//   - Unmarshal rejects a string whose declared length exceeds the input
//     left, before allocating anything: memory use is bounded by the input's
//     size. Slices are sized from elements actually present in the input
//     (or grown as they arrive), never from a declared count;
//   - a Decoder reads a value's bytes in bounded chunks as they arrive, so a
//     few bytes declaring a gigabyte string cost a few bytes; it also caps
//     one string (DefaultMaxStringLength, 64 MiB) and one whole top-level
//     value (DefaultMaxValueSize, 256 MiB), both configurable.
//
// Errors for exceeded limits wrap ErrLimit.
//
// # Embedded structs
//
// An untagged embedded struct value is flattened: its fields are keys of
// the outer dict, as in encoding/json, and a field of the outer struct hides
// one with the same key in the embedded struct. Two fields with one key at
// the same depth make the type unusable (an error, not a silent choice).
// Untagged embedded struct pointers are ignored; a tagged embedded field is
// an ordinary field under its tag's name.
//
// # Shared state
//
// The package keeps one kind of process-wide state, as encoding/json does:
// per-type caches of struct field metadata and encoder functions, computed
// once per Go type and never modified afterwards. Nothing else is global.
package bencode
