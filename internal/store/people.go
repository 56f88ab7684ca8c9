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

const personColumns = `id, tenant_id, username, display_name, role, password_hash, created_at, updated_at, version`

type rowScanner interface{ Scan(dest ...any) error }

func scanPerson(r rowScanner) (identity.Person, error) {
	var p identity.Person
	var created, updated int64
	err := r.Scan(&p.ID, &p.Tenant, &p.Username, &p.DisplayName, &p.Role, &p.PasswordHash, &created, &updated, &p.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return p, errs.NotFound("person not found")
	}
	if err != nil {
		return p, fmt.Errorf("store: person: %w", err)
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

func (s *Store) CreatePerson(ctx context.Context, p identity.Person) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `INSERT INTO users (`+personColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		string(p.ID), string(p.Tenant), p.Username, p.DisplayName, string(p.Role), p.PasswordHash, micros(p.CreatedAt), micros(p.UpdatedAt), p.Version)
	if isUniqueViolation(err) {
		return errs.Conflict("UsernameTaken", "username %q is already taken", p.Username).WithTarget("username")
	}
	if err != nil {
		return fmt.Errorf("store: create person: %w", err)
	}
	return nil
}

func (s *Store) Person(ctx context.Context, t tenant.ID, id identity.PersonID) (identity.Person, error) {
	return scanPerson(s.db.reader(ctx).QueryRowContext(ctx, `SELECT `+personColumns+` FROM users WHERE tenant_id = $1 AND id = $2`, string(t), string(id)))
}

func (s *Store) PersonByUsername(ctx context.Context, t tenant.ID, username string) (identity.Person, error) {
	return scanPerson(s.db.reader(ctx).QueryRowContext(ctx, `SELECT `+personColumns+` FROM users WHERE tenant_id = $1 AND username = $2`, string(t), username))
}

func (s *Store) People(ctx context.Context, t tenant.ID, after identity.PersonID, limit int) ([]identity.Person, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, `SELECT `+personColumns+` FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		string(t), string(after), limit)
	if err != nil {
		return nil, fmt.Errorf("store: people: %w", err)
	}
	defer rows.Close()
	var out []identity.Person
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Store) UpdatePerson(ctx context.Context, p identity.Person) error {
	res, err := s.db.writer(ctx).ExecContext(ctx,
		`UPDATE users SET display_name = $1, role = $2, password_hash = $3, updated_at = $4, version = $5 WHERE tenant_id = $6 AND id = $7 AND version = $8`,
		p.DisplayName, string(p.Role), p.PasswordHash, micros(p.UpdatedAt), p.Version, string(p.Tenant), string(p.ID), p.Version-1)
	if err != nil {
		return fmt.Errorf("store: update person: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "the person was changed or deleted meanwhile")
	}
	return nil
}

func (s *Store) DeletePerson(ctx context.Context, t tenant.ID, id identity.PersonID) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		if err := s.DeletePersonSessions(ctx, t, id); err != nil {
			return err
		}
		res, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM users WHERE tenant_id = $1 AND id = $2`, string(t), string(id))
		if err != nil {
			return fmt.Errorf("store: delete person: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFound("person not found")
		}
		return nil
	})
}

func (s *Store) CreateSession(ctx context.Context, ss identity.Session) error {
	_, err := s.db.writer(ctx).ExecContext(ctx,
		`INSERT INTO sessions (token_hash, tenant_id, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		ss.TokenHash, string(ss.Tenant), string(ss.Person), ss.CSRF, micros(ss.CreatedAt), micros(ss.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

func (s *Store) Session(ctx context.Context, tokenHash string, now time.Time) (identity.Session, error) {
	var ss identity.Session
	var created, expires int64
	err := s.db.reader(ctx).QueryRowContext(ctx,
		`SELECT token_hash, tenant_id, user_id, csrf, created_at, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2`,
		tokenHash, micros(now)).Scan(&ss.TokenHash, &ss.Tenant, &ss.Person, &ss.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return ss, errs.NotFound("session not found")
	}
	if err != nil {
		return ss, fmt.Errorf("store: session: %w", err)
	}
	ss.CreatedAt, ss.ExpiresAt = fromMicros(created), fromMicros(expires)
	return ss, nil
}

func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	if err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

func (s *Store) DeletePersonSessions(ctx context.Context, t tenant.ID, id identity.PersonID) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2`, string(t), string(id))
	if err != nil {
		return fmt.Errorf("store: delete sessions: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, micros(now))
	if err != nil {
		return 0, fmt.Errorf("store: expire sessions: %w", err)
	}
	return res.RowsAffected()
}
