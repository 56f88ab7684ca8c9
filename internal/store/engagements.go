package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/engagement"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

const engagementColumns = `tenant_id, doc, version`

func scanEngagement(sc interface{ Scan(...any) error }) (engagement.Engagement, error) {
	var e engagement.Engagement
	var t, doc string
	if err := sc.Scan(&t, &doc, &e.Version); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(doc), &e); err != nil {
		return e, fmt.Errorf("store: engagement document: %w", err)
	}
	e.Tenant = tenant.ID(t)
	return e, nil
}

func (s *Store) CreateEngagement(ctx context.Context, e engagement.Engagement) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = s.db.writer(ctx).ExecContext(ctx, `
INSERT INTO engagements (tenant_id, id, thread_id, contact_id, customer, state, agent_id, queue_id, created_at, updated_at, doc, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1)`,
		string(e.Tenant), string(e.ID), string(e.Thread), string(e.Contact), e.Customer, string(e.State), string(e.Agent), e.Queue,
		micros(e.CreatedAt), micros(e.UpdatedAt), string(doc))
	if isUniqueViolation(err) {
		return errs.Conflict("EngagementExists", "the thread already has a live engagement")
	}
	if err != nil {
		return fmt.Errorf("store: create engagement: %w", err)
	}
	return nil
}

