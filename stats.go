package debtorrent

import (
	"sync"
	"sync/atomic"
)

// ClientStats are a Client's totals.
type ClientStats struct {
	// Torrents is the number of torrents running.
	Torrents int
	// Conns is the number of peer connections open or being set up.
	Conns int
	// BytesFromPeers counts piece bytes received from peers and kept.
	BytesFromPeers int64
	// BytesFromWeb counts piece bytes received from web sources and kept.
	BytesFromWeb int64
	// BytesUploaded counts piece bytes sent to peers.
	BytesUploaded int64
}

// totals are the Client's counters, added to by every torrent.
type totals struct {
	fromPeers, fromWeb, uploaded atomic.Int64
}

// TorrentStats describe one torrent at one moment.
type TorrentStats struct {
	// Pieces is the torrent's piece count; PiecesHave how many are verified
	// and still stored (a piece the store evicts is no longer counted).
	Pieces, PiecesHave int
	// Length is the torrent's size; BytesHave the bytes of the pieces
	// counted in PiecesHave.
	Length, BytesHave int64
	// Wanted is the number of pieces wanted and not yet verified.
	Wanted int
	// Peers is the number of connected peers; Machines the number of
	// distinct hosts (IP addresses) among them.
	Peers, Machines int
	// BytesFromPeers counts piece bytes received from peers and kept
	// (duplicates and unwanted blocks are not counted).
	BytesFromPeers int64
	// BytesFromWeb counts piece bytes received from the web source and kept.
	BytesFromWeb int64
	// BytesUploaded counts piece bytes sent to peers.
	BytesUploaded int64
	// DownloadRate is the bytes per second kept from peers and the web
	// source, UploadRate the bytes per second sent to peers, both averaged
	// over the last 20 seconds.
	DownloadRate, UploadRate float64
	// HashFailures counts pieces that failed verification.
	HashFailures int
	// Banned counts peers banned for sending bad data.
	Banned int
}

// Complete reports whether every piece is verified and stored now (unlike
// Torrent.Complete, it turns false again when the store evicts a piece).
func (s TorrentStats) Complete() bool { return s.PiecesHave == s.Pieces }

// statsBox holds a torrent's published stats: the loop writes, anyone reads.
type statsBox struct {
	mu      sync.Mutex
	s       TorrentStats
	changed chan struct{} // closed and replaced at every publish
}

func newStatsBox() *statsBox { return &statsBox{changed: make(chan struct{})} }

// publish replaces the snapshot and wakes the waiters of Changed.
func (b *statsBox) publish(s TorrentStats) {
	b.mu.Lock()
	b.s = s
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// get returns the snapshot and the channel closed at the next publish.
func (b *statsBox) get() (TorrentStats, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.s, b.changed
}
