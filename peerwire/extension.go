package peerwire

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/debtorrent/debtorrent/bencode"
)

// Names of extensions (BEP 10 "m" keys) debtorrent knows of.
const (
	// ExtensionPEX is peer exchange (BEP 11).
	ExtensionPEX = "ut_pex"
	// ExtensionMetadata is metadata exchange for magnet links (BEP 9).
	ExtensionMetadata = "ut_metadata"
)

// HandshakeExtendedID is the extended message ID of the extension handshake
// (BEP 10); other IDs are assigned by the handshakes.
const HandshakeExtendedID = 0

// maxExtensions bounds a registry: extended IDs are one byte and 0 is the
// handshake.
const maxExtensions = 255

// ExtensionRegistry maps the names of the extensions this side supports to
// the extended message IDs peers must use when sending them to us. IDs are
// given in registration order from 1. It is immutable once built, and so safe
// for concurrent use.
type ExtensionRegistry struct {
	names []string // names[id-1]
	ids   map[string]uint8
}

// NewExtensionRegistry registers names, which must be unique and non-empty,
// at IDs 1, 2, ... in order.
func NewExtensionRegistry(names ...string) (*ExtensionRegistry, error) {
	if len(names) > maxExtensions {
		return nil, fmt.Errorf("peerwire: %d extensions, at most %d fit in a byte", len(names), maxExtensions)
	}
	r := &ExtensionRegistry{ids: make(map[string]uint8, len(names))}
	for _, n := range names {
		if n == "" {
			return nil, fmt.Errorf("peerwire: empty extension name")
		}
		if _, dup := r.ids[n]; dup {
			return nil, fmt.Errorf("peerwire: extension %q registered twice", n)
		}
		r.names = append(r.names, n)
		r.ids[n] = uint8(len(r.names))
	}
	return r, nil
}

// ID returns the local extended ID of name: the ID a peer uses when it sends
// us that extension's messages.
func (r *ExtensionRegistry) ID(name string) (uint8, bool) {
	id, ok := r.ids[name]
	return id, ok
}

// Name returns the extension a received extended message's ID stands for.
// ID 0 (the handshake) has no name.
func (r *ExtensionRegistry) Name(id uint8) (string, bool) {
	if id == 0 || int(id) > len(r.names) {
		return "", false
	}
	return r.names[id-1], true
}

// M returns the "m" dictionary of our extension handshake.
func (r *ExtensionRegistry) M() map[string]int {
	m := make(map[string]int, len(r.names))
	for i, n := range r.names {
		m[n] = i + 1
	}
	return m
}

// ExtendedHandshake is the extension protocol's handshake (BEP 10), the
// payload of extended message 0.
type ExtendedHandshake struct {
	// M maps extension names to the IDs the sender wants to receive them
	// under; 0 means the sender does not (or no longer) support it.
	M map[string]int
	// V is the client's name and version, e.g. "debtorrent 0.1".
	V string
	// P is the sender's listening TCP port (0: not told).
	P int
	// Reqq is how many outstanding requests the sender queues (0: not told).
	Reqq int
	// YourIP is the address the sender sees us at (invalid: not told).
	YourIP netip.Addr
	// MetadataSize is the info dictionary's size for BEP 9 (0: not told).
	MetadataSize int
}

// extendedHandshakeWire is the bencoded form. M is decoded loosely so that one
// odd entry does not lose the whole handshake.
type extendedHandshakeWire struct {
	M            map[string]any `bencode:"m"`
	MetadataSize int64          `bencode:"metadata_size,omitempty"`
	P            int64          `bencode:"p,omitempty"`
	Reqq         int64          `bencode:"reqq,omitempty"`
	V            string         `bencode:"v,omitempty"`
	YourIP       string         `bencode:"yourip,omitempty"`
}

// Bounds on what a peer's extension handshake is believed to say.
const (
	maxReqq         = 1 << 16   // larger queue lengths are clamped
	maxMetadataSize = 256 << 20 // larger metadata sizes are dropped
)

// Message returns the extended message carrying h.
func (h ExtendedHandshake) Message() (Message, error) {
	w := extendedHandshakeWire{
		M:            make(map[string]any, len(h.M)),
		MetadataSize: int64(h.MetadataSize),
		P:            int64(h.P),
		Reqq:         int64(h.Reqq),
		V:            h.V,
	}
	for n, id := range h.M {
		w.M[n] = int64(id)
	}
	if h.YourIP.IsValid() {
		w.YourIP = string(h.YourIP.Unmap().AsSlice())
	}
	payload, err := bencode.Marshal(w)
	if err != nil {
		return Message{}, fmt.Errorf("peerwire: encode extension handshake: %w", err)
	}
	return Message{ID: Extended, ExtendedID: HandshakeExtendedID, Payload: payload}, nil
}

// ParseExtendedHandshake decodes the payload of extended message 0. Keys out
// of order are accepted and unknown keys ignored; entries of "m" that are not IDs in 0..255, a port outside
// 1..65535, a negative queue length or an address of the wrong size are
// dropped rather than failing the whole handshake, as real clients vary.
func ParseExtendedHandshake(payload []byte) (ExtendedHandshake, error) {
	var w extendedHandshakeWire
	if err := bencode.UnmarshalLoose(payload, &w); err != nil {
		return ExtendedHandshake{}, fmt.Errorf("peerwire: extension handshake: %w", err)
	}
	h := ExtendedHandshake{M: make(map[string]int, len(w.M)), V: w.V}
	for n, v := range w.M {
		if id, ok := v.(int64); ok && id >= 0 && id <= 255 && n != "" {
			h.M[n] = int(id)
		}
	}
	if w.P > 0 && w.P <= 65535 {
		h.P = int(w.P)
	}
	if w.Reqq > 0 {
		h.Reqq = int(min(w.Reqq, maxReqq))
	}
	if w.MetadataSize > 0 && w.MetadataSize <= maxMetadataSize {
		h.MetadataSize = int(w.MetadataSize)
	}
	if ip, ok := netip.AddrFromSlice([]byte(w.YourIP)); ok {
		h.YourIP = ip
	}
	return h, nil
}

// ID returns the extended ID to use when sending extension name to the peer
// whose handshake h is, or false when the peer does not support it.
func (h ExtendedHandshake) ID(name string) (uint8, bool) {
	id := h.M[name]
	return uint8(id), id > 0 && id <= 255
}

// Names lists, sorted, the extensions the peer supports.
func (h ExtendedHandshake) Names() []string {
	var out []string
	for n, id := range h.M {
		if id > 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
