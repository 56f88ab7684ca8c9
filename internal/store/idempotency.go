package store

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-cc/switchboard/internal/idempotency"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// ReserveIdempotencyKey claims key for a new request. When the key is
// already known it returns the stored response instead (reserved=false). A
// reservation whose request never finished (its node died) expires after
// stale and can be claimed again.
func (s *Store) ReserveIdempotencyKey(ctx context.Context, t tenant.ID, key, fingerprint string, now time.Time, stale time.Duration) (idempotency.Response, bool, error) {
	var out idempotency.Response
	reserved := false
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		w := s.db.writer(ctx)
		res, err := w.ExecContext(ctx, `INSERT INTO idempotency (tenant_id, key, fingerprint, status, headers, body, created_at) VALUES ($1, $2, $3, 0, '', $4, $5) ON CONFLICT (tenant_id, key) DO NOTHING`,
			string(t), key, fingerprint, []byte{}, micros(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			out, reserved = idempotency.Response{Fingerprint: fingerprint, CreatedAt: now}, true
			return nil
		}
		var created int64
		if err := w.QueryRowContext(ctx, `SELECT fingerprint, status, headers, body, created_at FROM idempotency WHERE tenant_id = $1 AND key = $2`,
			string(t), key).Scan(&out.Fingerprint, &out.Status, &out.Headers, &out.Body, &created); err != nil {
			return err
		}
		out.CreatedAt = fromMicros(created)
		if out.Status == 0 && now.Sub(out.CreatedAt) > stale {
			// Take over only the reservation just read: when two nodes retry
			// the same stale request together, the second update finds the
			// row changed (PostgreSQL re-checks the condition on the locked
			// row) and reports the first one's attempt as still running.
			res, err := w.ExecContext(ctx, `UPDATE idempotency SET fingerprint = $1, created_at = $2 WHERE tenant_id = $3 AND key = $4 AND status = 0 AND created_at = $5`,
				fingerprint, micros(now), string(t), key, created)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				out, reserved = idempotency.Response{Fingerprint: fingerprint, CreatedAt: now}, true
			}
		}
		return nil
	})
	if err != nil {
		return out, false, fmt.Errorf("store: idempotency: %w", err)
	}
	return out, reserved, nil
}

// CompleteIdempotencyKey stores the response of a reserved request.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, t tenant.ID, key string, status int, headers string, body []byte) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `UPDATE idempotency SET status = $1, headers = $2, body = $3 WHERE tenant_id = $4 AND key = $5`,
		status, headers, body, string(t), key)
	if err != nil {
		return fmt.Errorf("store: idempotency: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey forgets a reservation whose request failed, so a
// retry runs again.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, t tenant.ID, key string) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM idempotency WHERE tenant_id = $1 AND key = $2 AND status = 0`, string(t), key)
	if err != nil {
		return fmt.Errorf("store: idempotency: %w", err)
	}
	return nil
}

// ExpireIdempotencyKeys drops records older than before.
func (s *Store) ExpireIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM idempotency WHERE created_at < $1`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("store: idempotency: %w", err)
	}
	return res.RowsAffected()
}
