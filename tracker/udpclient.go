package tracker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

const (
	// udpConnIDLifetime is how long a client uses a connection id (BEP 15).
	udpConnIDLifetime = time.Minute
	// maxCachedConnIDs bounds the connection-id cache.
	maxCachedConnIDs = 1024
)

// udpClient announces and scrapes over UDP, remembering each tracker's
// connection id for its lifetime.
type udpClient struct {
	baseTimeout time.Duration // first wait; doubled at each retransmission
	maxRetries  int           // retransmissions after the first send
	now         func() time.Time

	mu      sync.Mutex
	connIDs map[string]cachedConnID // by tracker address
}

type cachedConnID struct {
	id  uint64
	got time.Time
}

// errUDPTimeout marks a round trip that got no reply in time.
var errUDPTimeout = errors.New("no reply")

func (c *udpClient) cachedConnID(addr string) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.connIDs[addr]
	if !ok || c.now().Sub(e.got) >= udpConnIDLifetime {
		return 0, false
	}
	return e.id, true
}

func (c *udpClient) storeConnID(addr string, id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.connIDs) >= maxCachedConnIDs {
		for a, e := range c.connIDs {
			if now.Sub(e.got) >= udpConnIDLifetime {
				delete(c.connIDs, a)
			}
		}
		if len(c.connIDs) >= maxCachedConnIDs {
			clear(c.connIDs)
		}
	}
	c.connIDs[addr] = cachedConnID{id: id, got: now}
}

func (c *udpClient) forgetConnID(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.connIDs, addr)
}

// announce sends one announce to the UDP tracker at hostport.
func (c *udpClient) announce(ctx context.Context, hostport string, req *AnnounceRequest) (*AnnounceResponse, error) {
	var resp *AnnounceResponse
	err := c.do(ctx, hostport, actionAnnounce,
		func(connID uint64, tx uint32) []byte { return udpAnnounceRequest(connID, tx, req) },
		func(body []byte, ipv6 bool) error {
			var err error
			resp, err = parseUDPAnnounce(body, ipv6)
			return err
		})
	return resp, err
}

// scrape asks the UDP tracker at hostport about up to maxUDPScrapeHashes
// swarms.
func (c *udpClient) scrape(ctx context.Context, hostport string, hashes []metainfo.InfoHash) (map[metainfo.InfoHash]ScrapeStats, error) {
	if len(hashes) == 0 || len(hashes) > maxUDPScrapeHashes {
		return nil, fmt.Errorf("udp scrape of %d infohashes: want 1 to %d", len(hashes), maxUDPScrapeHashes)
	}
	var stats map[metainfo.InfoHash]ScrapeStats
	err := c.do(ctx, hostport, actionScrape,
		func(connID uint64, tx uint32) []byte { return udpScrapeRequest(connID, tx, hashes) },
		func(body []byte, _ bool) error {
			var err error
			stats, err = parseUDPScrape(body, hashes)
			return err
		})
	return stats, err
}

// do runs one request with its connect, retransmitting after
// baseTimeout·2^n for n up to maxRetries.
func (c *udpClient) do(ctx context.Context, hostport string, action uint32,
	build func(connID uint64, tx uint32) []byte, parse func(body []byte, ipv6 bool) error) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", hostport)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	ipv6 := false
	if ua, ok := conn.RemoteAddr().(*net.UDPAddr); ok {
		ipv6 = ua.IP.To4() == nil
	}
	key := conn.RemoteAddr().String()
	buf := make([]byte, maxUDPPacket)
	for n := 0; n <= c.maxRetries; n++ {
		timeout := c.baseTimeout << n
		connID, ok := c.cachedConnID(key)
		if !ok {
			tx := rand.Uint32()
			body, err := c.roundTrip(ctx, conn, buf, udpConnectRequest(tx), tx, actionConnect, timeout)
			if errors.Is(err, errUDPTimeout) {
				continue
			}
			if err != nil {
				return fmt.Errorf("connect: %w", err)
			}
			if connID, err = parseUDPConnect(body); err != nil {
				return err
			}
			c.storeConnID(key, connID)
		}
		tx := rand.Uint32()
		body, err := c.roundTrip(ctx, conn, buf, build(connID, tx), tx, action, timeout)
		if errors.Is(err, errUDPTimeout) {
			continue
		}
		if err != nil {
			var fe *FailureError
			if errors.As(err, &fe) {
				// The tracker may have refused an expired connection id;
				// start afresh next time.
				c.forgetConnID(key)
			}
			return err
		}
		return parse(body, ipv6)
	}
	return fmt.Errorf("%w after %d retransmissions (last wait %v)", errUDPTimeout, c.maxRetries, c.baseTimeout<<c.maxRetries)
}

// roundTrip sends req and waits up to timeout for the reply carrying tx,
// ignoring stray datagrams. It returns the reply's body.
func (c *udpClient) roundTrip(ctx context.Context, conn net.Conn, buf, req []byte, tx, action uint32, timeout time.Duration) ([]byte, error) {
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err // cancelled before the deadline was set: AfterFunc may have run already
	}
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if ctxErr := ctx.Err(); ctxErr != nil {
					return nil, ctxErr
				}
				return nil, errUDPTimeout
			}
			return nil, err
		}
		reply, err := parseUDPReply(buf[:n])
		if err != nil || reply.tx != tx {
			continue // not ours: a late reply to an earlier try, or noise
		}
		switch reply.action {
		case action:
			return reply.body, nil
		case actionError:
			return nil, udpErrorText(reply.body)
		default:
			return nil, fmt.Errorf("reply with action %d to a request with action %d", reply.action, action)
		}
	}
}
