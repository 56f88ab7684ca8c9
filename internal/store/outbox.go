package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/event"
)

// Append writes events to the outbox; call it inside the transaction that
// makes the change they describe.
func (s *Store) Append(ctx context.Context, evs ...event.Event) error {
	w := s.db.writer(ctx)
	for _, e := range evs {
		route, err := routeOf(e)
		if err != nil {
			return fmt.Errorf("store: outbox append: %w", err)
		}
		_, err = w.ExecContext(ctx,
			`INSERT INTO outbox (id, tenant_id, type, subject, time, data_version, data, route) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			e.ID, string(e.Tenant), e.Type, e.Subject, micros(e.Time), e.DataVersion, []byte(e.Data), route)
		if err != nil {
			return fmt.Errorf("store: outbox append: %w", err)
		}
	}
	if !markAppended(ctx) {
		s.db.outboxWritten()
	}
	return nil
}

// eventRoute is who an event reaches in real time, kept beside its data.
type eventRoute struct {
	Audience []string            `json:"a,omitempty"`
	Notify   *event.Notification `json:"n,omitempty"`
	Realtime bool                `json:"r,omitempty"` // realtime only
}

func routeOf(e event.Event) ([]byte, error) {
	if len(e.Audience) == 0 && e.Notify == nil && !e.RealtimeOnly {
		return nil, nil
	}
	return json.Marshal(eventRoute{Audience: e.Audience, Notify: e.Notify, Realtime: e.RealtimeOnly})
}

// OutboxEntry is an event waiting to be published, with its position.
type OutboxEntry struct {
	Seq   int64
	Event event.Event
}

// ClaimOutbox leases up to limit unpublished events until lease from now.
// Two relays (two nodes) never hold the same row: the outer condition is
// re-checked on the locked row, so a row claimed meanwhile drops out.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxEntry, error) {
	rows, err := s.db.writer(ctx).QueryContext(ctx, `
UPDATE outbox SET claimed_until = $1
WHERE seq IN (SELECT seq FROM outbox WHERE claimed_until IS NULL OR claimed_until < $2 ORDER BY seq LIMIT $3)
  AND (claimed_until IS NULL OR claimed_until < $2)
RETURNING seq, id, tenant_id, type, subject, time, data_version, data, route`,
		micros(now.Add(lease)), micros(now), limit)
	out, err := scanOutbox(rows, err)
	if err != nil {
		return nil, fmt.Errorf("store: claim outbox: %w", err)
	}
	slices.SortFunc(out, func(a, b OutboxEntry) int { return int(a.Seq - b.Seq) })
	return out, nil
}

// OldestOutbox returns the oldest waiting events in commit order, for a
// relay that is the outbox's only publisher (SQLite: sequence numbers follow
// commit order because transactions commit one at a time).
func (s *Store) OldestOutbox(ctx context.Context, limit int) ([]OutboxEntry, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx,
		`SELECT seq, id, tenant_id, type, subject, time, data_version, data, route FROM outbox ORDER BY seq LIMIT $1`, limit)
	out, err := scanOutbox(rows, err)
	if err != nil {
		return nil, fmt.Errorf("store: read outbox: %w", err)
	}
	return out, nil
}

// scanOutbox reads rows of (seq, id, tenant_id, type, subject, time,
// data_version, data, route).
func scanOutbox(rows *sql.Rows, err error) ([]OutboxEntry, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutboxEntry
	for rows.Next() {
		var e OutboxEntry
		var at int64
		var data, route []byte
		if err := rows.Scan(&e.Seq, &e.Event.ID, &e.Event.Tenant, &e.Event.Type, &e.Event.Subject, &at, &e.Event.DataVersion, &data, &route); err != nil {
			return nil, err
		}
		e.Event.Time, e.Event.Data = fromMicros(at), data
		if len(route) > 0 {
			var rt eventRoute
			if err := json.Unmarshal(route, &rt); err != nil {
				return nil, fmt.Errorf("event %s: route: %w", e.Event.ID, err)
			}
			e.Event.Audience, e.Event.Notify, e.Event.RealtimeOnly = rt.Audience, rt.Notify, rt.Realtime
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteOutboxThrough removes every event up to and including seq.
func (s *Store) DeleteOutboxThrough(ctx context.Context, seq int64) error {
	if _, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM outbox WHERE seq <= $1`, seq); err != nil {
		return fmt.Errorf("store: delete outbox: %w", err)
	}
	return nil
}

// DeleteOutbox removes published events.
func (s *Store) DeleteOutbox(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, len(seqs))
	for i, q := range seqs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("$" + strconv.Itoa(i+1))
		args[i] = q
	}
	_, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM outbox WHERE seq IN (`+b.String()+`)`, args...)
	if err != nil {
		return fmt.Errorf("store: delete outbox: %w", err)
	}
	return nil
}

// OutboxLag reports how many events wait and how old the oldest is.
func (s *Store) OutboxLag(ctx context.Context, now time.Time) (int64, time.Duration, error) {
	var n int64
	var oldest *int64
	err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*), MIN(time) FROM outbox`).Scan(&n, &oldest)
	if err != nil {
		return 0, 0, fmt.Errorf("store: outbox lag: %w", err)
	}
	if oldest == nil {
		return n, 0, nil
	}
	return n, now.Sub(fromMicros(*oldest)), nil
}
