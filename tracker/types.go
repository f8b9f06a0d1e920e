package tracker

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/debtorrent/debtorrent/metainfo"
)

// Event tells the tracker why a peer announces. Its numeric values are the
// ones BEP 15 puts on the wire.
type Event uint32

const (
	// EventNone is a regular, periodic announce.
	EventNone Event = 0
	// EventCompleted is sent once, when the download finishes.
	EventCompleted Event = 1
	// EventStarted is sent with the first announce of a download.
	EventStarted Event = 2
	// EventStopped is sent when the peer leaves the swarm.
	EventStopped Event = 3
)

// String returns the event's name as the HTTP protocol spells it ("" for
// EventNone).
func (e Event) String() string {
	switch e {
	case EventNone:
		return ""
	case EventCompleted:
		return "completed"
	case EventStarted:
		return "started"
	case EventStopped:
		return "stopped"
	}
	return fmt.Sprintf("Event(%d)", uint32(e))
}

// parseEvent reads the HTTP spelling of an event.
func parseEvent(s string) (Event, error) {
	switch s {
	case "", "empty", "paused":
		return EventNone, nil
	case "completed":
		return EventCompleted, nil
	case "started":
		return EventStarted, nil
	case "stopped":
		return EventStopped, nil
	}
	return EventNone, fmt.Errorf("unknown event %q", s)
}

// PeerID is the 20-byte name a peer gives itself.
type PeerID [20]byte

// AnnounceRequest is what a peer tells a tracker about itself and one torrent.
type AnnounceRequest struct {
	InfoHash   metainfo.InfoHash // the torrent
	PeerID     PeerID            // the announcing peer's id
	Port       uint16            // the port the peer accepts connections on
	Uploaded   int64             // bytes uploaded since the started event
	Downloaded int64             // bytes downloaded since the started event
	Left       int64             // bytes still missing; 0 for a seed
	Event      Event             // started, completed, stopped, or none for a regular announce
	// NumWant is how many peers the peer would like; 0 asks for the
	// tracker's default (see NoPeersWanted to ask for none).
	NumWant int
	// Key is a random number that lets the tracker recognise the peer when
	// its address changes.
	Key uint32
	// IP optionally tells the tracker the peer's address; trackers usually
	// honour it only from trusted networks.
	IP netip.Addr
	// TrackerID echoes the tracker id an HTTP tracker returned earlier.
	TrackerID string
}

// NoPeersWanted as AnnounceRequest.NumWant asks for no peers at all (useful
// with EventStopped).
const NoPeersWanted = -1

// Peer is one member of a swarm as a tracker lists it.
type Peer struct {
	// Addr is where the peer accepts connections.
	Addr netip.AddrPort
	// ID is the peer's id when the tracker gave one (dictionary-model HTTP
	// replies only); nil otherwise.
	ID []byte
}

// AnnounceResponse is a tracker's answer to an announce.
type AnnounceResponse struct {
	// Interval is how long to wait before the next regular announce.
	Interval time.Duration
	// MinInterval, if not zero, is the least time between two announces.
	MinInterval time.Duration
	// TrackerID is to be sent back with later announces (HTTP only).
	TrackerID string
	// Warning is a message the tracker wants shown; the announce succeeded.
	Warning string
	// Seeders and Leechers count the swarm's complete and incomplete peers,
	// or are -1 when the tracker did not say.
	Seeders, Leechers int
	// Peers lists members of the swarm, IPv4 and IPv6 together (some
	// trackers, opentracker among them, list the asking peer too).
	Peers []Peer
}

// ScrapeStats is what a tracker knows about one swarm.
type ScrapeStats struct {
	Seeders   int // peers with the whole torrent ("complete")
	Completed int // downloads ever finished ("downloaded")
	Leechers  int // peers still downloading ("incomplete")
}

// FailureError is a tracker's refusal, with the reason it gave.
type FailureError struct {
	// Reason is the tracker's "failure reason", as it wrote it.
	Reason string
}

// Error returns the tracker's reason.
func (e *FailureError) Error() string { return "tracker refused: " + e.Reason }
