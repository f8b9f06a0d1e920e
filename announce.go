package debtorrent

import (
	"context"
	"net"
	"slices"
	"time"

	"github.com/debtorrent/debtorrent/peerwire"
	"github.com/debtorrent/debtorrent/tracker"
)

// Announce timing.
const (
	minAnnounceInterval   = 30 * time.Second
	retryAnnounceInterval = time.Minute
	stoppedTimeout        = 2 * time.Second
	dialTimeout           = 10 * time.Second
	maxCandidates         = 1000
	redialDelay           = time.Minute
	maxDialsOverLimit     = 4 // dials at once beyond MaxConnsPerTorrent, to replace idle peers
)

// announceLoop announces to the torrent's trackers: "started" first, again
// at the interval they ask for, "completed" when the torrent completes,
// "stopped" when it closes. The peers they return are offered to the loop.
func (t *Torrent) announceLoop() {
	defer t.wg.Done()
	tiers := tracker.NewTiers(t.c.tracker, t.opts.Trackers)
	event := tracker.EventStarted
	completed := t.completedCh
	select {
	case <-completed:
		completed = nil // complete from the start: a seed says nothing more
	default:
	}
	for {
		wait := retryAnnounceInterval
		resp, _, err := tiers.Announce(t.ctx, t.announceRequest(event))
		switch {
		case err != nil && t.ctx.Err() != nil:
		case err != nil:
			t.log.Warn("debtorrent: announce failed", "err", err)
		default:
			event = tracker.EventNone
			wait = max(resp.Interval, resp.MinInterval, minAnnounceInterval)
			addrs := make([]string, 0, len(resp.Peers))
			for _, p := range resp.Peers {
				addrs = append(addrs, p.Addr.String())
			}
			if len(addrs) > 0 {
				t.send(evAddrs{addrs}) // fails only when closing, seen below
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-t.ctx.Done():
			timer.Stop()
			if event != tracker.EventStarted {
				ctx, cancel := context.WithTimeout(context.Background(), stoppedTimeout)
				tiers.Announce(ctx, t.announceRequest(tracker.EventStopped))
				cancel()
			}
			return
		case <-completed:
			completed = nil
			event = tracker.EventCompleted
		case <-timer.C:
		}
		timer.Stop()
	}
}

// announceRequest describes the torrent to a tracker.
func (t *Torrent) announceRequest(ev tracker.Event) tracker.AnnounceRequest {
	s := t.Stats()
	left := s.Length - s.BytesHave
	select {
	case <-t.complete:
		left = 0 // the published stats may lag a moment behind
	default:
	}
	return tracker.AnnounceRequest{
		InfoHash:   t.ih,
		PeerID:     tracker.PeerID(t.c.peerID),
		Port:       t.c.port(),
		Uploaded:   s.BytesUploaded,
		Downloaded: s.BytesFromPeers + s.BytesFromWeb,
		Left:       left,
		Event:      ev,
		NumWant:    50,
	}
}

// addCandidates queues addresses to dial and dials what the limits allow.
// Addresses a dial failed to recently are skipped unless explicit (AddPeer).
func (t *Torrent) addCandidates(addrs []string, explicit bool) {
	now := time.Now()
	for _, a := range addrs {
		if t.banned[a] || t.c.bans.bannedAddr(a) || t.dialing[a] || t.connectedTo(a) || len(t.candidates) >= maxCandidates {
			continue
		}
		if at, ok := t.failedAt[a]; ok && !explicit && now.Sub(at) < redialDelay {
			continue
		}
		if slices.Contains(t.candidates, a) {
			continue
		}
		t.candidates = append(t.candidates, a)
	}
	t.dialMore()
}

// dialMore dials queued candidates while the torrent and the client have
// connection slots. A full torrent that wants pieces still dials when some
// of its peers are idle (a few at a time, maxDialsOverLimit): a dial that
// connects takes an idle peer's slot.
func (t *Torrent) dialMore() {
	slots := t.c.cfg.MaxConnsPerTorrent
	if len(t.candidates) > 0 && len(t.peers)+len(t.dialing) >= slots && t.pk.NumWanted() > 0 {
		slots += t.numIdle(time.Now(), maxDialsOverLimit)
	}
	for len(t.candidates) > 0 && len(t.peers)+len(t.dialing) < slots {
		a := t.candidates[0]
		t.candidates = t.candidates[1:]
		if t.banned[a] || t.c.bans.bannedAddr(a) || t.dialing[a] || t.connectedTo(a) {
			continue
		}
		if !t.c.reserveConn() {
			t.candidates = append([]string{a}, t.candidates...)
			return
		}
		t.dialing[a] = true
		t.wg.Add(1)
		go t.dial(a)
	}
}

// connectedTo reports whether a peer with this dial address is connected.
func (t *Torrent) connectedTo(addr string) bool {
	for p := range t.peers {
		if p.addr == addr {
			return true
		}
	}
	return false
}

// dial connects to addr and hands the connection to the loop.
func (t *Torrent) dial(addr string) {
	defer t.wg.Done()
	ctx, cancel := context.WithTimeout(t.ctx, dialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		local := peerwire.Handshake{Reserved: peerwire.DefaultReserved(), InfoHash: t.ih, PeerID: t.c.peerID}
		var hs peerwire.Handshake
		hs, err = peerwire.Initiate(ctx, nc, local)
		if err == nil {
			t.connected(nc, hs, addr)
			return
		}
		nc.Close()
	}
	t.c.releaseConn()
	t.log.Debug("debtorrent: cannot connect to peer", "peer", addr, "err", err)
	t.send(evDialFailed{addr})
}
