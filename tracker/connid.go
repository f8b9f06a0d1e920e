package tracker

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net/netip"
	"sync"
	"time"
)

// connIDEpoch is how often the UDP connection-id secret rotates. An id is
// accepted in the epoch it was minted and the next, so it lives one to two
// minutes (BEP 15: clients use it for one, servers accept it for two).
const connIDEpoch = time.Minute

// connIDMinter mints and checks UDP connection ids without keeping state
// per client: an id is the HMAC of the client's IP address (not its port:
// a client may use a fresh socket per request) under the current
// epoch's secret, itself derived from a random master key, so ids cannot
// be forged and expire on their own.
type connIDMinter struct {
	master [32]byte

	mu      sync.Mutex
	secrets [2]epochSecret // the two most recent epochs asked for
	sum     [sha256.Size]byte
}

// epochSecret is one epoch's keyed HMAC, HMAC(master, epoch) as its key,
// kept so that checking an id allocates nothing.
type epochSecret struct {
	epoch int64
	mac   hash.Hash
}

func newConnIDMinter() *connIDMinter {
	m := &connIDMinter{}
	rand.Read(m.master[:]) // never fails (crypto/rand panics on failure)
	return m
}

// mint returns addr's connection id at now.
func (m *connIDMinter) mint(addr netip.AddrPort, now time.Time) uint64 {
	return m.id(epochOf(now), addr)
}

// valid reports whether id was minted for addr in this epoch or the last.
func (m *connIDMinter) valid(id uint64, addr netip.AddrPort, now time.Time) bool {
	e := epochOf(now)
	return id == m.id(e, addr) || id == m.id(e-1, addr)
}

func epochOf(t time.Time) int64 { return t.UnixNano() / int64(connIDEpoch) }

// id is the first 8 bytes of HMAC(HMAC(master, epoch), IP address).
func (m *connIDMinter) id(epoch int64, addr netip.AddrPort) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	mac := m.secret(epoch)
	mac.Reset()
	a := addr.Addr().As16()
	mac.Write(a[:])
	return binary.BigEndian.Uint64(mac.Sum(m.sum[:0]))
}

// secret returns epoch e's HMAC, cached for two epochs. Called with m.mu
// held.
func (m *connIDMinter) secret(e int64) hash.Hash {
	for _, s := range m.secrets {
		if s.mac != nil && s.epoch == e {
			return s.mac
		}
	}
	outer := hmac.New(sha256.New, m.master[:])
	outer.Write(binary.BigEndian.AppendUint64(nil, uint64(e)))
	mac := hmac.New(sha256.New, outer.Sum(nil))
	// Replace the older of the two cached secrets.
	if m.secrets[0].mac != nil && m.secrets[0].epoch > m.secrets[1].epoch {
		m.secrets[1] = epochSecret{epoch: e, mac: mac}
	} else {
		m.secrets[0] = epochSecret{epoch: e, mac: mac}
	}
	return mac
}
