package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

const jobColumns = `id, status, queue_id, channel_id, classification_policy, scheduled_at, doc, version`

func scanJob(sc interface{ Scan(...any) error }) (routing.JobRecord, error) {
	var r routing.JobRecord
	var at sql.NullInt64
	var doc string
	if err := sc.Scan(&r.ID, &r.Status, &r.QueueID, &r.ChannelID, &r.ClassificationPolicyID, &at, &doc, &r.Version); err != nil {
		return r, err
	}
	r.Doc = []byte(doc)
	if at.Valid {
		r.ScheduledAt = fromMicros(at.Int64)
	}
	return r, nil
}

func (s *Store) RouterJob(ctx context.Context, t tenant.ID, id string) (routing.JobRecord, error) {
	r, err := scanJob(s.db.reader(ctx).QueryRowContext(ctx, `SELECT `+jobColumns+` FROM routing_jobs WHERE tenant_id = $1 AND id = $2`, string(t), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, errs.NotFound("job %s not found", id)
	}
	if err != nil {
		return r, fmt.Errorf("store: router job: %w", err)
	}
	return r, nil
}

// terminalStatuses are the statuses a restart need not load.
var terminalStatuses = []string{string(routing.StatusClosed), string(routing.StatusCancelled), string(routing.StatusClassificationFailed), string(routing.StatusScheduleFailed)}

func (s *Store) RouterJobs(ctx context.Context, t tenant.ID, f routing.JobFilter, after string, limit int) ([]routing.JobRecord, error) {
	q := strings.Builder{}
	q.WriteString(`SELECT ` + jobColumns + ` FROM routing_jobs WHERE tenant_id = $1 AND id > $2`)
	args := []any{string(t), after}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	switch f.Status {
	case "", "all":
	case "active":
		q.WriteString(` AND status NOT IN (`)
		for i, st := range terminalStatuses {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(arg(st))
		}
		q.WriteString(`)`)
	default:
		q.WriteString(` AND status = ` + arg(f.Status))
	}
	for col, v := range map[string]string{"queue_id": f.QueueID, "channel_id": f.ChannelID, "classification_policy": f.ClassificationPolicyID} {
		if v != "" {
			q.WriteString(` AND ` + col + ` = ` + arg(v))
		}
	}
	if !f.ScheduledBefore.IsZero() {
		q.WriteString(` AND scheduled_at < ` + arg(micros(f.ScheduledBefore)))
	}
	if !f.ScheduledAfter.IsZero() {
		q.WriteString(` AND scheduled_at > ` + arg(micros(f.ScheduledAfter)))
	}
	q.WriteString(` ORDER BY id LIMIT ` + arg(limit))
	rows, err := s.db.reader(ctx).QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list router jobs: %w", err)
	}
	defer rows.Close()
	var out []routing.JobRecord
	for rows.Next() {
		r, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list router jobs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) SaveRouterJobs(ctx context.Context, t tenant.ID, jobs []routing.JobRecord, deleted []string) error {
	w := s.db.writer(ctx)
	// Many rows per statement: a router commit carries every job its
	// callers changed meanwhile, and each statement costs a parse.
	const perStatement = 64
	// SQLite takes $n as a named parameter and finds each one's name by a
	// walk of the statement's list: binding 576 of them costs more than
	// inserting the rows. Its plain ? parameters are bound by position.
	positional := s.db.Dialect() == SQLite
	for len(jobs) > 0 {
		chunk := jobs[:min(len(jobs), perStatement)]
		jobs = jobs[len(chunk):]
		var q strings.Builder
		q.WriteString(`INSERT INTO routing_jobs (tenant_id, id, status, queue_id, channel_id, classification_policy, scheduled_at, doc, version) VALUES `)
		args := make([]any, 0, len(chunk)*9)
		for i, r := range chunk {
			var at any
			if !r.ScheduledAt.IsZero() {
				at = micros(r.ScheduledAt)
			}
			if i > 0 {
				q.WriteString(", ")
			}
			if n := len(args); positional {
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			} else {
				fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
			}
			// A JSON document is text; the embedded router's binary form
			// (see routing.decodeRecord) a blob.
			var doc any = string(r.Doc)
			if len(r.Doc) > 0 && r.Doc[0] != '{' {
				doc = r.Doc
			}
			args = append(args, string(t), r.ID, r.Status, r.QueueID, r.ChannelID, r.ClassificationPolicyID, at, doc, r.Version)
		}
		q.WriteString(` ON CONFLICT (tenant_id, id) DO UPDATE SET status = excluded.status, queue_id = excluded.queue_id, channel_id = excluded.channel_id,
    classification_policy = excluded.classification_policy, scheduled_at = excluded.scheduled_at, doc = excluded.doc, version = excluded.version`)
		if _, err := w.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("store: save router jobs: %w", err)
		}
	}
	for _, id := range deleted {
		if _, err := w.ExecContext(ctx, `DELETE FROM routing_jobs WHERE tenant_id = $1 AND id = $2`, string(t), id); err != nil {
			return fmt.Errorf("store: delete router job: %w", err)
		}
	}
	return nil
}

// LiveRouterJobs are the jobs a router must load: those not finished.
func (s *Store) LiveRouterJobs(ctx context.Context, t tenant.ID) ([]routing.JobRecord, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, `SELECT `+jobColumns+` FROM routing_jobs WHERE tenant_id = $1 AND status NOT IN ($2, $3, $4, $5) ORDER BY id`,
		string(t), terminalStatuses[0], terminalStatuses[1], terminalStatuses[2], terminalStatuses[3])
	if err != nil {
		return nil, fmt.Errorf("store: live router jobs: %w", err)
	}
	defer rows.Close()
	var out []routing.JobRecord
	for rows.Next() {
		r, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: live router jobs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) RouterTenants(ctx context.Context) ([]tenant.ID, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, `SELECT DISTINCT tenant_id FROM routing_jobs WHERE status NOT IN ($1, $2, $3, $4)`,
		terminalStatuses[0], terminalStatuses[1], terminalStatuses[2], terminalStatuses[3])
	if err != nil {
		return nil, fmt.Errorf("store: router tenants: %w", err)
	}
	defer rows.Close()
	var out []tenant.ID
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, tenant.ID(t))
	}
	return out, rows.Err()
}

// RouterJournalMark is the last router journal segment stored (0: none).
func (s *Store) RouterJournalMark(ctx context.Context) (uint64, error) {
	var seg int64
	err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT segment FROM router_journal WHERE name = 'router'`).Scan(&seg)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: router journal mark: %w", err)
	}
	return uint64(seg), nil
}

// SetRouterJournalMark records, in the caller's transaction, that the
// router journal's segments up to seg are stored.
func (s *Store) SetRouterJournalMark(ctx context.Context, seg uint64) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `INSERT INTO router_journal (name, segment) VALUES ('router', $1)
    ON CONFLICT (name) DO UPDATE SET segment = excluded.segment`, int64(seg))
	if err != nil {
		return fmt.Errorf("store: set router journal mark: %w", err)
	}
	return nil
}

// RouterJobIDs calls fn with the id of every stored job of a tenant.
func (s *Store) RouterJobIDs(ctx context.Context, t tenant.ID, fn func(id string)) error {
	rows, err := s.db.reader(ctx).QueryContext(ctx, `SELECT id FROM routing_jobs WHERE tenant_id = $1`, string(t))
	if err != nil {
		return fmt.Errorf("store: router job ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("store: router job ids: %w", err)
		}
		fn(id)
	}
	return rows.Err()
}
