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
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// NextMessage bumps the thread's sequence and message id in one statement,
// which also serialises concurrent senders on the thread's row.
func (s *Store) NextMessage(ctx context.Context, t tenant.ID, id conversation.ThreadID, sender string, now time.Time) (int64, int64, error) {
	ms := now.UnixMilli()
	var seq, msgID int64
	err := s.db.writer(ctx).QueryRowContext(ctx, `
UPDATE chat_threads SET last_seq = last_seq + 1,
    last_message_id = CASE WHEN last_message_id >= $3 THEN last_message_id + 1 ELSE $3 END,
    last_message_at = $4
WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL
  AND ($5 = '' OR EXISTS (SELECT 1 FROM chat_participants p WHERE p.tenant_id = $1 AND p.thread_id = $2 AND p.raw_id = $5))
RETURNING last_seq, last_message_id`, string(t), string(id), ms, micros(now), sender).Scan(&seq, &msgID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, errs.NotFound("chat thread %s not found", id)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: next message: %w", err)
	}
	return seq, msgID, nil
}

// messageJSON encodes a message's content and metadata columns.
func messageJSON(m conversation.Message) (string, sql.NullString, error) {
	content, err := json.Marshal(m.Content)
	if err != nil {
		return "", sql.NullString{}, err
	}
	meta, err := jsonOrNull(m.Metadata, m.Metadata == nil)
	return string(content), meta, err
}

func (s *Store) InsertMessage(ctx context.Context, m conversation.Message) error {
	content, meta, err := messageJSON(m)
	if err != nil {
		return err
	}
	_, err = s.db.writer(ctx).ExecContext(ctx, `
INSERT INTO chat_messages (tenant_id, thread_id, seq, id, type, sender, sender_display_name, content, metadata, created_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		string(m.Tenant), string(m.Thread), m.Seq, m.ID, m.Type, nullString(m.Sender), nullString(m.SenderDisplayName),
		content, meta, micros(m.CreatedAt), m.Version)
	if err != nil {
		return fmt.Errorf("store: insert message: %w", err)
	}
	return nil
}

const messageColumns = `tenant_id, thread_id, seq, id, type, sender, sender_display_name, content, metadata, created_at, edited_at, deleted_at, version`

func scanMessage(row interface{ Scan(...any) error }) (conversation.Message, error) {
	var m conversation.Message
	var sender, name, meta sql.NullString
	var content string
	var created int64
	var edited, deleted sql.NullInt64
	if err := row.Scan(&m.Tenant, &m.Thread, &m.Seq, &m.ID, &m.Type, &sender, &name, &content, &meta, &created, &edited, &deleted, &m.Version); err != nil {
		return m, err
	}
	m.Sender, m.SenderDisplayName = sender.String, name.String
	m.CreatedAt, m.EditedAt, m.DeletedAt = fromMicros(created), timePtr(edited), timePtr(deleted)
	if err := json.Unmarshal([]byte(content), &m.Content); err != nil {
		return m, err
	}
	if meta.Valid {
		if err := json.Unmarshal([]byte(meta.String), &m.Metadata); err != nil {
			return m, err
		}
	}
	return m, nil
}

func (s *Store) Message(ctx context.Context, t tenant.ID, id conversation.ThreadID, msgID string) (conversation.Message, error) {
	m, err := scanMessage(s.db.reader(ctx).QueryRowContext(ctx,
		`SELECT `+messageColumns+` FROM chat_messages WHERE tenant_id = $1 AND thread_id = $2 AND id = $3`, string(t), string(id), msgID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, errs.NotFound("message %s not found", msgID)
	}
	if err != nil {
		return m, fmt.Errorf("store: message: %w", err)
	}
	return m, nil
}

func (s *Store) Messages(ctx context.Context, t tenant.ID, id conversation.ThreadID, q conversation.MessageQuery) ([]conversation.Message, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + messageColumns + ` FROM chat_messages WHERE tenant_id = $1 AND thread_id = $2`)
	args := []any{string(t), string(id)}
	if !q.Since.IsZero() {
		args = append(args, micros(q.Since))
		fmt.Fprintf(&b, ` AND created_at >= $%d`, len(args))
	}
	if !q.VisibleFrom.IsZero() {
		args = append(args, micros(q.VisibleFrom))
		fmt.Fprintf(&b, ` AND created_at >= $%d`, len(args))
	}
	if q.BeforeID != "" {
		args = append(args, q.BeforeID)
		fmt.Fprintf(&b, ` AND id < $%d`, len(args))
	}
	args = append(args, q.Limit)
	// Ids are equal-length digit strings growing with the sequence, so text
	// order is message order.
	fmt.Fprintf(&b, ` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := s.db.reader(ctx).QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("store: messages: %w", err)
	}
	defer rows.Close()
	var out []conversation.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Store) UpdateMessage(ctx context.Context, m conversation.Message) error {
	content, meta, err := messageJSON(m)
	if err != nil {
		return err
	}
	res, err := s.db.writer(ctx).ExecContext(ctx, `
UPDATE chat_messages SET content = $4, metadata = $5, edited_at = $6, deleted_at = $7, version = $8
WHERE tenant_id = $1 AND thread_id = $2 AND id = $3`,
		string(m.Tenant), string(m.Thread), m.ID, content, meta, nullMicros(m.EditedAt), nullMicros(m.DeletedAt), m.Version)
	return affectedOne(res, err, "update message", "message %s not found", m.ID)
}

