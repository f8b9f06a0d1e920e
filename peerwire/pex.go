package peerwire

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/debtorrent/debtorrent/bencode"
)

// PEXFlags are the per-peer flags of a ut_pex "added.f" / "added6.f" byte
// (BEP 11).
type PEXFlags uint8

// The flags BEP 11 defines. Other bits are kept as received.
const (
	// PEXEncryption: the peer prefers encrypted connections.
	PEXEncryption PEXFlags = 0x01
	// PEXSeed: the peer is a seed or upload-only.
	PEXSeed PEXFlags = 0x02
	// PEXUTP: the peer supports uTP.
	PEXUTP PEXFlags = 0x04
	// PEXHolepunch: the peer supports ut_holepunch.
	PEXHolepunch PEXFlags = 0x08
	// PEXReachable: the sender connected to the peer (so it is reachable).
	PEXReachable PEXFlags = 0x10
)

// Limits of one ut_pex message.
const (
	// MaxPEXAddedPerMessage and MaxPEXDroppedPerMessage are BEP 11's bound
	// on what a sender should put in one message; MarshalPEX refuses more.
	MaxPEXAddedPerMessage   = 50
	MaxPEXDroppedPerMessage = 50
	// MaxPEXPeers is the most peers (added and dropped, both families
	// together) ParsePEX accepts from one message: four times what a
	// well-behaved sender uses, so slightly eager clients still work while a
	// hostile one cannot make a message cost more than a few kilobytes.
	MaxPEXPeers = 200
)

// Sizes of compact peer entries.
const (
	compactIPv4 = 4 + 2
	compactIPv6 = 16 + 2
)

// PEXPeer is one peer a ut_pex message adds.
type PEXPeer struct {
	// Addr is the peer's address; IPv4 addresses are never 4-in-6 mapped.
	Addr netip.AddrPort
	// Flags are what the sender says about the peer (0 when it said nothing).
	Flags PEXFlags
}

// PEX is a ut_pex message (BEP 11): peers the sender connected to and
// dropped since its previous message. Addresses of both families are mixed;
// the wire form splits them into the IPv4 and IPv6 keys.
type PEX struct {
	// Added are peers the sender is now connected to.
	Added []PEXPeer
	// Dropped are peers the sender disconnected from.
	Dropped []netip.AddrPort
}

// pexWire is the bencoded form. Strings hold compact entries; string (not
// []byte) fields make a list where a string belongs a type error.
type pexWire struct {
	Added    string `bencode:"added,omitempty"`
	AddedF   string `bencode:"added.f,omitempty"`
	Added6   string `bencode:"added6,omitempty"`
	Added6F  string `bencode:"added6.f,omitempty"`
	Dropped  string `bencode:"dropped,omitempty"`
	Dropped6 string `bencode:"dropped6,omitempty"`
}

// MarshalPEX encodes p as a ut_pex payload (the bytes after the extended
// message ID). It refuses more than MaxPEXAddedPerMessage added or
// MaxPEXDroppedPerMessage dropped peers (split them over several messages)
// and addresses that are not valid.
func MarshalPEX(p PEX) ([]byte, error) {
	if len(p.Added) > MaxPEXAddedPerMessage {
		return nil, fmt.Errorf("peerwire: ut_pex: %d added peers, at most %d per message: send several messages", len(p.Added), MaxPEXAddedPerMessage)
	}
	if len(p.Dropped) > MaxPEXDroppedPerMessage {
		return nil, fmt.Errorf("peerwire: ut_pex: %d dropped peers, at most %d per message: send several messages", len(p.Dropped), MaxPEXDroppedPerMessage)
	}
	var added, addedF, added6, added6F, dropped, dropped6 []byte
	for i, a := range p.Added {
		if !a.Addr.IsValid() {
			return nil, fmt.Errorf("peerwire: ut_pex: added peer %d: invalid address", i)
		}
		if ip := a.Addr.Addr().Unmap(); ip.Is4() {
			added = appendCompact(added, ip, a.Addr.Port())
			addedF = append(addedF, byte(a.Flags))
		} else {
			added6 = appendCompact(added6, ip, a.Addr.Port())
			added6F = append(added6F, byte(a.Flags))
		}
	}
	for i, d := range p.Dropped {
		if !d.IsValid() {
			return nil, fmt.Errorf("peerwire: ut_pex: dropped peer %d: invalid address", i)
		}
		if ip := d.Addr().Unmap(); ip.Is4() {
			dropped = appendCompact(dropped, ip, d.Port())
		} else {
			dropped6 = appendCompact(dropped6, ip, d.Port())
		}
	}
	w := pexWire{
		Added: string(added), AddedF: string(addedF), Added6: string(added6), Added6F: string(added6F),
		Dropped: string(dropped), Dropped6: string(dropped6),
	}
	out, err := bencode.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("peerwire: ut_pex: encode: %w", err)
	}
	return out, nil
}

