package bencode

import (
	"errors"
	"fmt"
	"reflect"
)

// ErrLimit is wrapped by every error reporting that input exceeded one of
// the decoder's hard limits (nesting depth, integer digits, string length,
// value size). Test for it with errors.Is.
var ErrLimit = errors.New("limit exceeded")

// SyntaxError reports malformed or non-canonical bencoding, or input that
// exceeds a limit.
type SyntaxError struct {
	// Offset is the byte offset in the input (for a Decoder: in the whole
	// stream) at which the problem was found.
	Offset int64
	// Msg says what was wrong and, where it helps, what was expected.
	Msg string
	// Err is an underlying cause, if any: io.ErrUnexpectedEOF for truncated
	// input, ErrLimit for exceeded limits, or a read error.
	Err error
}

// Error returns "bencode: at offset N: msg".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("bencode: at offset %d: %s", e.Offset, e.Msg)
}

// Unwrap returns the underlying cause, if any.
func (e *SyntaxError) Unwrap() error { return e.Err }

// syntaxErr builds a *SyntaxError at offset off.
func syntaxErr(off int64, cause error, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// UnmarshalTypeError reports a well-formed bencode value that cannot be
// stored in the Go value it was decoded into (wrong kind, or an integer out
// of the target's range).
type UnmarshalTypeError struct {
	Value  string       // description of the bencode value: "string", "list", "integer 300"...
	Type   reflect.Type // the Go type it could not be stored in
	Offset int64        // byte offset of the value in the input
	Field  string       // dotted path of struct keys leading to the value, if any
}

// Error describes the mismatch, the offset and the field.
func (e *UnmarshalTypeError) Error() string {
	where := ""
	if e.Field != "" {
		where = " (dict key " + e.Field + ")"
	}
	return fmt.Sprintf("bencode: at offset %d: cannot unmarshal %s into Go value of type %v%s",
		e.Offset, e.Value, e.Type, where)
}

// InvalidUnmarshalError reports a nil or non-pointer argument to Unmarshal or
// Decode.
type InvalidUnmarshalError struct {
	Type reflect.Type // the type of the argument (nil for nil)
}

// Error explains that a non-nil pointer is required.
func (e *InvalidUnmarshalError) Error() string {
	if e.Type == nil {
		return "bencode: Unmarshal(nil): pass a non-nil pointer"
	}
	if e.Type.Kind() != reflect.Pointer {
		return "bencode: Unmarshal(non-pointer " + e.Type.String() + "): pass a non-nil pointer"
	}
	return "bencode: Unmarshal(nil " + e.Type.String() + "): pass a non-nil pointer"
}

// UnsupportedTypeError reports a Go type that has no bencode form (floats,
// complex numbers, channels, functions, maps with non-string keys...).
type UnsupportedTypeError struct {
	Type reflect.Type // the type that cannot be encoded
}

// Error names the type.
func (e *UnsupportedTypeError) Error() string {
	return "bencode: unsupported type: " + e.Type.String()
}

// UnsupportedValueError reports a Go value of a supported type that still
// cannot be encoded (a nil pointer in a list, too deep or cyclic data, a
// struct type with two fields for one key...).
type UnsupportedValueError struct {
	Type reflect.Type // the type of the value (nil for a nil argument)
	Msg  string       // what is wrong with it
}

// Error describes the value and the problem.
func (e *UnsupportedValueError) Error() string {
	return fmt.Sprintf("bencode: unsupported value of type %v: %s", e.Type, e.Msg)
}

// MarshalerError wraps an error returned by a MarshalBencode method, or
// reports that the method returned something that is not one well-formed
// bencode value.
type MarshalerError struct {
	Type reflect.Type // the type whose MarshalBencode failed
	Err  error        // its error, or why its output was refused
}

// Error names the type and the cause.
func (e *MarshalerError) Error() string {
	return fmt.Sprintf("bencode: error calling MarshalBencode for type %v: %v", e.Type, e.Err)
}

// Unwrap returns the cause.
func (e *MarshalerError) Unwrap() error { return e.Err }
