// Package contact is the customer record: the person behind web visitors,
// phone numbers, e-mail addresses and WhatsApp ids. Conversations link to
// contacts; contacts can be searched, merged and erased.
package contact

import (
	"context"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// ID identifies a contact.
type ID string

// Handle kinds: how a contact reaches the business.
const (
	HandleIdentity = "identity" // an ACS communication user (web chat visitor, app user)
	HandlePhone    = "phone"    // E.164
	HandleEmail    = "email"
	HandleWhatsApp = "whatsapp"
	HandleExternal = "external" // the business's own id (CRM), from identified visitors
)

// Handle is one address of a contact, unique in its tenant.
type Handle struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Contact is a customer.
type Contact struct {
	Tenant      tenant.ID
	ID          ID
	DisplayName string
	Fields      map[string]string
	Handles     []Handle
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int64
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Normalize checks and canonicalises a handle.
func (h Handle) Normalize() (Handle, error) {
	v := strings.TrimSpace(h.Value)
	switch h.Kind {
	case HandlePhone, HandleWhatsApp:
		v = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(v)
		if !e164.MatchString(v) {
			return h, errs.Invalid("InvalidHandle", "%s %q must be an E.164 number like +6281234567890", h.Kind, h.Value).WithTarget("value")
		}
	case HandleEmail:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v {
			return h, errs.Invalid("InvalidHandle", "email %q is not an address", h.Value).WithTarget("value")
		}
		v = strings.ToLower(v)
	case HandleIdentity:
		if !strings.HasPrefix(v, "8:acs:") {
			return h, errs.Invalid("InvalidHandle", "identity %q is not a communication user id", h.Value).WithTarget("value")
		}
	case HandleExternal:
		if v == "" || utf8.RuneCountInString(v) > 256 {
			return h, errs.Invalid("InvalidHandle", "external ids have 1 to 256 characters").WithTarget("value")
		}
	default:
		return h, errs.Invalid("InvalidHandleKind", "handle kind must be identity, phone, email, whatsapp or external").WithTarget("kind")
	}
	return Handle{Kind: h.Kind, Value: v}, nil
}

// Participant is the chat participant rawId a handle sends messages as,
// or "" for handles that never appear in conversations.
func (h Handle) Participant() string {
	switch h.Kind {
	case HandleIdentity:
		return h.Value
	case HandlePhone:
		return "4:" + h.Value
	case HandleEmail:
		return "sb:email:" + h.Value
	case HandleWhatsApp:
		return "sb:whatsapp:" + h.Value
	}
	return ""
}

// Store persists contacts; every method is tenant-scoped.
type Store interface {
	CreateContact(ctx context.Context, c Contact) error
	Contact(ctx context.Context, t tenant.ID, id ID) (Contact, error)
	UpdateContact(ctx context.Context, c Contact) error
	DeleteContact(ctx context.Context, t tenant.ID, id ID) error
	SearchContacts(ctx context.Context, t tenant.ID, q string, after ID, limit int) ([]Contact, error)
	AddHandle(ctx context.Context, t tenant.ID, id ID, h Handle) error
	ContactByHandle(ctx context.Context, t tenant.ID, h Handle) (Contact, error)
	MoveHandles(ctx context.Context, t tenant.ID, from, to ID) error
	LinkThread(ctx context.Context, t tenant.ID, id ID, thread string, at time.Time) error
	MoveThreads(ctx context.Context, t tenant.ID, from, to ID) error
	ContactThreads(ctx context.Context, t tenant.ID, id ID) ([]string, error)
}

// Eraser removes what a contact said and sent, everywhere.
type Eraser interface {
	// EraseParticipant deletes every message, receipt, participation and
	// file of the participant; it returns the file keys to delete.
	EraseParticipant(ctx context.Context, t tenant.ID, participant string) ([]string, error)
}

// Outbox records events in the caller's transaction.
type Outbox interface {
	Append(ctx context.Context, evs ...event.Event) error
}

// Transactor runs fn in one transaction.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Blobs deletes file contents.
type Blobs interface {
	Delete(ctx context.Context, key string) error
}

// Identities deletes a communication identity (an erased visitor's).
type Identities interface {
	DeleteIdentityRaw(ctx context.Context, rawID string) error
}

// Event types.
const (
	EventCreated = "Switchboard.ContactCreated"
	EventUpdated = "Switchboard.ContactUpdated"
	EventMerged  = "Switchboard.ContactMerged"
	EventErased  = "Switchboard.ContactErased"
)

// Service manages contacts.
type Service struct {
	store  Store
	eraser Eraser
	outbox Outbox
	tx     Transactor
	blobs  Blobs
	ids    Identities
	now    func() time.Time
}

// NewService wires the contact service.
func NewService(store Store, eraser Eraser, outbox Outbox, tx Transactor, blobs Blobs, ids Identities) *Service {
	return &Service{store: store, eraser: eraser, outbox: outbox, tx: tx, blobs: blobs, ids: ids, now: time.Now}
}

const (
	maxFields     = 32
	maxFieldBytes = 1024
)

func validFields(f map[string]string) error {
	if len(f) > maxFields {
		return errs.Invalid("InvalidFields", "a contact has at most %d fields", maxFields).WithTarget("fields")
	}
	for k, v := range f {
		if k == "" || len(k) > 64 || len(v) > maxFieldBytes {
			return errs.Invalid("InvalidFields", "field names have 1 to 64 bytes and values at most %d", maxFieldBytes).WithTarget("fields")
		}
	}
	return nil
}

func event1(t tenant.ID, typ string, id ID, extra map[string]any) (event.Event, error) {
	data := map[string]any{"contactId": string(id)}
	for k, v := range extra {
		data[k] = v
	}
	return event.New(t, typ, "contacts/"+string(id), data)
}

// Create makes a contact with its handles. A handle already taken fails
// with 409 naming the contact that has it.
func (s *Service) Create(ctx context.Context, c Contact) (Contact, error) {
	t := tenant.MustFrom(ctx)
	if utf8.RuneCountInString(c.DisplayName) > 256 {
		return Contact{}, errs.Invalid("InvalidDisplayName", "displayName must be at most 256 characters").WithTarget("displayName")
	}
	if err := validFields(c.Fields); err != nil {
		return Contact{}, err
	}
	hs := make([]Handle, 0, len(c.Handles))
	for _, h := range c.Handles {
		n, err := h.Normalize()
		if err != nil {
			return Contact{}, err
		}
		hs = append(hs, n)
	}
	now := s.now().UTC()
	c = Contact{Tenant: t, ID: ID(uuid.NewString()), DisplayName: c.DisplayName, Fields: c.Fields, Handles: hs,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	ev, err := event1(t, EventCreated, c.ID, nil)
	if err != nil {
		return Contact{}, err
	}
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateContact(ctx, c); err != nil {
			return err
		}
		for _, h := range hs {
			if err := s.store.AddHandle(ctx, t, c.ID, h); err != nil {
				return err
			}
		}
		return s.outbox.Append(ctx, ev)
	})
	return c, err
}

// Get returns a contact with its handles.
func (s *Service) Get(ctx context.Context, id ID) (Contact, error) {
	return s.store.Contact(ctx, tenant.MustFrom(ctx), id)
}

// ByHandle finds the contact a handle belongs to.
func (s *Service) ByHandle(ctx context.Context, h Handle) (Contact, error) {
	n, err := h.Normalize()
	if err != nil {
		return Contact{}, err
	}
	return s.store.ContactByHandle(ctx, tenant.MustFrom(ctx), n)
}

// Search finds contacts whose name, field values or handles contain q
// (all contacts when q is empty), ordered by id for stable paging.
func (s *Service) Search(ctx context.Context, q string, after ID, limit int) ([]Contact, error) {
	return s.store.SearchContacts(ctx, tenant.MustFrom(ctx), strings.ToLower(strings.TrimSpace(q)), after, limit)
}

// Patch changes a contact's name and fields (nil leaves them).
type Patch struct {
	DisplayName *string
	Fields      map[string]string // merged; an empty value removes the field
}

// Update applies p, optionally only at version ifMatch (0 = any).
func (s *Service) Update(ctx context.Context, id ID, p Patch, ifMatch int64) (Contact, error) {
	t := tenant.MustFrom(ctx)
	var out Contact
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.Contact(ctx, t, id)
		if err != nil {
			return err
		}
		if ifMatch > 0 && c.Version != ifMatch {
			return errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "the contact changed since version %d", ifMatch)
		}
		if p.DisplayName != nil {
			if utf8.RuneCountInString(*p.DisplayName) > 256 {
				return errs.Invalid("InvalidDisplayName", "displayName must be at most 256 characters").WithTarget("displayName")
			}
			c.DisplayName = *p.DisplayName
		}
		if p.Fields != nil {
			if c.Fields == nil {
				c.Fields = map[string]string{}
			}
			for k, v := range p.Fields {
				if v == "" {
					delete(c.Fields, k)
				} else {
					c.Fields[k] = v
				}
			}
			if err := validFields(c.Fields); err != nil {
				return err
			}
		}
		c.UpdatedAt, c.Version = s.now().UTC(), c.Version+1
		if err := s.store.UpdateContact(ctx, c); err != nil {
			return err
		}
		ev, err := event1(t, EventUpdated, id, nil)
		if err != nil {
			return err
		}
		out = c
		return s.outbox.Append(ctx, ev)
	})
	return out, err
}

