//go:build !linux

package lsd

import (
	"net"
	"syscall"
)

// setMulticastOptions does nothing outside Linux: announces leave by the
// interface the routing table picks, with the system's default TTL (1) and
// loopback.
func setMulticastOptions(c syscall.RawConn, v6 bool, ifi *net.Interface, ttl int) error {
	return nil
}
