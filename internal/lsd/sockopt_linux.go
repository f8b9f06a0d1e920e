package lsd

import (
	"net"
	"syscall"
)

// setMulticastOptions sets, on the sending socket c, the interface
// multicast goes out on (when ifi is given), the TTL or hop limit, and
// multicast loopback (on, so that other programs on this machine hear us).
func setMulticastOptions(c syscall.RawConn, v6 bool, ifi *net.Interface, ttl int) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		s := int(fd)
		if v6 {
			if ifi != nil {
				serr = syscall.SetsockoptInt(s, syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_IF, ifi.Index)
			}
			if serr == nil {
				serr = syscall.SetsockoptInt(s, syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_HOPS, ttl)
			}
			if serr == nil {
				serr = syscall.SetsockoptInt(s, syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_LOOP, 1)
			}
			return
		}
		if ifi != nil {
			serr = syscall.SetsockoptIPMreqn(s, syscall.IPPROTO_IP, syscall.IP_MULTICAST_IF, &syscall.IPMreqn{Ifindex: int32(ifi.Index)})
		}
		if serr == nil {
			serr = syscall.SetsockoptInt(s, syscall.IPPROTO_IP, syscall.IP_MULTICAST_TTL, ttl)
		}
		if serr == nil {
			serr = syscall.SetsockoptInt(s, syscall.IPPROTO_IP, syscall.IP_MULTICAST_LOOP, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
