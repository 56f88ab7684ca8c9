package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

func jsonOrNull(v any, empty bool) (sql.NullString, error) {
	if empty {
		return sql.NullString{}, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(raw), Valid: true}, nil
}

func (s *Store) CreateThread(ctx context.Context, th conversation.Thread, ps []conversation.Participant) error {
	meta, err := jsonOrNull(th.Metadata, th.Metadata == nil)
	if err != nil {
		return err
	}
	ret, err := jsonOrNull(th.Retention, th.Retention == nil)
	if err != nil {
		return err
	}
	_, err = s.db.writer(ctx).ExecContext(ctx,
		`INSERT INTO chat_threads (tenant_id, id, topic, created_by, created_at, metadata, retention, version, delete_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		string(th.Tenant), string(th.ID), th.Topic, th.CreatedBy, micros(th.CreatedAt), meta, ret, th.Version, deleteAfter(th))
	if err != nil {
		return fmt.Errorf("store: create thread: %w", err)
	}
	return s.AddParticipants(ctx, th.Tenant, th.ID, ps)
}

const threadColumns = `tenant_id, id, topic, created_by, created_at, deleted_at, metadata, retention, last_message_at, version`

func scanThread(row interface{ Scan(...any) error }) (conversation.Thread, error) {
	var th conversation.Thread
	var created int64
	var deleted, last sql.NullInt64
	var meta, ret sql.NullString
	if err := row.Scan(&th.Tenant, &th.ID, &th.Topic, &th.CreatedBy, &created, &deleted, &meta, &ret, &last, &th.Version); err != nil {
		return th, err
	}
	th.CreatedAt, th.DeletedAt, th.LastMessageAt = fromMicros(created), timePtr(deleted), timePtr(last)
	if meta.Valid {
		if err := json.Unmarshal([]byte(meta.String), &th.Metadata); err != nil {
			return th, err
		}
	}
	if ret.Valid {
		th.Retention = &conversation.RetentionPolicy{}
		if err := json.Unmarshal([]byte(ret.String), th.Retention); err != nil {
			return th, err
		}
	}
	return th, nil
}

func (s *Store) Thread(ctx context.Context, t tenant.ID, id conversation.ThreadID) (conversation.Thread, error) {
	th, err := scanThread(s.db.reader(ctx).QueryRowContext(ctx,
		`SELECT `+threadColumns+` FROM chat_threads WHERE tenant_id = $1 AND id = $2`, string(t), string(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return th, errs.NotFound("chat thread %s not found", id)
	}
	if err != nil {
		return th, fmt.Errorf("store: thread: %w", err)
	}
	return th, nil
}

func (s *Store) UpdateThread(ctx context.Context, th conversation.Thread) error {
	meta, err := jsonOrNull(th.Metadata, th.Metadata == nil)
	if err != nil {
		return err
	}
	ret, err := jsonOrNull(th.Retention, th.Retention == nil)
	if err != nil {
		return err
	}
	res, err := s.db.writer(ctx).ExecContext(ctx,
		`UPDATE chat_threads SET topic = $3, metadata = $4, retention = $5, version = $6, delete_after = $7 WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
		string(th.Tenant), string(th.ID), th.Topic, meta, ret, th.Version, deleteAfter(th))
	return affectedOne(res, err, "update thread", "chat thread %s not found", th.ID)
}

// deleteAfter is when the thread's own retention policy expires it.
func deleteAfter(th conversation.Thread) sql.NullInt64 {
	if th.Retention == nil || th.Retention.Kind != "threadCreationDate" {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(th.CreatedAt.AddDate(0, 0, th.Retention.DeleteThreadAfterDays)), Valid: true}
}

func affectedOne(res sql.Result, err error, op, notFound string, args ...any) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFound(notFound, args...)
	}
	return nil
}

