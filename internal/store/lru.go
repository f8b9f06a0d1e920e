package store

// entry is what the store knows of one content-addressed piece. Every field
// is guarded by Store.mu (sum and size never change).
type entry struct {
	sum  Sum
	size int64
	refs int // open readers; a pinned entry is never evicted

	// prev and next link the entry into Store.lru while it is indexed.
	prev, next *entry
}

// lruList is an intrusive circular doubly-linked list of entries, most
// recently used first; its zero value must be initialised with init. Every
// operation is O(1). Guarded by Store.mu.
type lruList struct{ root entry }

func (l *lruList) init() { l.root.next, l.root.prev = &l.root, &l.root }

// pushFront inserts e, which must not be in the list, as the most recent.
func (l *lruList) pushFront(e *entry) {
	e.prev, e.next = &l.root, l.root.next
	l.root.next.prev = e
	l.root.next = e
}

// pushBack inserts e, which must not be in the list, as the least recent.
func (l *lruList) pushBack(e *entry) {
	e.next, e.prev = &l.root, l.root.prev
	l.root.prev.next = e
	l.root.prev = e
}

// remove takes e out of the list; harmless if it is not in it.
func (l *lruList) remove(e *entry) {
	if e.prev == nil {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

// moveToFront marks e, which is in the list, as the most recently used.
func (l *lruList) moveToFront(e *entry) {
	if l.root.next == e {
		return
	}
	l.remove(e)
	l.pushFront(e)
}

// moveToBack marks e, which is in the list, as the least recently used.
func (l *lruList) moveToBack(e *entry) {
	l.remove(e)
	l.pushBack(e)
}

// back returns the least recently used entry, or nil when empty.
func (l *lruList) back() *entry { return l.prevOf(&l.root) }

// prevOf returns the entry used just more recently than e, or nil.
func (l *lruList) prevOf(e *entry) *entry {
	if e.prev == &l.root {
		return nil
	}
	return e.prev
}
