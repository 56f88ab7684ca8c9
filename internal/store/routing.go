package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

func (s *Store) ConfigEntity(ctx context.Context, t tenant.ID, kind routing.Kind, id string) (routing.Entity, error) {
	var e routing.Entity
	var doc string
	var dp, ep, fq sql.NullString
	var at int64
	err := s.db.reader(ctx).QueryRowContext(ctx, `
SELECT doc, distribution_policy, exception_policy, fallback_queue, version, updated_at FROM routing_config WHERE tenant_id = $1 AND kind = $2 AND id = $3`,
		string(t), string(kind), id).Scan(&doc, &dp, &ep, &fq, &e.Version, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return e, errs.NotFound("%s %s not found", kind, id)
	}
	if err != nil {
		return e, fmt.Errorf("store: routing config: %w", err)
	}
	e.Tenant, e.Kind, e.ID, e.Doc, e.UpdatedAt = t, kind, id, []byte(doc), fromMicros(at)
	e.Refs = routing.Refs{DistributionPolicy: dp.String, ExceptionPolicy: ep.String, FallbackQueue: fq.String}
	return e, nil
}

func (s *Store) PutConfigEntity(ctx context.Context, e routing.Entity) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `
INSERT INTO routing_config (tenant_id, kind, id, doc, distribution_policy, exception_policy, fallback_queue, version, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (tenant_id, kind, id) DO UPDATE SET doc = excluded.doc, distribution_policy = excluded.distribution_policy,
    exception_policy = excluded.exception_policy, fallback_queue = excluded.fallback_queue, version = excluded.version, updated_at = excluded.updated_at`,
		string(e.Tenant), string(e.Kind), e.ID, string(e.Doc), nullString(e.Refs.DistributionPolicy), nullString(e.Refs.ExceptionPolicy),
		nullString(e.Refs.FallbackQueue), e.Version, micros(e.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: put routing config: %w", err)
	}
	if e.Kind == routing.KindWorker {
		return s.setWorkerQueues(ctx, e.Tenant, e.ID, e.Refs.Queues)
	}
	return nil
}

func (s *Store) setWorkerQueues(ctx context.Context, t tenant.ID, worker string, queues []string) error {
	w := s.db.writer(ctx)
	if _, err := w.ExecContext(ctx, `DELETE FROM routing_worker_queues WHERE tenant_id = $1 AND worker_id = $2`, string(t), worker); err != nil {
		return fmt.Errorf("store: worker queues: %w", err)
	}
	for _, q := range queues {
		if _, err := w.ExecContext(ctx, `INSERT INTO routing_worker_queues (tenant_id, worker_id, queue_id) VALUES ($1, $2, $3)`, string(t), worker, q); err != nil {
			return fmt.Errorf("store: worker queues: %w", err)
		}
	}
	return nil
}

func (s *Store) DeleteConfigEntity(ctx context.Context, t tenant.ID, kind routing.Kind, id string) error {
	if kind == routing.KindWorker {
		if err := s.setWorkerQueues(ctx, t, id, nil); err != nil {
			return err
		}
	}
	res, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM routing_config WHERE tenant_id = $1 AND kind = $2 AND id = $3`, string(t), string(kind), id)
	return affectedOne(res, err, "delete routing config", "%s %s not found", kind, id)
}

func (s *Store) ConfigEntities(ctx context.Context, t tenant.ID, kind routing.Kind, after string, limit int) ([]routing.Entity, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, `
SELECT id, doc, version, updated_at FROM routing_config WHERE tenant_id = $1 AND kind = $2 AND id > $3 ORDER BY id LIMIT $4`,
		string(t), string(kind), after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list routing config: %w", err)
	}
	defer rows.Close()
	var out []routing.Entity
	for rows.Next() {
		e := routing.Entity{Tenant: t, Kind: kind}
		var doc string
		var at int64
		if err := rows.Scan(&e.ID, &doc, &e.Version, &at); err != nil {
			return nil, err
		}
		e.Doc, e.UpdatedAt = []byte(doc), fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// referrerFields are the reference columns a deletion may check.
var referrerFields = map[string]bool{"distribution_policy": true, "exception_policy": true, "fallback_queue": true}

func (s *Store) ConfigReferrers(ctx context.Context, t tenant.ID, kind routing.Kind, field, id string) (int, error) {
	if kind == routing.KindWorker && field == "queue" {
		var n int
		err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM routing_worker_queues WHERE tenant_id = $1 AND queue_id = $2`, string(t), id).Scan(&n)
		return n, err
	}
	if !referrerFields[field] {
		return 0, fmt.Errorf("store: no reference column %q", field)
	}
	var n int
	err := s.db.reader(ctx).QueryRowContext(ctx,
		`SELECT COUNT(*) FROM routing_config WHERE tenant_id = $1 AND kind = $2 AND `+field+` = $3`, string(t), string(kind), id).Scan(&n)
	return n, err
}
