package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/secret"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Store implements every domain store over one DB. Secrets are sealed with
// box before they reach a row.
type Store struct {
	db  *DB
	box *secret.Box
}

// New wraps db; box seals secrets at rest.
func New(db *DB, box *secret.Box) *Store { return &Store{db: db, box: box} }

// InTx runs fn in one transaction.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// DB returns the underlying database.
func (s *Store) DB() *DB { return s.db }

func (s *Store) CreateTenant(ctx context.Context, t tenant.Tenant) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)`,
		string(t.ID), t.Name, micros(t.CreatedAt))
	if isUniqueViolation(err) {
		return errs.Conflict("TenantExists", "a tenant named %q already exists", t.Name)
	}
	if err != nil {
		return fmt.Errorf("store: create tenant: %w", err)
	}
	return nil
}

func scanTenant(row *sql.Row) (tenant.Tenant, error) {
	var t tenant.Tenant
	var created int64
	err := row.Scan(&t.ID, &t.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return t, errs.NotFound("tenant not found")
	}
	if err != nil {
		return t, fmt.Errorf("store: tenant: %w", err)
	}
	t.CreatedAt = fromMicros(created)
	return t, nil
}

func (s *Store) Tenant(ctx context.Context, id tenant.ID) (tenant.Tenant, error) {
	return scanTenant(s.db.reader(ctx).QueryRowContext(ctx, `SELECT id, name, created_at FROM tenants WHERE id = $1`, string(id)))
}

func (s *Store) TenantByName(ctx context.Context, name string) (tenant.Tenant, error) {
	return scanTenant(s.db.reader(ctx).QueryRowContext(ctx, `SELECT id, name, created_at FROM tenants WHERE name = $1`, name))
}

func (s *Store) Tenants(ctx context.Context) ([]tenant.Tenant, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, `SELECT id, name, created_at FROM tenants ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: tenants: %w", err)
	}
	defer rows.Close()
	var out []tenant.Tenant
	for rows.Next() {
		var t tenant.Tenant
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &created); err != nil {
			return nil, fmt.Errorf("store: tenants: %w", err)
		}
		t.CreatedAt = fromMicros(created)
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) CreateAccessKey(ctx context.Context, k identity.AccessKey) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `INSERT INTO access_keys (id, tenant_id, secret, created_at) VALUES ($1, $2, $3, $4)`,
		string(k.ID), string(k.Tenant), s.box.Seal(k.Secret), micros(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create access key: %w", err)
	}
	return nil
}

func (s *Store) RevokeAccessKey(ctx context.Context, t tenant.ID, id identity.KeyID, at time.Time) error {
	res, err := s.db.writer(ctx).ExecContext(ctx, `UPDATE access_keys SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL`,
		micros(at), string(t), string(id))
	if err != nil {
		return fmt.Errorf("store: revoke access key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("access key %s not found or already revoked", id)
	}
	return nil
}

func (s *Store) accessKeys(ctx context.Context, query string, args ...any) ([]identity.AccessKey, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: access keys: %w", err)
	}
	defer rows.Close()
	var out []identity.AccessKey
	for rows.Next() {
		var k identity.AccessKey
		var sealed []byte
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Tenant, &sealed, &created, &revoked); err != nil {
			return nil, fmt.Errorf("store: access keys: %w", err)
		}
		if k.Secret, err = s.box.Open(sealed); err != nil {
			return nil, err
		}
		k.CreatedAt, k.RevokedAt = fromMicros(created), timePtr(revoked)
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *Store) AccessKeys(ctx context.Context, t tenant.ID) ([]identity.AccessKey, error) {
	return s.accessKeys(ctx, `SELECT id, tenant_id, secret, created_at, revoked_at FROM access_keys WHERE tenant_id = $1 ORDER BY created_at, id`, string(t))
}

func (s *Store) ActiveAccessKeys(ctx context.Context) ([]identity.AccessKey, error) {
	return s.accessKeys(ctx, `SELECT id, tenant_id, secret, created_at, revoked_at FROM access_keys WHERE revoked_at IS NULL ORDER BY created_at DESC`)
}

// ServerSecret returns the named server-wide secret, creating it with
// generate on first use. Every node of a cluster gets the same value.
func (s *Store) ServerSecret(ctx context.Context, name string, generate func() []byte) ([]byte, error) {
	var sealed []byte
	err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = s.db.writer(ctx).ExecContext(ctx, `INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, s.box.Seal(generate()))
		if err != nil {
			return nil, fmt.Errorf("store: create server secret: %w", err)
		}
		err = s.db.writer(ctx).QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&sealed)
	}
	if err != nil {
		return nil, fmt.Errorf("store: server secret: %w", err)
	}
	return s.box.Open(sealed)
}
