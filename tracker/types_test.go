package tracker

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventNames(t *testing.T) {
	for _, e := range []Event{EventNone, EventCompleted, EventStarted, EventStopped} {
		got, err := parseEvent(e.String())
		require.NoError(t, err)
		assert.Equal(t, e, got)
	}
	assert.Equal(t, "Event(9)", Event(9).String())
	_, err := parseEvent("Event(9)")
	assert.Error(t, err)
	got, err := parseEvent("paused") // BEP 21's partial seeds
	require.NoError(t, err)
	assert.Equal(t, EventNone, got)
}
