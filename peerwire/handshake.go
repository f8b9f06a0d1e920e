package peerwire

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// protocolName is the string every BitTorrent handshake starts with, after
// its one-byte length.
const protocolName = "BitTorrent protocol"

// HandshakeLength is the size of a complete handshake on the wire.
const HandshakeLength = 1 + len(protocolName) + 8 + 20 + 20

// DefaultHandshakeTimeout bounds a handshake whose context has no deadline.
const DefaultHandshakeTimeout = 20 * time.Second

// ErrUnknownInfoHash is returned by Accept when the peer asks for a torrent
// the lookup does not know; the connection should be closed.
var ErrUnknownInfoHash = errors.New("unknown infohash")

// ErrInfoHashMismatch is returned by Initiate when the peer answers with a
// different infohash than the one asked for.
var ErrInfoHashMismatch = errors.New("peer answered with another infohash")

// Reserved is the 8 bytes of a handshake that announce optional protocol
// extensions, one bit each.
type Reserved [8]byte

// Bits of Reserved that debtorrent knows. Each is a byte index and a mask.
const (
	extensionByte, extensionMask = 5, 0x10 // BEP 10: bit 20 from the right
	fastByte, fastMask           = 7, 0x04 // BEP 6
	dhtByte, dhtMask             = 7, 0x01 // BEP 5
)

// DefaultReserved announces what debtorrent implements: the extension
// protocol and the fast extension.
func DefaultReserved() Reserved {
	var r Reserved
	r[extensionByte] |= extensionMask
	r[fastByte] |= fastMask
	return r
}

// Extensions reports whether the extension protocol bit (BEP 10) is set.
func (r Reserved) Extensions() bool { return r[extensionByte]&extensionMask != 0 }

// Fast reports whether the fast extension bit (BEP 6) is set.
func (r Reserved) Fast() bool { return r[fastByte]&fastMask != 0 }

// DHT reports whether the DHT bit (BEP 5) is set.
func (r Reserved) DHT() bool { return r[dhtByte]&dhtMask != 0 }

// Common returns the bits set in both r and other: what two peers may use.
func (r Reserved) Common(other Reserved) Reserved {
	var c Reserved
	for i := range c {
		c[i] = r[i] & other[i]
	}
	return c
}

// PeerID is the 20 bytes a client names itself with in the handshake.
type PeerID [20]byte

// PeerIDPrefix starts every peer ID debtorrent makes, in the Azureus style
// ("-" client code, version, "-").
const PeerIDPrefix = "-DT0001-"

// NewPeerID returns PeerIDPrefix followed by 12 bytes from random (crypto/rand
// when nil).
func NewPeerID(random io.Reader) (PeerID, error) {
	if random == nil {
		random = rand.Reader
	}
	var id PeerID
	copy(id[:], PeerIDPrefix)
	if _, err := io.ReadFull(random, id[len(PeerIDPrefix):]); err != nil {
		return id, fmt.Errorf("peerwire: new peer ID: %w", err)
	}
	return id, nil
}

// String quotes the ID, escaping its random bytes.
func (id PeerID) String() string { return fmt.Sprintf("%q", id[:]) }

// Handshake is what a peer says before any message: the extensions it
// supports, the torrent it wants and its name.
type Handshake struct {
	// Reserved announces the sender's protocol extensions.
	Reserved Reserved
	// InfoHash names the torrent.
	InfoHash metainfo.InfoHash
	// PeerID names the sender.
	PeerID PeerID
}

// AppendTo appends the wire form of h to b.
func (h Handshake) AppendTo(b []byte) []byte {
	b = append(b, byte(len(protocolName)))
	b = append(b, protocolName...)
	b = append(b, h.Reserved[:]...)
	b = append(b, h.InfoHash[:]...)
	return append(b, h.PeerID[:]...)
}

// readHead reads the protocol name, reserved bytes and infohash: the part of a
// handshake that comes before the peer ID.
func readHead(r io.Reader, h *Handshake) error {
	var head [1 + len(protocolName) + 8 + 20]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return err
	}
	if head[0] != byte(len(protocolName)) || !bytes.Equal(head[1:1+len(protocolName)], []byte(protocolName)) {
		return fmt.Errorf("not a BitTorrent handshake (starts %q)", head[:min(len(head), 20)])
	}
	rest := head[1+len(protocolName):]
	copy(h.Reserved[:], rest[:8])
	copy(h.InfoHash[:], rest[8:])
	return nil
}

