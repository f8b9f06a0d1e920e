package tracker

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scriptedAnnouncer answers for the URLs in up and fails for the rest,
// recording the calls.
type scriptedAnnouncer struct {
	up    map[string]string // URL → tracker id it returns
	calls []string
	ids   []string // tracker id sent with each call
}

func (s *scriptedAnnouncer) Announce(_ context.Context, u string, req AnnounceRequest) (*AnnounceResponse, error) {
	s.calls = append(s.calls, u)
	s.ids = append(s.ids, req.TrackerID)
	id, ok := s.up[u]
	if !ok {
		return nil, errors.New(u + " is down")
	}
	return &AnnounceResponse{TrackerID: id}, nil
}

func TestTiers(t *testing.T) {
	list := [][]string{{"a1", "a2", "a3"}, {"b1", "b2"}}
	tests := []struct {
		name      string
		up        []string
		wantURL   string
		wantTier0 string // front of tier 0 afterwards ("" if unchanged)
		wantTier1 string
		wantCalls int
		wantErr   bool
	}{
		{name: "first tier answers", up: []string{"a1", "a2", "a3"}, wantCalls: 1},
		{name: "one of the first tier answers", up: []string{"a3"}, wantURL: "a3", wantTier0: "a3"},
		{name: "falls to the second tier", up: []string{"b2"}, wantURL: "b2", wantTier1: "b2"},
		{name: "none answers", up: nil, wantCalls: 5, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &scriptedAnnouncer{up: map[string]string{}}
			for _, u := range tt.up {
				a.up[u] = ""
			}
			tiers := NewTiers(a, list)
			before := tiers.List()
			for i := range list {
				assert.ElementsMatch(t, list[i], before[i], "a tier is a permutation of itself")
			}
			_, u, err := tiers.Announce(context.Background(), AnnounceRequest{})
			if tt.wantErr {
				require.Error(t, err)
				for _, l := range slices.Concat(list...) {
					assert.ErrorContains(t, err, l+" is down")
				}
				assert.Equal(t, before, tiers.List(), "no promotion without an answer")
			} else {
				require.NoError(t, err)
				assert.Contains(t, tt.up, u)
			}
			if tt.wantURL != "" {
				assert.Equal(t, tt.wantURL, u)
			}
			if tt.wantCalls != 0 {
				assert.Len(t, a.calls, tt.wantCalls)
			}
			after := tiers.List()
			if tt.wantTier0 != "" {
				assert.Equal(t, tt.wantTier0, after[0][0])
				assert.ElementsMatch(t, list[0], after[0])
				// The others keep their relative order.
				assert.Equal(t, slices.DeleteFunc(slices.Clone(before[0]), func(s string) bool { return s == tt.wantTier0 }), after[0][1:])
			}
			if tt.wantTier1 != "" {
				assert.Equal(t, tt.wantTier1, after[1][0])
				assert.Equal(t, before[0], after[0], "a tier that never answered keeps its order")
			}
		})
	}
}

func TestTiersRemembersTrackerIDAndStopsWhenCancelled(t *testing.T) {
	a := &scriptedAnnouncer{up: map[string]string{"x": "id-1"}}
	tiers := NewTiers(a, [][]string{{"x"}})
	ctx := context.Background()
	_, _, err := tiers.Announce(ctx, AnnounceRequest{})
	require.NoError(t, err)
	_, _, err = tiers.Announce(ctx, AnnounceRequest{})
	require.NoError(t, err)
	assert.Equal(t, []string{"", "id-1"}, a.ids)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = tiers.Announce(cancelled, AnnounceRequest{})
	require.ErrorIs(t, err, context.Canceled)
	assert.Len(t, a.calls, 2, "no call once cancelled")

	_, _, err = NewTiers(a, nil).Announce(ctx, AnnounceRequest{})
	require.ErrorContains(t, err, "no trackers")
}
