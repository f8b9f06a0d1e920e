package bencode

import "errors"

// Marshaler is implemented by types that encode themselves. MarshalBencode
// must return exactly one well-formed bencode value; Marshal checks it
// (unsorted dict keys are tolerated, as for RawMessage) and copies it to the
// output verbatim.
type Marshaler interface {
	MarshalBencode() ([]byte, error)
}

// Unmarshaler is implemented by types that decode themselves.
// UnmarshalBencode receives the exact bytes of one value, already checked to
// be well-formed under the decoder's rules. The slice aliases the decoder's
// input: copy it to keep it after returning.
type Unmarshaler interface {
	UnmarshalBencode([]byte) error
}

// RawMessage is an encoded bencode value kept as its exact bytes. Decoding
// into a RawMessage copies the value's bytes as they appeared in the input
// (even when a loose decoding accepted unsorted keys), so that an info dict
// can be hashed to its infohash; encoding a RawMessage writes those bytes
// unchanged.
type RawMessage []byte

// MarshalBencode returns m itself. An empty RawMessage is an error: it is not
// a bencode value (use omitempty to leave such a field out).
func (m RawMessage) MarshalBencode() ([]byte, error) {
	if len(m) == 0 {
		return nil, errors.New("empty RawMessage is not a bencode value")
	}
	return m, nil
}

// UnmarshalBencode sets *m to a copy of data.
func (m *RawMessage) UnmarshalBencode(data []byte) error {
	if m == nil {
		return errors.New("bencode: UnmarshalBencode on nil *RawMessage")
	}
	*m = append((*m)[:0], data...)
	return nil
}

var (
	_ Marshaler   = RawMessage(nil)
	_ Unmarshaler = (*RawMessage)(nil)
)
