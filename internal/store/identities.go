package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func (s *Store) CreateIdentity(ctx context.Context, id identity.Identity) error {
	_, err := s.db.writer(ctx).ExecContext(ctx,
		`INSERT INTO identities (id, tenant_id, custom_id, created_at, last_token_issued_at, token_epoch) VALUES ($1, $2, $3, $4, $5, $6)`,
		string(id.ID), string(id.Tenant), nullString(id.CustomID), micros(id.CreatedAt), nullMicros(id.LastTokenIssuedAt), id.TokenEpoch)
	if isUniqueViolation(err) {
		return errs.Conflict("IdentityExists", "an identity with this customId already exists")
	}
	if err != nil {
		return fmt.Errorf("store: create identity: %w", err)
	}
	return nil
}

func (s *Store) Identity(ctx context.Context, t tenant.ID, id identity.UserID) (identity.Identity, error) {
	return s.identityWhere(ctx, `id = $2`, string(t), string(id))
}

// IdentityByCustomID finds the live identity a tenant tagged with customID.
func (s *Store) IdentityByCustomID(ctx context.Context, t tenant.ID, customID string) (identity.Identity, error) {
	return s.identityWhere(ctx, `custom_id = $2`, string(t), customID)
}

func (s *Store) identityWhere(ctx context.Context, cond string, args ...any) (identity.Identity, error) {
	var out identity.Identity
	var custom sql.NullString
	var created int64
	var issued sql.NullInt64
	err := s.db.reader(ctx).QueryRowContext(ctx,
		`SELECT id, tenant_id, custom_id, created_at, last_token_issued_at, token_epoch FROM identities WHERE tenant_id = $1 AND `+cond+` AND deleted_at IS NULL`,
		args...).Scan(&out.ID, &out.Tenant, &custom, &created, &issued, &out.TokenEpoch)
	if errors.Is(err, sql.ErrNoRows) {
		return out, errs.NotFound("identity %s not found", args[1])
	}
	if err != nil {
		return out, fmt.Errorf("store: identity: %w", err)
	}
	out.CustomID, out.CreatedAt, out.LastTokenIssuedAt = custom.String, fromMicros(created), timePtr(issued)
	return out, nil
}

func (s *Store) DeleteIdentity(ctx context.Context, t tenant.ID, id identity.UserID, at time.Time) error {
	// Kept as a tombstone with a bumped epoch: ids are never reused and
	// outstanding tokens fail their epoch check.
	res, err := s.db.writer(ctx).ExecContext(ctx,
		`UPDATE identities SET deleted_at = $1, token_epoch = token_epoch + 1, custom_id = NULL WHERE tenant_id = $2 AND id = $3 AND deleted_at IS NULL`,
		micros(at), string(t), string(id))
	if err != nil {
		return fmt.Errorf("store: delete identity: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("identity %s not found", id)
	}
	return nil
}

func (s *Store) BumpTokenEpoch(ctx context.Context, t tenant.ID, id identity.UserID) (int64, error) {
	var epoch int64
	err := s.db.writer(ctx).QueryRowContext(ctx,
		`UPDATE identities SET token_epoch = token_epoch + 1 WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL RETURNING token_epoch`,
		string(t), string(id)).Scan(&epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errs.NotFound("identity %s not found", id)
	}
	if err != nil {
		return 0, fmt.Errorf("store: revoke tokens: %w", err)
	}
	return epoch, nil
}

func (s *Store) SetTokenIssued(ctx context.Context, t tenant.ID, id identity.UserID, at time.Time) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `UPDATE identities SET last_token_issued_at = $1 WHERE tenant_id = $2 AND id = $3`,
		micros(at), string(t), string(id))
	if err != nil {
		return fmt.Errorf("store: token issued: %w", err)
	}
	return nil
}