// Attach adds a handle to a contact.
func (s *Service) Attach(ctx context.Context, id ID, h Handle) (Contact, error) {
	t := tenant.MustFrom(ctx)
	n, err := h.Normalize()
	if err != nil {
		return Contact{}, err
	}
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.Contact(ctx, t, id); err != nil {
			return err
		}
		return s.store.AddHandle(ctx, t, id, n)
	})
	if err != nil {
		return Contact{}, err
	}
	return s.store.Contact(ctx, t, id)
}

// LinkThread records that a conversation is with this contact.
func (s *Service) LinkThread(ctx context.Context, id ID, thread string) error {
	return s.store.LinkThread(ctx, tenant.MustFrom(ctx), id, thread, s.now().UTC())
}

// Threads lists a contact's conversations.
func (s *Service) Threads(ctx context.Context, id ID) ([]string, error) {
	t := tenant.MustFrom(ctx)
	if _, err := s.store.Contact(ctx, t, id); err != nil {
		return nil, err
	}
	return s.store.ContactThreads(ctx, t, id)
}

// Merge folds source into target: handles, conversations and fields the
// target lacks move over; source is deleted.
func (s *Service) Merge(ctx context.Context, target, source ID) (Contact, error) {
	t := tenant.MustFrom(ctx)
	if target == source {
		return Contact{}, errs.Invalid("InvalidMerge", "a contact cannot be merged into itself").WithTarget("sourceId")
	}
	var out Contact
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		dst, err := s.store.Contact(ctx, t, target)
		if err != nil {
			return err
		}
		src, err := s.store.Contact(ctx, t, source)
		if err != nil {
			if errs.KindOf(err) == errs.KindNotFound {
				return errs.NotFound("source contact %s not found", source).WithTarget("sourceId")
			}
			return err
		}
		if dst.DisplayName == "" {
			dst.DisplayName = src.DisplayName
		}
		for k, v := range src.Fields {
			if _, ok := dst.Fields[k]; !ok {
				if dst.Fields == nil {
					dst.Fields = map[string]string{}
				}
				dst.Fields[k] = v
			}
		}
		if err := validFields(dst.Fields); err != nil {
			return err
		}
		if err := s.store.MoveHandles(ctx, t, source, target); err != nil {
			return err
		}
		if err := s.store.MoveThreads(ctx, t, source, target); err != nil {
			return err
		}
		if err := s.store.DeleteContact(ctx, t, source); err != nil {
			return err
		}
		dst.UpdatedAt, dst.Version = s.now().UTC(), dst.Version+1
		if err := s.store.UpdateContact(ctx, dst); err != nil {
			return err
		}
		ev, err := event1(t, EventMerged, target, map[string]any{"mergedContactId": string(source)})
		if err != nil {
			return err
		}
		if err := s.outbox.Append(ctx, ev); err != nil {
			return err
		}
		out, err = s.store.Contact(ctx, t, target)
		return err
	})
	return out, err
}