// Initiate performs the handshake as the side that opened the connection: it
// sends local, then reads the peer's answer and checks it names the same
// torrent. It returns the peer's handshake.
//
// The handshake must finish before ctx ends, or within
// DefaultHandshakeTimeout when ctx has no deadline; the connection's deadline
// is cleared afterwards.
func Initiate(ctx context.Context, conn net.Conn, local Handshake) (Handshake, error) {
	var peer Handshake
	err := withDeadline(ctx, conn, func() error {
		// Send while receiving: an unbuffered transport (net.Pipe) would
		// otherwise deadlock when the acceptor answers before reading our
		// peer ID.
		sent := make(chan error, 1)
		go func() {
			_, err := conn.Write(local.AppendTo(make([]byte, 0, HandshakeLength)))
			sent <- err
		}()
		err := readHead(conn, &peer)
		switch {
		case err != nil:
			err = fmt.Errorf("receive: %w", err)
		case peer.InfoHash != local.InfoHash:
			err = fmt.Errorf("%w: asked for %s, got %s", ErrInfoHashMismatch, local.InfoHash, peer.InfoHash)
		default:
			if _, rerr := io.ReadFull(conn, peer.PeerID[:]); rerr != nil {
				err = fmt.Errorf("receive peer ID: %w", rerr)
			}
		}
		if err != nil {
			// Unblock the sender before waiting for it.
			_ = conn.SetDeadline(time.Unix(1, 0))
		}
		if serr := <-sent; serr != nil && err == nil {
			err = fmt.Errorf("send: %w", serr)
		}
		return err
	})
	if err != nil {
		return peer, fmt.Errorf("peerwire: %s: handshake: %w", conn.RemoteAddr(), err)
	}
	return peer, nil
}

// Accept performs the handshake as the side that accepted the connection. It
// reads the peer's handshake up to the infohash and asks known whether that
// torrent is served here; only then does it answer with reserved, that
// infohash and id, and read the peer's ID. One listener can so serve many
// torrents. An unknown infohash gets no answer and ErrUnknownInfoHash.
//
// Deadlines are as for Initiate.
func Accept(ctx context.Context, conn net.Conn, known func(metainfo.InfoHash) bool, reserved Reserved, id PeerID) (Handshake, error) {
	var peer Handshake
	err := withDeadline(ctx, conn, func() error {
		if err := readHead(conn, &peer); err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		if !known(peer.InfoHash) {
			return fmt.Errorf("%w %s", ErrUnknownInfoHash, peer.InfoHash)
		}
		local := Handshake{Reserved: reserved, InfoHash: peer.InfoHash, PeerID: id}
		if _, err := conn.Write(local.AppendTo(make([]byte, 0, HandshakeLength))); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		if _, err := io.ReadFull(conn, peer.PeerID[:]); err != nil {
			return fmt.Errorf("receive peer ID: %w", err)
		}
		return nil
	})
	if err != nil {
		return peer, fmt.Errorf("peerwire: %s: handshake: %w", conn.RemoteAddr(), err)
	}
	return peer, nil
}

// withDeadline runs f with conn's deadline set from ctx (or
// DefaultHandshakeTimeout) and cancellation of ctx interrupting blocked I/O.
// The deadline is cleared when f returns.
func withDeadline(ctx context.Context, conn net.Conn, f func() error) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultHandshakeTimeout)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = conn.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	err := f()
	if !stop() {
		<-fired // so that it cannot undo the clearing below
	}
	// Report why time ran out rather than only an I/O timeout. The
	// connection's deadline may fire a hair before ctx's own timer.
	switch {
	case err == nil:
	case ctx.Err() != nil:
		err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	case errors.Is(err, os.ErrDeadlineExceeded) && ok:
		err = fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("not done within %v: %w", DefaultHandshakeTimeout, err)
	}
	if derr := conn.SetDeadline(time.Time{}); derr != nil && err == nil {
		err = fmt.Errorf("clear deadline: %w", derr)
	}
	return err
}
