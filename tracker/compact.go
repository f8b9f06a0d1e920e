package tracker

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// maxReplyPeers bounds how many peers one reply may list; a longer list is an
// error, not a truncation, so a hostile tracker cannot make us allocate much.
const maxReplyPeers = 10000

// parseCompactPeers reads BEP 23 (IPv4, 6 bytes each) or BEP 7 (IPv6, 18
// bytes each) compact peers.
func parseCompactPeers(b []byte, ipv6 bool) ([]Peer, error) {
	size := 6
	if ipv6 {
		size = 18
	}
	if len(b)%size != 0 {
		return nil, fmt.Errorf("compact peers: %d bytes is not a multiple of %d", len(b), size)
	}
	n := len(b) / size
	if n > maxReplyPeers {
		return nil, fmt.Errorf("compact peers: %d peers, more than the limit of %d", n, maxReplyPeers)
	}
	peers := make([]Peer, 0, n)
	for i := 0; i < len(b); i += size {
		var ip netip.Addr
		if ipv6 {
			ip = netip.AddrFrom16([16]byte(b[i : i+16]))
		} else {
			ip = netip.AddrFrom4([4]byte(b[i : i+4]))
		}
		port := binary.BigEndian.Uint16(b[i+size-2:])
		peers = append(peers, Peer{Addr: netip.AddrPortFrom(ip, port)})
	}
	return peers, nil
}

// appendCompactPeer appends one peer in compact form: 6 bytes for an IPv4
// address, 18 for IPv6.
func appendCompactPeer(b []byte, ap netip.AddrPort) []byte {
	b = append(b, ap.Addr().AsSlice()...)
	return binary.BigEndian.AppendUint16(b, ap.Port())
}
