package fetch

import (
	"container/heap"
	"time"

	"github.com/google/btree"
)

// The pending items are indexed so that a scheduling decision costs about
// the same with 500,000 files as with 50:
//
//   - fresh: items no request has touched yet, one ordered set per host and
//     kind of lane that may take them (small: listings, first requests and
//     files a small lane may take; big: the others). A lane only ever needs
//     the first of a set: that one gives it a task at once, or tells it the
//     whole set is of no use to it right now (its host is waiting, it is
//     too big for a small lane, its circuit has no room for more).
//   - active: items that have been started (requests under way, blocks
//     done, partial blocks, finishing). Lanes walk these in fetch order;
//     there are about as many as there are lanes.
//   - backoff: started items with no request under way that wait out a
//     backoff, by the time they may go again.
//
// The fetch order compares each item's record as it was when it was
// queued, so what is learned later (a size) never moves an item under the
// index: a fresh item's record does not change until a request takes it,
// so it is compared as it is; an item leaving the fresh sets gets a copy
// (fileState.key) first. A job may hold a million fresh items, each
// saved a copy of its record. All of it is under e.mu.
type queue struct {
	less    func(a, b *fileState) bool
	active  *btree.BTreeG[*fileState]
	groups  map[groupKey]*group
	order   []*group // groups in the order made, for a deterministic walk
	backoff backoffHeap
	small   func(f *fileState) bool // whether a small lane may take a fresh item
}

type groupKey struct {
	host    string
	listing bool
	small   bool
}

// group is one set of fresh items.
type group struct {
	groupKey
	tree *btree.BTreeG[*fileState]
}

// Where an item is in the queue.
const (
	inNone = iota
	inFresh
	inActive
	inBackoff
)

func newQueue(less func(a, b *fileState) bool, small func(*fileState) bool) *queue {
	return &queue{less: less, small: small, active: btree.NewG(16, less), groups: map[groupKey]*group{}}
}

// isFresh reports whether no request has touched f: its first request
// will take it. e.mu is held.
func isFresh(f *fileState) bool {
	return f.State == Pending && len(f.tasks) == 0 && f.doneBytes == 0 && len(f.partial) == 0 &&
		!f.finishing && f.specNext == 0 && f.notBefore.IsZero()
}

// push queues a pending item.
func (q *queue) push(f *fileState) {
	if isFresh(f) {
		k := groupKey{host: f.host, listing: f.Kind == KindListing, small: q.small(f)}
		g := q.groups[k]
		if g == nil {
			g = &group{groupKey: k, tree: btree.NewG(16, q.less)}
			q.groups[k] = g
			q.order = append(q.order, g)
		}
		g.tree.ReplaceOrInsert(f)
		f.where, f.group = inFresh, g
		return
	}
	f.fixKey()
	q.active.ReplaceOrInsert(f)
	f.where = inActive
}

// activate moves f from its fresh set to the active ones: a request is
// about to take it.
func (q *queue) activate(f *fileState) {
	if f.where != inFresh {
		return
	}
	f.group.tree.Delete(f)
	f.group = nil
	f.fixKey()
	q.active.ReplaceOrInsert(f)
	f.where = inActive
}

// remove takes f out of the queue wherever it is.
func (q *queue) remove(f *fileState) {
	switch f.where {
	case inFresh:
		f.group.tree.Delete(f)
		f.group = nil
	case inActive:
		q.active.Delete(f)
	case inBackoff:
		heap.Remove(&q.backoff, f.heapIdx)
	}
	f.where = inNone
}

// started returns the active items in fetch order, dropping the settled
// ones, into buf.
func (q *queue) started(buf []*fileState) []*fileState {
	out := buf[:0]
	var settled []*fileState
	q.active.Ascend(func(f *fileState) bool {
		if f.State != Pending {
			settled = append(settled, f)
		} else {
			out = append(out, f)
		}
		return true
	})
	for _, f := range settled {
		q.active.Delete(f)
		f.where = inNone
		f.key = nil // out of the order for good
		f.settle()  // a job may hold 500,000 of these
	}
	return out
}

// sleep moves an active item with no request under way to the backoff
// heap until its notBefore.
func (q *queue) sleep(f *fileState) {
	if f.where != inActive {
		return
	}
	q.active.Delete(f)
	heap.Push(&q.backoff, f)
	f.where = inBackoff
}

// wakeUp moves the items whose backoff is over back among the active ones
// and returns how long until the next one is, 0 if none waits.
func (q *queue) wakeUp(now time.Time) time.Duration {
	for len(q.backoff) > 0 {
		f := q.backoff[0]
		if d := f.notBefore.Sub(now); d > 0 {
			return d
		}
		heap.Pop(&q.backoff)
		q.active.ReplaceOrInsert(f)
		f.where = inActive
	}
	return 0
}

// nearlyEmpty reports whether only started items are left: no fresh
// ones, none in backoff.
func (q *queue) nearlyEmpty() bool {
	if len(q.backoff) > 0 {
		return false
	}
	for _, g := range q.order {
		if g.tree.Len() > 0 {
			return false
		}
	}
	return true
}

// all returns every queued item, in no particular order.
func (q *queue) all() []*fileState {
	var out []*fileState
	add := func(f *fileState) bool { out = append(out, f); return true }
	q.active.Ascend(add)
	for _, g := range q.order {
		g.tree.Ascend(add)
	}
	out = append(out, q.backoff...)
	return out
}

// backoffHeap orders items by the time their backoff ends.
type backoffHeap []*fileState

func (h backoffHeap) Len() int           { return len(h) }
func (h backoffHeap) Less(i, j int) bool { return h[i].notBefore.Before(h[j].notBefore) }
func (h backoffHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *backoffHeap) Push(x any) {
	f := x.(*fileState)
	f.heapIdx = len(*h)
	*h = append(*h, f)
}
func (h *backoffHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return f
}