func (s *Store) SetReadReceipt(ctx context.Context, t tenant.ID, id conversation.ThreadID, r conversation.ReadReceipt) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `
INSERT INTO chat_read_receipts (tenant_id, thread_id, raw_id, message_id, read_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tenant_id, thread_id, raw_id) DO UPDATE SET message_id = excluded.message_id, read_at = excluded.read_at`,
		string(t), string(id), r.Sender, r.MessageID, micros(r.ReadAt))
	if err != nil {
		return fmt.Errorf("store: read receipt: %w", err)
	}
	return nil
}

func (s *Store) ReadReceipts(ctx context.Context, t tenant.ID, id conversation.ThreadID, skip, limit int) ([]conversation.ReadReceipt, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx,
		`SELECT raw_id, message_id, read_at FROM chat_read_receipts WHERE tenant_id = $1 AND thread_id = $2 ORDER BY read_at DESC, raw_id LIMIT $3 OFFSET $4`,
		string(t), string(id), limit, skip)
	if err != nil {
		return nil, fmt.Errorf("store: read receipts: %w", err)
	}
	defer rows.Close()
	var out []conversation.ReadReceipt
	for rows.Next() {
		var r conversation.ReadReceipt
		var at int64
		if err := rows.Scan(&r.Sender, &r.MessageID, &at); err != nil {
			return nil, err
		}
		r.ReadAt = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) CreateFile(ctx context.Context, f conversation.File) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `
INSERT INTO chat_files (tenant_id, id, thread_id, uploader, name, content_type, size, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		string(f.Tenant), f.ID, string(f.Thread), f.Uploader, f.Name, f.ContentType, f.Size, micros(f.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create file: %w", err)
	}
	return nil
}

func (s *Store) Files(ctx context.Context, t tenant.ID, ids []string) ([]conversation.File, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := []any{string(t)}
	marks := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	rows, err := s.db.reader(ctx).QueryContext(ctx,
		`SELECT tenant_id, id, thread_id, uploader, name, content_type, size, created_at FROM chat_files WHERE tenant_id = $1 AND id IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: files: %w", err)
	}
	defer rows.Close()
	var out []conversation.File
	for rows.Next() {
		var f conversation.File
		var at int64
		if err := rows.Scan(&f.Tenant, &f.ID, &f.Thread, &f.Uploader, &f.Name, &f.ContentType, &f.Size, &at); err != nil {
			return nil, err
		}
		f.CreatedAt = fromMicros(at)
		out = append(out, f)
	}
	return out, rows.Err()
}
