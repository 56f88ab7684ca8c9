package routing

import (
	"context"
	"time"
)

// SetCheckpointEvery sets how often the journal is checkpointed; negative:
// only when a caller needs it (a list, a router loading, Stop).
func SetCheckpointEvery(s *Service, d time.Duration) { s.checkpointEvery = d }

// JobIDsKnown reports whether the tenant's job ids are all in memory (a
// new id is then created without a database read).
func JobIDsKnown(s *Service, ctx context.Context) bool {
	tr, err := s.router(ctx)
	if err != nil {
		return false
	}
	tr.ids.mu.Lock()
	defer tr.ids.mu.Unlock()
	return tr.ids.ready
}

// CheckMembers reports a queue member list whose copy of a worker's
// ranking fields differs from the worker (a change that missed sync).
func (e *Engine) CheckMembers() error { return e.checkMembers() }

// HoldRouter takes the tenant router's lock, as a runner's batch does,
// until release is called.
func HoldRouter(s *Service, ctx context.Context) (release func(), err error) {
	tr, err := s.router(ctx)
	if err != nil {
		return nil, err
	}
	tr.mu.Lock()
	return tr.mu.Unlock, nil
}
