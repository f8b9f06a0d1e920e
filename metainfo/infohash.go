package metainfo

import (
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
)

// InfoHash is the SHA1 of a torrent's bencoded info dictionary: the name of
// its swarm.
type InfoHash [20]byte

// String returns the infohash in lower-case hex, as most clients print it.
func (h InfoHash) String() string { return hex.EncodeToString(h[:]) }

// ParseInfoHash reads an infohash written as 40 hex digits or as 32 base32
// characters (the two forms magnet links use).
func ParseInfoHash(s string) (InfoHash, error) {
	var h InfoHash
	switch len(s) {
	case 40:
		if _, err := hex.Decode(h[:], []byte(s)); err != nil {
			return h, fmt.Errorf("metainfo: infohash %q: not hex: %w", s, err)
		}
	case 32:
		b, err := base32.StdEncoding.DecodeString(strings.ToUpper(s))
		if err == nil && len(b) != len(h) {
			err = fmt.Errorf("padding leaves %d bytes", len(b))
		}
		if err != nil {
			return h, fmt.Errorf("metainfo: infohash %q: not base32: %w", s, err)
		}
		copy(h[:], b)
	default:
		return h, fmt.Errorf("metainfo: infohash %q: want 40 hex digits or 32 base32 characters, got %d characters", s, len(s))
	}
	return h, nil
}
