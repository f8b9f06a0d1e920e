package debtorrent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/debtorrent/debtorrent/internal/aptproxy"
	"github.com/debtorrent/debtorrent/metainfo"
)

// proxyStore lets the proxy read and write packages in a DiskStorage.
type proxyStore struct{ d *DiskStorage }

func (s proxyStore) OpenSHA256(sum [32]byte) (aptproxy.Piece, error) {
	r, err := s.d.OpenSHA256(sum)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (s proxyStore) OpenWriter(info *metainfo.Info) (aptproxy.PieceWriter, error) {
	t, err := s.d.OpenTorrent(info)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (s proxyStore) Usage() (int64, int) { return s.d.Usage() }

// onTorrent adds a torrent made from a Packages file to the Client, with
// the mirror as its web source, and drops the one it replaces.
func (p *Proxy) onTorrent(t, replaced *aptproxy.Torrent) {
	src, err := p.mirror.Source(t)
	if err != nil {
		p.log.Warn("debtorrent: proxy: web source", "torrent", t.Name.String(), "err", err)
		return
	}
	opts := TorrentOptions{WebSource: src}
	if len(p.cfg.Trackers) > 0 {
		opts.Trackers = [][]string{append([]string(nil), p.cfg.Trackers...)}
	}
	ct, err := p.cfg.Client.AddTorrent(t.Info, opts)
	if err != nil {
		p.log.Warn("debtorrent: proxy: join swarm", "torrent", t.Name.String(), "err", err)
		return
	}
	p.mu.Lock()
	p.torrents[t.Info.InfoHash().String()] = ct
	var old *Torrent
	if replaced != nil {
		old = p.torrents[replaced.Info.InfoHash().String()]
		delete(p.torrents, replaced.Info.InfoHash().String())
	}
	p.mu.Unlock()
	if old != nil && old != ct {
		old.Close()
	}
	p.log.Info("debtorrent: proxy: joined swarm", "torrent", t.Name.String(), "infohash", t.Info.InfoHash().String())
}

// clientFetcher wants a .deb from the Client's swarm as urgent and waits
// until it is verified.
type clientFetcher struct{ p *Proxy }

func (f clientFetcher) Fetch(ctx context.Context, t *aptproxy.Torrent, file int) error {
	f.p.mu.Lock()
	ct := f.p.torrents[t.Info.InfoHash().String()]
	f.p.mu.Unlock()
	if ct == nil {
		return errors.New("debtorrent: proxy: torrent not in the Client")
	}
	piece, ok := t.Info.PieceForFile(file)
	if !ok {
		return fmt.Errorf("debtorrent: proxy: no piece for file %d", file)
	}
	return ct.WaitPiece(ctx, piece, WithDeadline(time.Now().Add(f.p.cfg.PeerWait)))
}

// engineStatus reports the Client's figures for the status pages.
func (p *Proxy) engineStatus() aptproxy.EngineStatus {
	cs := p.cfg.Client.Stats()
	es := aptproxy.EngineStatus{Peers: cs.Conns, BytesFromPeers: cs.BytesFromPeers, BytesToPeers: cs.BytesUploaded,
		BytesFromWeb: cs.BytesFromWeb, Torrents: map[string]aptproxy.EngineTorrent{}}
	p.mu.Lock()
	defer p.mu.Unlock()
	for ih, t := range p.torrents {
		ts := t.Stats()
		es.Torrents[ih] = aptproxy.EngineTorrent{PiecesWanted: ts.Wanted, PiecesDone: ts.PiecesHave, Peers: ts.Peers}
	}
	return es
}
