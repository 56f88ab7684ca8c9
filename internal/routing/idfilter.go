package routing

import (
	"context"
	"hash/maphash"
	"sync"
)

// Creating a job must first ask whether a job with its id exists already
// (a finished job is not in memory): a database read on every creation
// costs more than routing the job. idFilter answers "certainly not" for
// almost every new id from memory: a Bloom filter of every job id the
// tenant has, kept as a series of layers that double in size as the
// tenant's history grows (no layer is rebuilt). A "maybe" costs the read.

const (
	filterBitsPerID = 16 // with filterHashes, about 1 false "maybe" in 2,000
	filterHashes    = 6
	filterFirstIDs  = 1 << 16
)

var filterSeed = maphash.MakeSeed()

type bloomLayer struct {
	bits     []uint64
	n, limit int
}

func newBloomLayer(ids int) *bloomLayer {
	words := max(ids*filterBitsPerID/64, 1)
	return &bloomLayer{bits: make([]uint64, words), limit: ids}
}

func (l *bloomLayer) positions(h uint64, fn func(word int, bit uint64) bool) bool {
	// Double hashing: k positions from the two halves of one 64-bit hash.
	h1, h2 := h&0xffffffff, h>>32|1
	m := uint64(len(l.bits) * 64)
	for i := range uint64(filterHashes) {
		p := (h1 + i*h2) % m
		if !fn(int(p/64), 1<<(p%64)) {
			return false
		}
	}
	return true
}

func (l *bloomLayer) add(h uint64) {
	l.positions(h, func(w int, bit uint64) bool { l.bits[w] |= bit; return true })
	l.n++
}

func (l *bloomLayer) has(h uint64) bool {
	return l.positions(h, func(w int, bit uint64) bool { return l.bits[w]&bit != 0 })
}

// idFilter is safe for concurrent use. Until ready (the stored ids are
// still being read) every answer is "maybe".
type idFilter struct {
	mu     sync.Mutex
	layers []*bloomLayer
	ready  bool
}

func newIDFilter() *idFilter {
	return &idFilter{layers: []*bloomLayer{newBloomLayer(filterFirstIDs)}}
}

// Add records that a job with id exists.
func (f *idFilter) Add(id string) {
	h := maphash.String(filterSeed, id)
	f.mu.Lock()
	defer f.mu.Unlock()
	last := f.layers[len(f.layers)-1]
	if last.n >= last.limit {
		last = newBloomLayer(last.limit * 2)
		f.layers = append(f.layers, last)
	}
	last.add(h)
}

// MayExist is false only when no job with id exists.
func (f *idFilter) MayExist(id string) bool {
	h := maphash.String(filterSeed, id)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ready {
		return true
	}
	for _, l := range f.layers {
		if l.has(h) {
			return true
		}
	}
	return false
}

func (f *idFilter) setReady() {
	f.mu.Lock()
	f.ready = true
	f.mu.Unlock()
}

// fillIDs reads the tenant's stored job ids into its filter. Jobs created
// meanwhile are added as they are created, and nothing else creates jobs:
// the router loaded after the journal was checkpointed.
func (s *Service) fillIDs(ctx context.Context, tr *tenantRouter) {
	err := s.jobs.RouterJobIDs(ctx, tr.t, tr.ids.Add)
	if err != nil {
		// The filter stays unready: every creation reads the database.
		s.log.Warn("routing: read job ids", "tenant", tr.t, "err", err)
		return
	}
	tr.ids.setReady()
}
