package tracker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Serve answers UDP tracker requests (BEP 15) on pc until ctx is done, then
// returns nil; it returns early only if reading from pc fails. It does not
// close pc. Several Serve calls may share one Server.
func (s *Server) Serve(ctx context.Context, pc net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { pc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, maxUDPPacket)
	var out []byte
	rw := newDatagramIO(pc)
	for {
		n, from, err := rw.read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue // a deadline set by someone else; keep serving
			}
			return fmt.Errorf("tracker: serving UDP on %s: %w", pc.LocalAddr(), err)
		}
		if !from.IsValid() {
			continue
		}
		out = s.handleUDP(out[:0], buf[:n], from)
		if len(out) == 0 {
			continue
		}
		if err := rw.write(out, from); err != nil {
			s.log.Debug("tracker: udp reply failed", "to", from, "err", err)
		}
	}
}

// datagramIO reads and writes datagrams with netip addresses, through a
// *net.UDPConn's allocation-free methods when pc is one.
type datagramIO struct {
	pc  net.PacketConn
	udp *net.UDPConn
}

func newDatagramIO(pc net.PacketConn) datagramIO {
	udp, _ := pc.(*net.UDPConn)
	return datagramIO{pc: pc, udp: udp}
}

// read returns a datagram and its unmapped source address (invalid if it
// cannot be read as an IP address and port).
func (d datagramIO) read(buf []byte) (int, netip.AddrPort, error) {
	if d.udp != nil {
		n, from, err := d.udp.ReadFromUDPAddrPort(buf)
		return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), err
	}
	n, a, err := d.pc.ReadFrom(buf)
	if err != nil {
		return n, netip.AddrPort{}, err
	}
	from, _ := addrPortOf(a)
	return n, from, nil
}

func (d datagramIO) write(b []byte, to netip.AddrPort) error {
	if d.udp != nil {
		_, err := d.udp.WriteToUDPAddrPort(b, to)
		return err
	}
	_, err := d.pc.WriteTo(b, net.UDPAddrFromAddrPort(to))
	return err
}

// addrPortOf reads a UDP source address.
func addrPortOf(a net.Addr) (netip.AddrPort, bool) {
	if ua, ok := a.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.IsValid()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// handleUDP answers one datagram from addr, appending the reply to out
// (nothing for datagrams not worth a reply).
//
// A UDP source address can be forged, so a reply to a sender that has not
// shown it owns its address (by a valid connection id) is never larger
// than what it sent: the tracker must not amplify a flood aimed at someone
// else. Connect replies are 16 bytes for a 16-byte request; error replies
// that would be larger than the request are dropped (see udpErrorReply).
func (s *Server) handleUDP(out, pkt []byte, addr netip.AddrPort) []byte {
	req, err := parseUDPRequest(pkt)
	if errors.Is(err, errUDPTooShort) {
		s.badRequests.Add(1)
		return out
	}
	now := s.cfg.Now()
	if req.action != actionConnect && !s.connID.valid(req.connID, addr, now) {
		// Checked before the request is read any further: a sender
		// without a valid id learns nothing more about its datagram.
		s.badRequests.Add(1)
		return udpErrorReply(out, req.tx, errBadConnID, len(pkt))
	}
	if err != nil {
		s.badRequests.Add(1)
		s.log.Debug("tracker: bad udp request", "from", addr, "err", err)
		return udpErrorReply(out, req.tx, err.Error(), len(pkt))
	}
	if req.action == actionConnect {
		s.connects.Add(1)
		out = appendUDPHeader(out, actionConnect, req.tx)
		return binary.BigEndian.AppendUint64(out, s.connID.mint(addr, now))
	}
	switch req.action {
	case actionAnnounce:
		a := &req.announce
		peer := s.peerAddr(addr.Addr(), a.IP, a.Port)
		res, err := s.announce(a, addr.Addr(), peer, true, false)
		if err != nil {
			return udpErrorReply(out, req.tx, err.Error(), len(pkt))
		}
		out = appendUDPHeader(out, actionAnnounce, req.tx)
		out = binary.BigEndian.AppendUint32(out, uint32(s.cfg.Interval/time.Second))
		out = binary.BigEndian.AppendUint32(out, uint32(res.leechers))
		out = binary.BigEndian.AppendUint32(out, uint32(res.seeders))
		for _, p := range res.peers {
			out = appendCompactPeer(out, p.Addr)
		}
		return out
	case actionScrape:
		stats := s.scrape(req.hashes)
		out = appendUDPHeader(out, actionScrape, req.tx)
		for _, h := range req.hashes {
			st := stats[h] // refused hashes count zero: UDP has no per-hash refusal
			out = binary.BigEndian.AppendUint32(out, uint32(st.Seeders))
			out = binary.BigEndian.AppendUint32(out, uint32(st.Completed))
			out = binary.BigEndian.AppendUint32(out, uint32(st.Leechers))
		}
		return out
	}
	return out
}

// errBadConnID is the reason sent for an unknown or expired connection id:
// short, so that its reply (29 bytes) fits under the smallest request that
// carries an id and is worth answering, a one-hash scrape (36 bytes).
const errBadConnID = "connection id expired"

// udpErrorReply appends an error reply carrying msg, or nothing if the
// reply would be longer than limit, the size of the request it answers.
func udpErrorReply(out []byte, tx uint32, msg string, limit int) []byte {
	if udpErrorHeaderLen+len(msg) > limit {
		return out
	}
	out = appendUDPHeader(out, actionError, tx)
	return append(out, msg...)
}

// udpErrorHeaderLen is an error reply's header: action, transaction id.
const udpErrorHeaderLen = 8