// appendCompact appends the compact form of ip:port (BEP 23 / BEP 7).
func appendCompact(b []byte, ip netip.Addr, port uint16) []byte {
	b = append(b, ip.AsSlice()...)
	return binary.BigEndian.AppendUint16(b, port)
}

// ParsePEX decodes a ut_pex payload. Keys out of order are accepted and
// unknown keys ignored. It fails when a value has the wrong type, a peer list
// is not a whole number of 6-byte (IPv4) or 18-byte (IPv6) entries, or the
// message holds more than MaxPEXPeers peers in all. Missing flags count as 0
// and surplus flag bytes are ignored, as clients vary. IPv4-mapped entries in
// the IPv6 lists come back as IPv4 addresses. Port 0 entries are returned as
// they are: whether to dial them is the caller's decision.
func ParsePEX(payload []byte) (PEX, error) {
	var w pexWire
	if err := bencode.UnmarshalLoose(payload, &w); err != nil {
		return PEX{}, fmt.Errorf("peerwire: ut_pex: %w", err)
	}
	lists := []struct {
		name string
		b    string
		size int
	}{
		{"added", w.Added, compactIPv4},
		{"added6", w.Added6, compactIPv6},
		{"dropped", w.Dropped, compactIPv4},
		{"dropped6", w.Dropped6, compactIPv6},
	}
	total := 0
	for _, l := range lists {
		if len(l.b)%l.size != 0 {
			return PEX{}, fmt.Errorf("peerwire: ut_pex: %q is %d bytes, not a multiple of %d: malformed message", l.name, len(l.b), l.size)
		}
		total += len(l.b) / l.size
	}
	if total > MaxPEXPeers {
		return PEX{}, fmt.Errorf("peerwire: ut_pex: %d peers in one message, at most %d accepted: the sender is broken or hostile", total, MaxPEXPeers)
	}
	var p PEX
	if n := len(w.Added)/compactIPv4 + len(w.Added6)/compactIPv6; n > 0 {
		p.Added = make([]PEXPeer, 0, n)
	}
	p.Added = appendAdded(p.Added, w.Added, w.AddedF, compactIPv4)
	p.Added = appendAdded(p.Added, w.Added6, w.Added6F, compactIPv6)
	if n := len(w.Dropped)/compactIPv4 + len(w.Dropped6)/compactIPv6; n > 0 {
		p.Dropped = make([]netip.AddrPort, 0, n)
	}
	for i := 0; i < len(w.Dropped); i += compactIPv4 {
		p.Dropped = append(p.Dropped, compactAddr(w.Dropped[i:i+compactIPv4]))
	}
	for i := 0; i < len(w.Dropped6); i += compactIPv6 {
		p.Dropped = append(p.Dropped, compactAddr(w.Dropped6[i:i+compactIPv6]))
	}
	return p, nil
}

// appendAdded decodes the compact entries of list, of size bytes each, with
// the matching bytes of flags.
func appendAdded(out []PEXPeer, list, flags string, size int) []PEXPeer {
	for i := 0; i*size < len(list); i++ {
		peer := PEXPeer{Addr: compactAddr(list[i*size : (i+1)*size])}
		if i < len(flags) {
			peer.Flags = PEXFlags(flags[i])
		}
		out = append(out, peer)
	}
	return out
}

// compactAddr decodes one 6- or 18-byte compact entry.
func compactAddr(s string) netip.AddrPort {
	n := len(s) - 2
	ip, _ := netip.AddrFromSlice([]byte(s[:n])) // n is 4 or 16
	return netip.AddrPortFrom(ip.Unmap(), uint16(s[n])<<8|uint16(s[n+1]))
}
