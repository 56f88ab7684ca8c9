package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/contact"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

func (s *Store) CreateContact(ctx context.Context, c contact.Contact) error {
	fields, err := jsonOrNull(c.Fields, len(c.Fields) == 0)
	if err != nil {
		return err
	}
	_, err = s.db.writer(ctx).ExecContext(ctx, `
INSERT INTO contacts (tenant_id, id, display_name, fields, search, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		string(c.Tenant), string(c.ID), c.DisplayName, fields, searchText(c), micros(c.CreatedAt), micros(c.UpdatedAt), c.Version)
	if err != nil {
		return fmt.Errorf("store: create contact: %w", err)
	}
	return nil
}

// searchText is what a search matches: name, field values and handles,
// lower-cased.
func searchText(c contact.Contact) string {
	parts := []string{c.DisplayName}
	keys := make([]string, 0, len(c.Fields))
	for k := range c.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, c.Fields[k])
	}
	for _, h := range c.Handles {
		parts = append(parts, h.Value)
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}

func (s *Store) Contact(ctx context.Context, t tenant.ID, id contact.ID) (contact.Contact, error) {
	var c contact.Contact
	var fields sql.NullString
	var created, updated int64
	err := s.db.reader(ctx).QueryRowContext(ctx,
		`SELECT tenant_id, id, display_name, fields, created_at, updated_at, version FROM contacts WHERE tenant_id = $1 AND id = $2`,
		string(t), string(id)).Scan(&c.Tenant, &c.ID, &c.DisplayName, &fields, &created, &updated, &c.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return c, errs.NotFound("contact %s not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("store: contact: %w", err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	if fields.Valid {
		if err := json.Unmarshal([]byte(fields.String), &c.Fields); err != nil {
			return c, err
		}
	}
	c.Handles, err = s.handles(ctx, t, id)
	return c, err
}

func (s *Store) handles(ctx context.Context, t tenant.ID, id contact.ID) ([]contact.Handle, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx,
		`SELECT kind, value FROM contact_handles WHERE tenant_id = $1 AND contact_id = $2 ORDER BY kind, value`, string(t), string(id))
	if err != nil {
		return nil, fmt.Errorf("store: contact handles: %w", err)
	}
	defer rows.Close()
	var out []contact.Handle
	for rows.Next() {
		var h contact.Handle
		if err := rows.Scan(&h.Kind, &h.Value); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func (s *Store) UpdateContact(ctx context.Context, c contact.Contact) error {
	fields, err := jsonOrNull(c.Fields, len(c.Fields) == 0)
	if err != nil {
		return err
	}
	if c.Handles == nil {
		if c.Handles, err = s.handles(ctx, c.Tenant, c.ID); err != nil {
			return err
		}
	}
	res, err := s.db.writer(ctx).ExecContext(ctx,
		`UPDATE contacts SET display_name = $3, fields = $4, search = $5, updated_at = $6, version = $7 WHERE tenant_id = $1 AND id = $2`,
		string(c.Tenant), string(c.ID), c.DisplayName, fields, searchText(c), micros(c.UpdatedAt), c.Version)
	return affectedOne(res, err, "update contact", "contact %s not found", c.ID)
}

func (s *Store) DeleteContact(ctx context.Context, t tenant.ID, id contact.ID) error {
	w := s.db.writer(ctx)
	for _, q := range []string{
		`DELETE FROM contact_handles WHERE tenant_id = $1 AND contact_id = $2`,
		`DELETE FROM contact_threads WHERE tenant_id = $1 AND contact_id = $2`,
		`DELETE FROM webchat_visitors WHERE tenant_id = $1 AND contact_id = $2`,
	} {
		if _, err := w.ExecContext(ctx, q, string(t), string(id)); err != nil {
			return fmt.Errorf("store: delete contact: %w", err)
		}
	}
	res, err := w.ExecContext(ctx, `DELETE FROM contacts WHERE tenant_id = $1 AND id = $2`, string(t), string(id))
	return affectedOne(res, err, "delete contact", "contact %s not found", id)
}

func likeEscape(q string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
}

func (s *Store) SearchContacts(ctx context.Context, t tenant.ID, q string, after contact.ID, limit int) ([]contact.Contact, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx, `
SELECT id FROM contacts WHERE tenant_id = $1 AND id > $2 AND ($3 = '' OR search LIKE $4 ESCAPE '\')
ORDER BY id LIMIT $5`, string(t), string(after), q, "%"+likeEscape(q)+"%", limit)
	if err != nil {
		return nil, fmt.Errorf("store: search contacts: %w", err)
	}
	var ids []contact.ID
	for rows.Next() {
		var id contact.ID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]contact.Contact, 0, len(ids))
	for _, id := range ids {
		c, err := s.Contact(ctx, t, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// AddHandle attaches h to the contact; a handle another contact has is a
// conflict, one this contact has already is fine.
func (s *Store) AddHandle(ctx context.Context, t tenant.ID, id contact.ID, h contact.Handle) error {
	w := s.db.writer(ctx)
	var owner string
	err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT contact_id FROM contact_handles WHERE tenant_id = $1 AND kind = $2 AND value = $3`,
		string(t), h.Kind, h.Value).Scan(&owner)
	switch {
	case err == nil && owner == string(id):
		return nil
	case err == nil:
		return errs.Conflict("HandleTaken", "%s %s already belongs to contact %s", h.Kind, h.Value, owner).WithTarget("handles")
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: handle owner: %w", err)
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO contact_handles (tenant_id, kind, value, contact_id) VALUES ($1, $2, $3, $4)`,
		string(t), h.Kind, h.Value, string(id)); err != nil {
		if isUniqueViolation(err) {
			return errs.Conflict("HandleTaken", "%s %s already belongs to another contact", h.Kind, h.Value).WithTarget("handles")
		}
		return fmt.Errorf("store: add handle: %w", err)
	}
	return s.refreshSearch(ctx, t, id)
}

func (s *Store) refreshSearch(ctx context.Context, t tenant.ID, id contact.ID) error {
	c, err := s.Contact(ctx, t, id)
	if err != nil {
		return err
	}
	_, err = s.db.writer(ctx).ExecContext(ctx, `UPDATE contacts SET search = $3 WHERE tenant_id = $1 AND id = $2`, string(t), string(id), searchText(c))
	return err
}

func (s *Store) ContactByHandle(ctx context.Context, t tenant.ID, h contact.Handle) (contact.Contact, error) {
	var id contact.ID
	err := s.db.reader(ctx).QueryRowContext(ctx, `SELECT contact_id FROM contact_handles WHERE tenant_id = $1 AND kind = $2 AND value = $3`,
		string(t), h.Kind, h.Value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return contact.Contact{}, errs.NotFound("no contact has %s %s", h.Kind, h.Value)
	}
	if err != nil {
		return contact.Contact{}, fmt.Errorf("store: contact by handle: %w", err)
	}
	return s.Contact(ctx, t, id)
}

func (s *Store) MoveHandles(ctx context.Context, t tenant.ID, from, to contact.ID) error {
	if _, err := s.db.writer(ctx).ExecContext(ctx, `UPDATE contact_handles SET contact_id = $3 WHERE tenant_id = $1 AND contact_id = $2`,
		string(t), string(from), string(to)); err != nil {
		return fmt.Errorf("store: move handles: %w", err)
	}
	if _, err := s.db.writer(ctx).ExecContext(ctx, `UPDATE webchat_visitors SET contact_id = $3 WHERE tenant_id = $1 AND contact_id = $2`,
		string(t), string(from), string(to)); err != nil {
		return fmt.Errorf("store: move visitors: %w", err)
	}
	return nil
}

func (s *Store) LinkThread(ctx context.Context, t tenant.ID, id contact.ID, thread string, at time.Time) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `
INSERT INTO contact_threads (tenant_id, thread_id, contact_id, linked_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_id, thread_id) DO UPDATE SET contact_id = excluded.contact_id`, string(t), thread, string(id), micros(at))
	if err != nil {
		return fmt.Errorf("store: link thread: %w", err)
	}
	return nil
}

func (s *Store) MoveThreads(ctx context.Context, t tenant.ID, from, to contact.ID) error {
	_, err := s.db.writer(ctx).ExecContext(ctx, `UPDATE contact_threads SET contact_id = $3 WHERE tenant_id = $1 AND contact_id = $2`,
		string(t), string(from), string(to))
	if err != nil {
		return fmt.Errorf("store: move threads: %w", err)
	}
	return nil
}

func (s *Store) ContactThreads(ctx context.Context, t tenant.ID, id contact.ID) ([]string, error) {
	rows, err := s.db.reader(ctx).QueryContext(ctx,
		`SELECT thread_id FROM contact_threads WHERE tenant_id = $1 AND contact_id = $2 ORDER BY linked_at DESC, thread_id`, string(t), string(id))
	if err != nil {
		return nil, fmt.Errorf("store: contact threads: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var th string
		if err := rows.Scan(&th); err != nil {
			return nil, err
		}
		out = append(out, th)
	}
	return out, rows.Err()
}

// EraseParticipant deletes everything a participant said or sent in the
// tenant's conversations and returns the blob keys of its files. Messages
// have no sender index (it would cost every send a write for a rare
// operation), so this scans the tenant's messages.
func (s *Store) EraseParticipant(ctx context.Context, t tenant.ID, participant string) ([]string, error) {
	w := s.db.writer(ctx)
	rows, err := w.QueryContext(ctx, `DELETE FROM chat_files WHERE tenant_id = $1 AND uploader = $2 RETURNING id`, string(t), participant)
	if err != nil {
		return nil, fmt.Errorf("store: erase files: %w", err)
	}
	var keys []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		keys = append(keys, conversation.BlobKey(t, id))
	}
	rows.Close()
	if err := s.scrubSystemMessages(ctx, t, participant); err != nil {
		return nil, err
	}
	for _, q := range []string{
		// The contact center's conversations with the customer go whole:
		// what bots and agents wrote there is about the customer too (a
		// greeting by name, an order looked up), and so is what the bot
		// collected.
		`DELETE FROM chat_messages WHERE tenant_id = $1 AND thread_id IN (SELECT thread_id FROM engagements WHERE tenant_id = $1 AND customer = $2)`,
		`DELETE FROM engagements WHERE tenant_id = $1 AND customer = $2`,
		`DELETE FROM chat_messages WHERE tenant_id = $1 AND sender = $2`,
		`DELETE FROM chat_read_receipts WHERE tenant_id = $1 AND raw_id = $2`,
		`DELETE FROM chat_participants WHERE tenant_id = $1 AND raw_id = $2`,
		`DELETE FROM webchat_visitors WHERE tenant_id = $1 AND identity = $2`,
		`DELETE FROM webchat_resume_keys WHERE tenant_id = $1 AND identity = $2`,
	} {
		if _, err := w.ExecContext(ctx, q, string(t), participant); err != nil {
			return nil, fmt.Errorf("store: erase participant: %w", err)
		}
	}
	return keys, nil
}

// scrubSystemMessages takes an erased participant out of the system
// messages that name it (participantAdded/Removed lists with its display
// name, and its being the initiator).
func (s *Store) scrubSystemMessages(ctx context.Context, t tenant.ID, participant string) error {
	rows, err := s.db.writer(ctx).QueryContext(ctx, `
SELECT `+messageColumns+` FROM chat_messages WHERE tenant_id = $1 AND sender IS NULL AND content LIKE $2 ESCAPE '\'`,
		string(t), "%"+likeEscape(participant)+"%")
	if err != nil {
		return fmt.Errorf("store: erase system messages: %w", err)
	}
	var hits []conversation.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return err
		}
		hits = append(hits, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range hits {
		kept := m.Content.Participants[:0]
		for _, p := range m.Content.Participants {
			if p.ID != participant {
				kept = append(kept, p)
			}
		}
		m.Content.Participants = kept
		if m.Content.Initiator == participant {
			m.Content.Initiator = ""
		}
		if len(kept) == 0 && m.Type != conversation.TypeTopicUpdated {
			if _, err := s.db.writer(ctx).ExecContext(ctx, `DELETE FROM chat_messages WHERE tenant_id = $1 AND thread_id = $2 AND id = $3`,
				string(t), string(m.Thread), m.ID); err != nil {
				return fmt.Errorf("store: erase system message: %w", err)
			}
			continue
		}
		if err := s.UpdateMessage(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
