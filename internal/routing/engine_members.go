package routing

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// queueMembers is a queue's workers in id order, each with a copy of what
// ranking reads of it. Ranking a queue for a job reads every member; read
// through the pointers, each worker was a trip to memory (a queue of 50
// cost 12 of the router's 48 µs per job); read from one array, the
// hardware streams them.
type queueMembers struct {
	workers []*worker
	hot     []hotMember
	// dead: the queue's membership changed and a new list replaces this
	// one; workers drop their references to it when next synced.
	dead bool
}

// hotMember is what ranking reads of a worker. sync keeps every copy equal
// to hotOf(w) after each change to the worker; checkMembers proves it in
// the tests.
type hotMember struct {
	w  *worker
	id string
	// Times, not Unix nanoseconds: compared as the worker's own are (by the
	// monotonic clock when both carry it), and any time fits.
	idleSince      time.Time
	wrapUntil      time.Time
	used, capacity int
	offers         int
	maxOffers      int
	slots          [hotSlots]chanSlot
	nslots         int8
	available      bool
}

// hotSlots channels of a worker are copied (the engine numbers channels in
// the order it meets them, so these are the usual ones); a job of a later
// channel reads the worker itself.
const hotSlots = 2

// memberRef is where a copy of a worker's hot fields sits.
type memberRef struct {
	list *queueMembers
	i    int
}

func hotOf(w *worker) hotMember {
	h := hotMember{w: w, id: w.ID, idleSince: w.idleSince, wrapUntil: w.wrapUntil, used: w.used, capacity: w.Capacity,
		offers: len(w.offers), maxOffers: w.MaxOffers, available: w.Available}
	h.nslots = int8(copy(h.slots[:], w.slots))
	return h
}

// slot is the worker's channel n.
func (h *hotMember) slot(n int) chanSlot {
	if n < int(h.nslots) {
		return h.slots[n]
	}
	if n < len(h.w.slots) {
		return h.w.slots[n]
	}
	return chanSlot{}
}

// sync copies a changed worker's hot fields to every queue list holding it.
func (e *Engine) sync(w *worker) {
	if len(w.refs) == 0 {
		return
	}
	h := hotOf(w)
	live := w.refs[:0]
	for _, r := range w.refs {
		if !r.list.dead {
			r.list.hot[r.i] = h
			live = append(live, r)
		}
	}
	clear(w.refs[len(live):])
	w.refs = live
}

// members are a queue's workers in id order.
func (e *Engine) members(queue string) []*worker { return e.memberList(queue).workers }

func (e *Engine) memberList(queue string) *queueMembers {
	if m, ok := e.sorted[queue]; ok {
		return m
	}
	m := &queueMembers{workers: make([]*worker, 0, len(e.byQueue[queue]))}
	for id := range e.byQueue[queue] {
		m.workers = append(m.workers, e.workers[id])
	}
	sort.Slice(m.workers, func(a, b int) bool { return m.workers[a].ID < m.workers[b].ID })
	m.hot = make([]hotMember, len(m.workers))
	for i, w := range m.workers {
		m.hot[i] = hotOf(w)
		// Lists replaced since the worker last changed are dropped here
		// too, so that churn elsewhere in its queues cannot pile them up.
		live := w.refs[:0]
		for _, r := range w.refs {
			if !r.list.dead {
				live = append(live, r)
			}
		}
		clear(w.refs[len(live):])
		w.refs = append(live, memberRef{m, i})
	}
	e.sorted[queue] = m
	return m
}

// dropMembers forgets a queue's member list after its membership changed.
func (e *Engine) dropMembers(queue string) {
	if m, ok := e.sorted[queue]; ok {
		m.dead = true
		delete(e.sorted, queue)
	}
}

// checkMembers reports the first copy of a worker's hot fields that
// differs from the worker (a change that missed sync), for tests.
func (e *Engine) checkMembers() error {
	var errs []error
	for q, m := range e.sorted {
		if len(m.hot) != len(m.workers) || len(m.workers) != len(e.byQueue[q]) {
			return fmt.Errorf("queue %s: %d copies of %d workers, %d members", q, len(m.hot), len(m.workers), len(e.byQueue[q]))
		}
		for i, w := range m.workers {
			if m.hot[i] != hotOf(w) {
				errs = append(errs, fmt.Errorf("queue %s: worker %s's copy %+v, the worker %+v", q, w.ID, m.hot[i], hotOf(w)))
			}
		}
	}
	return errors.Join(errs...)
}
