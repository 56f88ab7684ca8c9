package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

func (s *Store) SetRetentionDays(ctx context.Context, t tenant.ID, days int, at time.Time) error {
	var err error
	if days == 0 {
		_, err = s.db.writer(ctx).ExecContext(ctx, `DELETE FROM retention_policies WHERE tenant_id = $1`, string(t))
	} else {
		_, err = s.db.writer(ctx).ExecContext(ctx, `
INSERT INTO retention_policies (tenant_id, retention_days, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id) DO UPDATE SET retention_days = excluded.retention_days, updated_at = excluded.updated_at`, string(t), days, micros(at))
	}
	if err != nil {
		return fmt.Errorf("store: set retention: %w", err)
	}
	return nil
}

func (s *Store) RetentionDays(ctx context.Context, t tenant.ID) (int, error) {
	var days int
	err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT retention_days FROM retention_policies WHERE tenant_id = $1`, string(t)).Scan(&days)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: retention: %w", err)
	}
	return days, nil
}

// RetentionPolicies lists every tenant that keeps conversations for a
// limited time.
func (s *Store) RetentionPolicies(ctx context.Context) (map[tenant.ID]int, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, `SELECT tenant_id, retention_days FROM retention_policies`)
	if err != nil {
		return nil, fmt.Errorf("store: retention policies: %w", err)
	}
	defer rows.Close()
	out := map[tenant.ID]int{}
	for rows.Next() {
		var t tenant.ID
		var d int
		if err := rows.Scan(&t, &d); err != nil {
			return nil, err
		}
		out[t] = d
	}
	return out, rows.Err()
}

// ExpiredThreads finds up to limit threads of t quiet since before, or
// (for any tenant when t is empty) whose own policy expired by now.
func (s *Store) ExpiredThreads(ctx context.Context, t tenant.ID, before time.Time, limit int) ([]conversation.ThreadRef, error) {
	var rows *sql.Rows
	var err error
	if t != "" {
		rows, err = s.db.reader(ctx).QueryContext(ctx, `
SELECT tenant_id, id FROM chat_threads WHERE tenant_id = $1 AND COALESCE(last_message_at, created_at) < $2 ORDER BY id LIMIT $3`,
			string(t), micros(before), limit)
	} else {
		rows, err = s.db.reader(ctx).QueryContext(ctx, `
SELECT tenant_id, id FROM chat_threads WHERE delete_after IS NOT NULL AND delete_after < $1 ORDER BY delete_after LIMIT $2`,
			micros(before), limit)
	}
	if err != nil {
		return nil, fmt.Errorf("store: expired threads: %w", err)
	}
	defer rows.Close()
	var out []conversation.ThreadRef
	for rows.Next() {
		var r conversation.ThreadRef
		if err := rows.Scan(&r.Tenant, &r.ID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PurgeThread deletes a thread and everything in it for good; it returns
// the blob keys of its files and how many messages went.
func (s *Store) PurgeThread(ctx context.Context, t tenant.ID, id conversation.ThreadID) ([]string, int64, error) {
	w := s.db.writer(ctx)
	rows, err := w.QueryContext(ctx, `DELETE FROM chat_files WHERE tenant_id = $1 AND thread_id = $2 RETURNING id`, string(t), string(id))
	if err != nil {
		return nil, 0, fmt.Errorf("store: purge files: %w", err)
	}
	var keys []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return nil, 0, err
		}
		keys = append(keys, conversation.BlobKey(t, f))
	}
	rows.Close()
	res, err := w.ExecContext(ctx, `DELETE FROM chat_messages WHERE tenant_id = $1 AND thread_id = $2`, string(t), string(id))
	if err != nil {
		return nil, 0, fmt.Errorf("store: purge messages: %w", err)
	}
	msgs, _ := res.RowsAffected()
	for _, q := range []string{
		`DELETE FROM chat_read_receipts WHERE tenant_id = $1 AND thread_id = $2`,
		`DELETE FROM chat_participants WHERE tenant_id = $1 AND thread_id = $2`,
		`DELETE FROM contact_threads WHERE tenant_id = $1 AND thread_id = $2`,
		`DELETE FROM chat_threads WHERE tenant_id = $1 AND id = $2`,
	} {
		if _, err := w.ExecContext(ctx, q, string(t), string(id)); err != nil {
			return nil, 0, fmt.Errorf("store: purge thread: %w", err)
		}
	}
	return keys, msgs, nil
}

// FileExists reports whether a file record exists (orphan sweeping).
func (s *Store) FileExists(ctx context.Context, t tenant.ID, id string) (bool, error) {
	var n int
	err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM chat_files WHERE tenant_id = $1 AND id = $2`, string(t), id).Scan(&n)
	return n > 0, err
}
