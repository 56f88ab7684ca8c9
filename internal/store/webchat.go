package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-cc/switchboard/internal/channel/webchat"
	"github.com/switchboard-cc/switchboard/internal/contact"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

func (s *Store) WebchatSettings(ctx context.Context, t tenant.ID) ([]byte, error) {
	var raw string
	err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT settings FROM webchat_settings WHERE tenant_id = $1`, string(t)).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: webchat settings: %w", err)
	}
	return []byte(raw), nil
}

func (s *Store) SetWebchatSettings(ctx context.Context, t tenant.ID, raw []byte, at time.Time) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `
INSERT INTO webchat_settings (tenant_id, settings, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`, string(t), string(raw), micros(at))
	if err != nil {
		return fmt.Errorf("store: set webchat settings: %w", err)
	}
	return nil
}

func (s *Store) SaveVisitor(ctx context.Context, v webchat.Visitor) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `
INSERT INTO webchat_visitors (tenant_id, identity, contact_id, thread_id, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tenant_id, identity) DO UPDATE SET contact_id = excluded.contact_id, thread_id = excluded.thread_id`,
		string(v.Tenant), v.Identity, string(v.Contact), string(v.Thread), micros(v.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: save visitor: %w", err)
	}
	return nil
}

func (s *Store) visitorWhere(ctx context.Context, cond string, args ...any) (webchat.Visitor, error) {
	var v webchat.Visitor
	var created int64
	err := s.db.reader(ctx).QueryRowContext(ctx,
		`SELECT v.tenant_id, v.identity, v.contact_id, v.thread_id, v.created_at FROM webchat_visitors v `+cond, args...).
		Scan(&v.Tenant, &v.Identity, &v.Contact, &v.Thread, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return v, errs.NotFound("visitor not found")
	}
	if err != nil {
		return v, fmt.Errorf("store: visitor: %w", err)
	}
	v.CreatedAt = fromMicros(created)
	return v, nil
}

func (s *Store) VisitorByResumeKey(ctx context.Context, t tenant.ID, keyHash string) (webchat.Visitor, error) {
	return s.visitorWhere(ctx, `JOIN webchat_resume_keys k ON k.tenant_id = v.tenant_id AND k.identity = v.identity
WHERE k.key_hash = $1 AND v.tenant_id = $2`, keyHash, string(t))
}

func (s *Store) VisitorByContact(ctx context.Context, t tenant.ID, c contact.ID) (webchat.Visitor, error) {
	return s.visitorWhere(ctx, `WHERE v.tenant_id = $1 AND v.contact_id = $2 ORDER BY v.created_at DESC LIMIT 1`, string(t), string(c))
}

func (s *Store) AddResumeKey(ctx context.Context, t tenant.ID, keyHash, identity string, at time.Time) error {
	_, err := s.db.writer(ctx).ExecContext(ctx,
		`INSERT INTO webchat_resume_keys (key_hash, tenant_id, identity, created_at) VALUES ($1, $2, $3, $4)`, keyHash, string(t), identity, micros(at))
	if err != nil {
		return fmt.Errorf("store: resume key: %w", err)
	}
	return nil
}
