package aptmethod

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueueOrderAndCancel(t *testing.T) {
	q := newQueue()
	for _, u := range []string{"a", "b", "c"} {
		q.push(&Request{URI: u})
	}
	ctx, cancel := context.WithCancel(context.Background())
	for _, want := range []string{"a", "b", "c"} {
		r, ok := q.pop(ctx)
		require.True(t, ok)
		assert.Equal(t, want, r.URI)
	}
	cancel()
	_, ok := q.pop(ctx)
	assert.False(t, ok, "an empty queue returns once the context is done")
}

func TestQueueManyWaiters(t *testing.T) {
	q := newQueue()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const workers, items = 8, 1000
	got := make(chan string, items)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r, ok := q.pop(ctx)
				if !ok {
					return
				}
				got <- r.URI
			}
		}()
	}
	for i := range items {
		q.push(&Request{URI: string(rune('a' + i%26))})
	}
	for range items {
		<-got // every item reaches a worker: no lost wake-up
	}
	cancel()
	wg.Wait()
	assert.Zero(t, q.len())
}
