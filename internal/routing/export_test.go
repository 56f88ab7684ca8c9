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
