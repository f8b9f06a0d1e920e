package aptmethod

import (
	"context"
	"sync"
)

// queue is an unbounded first-in first-out list of requests shared by the
// reader (which pushes everything APT sends at once) and the workers.
type queue struct {
	mu    sync.Mutex
	items []*Request
	// ready holds a token while the queue may be non-empty.
	ready chan struct{}
}

// newQueue returns an empty queue.
func newQueue() *queue {
	return &queue{ready: make(chan struct{}, 1)}
}

// len returns the number of waiting requests.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// push appends r and wakes a waiting worker.
func (q *queue) push(r *Request) {
	q.mu.Lock()
	q.items = append(q.items, r)
	q.mu.Unlock()
	q.signal()
}

// pop returns the oldest request, waiting for one; false once ctx is done.
func (q *queue) pop(ctx context.Context) (*Request, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			r := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			more := len(q.items) > 0
			q.mu.Unlock()
			if more {
				q.signal()
			}
			return r, true
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// signal leaves a token for one waiting worker.
func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}