// DeleteThread marks the thread deleted and removes its messages and
// receipts. Participants stay, so their thread lists show it with deletedOn.
func (s *Store) DeleteThread(ctx context.Context, t tenant.ID, id conversation.ThreadID, at time.Time, version int64) error {
	w := s.db.writer(ctx)
	res, err := w.ExecContext(ctx, `UPDATE chat_threads SET deleted_at = $3, version = $4 WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
		string(t), string(id), micros(at), version)
	if err := affectedOne(res, err, "delete thread", "chat thread %s not found", id); err != nil {
		return err
	}
	for _, table := range []string{"chat_messages", "chat_read_receipts"} {
		if _, err := w.ExecContext(ctx, `DELETE FROM `+table+` WHERE tenant_id = $1 AND thread_id = $2`, string(t), string(id)); err != nil {
			return fmt.Errorf("store: delete thread %s: %w", table, err)
		}
	}
	return nil
}

// ThreadsOf lists member's threads by last activity, newest first. after
// is the previous page's last "activity:id".
func (s *Store) ThreadsOf(ctx context.Context, t tenant.ID, member string, since time.Time, after string, limit int) ([]conversation.ThreadItem, error) {
	args := []any{string(t), member, micros(since), limit}
	cond := ""
	if after != "" {
		act, id, ok := strings.Cut(after, ":")
		v, err := strconv.ParseInt(act, 10, 64)
		if !ok || err != nil {
			return nil, errs.Invalid("InvalidContinuationToken", "the continuation token is malformed")
		}
		args = append(args, v, id)
		cond = ` AND (COALESCE(th.last_message_at, th.created_at) < $5 OR (COALESCE(th.last_message_at, th.created_at) = $5 AND th.id > $6))`
	}
	rows, err := s.db.reader(ctx).QueryContext(ctx, `
SELECT th.id, th.topic, th.deleted_at, th.last_message_at, th.created_at
FROM chat_participants p JOIN chat_threads th ON th.tenant_id = p.tenant_id AND th.id = p.thread_id
WHERE p.tenant_id = $1 AND p.raw_id = $2 AND COALESCE(th.last_message_at, th.created_at) >= $3`+cond+`
ORDER BY COALESCE(th.last_message_at, th.created_at) DESC, th.id LIMIT $4`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: threads of: %w", err)
	}
	defer rows.Close()
	var out []conversation.ThreadItem
	for rows.Next() {
		var it conversation.ThreadItem
		var deleted, last sql.NullInt64
		var created int64
		if err := rows.Scan(&it.ID, &it.Topic, &deleted, &last, &created); err != nil {
			return nil, err
		}
		it.DeletedAt, it.LastMessageAt, it.CreatedAt = timePtr(deleted), timePtr(last), fromMicros(created)
		out = append(out, it)
	}
	return out, rows.Err()
}

// Membership reads a thread and, in the same query, member's participation
// (nil when member does not take part).
func (s *Store) Membership(ctx context.Context, t tenant.ID, id conversation.ThreadID, member string) (conversation.Thread, *conversation.Participant, error) {
	row := s.db.reader(ctx).QueryRowContext(ctx, `
SELECT th.tenant_id, th.id, th.topic, th.created_by, th.created_at, th.deleted_at, th.metadata, th.retention, th.last_message_at, th.version,
       p.raw_id, p.display_name, p.share_history_time, p.metadata, p.added_at
FROM chat_threads th LEFT JOIN chat_participants p ON p.tenant_id = th.tenant_id AND p.thread_id = th.id AND p.raw_id = $3
WHERE th.tenant_id = $1 AND th.id = $2`, string(t), string(id), member)
	var rawID, name, meta sql.NullString
	var share, added sql.NullInt64
	th, err := scanThread(extraScanner{row: row, extra: []any{&rawID, &name, &share, &meta, &added}})
	if errors.Is(err, sql.ErrNoRows) {
		return th, nil, errs.NotFound("chat thread %s not found", id)
	}
	if err != nil {
		return th, nil, fmt.Errorf("store: membership: %w", err)
	}
	if !rawID.Valid {
		return th, nil, nil
	}
	p := &conversation.Participant{ID: rawID.String, DisplayName: name.String, AddedAt: fromMicros(added.Int64)}
	if share.Int64 != 0 {
		p.ShareHistoryTime = fromMicros(share.Int64)
	}
	if meta.Valid {
		if err := json.Unmarshal([]byte(meta.String), &p.Metadata); err != nil {
			return th, nil, err
		}
	}
	return th, p, nil
}

// extraScanner appends extra destinations to a scan made for fewer columns.
type extraScanner struct {
	row   *sql.Row
	extra []any
}

func (r extraScanner) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra...)...) }

const participantColumns = `raw_id, display_name, share_history_time, metadata, added_at`

func scanParticipant(row interface{ Scan(...any) error }) (conversation.Participant, error) {
	var p conversation.Participant
	var name, meta sql.NullString
	var share, added int64
	if err := row.Scan(&p.ID, &name, &share, &meta, &added); err != nil {
		return p, err
	}
	p.DisplayName, p.AddedAt = name.String, fromMicros(added)
	if share != 0 {
		p.ShareHistoryTime = fromMicros(share)
	}
	if meta.Valid {
		if err := json.Unmarshal([]byte(meta.String), &p.Metadata); err != nil {
			return p, err
		}
	}
	return p, nil
}

func (s *Store) Participant(ctx context.Context, t tenant.ID, id conversation.ThreadID, member string) (conversation.Participant, error) {
	p, err := scanParticipant(s.db.reader(ctx).QueryRowContext(ctx,
		`SELECT `+participantColumns+` FROM chat_participants WHERE tenant_id = $1 AND thread_id = $2 AND raw_id = $3`,
		string(t), string(id), member))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errs.NotFound("participant %s not found", member)
	}
	if err != nil {
		return p, fmt.Errorf("store: participant: %w", err)
	}
	return p, nil
}

func (s *Store) Participants(ctx context.Context, t tenant.ID, id conversation.ThreadID, skip, limit int) ([]conversation.Participant, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx,
		`SELECT `+participantColumns+` FROM chat_participants WHERE tenant_id = $1 AND thread_id = $2 ORDER BY added_at, raw_id LIMIT $3 OFFSET $4`,
		string(t), string(id), limit, skip)
	if err != nil {
		return nil, fmt.Errorf("store: participants: %w", err)
	}
	defer rows.Close()
	var out []conversation.Participant
	for rows.Next() {
		p, err := scanParticipant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Store) ParticipantIDs(ctx context.Context, t tenant.ID, id conversation.ThreadID) ([]string, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx,
		`SELECT raw_id FROM chat_participants WHERE tenant_id = $1 AND thread_id = $2 ORDER BY raw_id`, string(t), string(id))
	if err != nil {
		return nil, fmt.Errorf("store: participant ids: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AddParticipants inserts participants; one already there gets the new
// display name, history time and metadata.
func (s *Store) AddParticipants(ctx context.Context, t tenant.ID, id conversation.ThreadID, ps []conversation.Participant) error {
	w := s.db.writer(ctx)
	for _, p := range ps {
		meta, err := jsonOrNull(p.Metadata, p.Metadata == nil)
		if err != nil {
			return err
		}
		var share int64
		if !p.ShareHistoryTime.IsZero() {
			share = micros(p.ShareHistoryTime)
		}
		_, err = w.ExecContext(ctx, `
INSERT INTO chat_participants (tenant_id, thread_id, raw_id, display_name, share_history_time, metadata, added_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (tenant_id, thread_id, raw_id) DO UPDATE SET display_name = excluded.display_name,
    share_history_time = excluded.share_history_time, metadata = excluded.metadata`,
			string(t), string(id), p.ID, nullString(p.DisplayName), share, meta, micros(p.AddedAt))
		if err != nil {
			return fmt.Errorf("store: add participant: %w", err)
		}
	}
	return nil
}

func (s *Store) RemoveParticipant(ctx context.Context, t tenant.ID, id conversation.ThreadID, member string) error {
	res, err := s.db.writer(ctx).ExecContext(ctx,
		`DELETE FROM chat_participants WHERE tenant_id = $1 AND thread_id = $2 AND raw_id = $3`, string(t), string(id), member)
	return affectedOne(res, err, "remove participant", "participant %s not found", member)
}
