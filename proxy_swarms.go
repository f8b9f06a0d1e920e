package debtorrent

import (
	"github.com/debtorrent/debtorrent/internal/aptproxy"
)

// joinSwarm adds a torrent made from a Packages file to the Client, with the
// archive's web source, and closes the one it replaces. The Client is the one
// registry of running torrents: requests find them by infohash.
func (p *Proxy) joinSwarm(t, replaced *aptproxy.Torrent) {
	src, err := p.sources.get(t.Mirror, t.ArchiveKey, t.RootURLs)
	if err != nil {
		p.log.Warn("debtorrent: proxy: web source", "torrent", t.Name.String(), "err", err)
		return
	}
	opts := TorrentOptions{WebSource: src}
	if len(p.cfg.Trackers) > 0 {
		opts.Trackers = [][]string{append([]string(nil), p.cfg.Trackers...)}
	}
	if _, err := p.client.AddTorrent(t.Info, opts); err != nil {
		p.log.Warn("debtorrent: proxy: join swarm", "torrent", t.Name.String(), "err", err)
		return
	}
	if replaced != nil && replaced.Info.InfoHash() != t.Info.InfoHash() {
		if old, ok := p.client.Torrent(replaced.Info.InfoHash()); ok {
			old.Close()
		}
	}
	p.log.Info("debtorrent: proxy: joined swarm", "torrent", t.Name.String(), "infohash", t.Info.InfoHash().String())
}

// engineStatus reports the Client's figures for the status pages.
func (p *Proxy) engineStatus() aptproxy.EngineStatus {
	cs := p.client.Stats()
	es := aptproxy.EngineStatus{Peers: cs.Conns, BytesFromPeers: cs.BytesFromPeers, BytesToPeers: cs.BytesUploaded,
		BytesFromWeb: cs.BytesFromWeb, Torrents: map[string]aptproxy.EngineTorrent{}}
	for _, ct := range p.client.Torrents() {
		ts := ct.Stats()
		es.VerificationFailures += int64(ts.HashFailures)
		es.BannedPeers += int64(ts.Banned)
	}
	for _, t := range p.srv.Torrents() {
		if ct, ok := p.client.Torrent(t.Info.InfoHash()); ok {
			ts := ct.Stats()
			es.Torrents[t.Info.InfoHash().String()] = aptproxy.EngineTorrent{PiecesWanted: ts.Wanted, PiecesDone: ts.PiecesHave, Peers: ts.Peers, Machines: ts.Machines}
		}
	}
	return es
}
