package indexcache

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrMismatch is wrapped by the error of a Get whose body is not what the
// request expected (size or SHA256): nothing was cached. Test with
// errors.Is.
var ErrMismatch = errors.New("indexcache: content does not match what was expected")

// Expectation is what a file must be for the cache to keep and serve it:
// typically the size and SHA256 a signed Release or a Packages entry lists.
type Expectation struct {
	// Size is the body's length in bytes; negative: any length (only the
	// hash is checked). A fetch is cut off as soon as it passes Size.
	Size int64
	// SHA256 is the body's digest.
	SHA256 [32]byte
}

func (x *Expectation) String() string {
	if x.Size < 0 {
		return "sha256 " + hex.EncodeToString(x.SHA256[:])
	}
	return fmt.Sprintf("%d bytes, sha256 %s", x.Size, hex.EncodeToString(x.SHA256[:]))
}

// matches reports whether a cached file's metadata meets x.
func (x *Expectation) matches(m Meta) bool {
	return (x.Size < 0 || m.Size == x.Size) && m.Sum() == x.SHA256
}

// byHashSum returns the digest a key names when it ends in
// "/by-hash/SHA256/<64 hex digits>" (APT's by-hash file names).
func byHashSum(key string) ([32]byte, bool) {
	var sum [32]byte
	const marker = "by-hash/SHA256/"
	i := strings.LastIndex(key, marker)
	if i < 0 || (i > 0 && key[i-1] != '/') {
		return sum, false
	}
	h := key[i+len(marker):]
	if len(h) != 64 {
		return sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(h)); err != nil {
		return sum, false
	}
	return sum, true
}

// expectation returns what req's body must be: req.Expect, and for
// Immutable by-hash keys the digest the name gives. A request whose Expect
// contradicts its by-hash name is an error wrapping ErrMismatch.
func expectation(req Request) (*Expectation, error) {
	if req.Mode != Immutable {
		return req.Expect, nil
	}
	sum, ok := byHashSum(req.Key)
	if !ok {
		return req.Expect, nil
	}
	if req.Expect != nil {
		if req.Expect.SHA256 != sum {
			return nil, fmt.Errorf("%w: %s expects %s but its name says sha256 %x", ErrMismatch, req.Key, req.Expect, sum)
		}
		return req.Expect, nil
	}
	return &Expectation{Size: -1, SHA256: sum}, nil
}
