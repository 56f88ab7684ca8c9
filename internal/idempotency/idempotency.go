// Package idempotency is the record of repeatable requests
// (Repeatability-Request-ID): the first answer is kept and replayed to every
// retry, so a retried POST creates nothing twice.
package idempotency

import (
	"context"
	"time"

	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Response is the first answer to a repeatable request. Status 0 means the
// first attempt is still running.
type Response struct {
	Fingerprint string
	Status      int
	Headers     string
	Body        []byte
	CreatedAt   time.Time
}

// Store keeps the records.
type Store interface {
	// Reserve claims key for a new request (reserved=true) or returns the
	// stored response of an earlier one. A reservation older than stale whose
	// request never finished can be claimed again.
	ReserveIdempotencyKey(ctx context.Context, t tenant.ID, key, fingerprint string, now time.Time, stale time.Duration) (Response, bool, error)
	CompleteIdempotencyKey(ctx context.Context, t tenant.ID, key string, status int, headers string, body []byte) error
	ReleaseIdempotencyKey(ctx context.Context, t tenant.ID, key string) error
}
