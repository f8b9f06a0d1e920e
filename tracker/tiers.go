package tracker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
)

// Announcer sends one announce to one tracker; *Client is one.
type Announcer interface {
	Announce(ctx context.Context, announceURL string, req AnnounceRequest) (*AnnounceResponse, error)
}

// Tiers walks a torrent's announce list as BEP 12 says: each tier is
// shuffled once; trackers are tried in order, tier after tier, until one
// answers, and the one that answered moves to the front of its tier. Tiers
// also remembers each tracker's tracker id. It is safe for concurrent use.
type Tiers struct {
	announcer Announcer

	mu         sync.Mutex
	tiers      [][]string
	trackerIDs map[string]string
}

// NewTiers returns Tiers over announceList (a metainfo's announce-list, or
// [][]string{{announce}} when it has none), shuffling each tier.
func NewTiers(a Announcer, announceList [][]string) *Tiers {
	t := &Tiers{announcer: a, trackerIDs: make(map[string]string)}
	for _, tier := range announceList {
		if len(tier) == 0 {
			continue
		}
		tier = slices.Clone(tier)
		rand.Shuffle(len(tier), func(i, j int) { tier[i], tier[j] = tier[j], tier[i] })
		t.tiers = append(t.tiers, tier)
	}
	return t
}

// List returns the tiers in their current order.
func (t *Tiers) List() [][]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([][]string, len(t.tiers))
	for i, tier := range t.tiers {
		out[i] = slices.Clone(tier)
	}
	return out
}

// Announce sends req to the first tracker that answers and returns its
// answer and URL. If none answers, the error joins every tracker's error.
// A cancelled ctx stops the walk at once.
func (t *Tiers) Announce(ctx context.Context, req AnnounceRequest) (*AnnounceResponse, string, error) {
	var errs []error
	for ti, tier := range t.List() {
		for _, u := range tier {
			if err := ctx.Err(); err != nil {
				return nil, "", fmt.Errorf("tracker: announce: %w", err)
			}
			r := req
			t.mu.Lock()
			r.TrackerID = t.trackerIDs[u]
			t.mu.Unlock()
			resp, err := t.announcer.Announce(ctx, u, r)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			t.promote(ti, u, resp.TrackerID)
			return resp, u, nil
		}
	}
	if len(errs) == 0 {
		return nil, "", errors.New("tracker: announce: no trackers")
	}
	return nil, "", errors.Join(errs...)
}

// promote moves u to the front of tier ti and keeps its tracker id.
func (t *Tiers) promote(ti int, u, trackerID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if trackerID != "" {
		t.trackerIDs[u] = trackerID
	}
	tier := t.tiers[ti]
	i := slices.Index(tier, u)
	if i <= 0 {
		return
	}
	copy(tier[1:i+1], tier[:i])
	tier[0] = u
}
