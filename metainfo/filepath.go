package metainfo

import (
	"errors"
	"fmt"
)

// filePath is a "path" list of an info dictionary's "files", decoded
// straight into its "/"-joined form with each component checked: one
// allocation per file rather than one per component, which matters for a
// Debian torrent's tens of thousands of files.
type filePath string

// UnmarshalBencode implements bencode.Unmarshaler. data is one well-formed
// bencode value (the decoder has checked it); it must be a non-empty list of
// strings that are valid path components.
func (p *filePath) UnmarshalBencode(data []byte) error {
	if len(data) < 2 || data[0] != 'l' {
		return fmt.Errorf("%w: a file's \"path\" is not a list", ErrInvalid)
	}
	items := data[1 : len(data)-1] // without the list's 'l' and 'e'
	if len(items) == 0 {
		return fmt.Errorf("%w: empty path list", ErrInvalid)
	}
	if len(items) > MaxPathLength+MaxPathLength/2 {
		return fmt.Errorf("%w: path list of %d bytes is too long", ErrInvalid, len(items))
	}
	joined := make([]byte, 0, len(items))
	for len(items) > 0 {
		component, rest, err := nextString(items)
		if err != nil {
			return err
		}
		if err := validateComponent(component); err != nil {
			return err
		}
		if len(joined) > 0 {
			joined = append(joined, '/')
		}
		joined = append(joined, component...)
		items = rest
	}
	if len(joined) > MaxPathLength {
		return fmt.Errorf("%w: path of %d bytes is longer than %d", ErrInvalid, len(joined), MaxPathLength)
	}
	*p = filePath(joined)
	return nil
}

// errNotString reports a path component that is not a string.
var errNotString = fmt.Errorf("%w: a path component is not a string", ErrInvalid)

// nextString splits the bencoded string at the start of well-formed data
// ("<length>:<bytes>") from what follows it.
func nextString(data []byte) (s, rest []byte, err error) {
	n, i := 0, 0
	for ; i < len(data) && data[i] >= '0' && data[i] <= '9'; i++ {
		n = n*10 + int(data[i]-'0')
		if n > len(data) {
			return nil, nil, errors.New("metainfo: path component longer than its list")
		}
	}
	if i == 0 || i >= len(data) || data[i] != ':' {
		return nil, nil, errNotString
	}
	start := i + 1
	if n > len(data)-start {
		return nil, nil, errors.New("metainfo: path component longer than its list")
	}
	return data[start : start+n], data[start+n:], nil
}
