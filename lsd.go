package debtorrent

import (
	"fmt"

	"github.com/debtorrent/debtorrent/internal/lsd"
	"github.com/debtorrent/debtorrent/metainfo"
)

// startLSD runs the Client's local service discovery (Config.LocalDiscovery)
// on its listening port: base gives the group and interface (zero: BEP 14's
// IPv4 group on the default route's interface; tests give their own). The
// Service's goroutines stop with the Client.
func (c *Client) startLSD(base lsd.Config) error {
	base.Port = c.port()
	base.Logger = c.log
	s, err := lsd.New(base)
	if err != nil {
		return fmt.Errorf("debtorrent: local service discovery: %w", err)
	}
	c.lsd = s
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		if err := s.Run(c.ctx); err != nil {
			// No multicast here (a container, a host without a default
			// route): trackers and PEX still work.
			c.log.Warn("debtorrent: local service discovery is off", "err", err)
		}
	}()
	go func() {
		defer c.wg.Done()
		c.routeLSDPeers(s.Peers())
	}()
	return nil
}

// routeLSDPeers hands each peer heard on the LAN to its torrent's candidates,
// or to the magnet link waiting for its metadata, until peers is closed (when
// the Service's Run returns).
func (c *Client) routeLSDPeers(peers <-chan lsd.Peer) {
	for p := range peers {
		addr := p.Addr.String()
		if t, ok := c.Torrent(p.InfoHash); ok {
			t.send(evAddrs{[]string{addr}}) // false only when t is closing
			continue
		}
		c.magnets.offer(p.InfoHash, []string{addr})
	}
}

// lsdAdd starts announcing ih on the LAN, when local discovery is on.
func (c *Client) lsdAdd(ih metainfo.InfoHash) {
	if c.lsd == nil {
		return
	}
	if err := c.lsd.Add(ih); err != nil {
		c.log.Warn("debtorrent: not announced on the LAN", "infohash", ih, "err", err)
	}
}

// lsdRemove stops announcing ih on the LAN.
func (c *Client) lsdRemove(ih metainfo.InfoHash) {
	if c.lsd != nil {
		c.lsd.Remove(ih)
	}
}