func (s *Store) UpdateEngagement(ctx context.Context, e *engagement.Engagement, ifVersion int64) error {
	doc, err := json.Marshal(e)
	if err != nil {
		return err
	}
	res, err := s.db.writer(ctx).ExecContext(ctx, `
UPDATE engagements SET state = $1, agent_id = $2, queue_id = $3, updated_at = $4, doc = $5, version = version + 1
WHERE tenant_id = $6 AND id = $7 AND version = $8`,
		string(e.State), string(e.Agent), e.Queue, micros(e.UpdatedAt), string(doc), string(e.Tenant), string(e.ID), ifVersion)
	if err != nil {
		return fmt.Errorf("store: update engagement: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.Conflict("EngagementChanged", "engagement %s changed meanwhile; try again", e.ID)
	}
	e.Version = ifVersion + 1
	return nil
}

func (s *Store) engagementWhere(ctx context.Context, cond string, args ...any) (engagement.Engagement, error) {
	e, err := scanEngagement(s.db.reader(ctx).QueryRowContext(ctx, `SELECT `+engagementColumns+` FROM engagements WHERE `+cond, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return e, errs.NotFound("engagement not found")
	}
	if err != nil {
		return e, fmt.Errorf("store: engagement: %w", err)
	}
	return e, nil
}

func (s *Store) Engagement(ctx context.Context, t tenant.ID, id engagement.ID) (engagement.Engagement, error) {
	return s.engagementWhere(ctx, `tenant_id = $1 AND id = $2`, string(t), string(id))
}

func (s *Store) LiveEngagement(ctx context.Context, t tenant.ID, th conversation.ThreadID) (engagement.Engagement, error) {
	return s.engagementWhere(ctx, `tenant_id = $1 AND thread_id = $2 AND state <> $3 ORDER BY created_at DESC LIMIT 1`,
		string(t), string(th), string(engagement.StateEnded))
}

func (s *Store) Engagements(ctx context.Context, t tenant.ID, f engagement.Filter, after string, limit int) ([]engagement.Engagement, error) {
	var q strings.Builder
	args := []any{string(t)}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	q.WriteString(`SELECT ` + engagementColumns + ` FROM engagements WHERE tenant_id = $1`)
	if len(f.States) > 0 {
		q.WriteString(` AND state IN (`)
		for i, st := range f.States {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(arg(string(st)))
		}
		q.WriteString(`)`)
	}
	if f.Agent != "" {
		q.WriteString(` AND agent_id = ` + arg(string(f.Agent)))
	}
	if f.Contact != "" {
		q.WriteString(` AND contact_id = ` + arg(string(f.Contact)))
	}
	if f.Thread != "" {
		q.WriteString(` AND thread_id = ` + arg(string(f.Thread)))
	}
	if !f.Since.IsZero() {
		q.WriteString(` AND created_at >= ` + arg(micros(f.Since)))
	}
	// Newest first; the cursor is "<created micros>|<id>".
	if after != "" {
		at, id, _ := strings.Cut(after, "|")
		var micro int64
		_, _ = fmt.Sscan(at, &micro)
		q.WriteString(` AND (created_at < ` + arg(micro) + ` OR (created_at = ` + arg(micro) + ` AND id < ` + arg(id) + `))`)
	}
	q.WriteString(` ORDER BY created_at DESC, id DESC LIMIT ` + arg(limit))
	return s.engagementRows(ctx, q.String(), args...)
}

func (s *Store) engagementRows(ctx context.Context, q string, args ...any) ([]engagement.Engagement, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list engagements: %w", err)
	}
	defer rows.Close()
	var out []engagement.Engagement
	for rows.Next() {
		e, err := scanEngagement(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) QueuedEngagements(ctx context.Context, after string, limit int) ([]engagement.Engagement, error) {
	t, id, _ := strings.Cut(after, "|")
	return s.engagementRows(ctx, `SELECT `+engagementColumns+` FROM engagements
WHERE state = $1 AND (tenant_id > $2 OR (tenant_id = $2 AND id > $3)) ORDER BY tenant_id, id LIMIT $4`,
		string(engagement.StateQueued), t, id, limit)
}

func (s *Store) PutBot(ctx context.Context, b engagement.Bot, ifVersion int64) error {
	doc, err := json.Marshal(b)
	if err != nil {
		return err
	}
	w := s.db.writer(ctx)
	if ifVersion == 0 {
		_, err = w.ExecContext(ctx, `INSERT INTO bots (tenant_id, id, doc, secret, version, updated_at) VALUES ($1, $2, $3, $4, 1, $5)`,
			string(b.Tenant), string(b.ID), string(doc), s.box.Seal(b.Secret), micros(b.UpdatedAt))
		if isUniqueViolation(err) {
			return errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "bot %s changed meanwhile", b.ID)
		}
		if err != nil {
			return fmt.Errorf("store: create bot: %w", err)
		}
		return nil
	}
	res, err := w.ExecContext(ctx, `UPDATE bots SET doc = $1, version = version + 1, updated_at = $2 WHERE tenant_id = $3 AND id = $4 AND version = $5`,
		string(doc), micros(b.UpdatedAt), string(b.Tenant), string(b.ID), ifVersion)
	if err != nil {
		return fmt.Errorf("store: update bot: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "bot %s changed meanwhile", b.ID)
	}
	return nil
}

func (s *Store) scanBot(sc interface{ Scan(...any) error }) (engagement.Bot, error) {
	var b engagement.Bot
	var t, doc string
	var sealed []byte
	if err := sc.Scan(&t, &doc, &sealed, &b.Version); err != nil {
		return b, err
	}
	if err := json.Unmarshal([]byte(doc), &b); err != nil {
		return b, fmt.Errorf("store: bot document: %w", err)
	}
	b.Tenant = tenant.ID(t)
	secret, err := s.box.Open(sealed)
	if err != nil {
		return b, fmt.Errorf("store: bot secret: %w", err)
	}
	b.Secret = secret
	return b, nil
}

func (s *Store) Bot(ctx context.Context, t tenant.ID, id engagement.BotID) (engagement.Bot, error) {
	b, err := s.scanBot(s.db.reader(ctx).QueryRowContext(ctx, `SELECT tenant_id, doc, secret, version FROM bots WHERE tenant_id = $1 AND id = $2`, string(t), string(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return b, errs.NotFound("bot %s not found", id)
	}
	return b, err
}

func (s *Store) Bots(ctx context.Context, t tenant.ID) ([]engagement.Bot, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, `SELECT tenant_id, doc, secret, version FROM bots WHERE tenant_id = $1 ORDER BY id`, string(t))
	if err != nil {
		return nil, fmt.Errorf("store: bots: %w", err)
	}
	defer rows.Close()
	var out []engagement.Bot
	for rows.Next() {
		b, err := s.scanBot(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (s *Store) DeleteBot(ctx context.Context, t tenant.ID, id engagement.BotID) error {
	res, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM bots WHERE tenant_id = $1 AND id = $2`, string(t), string(id))
	if err != nil {
		return fmt.Errorf("store: delete bot: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("bot %s not found", id)
	}
	// Its flows go with it: a bot connected again under the same id starts
	// afresh.
	_, err = s.db.writer(ctx).ExecContext(ctx, `DELETE FROM bot_flows WHERE tenant_id = $1 AND bot_id = $2`, string(t), string(id))
	return err
}

func (s *Store) AddFlow(ctx context.Context, t tenant.ID, id engagement.BotID, source []byte, by string, at time.Time) (int, error) {
	var v int
	err := s.db.writer(ctx).QueryRowContext(ctx, `
INSERT INTO bot_flows (tenant_id, bot_id, version, source, created_at, created_by)
SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4, $5 FROM bot_flows WHERE tenant_id = $1 AND bot_id = $2
RETURNING version`, string(t), string(id), string(source), micros(at), by).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: add flow: %w", err)
	}
	return v, nil
}

func (s *Store) Flow(ctx context.Context, t tenant.ID, id engagement.BotID, version int) ([]byte, error) {
	var src string
	err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT source FROM bot_flows WHERE tenant_id = $1 AND bot_id = $2 AND version = $3`,
		string(t), string(id), version).Scan(&src)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("flow version %d of bot %s not found", version, id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: flow: %w", err)
	}
	return []byte(src), nil
}

func (s *Store) StaffIdentity(ctx context.Context, t tenant.ID, p identity.PersonID) (string, error) {
	var raw string
	err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT identity FROM staff_identities WHERE tenant_id = $1 AND person_id = $2`, string(t), string(p)).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.NotFound("no identity for %s", p)
	}
	if err != nil {
		return "", fmt.Errorf("store: staff identity: %w", err)
	}
	return raw, nil
}

func (s *Store) SetStaffIdentity(ctx context.Context, t tenant.ID, p identity.PersonID, raw string) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `INSERT INTO staff_identities (tenant_id, person_id, identity) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, person_id) DO NOTHING`,
		string(t), string(p), raw)
	if err != nil {
		return fmt.Errorf("store: set staff identity: %w", err)
	}
	return nil
}

func (s *Store) DeskSettings(ctx context.Context, t tenant.ID) ([]byte, error) {
	var raw string
	err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT doc FROM desk_settings WHERE tenant_id = $1`, string(t)).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: desk settings: %w", err)
	}
	return []byte(raw), nil
}

func (s *Store) SetDeskSettings(ctx context.Context, t tenant.ID, raw []byte) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `
INSERT INTO desk_settings (tenant_id, doc, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`, string(t), string(raw), micros(time.Now()))
	if err != nil {
		return fmt.Errorf("store: set desk settings: %w", err)
	}
	return nil
}