// Erase deletes a contact and everything it said or sent: its messages and
// files in every conversation, its receipts, its visitor identities.
func (s *Service) Erase(ctx context.Context, id ID) error {
	t := tenant.MustFrom(ctx)
	var keys []string
	var identities []string
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.Contact(ctx, t, id)
		if err != nil {
			return err
		}
		for _, h := range c.Handles {
			p := h.Participant()
			if p == "" {
				continue
			}
			ks, err := s.eraser.EraseParticipant(ctx, t, p)
			if err != nil {
				return err
			}
			keys = append(keys, ks...)
			if h.Kind == HandleIdentity {
				identities = append(identities, h.Value)
			}
		}
		if err := s.store.DeleteContact(ctx, t, id); err != nil {
			return err
		}
		ev, err := event1(t, EventErased, id, nil)
		if err != nil {
			return err
		}
		return s.outbox.Append(ctx, ev)
	})
	if err != nil {
		return err
	}
	// After the commit: a crash here leaves bytes no record points to (and
	// no link can reach, links need a record), never a record pointing at
	// nothing.
	for _, k := range keys {
		if err := s.blobs.Delete(ctx, k); err != nil {
			return err
		}
	}
	for _, raw := range identities {
		if err := s.ids.DeleteIdentityRaw(ctx, raw); err != nil && errs.KindOf(err) != errs.KindNotFound {
			return err
		}
	}
	return nil
}
