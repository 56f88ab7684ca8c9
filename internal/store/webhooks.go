package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
	"github.com/switchboard-cc/switchboard/internal/webhook"
)

const subscriptionColumns = `id, tenant_id, name, url, schema, event_types, secret, max_attempts, created_at, updated_at, version`

func (s *Store) scanSubscription(r rowScanner) (webhook.Subscription, error) {
	var sub webhook.Subscription
	var types string
	var sealed []byte
	var created, updated int64
	err := r.Scan(&sub.ID, &sub.Tenant, &sub.Name, &sub.URL, &sub.Schema, &types, &sealed, &sub.MaxAttempts, &created, &updated, &sub.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return sub, errs.NotFound("event subscription not found")
	}
	if err != nil {
		return sub, fmt.Errorf("store: subscription: %w", err)
	}
	if err := json.Unmarshal([]byte(types), &sub.EventTypes); err != nil {
		return sub, fmt.Errorf("store: subscription event types: %w", err)
	}
	if sub.Secret, err = s.box.Open(sealed); err != nil {
		return sub, err
	}
	sub.CreatedAt, sub.UpdatedAt = fromMicros(created), fromMicros(updated)
	return sub, nil
}

func (s *Store) CreateSubscription(ctx context.Context, sub webhook.Subscription) error {
	types, _ := json.Marshal(sub.EventTypes)
	_, err := s.db.writer(ctx).ExecContext(ctx, `INSERT INTO webhook_subscriptions (`+subscriptionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		string(sub.ID), string(sub.Tenant), sub.Name, sub.URL, string(sub.Schema), string(types), s.box.Seal(sub.Secret), sub.MaxAttempts,
		micros(sub.CreatedAt), micros(sub.UpdatedAt), sub.Version)
	if isUniqueViolation(err) {
		return errs.Conflict("SubscriptionExists", "an event subscription with id %q already exists", sub.ID)
	}
	if err != nil {
		return fmt.Errorf("store: create subscription: %w", err)
	}
	return nil
}

func (s *Store) Subscription(ctx context.Context, t tenant.ID, id webhook.SubscriptionID) (webhook.Subscription, error) {
	return s.scanSubscription(s.db.reader(ctx).QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2`, string(t), string(id)))
}

func (s *Store) Subscriptions(ctx context.Context, t tenant.ID, after webhook.SubscriptionID, limit int) ([]webhook.Subscription, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		string(t), string(after), limit)
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions: %w", err)
	}
	defer rows.Close()
	var out []webhook.Subscription
	for rows.Next() {
		sub, err := s.scanSubscription(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

func (s *Store) UpdateSubscription(ctx context.Context, sub webhook.Subscription) error {
	types, _ := json.Marshal(sub.EventTypes)
	res, err := s.db.writer(ctx).ExecContext(ctx,
		`UPDATE webhook_subscriptions SET name = $1, url = $2, schema = $3, event_types = $4, max_attempts = $5, updated_at = $6, version = $7 WHERE tenant_id = $8 AND id = $9 AND version = $10`,
		sub.Name, sub.URL, string(sub.Schema), string(types), sub.MaxAttempts, micros(sub.UpdatedAt), sub.Version, string(sub.Tenant), string(sub.ID), sub.Version-1)
	if err != nil {
		return fmt.Errorf("store: update subscription: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "the subscription was changed or deleted meanwhile")
	}
	return nil
}

func (s *Store) DeleteSubscription(ctx context.Context, t tenant.ID, id webhook.SubscriptionID) error {
	res, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2`, string(t), string(id))
	if err != nil {
		return fmt.Errorf("store: delete subscription: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("event subscription not found")
	}
	return nil
}

func (s *Store) AddDeadLetter(ctx context.Context, d webhook.DeadLetter) error {
	ev, err := json.Marshal(d.Event)
	if err != nil {
		return err
	}
	_, err = s.db.writer(ctx).ExecContext(ctx,
		`INSERT INTO dead_letters (id, tenant_id, subscription_id, event_id, event, attempts, last_error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		string(d.ID), string(d.Tenant), string(d.Subscription), d.Event.ID, ev, d.Attempts, d.LastError, micros(d.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: dead letter: %w", err)
	}
	return nil
}

const deadLetterColumns = `id, tenant_id, subscription_id, event, attempts, last_error, created_at, replayed_at`

func scanDeadLetter(r rowScanner) (webhook.DeadLetter, error) {
	var d webhook.DeadLetter
	var ev []byte
	var created int64
	var replayed sql.NullInt64
	err := r.Scan(&d.ID, &d.Tenant, &d.Subscription, &ev, &d.Attempts, &d.LastError, &created, &replayed)
	if errors.Is(err, sql.ErrNoRows) {
		return d, errs.NotFound("dead letter not found")
	}
	if err != nil {
		return d, fmt.Errorf("store: dead letter: %w", err)
	}
	if err := json.Unmarshal(ev, &d.Event); err != nil {
		return d, fmt.Errorf("store: dead letter event: %w", err)
	}
	d.CreatedAt, d.ReplayedAt = fromMicros(created), timePtr(replayed)
	return d, nil
}

func (s *Store) DeadLetter(ctx context.Context, t tenant.ID, id webhook.DeadLetterID) (webhook.DeadLetter, error) {
	return scanDeadLetter(s.db.reader(ctx).QueryRowContext(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters WHERE tenant_id = $1 AND id = $2`, string(t), string(id)))
}

func (s *Store) DeadLetters(ctx context.Context, t tenant.ID, after webhook.DeadLetterID, limit int) ([]webhook.DeadLetter, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, `SELECT `+deadLetterColumns+` FROM dead_letters WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		string(t), string(after), limit)
	if err != nil {
		return nil, fmt.Errorf("store: dead letters: %w", err)
	}
	defer rows.Close()
	var out []webhook.DeadLetter
	for rows.Next() {
		d, err := scanDeadLetter(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *Store) MarkDeadLetterReplayed(ctx context.Context, t tenant.ID, id webhook.DeadLetterID, at time.Time) error {
	res, err := s.db.writer(ctx).ExecContext(ctx, `UPDATE dead_letters SET replayed_at = $1 WHERE tenant_id = $2 AND id = $3`, micros(at), string(t), string(id))
	if err != nil {
		return fmt.Errorf("store: dead letter: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound("dead letter not found")
	}
	return nil
}
