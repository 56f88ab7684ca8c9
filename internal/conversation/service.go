package conversation

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Store is what chat needs from persistence; every method is scoped to one
// tenant, so another tenant's ids are simply not found.
type Store interface {
	CreateThread(ctx context.Context, th Thread, ps []Participant) error
	Thread(ctx context.Context, t tenant.ID, id ThreadID) (Thread, error)
	// Membership reads a thread and member's participation (nil if none).
	Membership(ctx context.Context, t tenant.ID, id ThreadID, member string) (Thread, *Participant, error)
	UpdateThread(ctx context.Context, th Thread) error
	DeleteThread(ctx context.Context, t tenant.ID, id ThreadID, at time.Time, version int64) error
	ThreadsOf(ctx context.Context, t tenant.ID, member string, since time.Time, after string, limit int) ([]ThreadItem, error)

	Participant(ctx context.Context, t tenant.ID, id ThreadID, member string) (Participant, error)
	Participants(ctx context.Context, t tenant.ID, id ThreadID, skip, limit int) ([]Participant, error)
	ParticipantIDs(ctx context.Context, t tenant.ID, id ThreadID) ([]string, error)
	AddParticipants(ctx context.Context, t tenant.ID, id ThreadID, ps []Participant) error
	RemoveParticipant(ctx context.Context, t tenant.ID, id ThreadID, member string) error

	// NextMessage reserves the thread's next sequence number and a message
	// id (milliseconds, at least now and above the last one) and records
	// the thread's activity. With a sender, it does so only while the
	// sender is a participant (else NotFound), in the same statement.
	NextMessage(ctx context.Context, t tenant.ID, id ThreadID, sender string, now time.Time) (seq, msgID int64, err error)
	InsertMessage(ctx context.Context, m Message) error
	Message(ctx context.Context, t tenant.ID, id ThreadID, msgID string) (Message, error)
	Messages(ctx context.Context, t tenant.ID, id ThreadID, q MessageQuery) ([]Message, error)
	UpdateMessage(ctx context.Context, m Message) error

	SetReadReceipt(ctx context.Context, t tenant.ID, id ThreadID, r ReadReceipt) error
	ReadReceipts(ctx context.Context, t tenant.ID, id ThreadID, skip, limit int) ([]ReadReceipt, error)

	Files(ctx context.Context, t tenant.ID, ids []string) ([]File, error)
}

// MessageQuery selects a page of a thread's messages, newest first.
type MessageQuery struct {
	Since       time.Time // only messages created at or after
	VisibleFrom time.Time // the reader's shareHistoryTime
	BeforeID    string    // continuation: only messages older than this id
	Limit       int
}

// Identities checks that participants are live identities of the tenant.
type Identities interface {
	Identity(ctx context.Context, id identity.UserID) (identity.Identity, error)
}

// Outbox records events in the caller's transaction.
type Outbox interface {
	Append(ctx context.Context, evs ...event.Event) error
}

// Transactor runs fn in one database transaction.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Ephemeral publishes notifications that are not stored (typing).
type Ephemeral interface {
	PublishEphemeral(ctx context.Context, e event.Event) error
}

// Links renders the URL of an attachment for clients.
type Links interface {
	FileURL(f File) string
}

// Service is the chat service.
type Service struct {
	store      Store
	identities Identities
	outbox     Outbox
	tx         Transactor
	ephemeral  Ephemeral
	links      Links
	now        func() time.Time
}

// NewService wires the chat service.
func NewService(store Store, identities Identities, outbox Outbox, tx Transactor, ephemeral Ephemeral, links Links) *Service {
	return &Service{store: store, identities: identities, outbox: outbox, tx: tx, ephemeral: ephemeral, links: links, now: time.Now}
}

// Errors with ACS codes.
var (
	errNotParticipant = func() error {
		return errs.New(errs.KindForbidden, "Forbidden", "the caller is not a participant of this chat thread")
	}
	errThreadNotFound = func(id ThreadID) error { return errs.NotFound("chat thread %s not found", id) }
)

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// member loads a live thread and checks that caller takes part in it.
func (s *Service) member(ctx context.Context, caller string, id ThreadID) (Thread, Participant, error) {
	th, p, err := s.store.Membership(ctx, tenant.MustFrom(ctx), id, caller)
	if err != nil {
		if errs.KindOf(err) == errs.KindNotFound {
			return th, Participant{}, errThreadNotFound(id)
		}
		return th, Participant{}, err
	}
	if th.DeletedAt != nil {
		return th, Participant{}, errThreadNotFound(id)
	}
	if p == nil {
		return th, Participant{}, errNotParticipant()
	}
	return th, *p, nil
}

// ParticipantInput is a participant a caller asks to add.
type ParticipantInput struct {
	ID               string
	DisplayName      string
	ShareHistoryTime *time.Time
	Metadata         map[string]string
}

// InvalidParticipant is a participant that could not be added, with why.
type InvalidParticipant struct {
	ID    string
	Code  string
	Error string
}

func validMetadata(m map[string]string, field string) error {
	if m == nil {
		return nil
	}
	raw, _ := json.Marshal(m)
	if len(raw) > MaxMetadataBytes {
		return errs.Invalid("InvalidMetadata", "%s must be at most %d bytes of JSON", field, MaxMetadataBytes).WithTarget(field)
	}
	return nil
}

// checkParticipants splits inputs into valid participants and invalid ones:
// only live communication users of the caller's tenant can chat.
func (s *Service) checkParticipants(ctx context.Context, in []ParticipantInput, now time.Time) ([]Participant, []InvalidParticipant, error) {
	t := tenant.MustFrom(ctx)
	var ok []Participant
	var bad []InvalidParticipant
	seen := map[string]bool{}
	for _, p := range in {
		if utf8.RuneCountInString(p.DisplayName) > MaxDisplayName {
			return nil, nil, errs.Invalid("InvalidDisplayName", "displayName must be at most %d characters", MaxDisplayName).WithTarget("displayName")
		}
		if err := validMetadata(p.Metadata, "metadata"); err != nil {
			return nil, nil, err
		}
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		owner, isUser := identity.TenantOf(identity.UserID(p.ID))
		if !isUser || owner != t {
			bad = append(bad, InvalidParticipant{ID: p.ID, Code: "NotFound", Error: "no communication user " + p.ID})
			continue
		}
		if _, err := s.identities.Identity(ctx, identity.UserID(p.ID)); err != nil {
			if errs.KindOf(err) == errs.KindNotFound {
				bad = append(bad, InvalidParticipant{ID: p.ID, Code: "NotFound", Error: "no communication user " + p.ID})
				continue
			}
			return nil, nil, err
		}
		part := Participant{ID: p.ID, DisplayName: p.DisplayName, Metadata: p.Metadata, AddedAt: now}
		if p.ShareHistoryTime != nil {
			part.ShareHistoryTime = p.ShareHistoryTime.UTC()
		}
		ok = append(ok, part)
	}
	return ok, bad, nil
}

// CreateThreadInput is a new thread's properties.
type CreateThreadInput struct {
	Topic        string
	Participants []ParticipantInput
	Metadata     map[string]string
	Retention    *RetentionPolicy
}

func validTopic(topic string) error {
	if strings.TrimSpace(topic) == "" {
		return errs.Invalid("InvalidTopic", "topic is required").WithTarget("topic")
	}
	if utf8.RuneCountInString(topic) > MaxTopicLength {
		return errs.Invalid("InvalidTopic", "topic must be at most %d characters", MaxTopicLength).WithTarget("topic")
	}
	return nil
}

func validRetention(r *RetentionPolicy) error {
	if r == nil {
		return nil
	}
	switch r.Kind {
	case "none":
		if r.DeleteThreadAfterDays != 0 {
			return errs.Invalid("InvalidRetentionPolicy", "deleteThreadAfterDays is only for kind threadCreationDate").WithTarget("retentionPolicy")
		}
	case "threadCreationDate":
		if r.DeleteThreadAfterDays < 1 || r.DeleteThreadAfterDays > 90 {
			return errs.Invalid("InvalidRetentionPolicy", "deleteThreadAfterDays must be between 1 and 90").WithTarget("retentionPolicy")
		}
	default:
		return errs.Invalid("InvalidRetentionPolicy", "retentionPolicy.kind must be threadCreationDate or none").WithTarget("retentionPolicy")
	}
	return nil
}

// CreateThread creates a thread with the caller and the given participants.
func (s *Service) CreateThread(ctx context.Context, caller string, in CreateThreadInput) (Thread, []InvalidParticipant, error) {
	t := tenant.MustFrom(ctx)
	if err := validTopic(in.Topic); err != nil {
		return Thread{}, nil, err
	}
	if err := validMetadata(in.Metadata, "metadata"); err != nil {
		return Thread{}, nil, err
	}
	if err := validRetention(in.Retention); err != nil {
		return Thread{}, nil, err
	}
	if len(in.Participants) > MaxParticipants {
		return Thread{}, nil, errs.Invalid("TooManyParticipants", "a chat thread has at most %d participants", MaxParticipants).WithTarget("participants")
	}
	now := s.now().UTC()
	// The creator always takes part, as in ACS.
	inputs := in.Participants
	if !containsID(inputs, caller) {
		inputs = append([]ParticipantInput{{ID: caller}}, inputs...)
	}
	ps, bad, err := s.checkParticipants(ctx, inputs, now)
	if err != nil {
		return Thread{}, nil, err
	}
	if len(ps) > MaxParticipants {
		return Thread{}, nil, errs.Invalid("TooManyParticipants", "a chat thread has at most %d participants", MaxParticipants).WithTarget("participants")
	}
	th := Thread{Tenant: t, ID: NewThreadID(), Topic: in.Topic, CreatedBy: caller, CreatedAt: now,
		Metadata: in.Metadata, Retention: in.Retention, Version: now.UnixMilli()}
	audience := ids(ps)
	clientPs := make([]ClientParticipant, len(ps))
	eventPs := make([]participantEvent, len(ps))
	var creator ClientParticipant
	for i, p := range ps {
		clientPs[i], eventPs[i] = clientParticipant(p), participantProps(p)
		if p.ID == caller {
			creator = clientPs[i]
		}
	}
	ev, err := newEvent(t, EventThreadCreated, "thread/"+string(th.ID)+"/createdBy/"+caller, map[string]any{
		"createdByCommunicationIdentifier": wire(caller),
		"properties":                       map[string]any{"topic": th.Topic},
		"metadata":                         nonNil(th.Metadata),
		"participants":                     eventPs,
		"createTime":                       rfc3339(now),
		"version":                          th.Version,
		"threadId":                         string(th.ID),
		"transactionId":                    transactionID(),
	}, audience, ClientThreadCreated, map[string]any{
		"threadId": string(th.ID), "version": itoa(th.Version), "createdOn": rfc3339(now), "createdBy": creator,
		"properties": map[string]any{"topic": th.Topic}, "metadata": nonNil(th.Metadata), "participants": clientPs,
	})
	if err != nil {
		return Thread{}, nil, err
	}
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateThread(ctx, th, ps); err != nil {
			return err
		}
		if err := s.outbox.Append(ctx, ev); err != nil {
			return err
		}
		// As in ACS, a new thread's history opens with who was added.
		return s.systemMessage(ctx, th.ID, now, TypeParticipantAdded, Content{Participants: ps, Initiator: caller})
	})
	if err != nil {
		return Thread{}, nil, err
	}
	return th, bad, nil
}

func containsID(in []ParticipantInput, id string) bool {
	for _, p := range in {
		if p.ID == id {
			return true
		}
	}
	return false
}

func ids(ps []Participant) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

// GetThread returns a thread's properties to a participant.
func (s *Service) GetThread(ctx context.Context, caller string, id ThreadID) (Thread, error) {
	th, _, err := s.member(ctx, caller, id)
	return th, err
}

// ListThreads lists the caller's threads, most recently active first.
func (s *Service) ListThreads(ctx context.Context, caller string, since time.Time, after string, limit int) ([]ThreadItem, error) {
	return s.store.ThreadsOf(ctx, tenant.MustFrom(ctx), caller, since, after, limit)
}

// ThreadPatch is a merge-patch of thread properties; nil fields stay.
type ThreadPatch struct {
	Topic     *string
	Metadata  map[string]string
	SetMeta   bool
	Retention *RetentionPolicy
	SetRetain bool
}

// UpdateThread changes topic, metadata or retention; a topic change posts a
// topicUpdated system message.
func (s *Service) UpdateThread(ctx context.Context, caller string, id ThreadID, p ThreadPatch) error {
	t := tenant.MustFrom(ctx)
	if p.Topic != nil {
		if err := validTopic(*p.Topic); err != nil {
			return err
		}
	}
	if err := validMetadata(p.Metadata, "metadata"); err != nil {
		return err
	}
	if err := validRetention(p.Retention); err != nil {
		return err
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		th, _, err := s.member(ctx, caller, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		topicChanged := p.Topic != nil && *p.Topic != th.Topic
		if p.Topic != nil {
			th.Topic = *p.Topic
		}
		if p.SetMeta {
			th.Metadata = p.Metadata
		}
		if p.SetRetain {
			th.Retention = p.Retention
		}
		th.Version = max(now.UnixMilli(), th.Version+1)
		if err := s.store.UpdateThread(ctx, th); err != nil {
			return err
		}
		audience, err := s.store.ParticipantIDs(ctx, t, id)
		if err != nil {
			return err
		}
		ev, err := newEvent(t, EventThreadPropertiesUpdated, "thread/"+string(id)+"/editedBy/"+caller, map[string]any{
			"editedByCommunicationIdentifier": wire(caller),
			"editTime":                        rfc3339(now),
			"properties":                      map[string]any{"topic": th.Topic},
			"metadata":                        nonNil(th.Metadata),
			"createTime":                      rfc3339(th.CreatedAt),
			"version":                         th.Version,
			"threadId":                        string(id),
			"transactionId":                   transactionID(),
		}, audience, ClientThreadUpdated, map[string]any{
			"threadId": string(id), "version": itoa(th.Version), "updatedOn": rfc3339(now),
			"updatedBy": ClientParticipant{ID: wire(caller)}, "properties": map[string]any{"topic": th.Topic},
			"metadata": nonNil(th.Metadata),
		})
		if err != nil {
			return err
		}
		if err := s.outbox.Append(ctx, ev); err != nil {
			return err
		}
		if topicChanged {
			return s.systemMessage(ctx, id, now, TypeTopicUpdated, Content{Topic: th.Topic, Initiator: caller})
		}
		return nil
	})
}

// systemMessage stores a service-generated message (no event: ACS clients
// learn of these changes through the thread and participant events).
func (s *Service) systemMessage(ctx context.Context, id ThreadID, now time.Time, typ string, c Content) error {
	t := tenant.MustFrom(ctx)
	seq, msgID, err := s.store.NextMessage(ctx, t, id, "", now)
	if err != nil {
		return err
	}
	return s.store.InsertMessage(ctx, Message{Tenant: t, Thread: id, ID: itoa(msgID), Seq: seq, Type: typ,
		Content: c, CreatedAt: now, Version: msgID})
}

// DeleteThread deletes a thread for everyone: its messages and
// participants go; the thread stays listed with deletedOn.
func (s *Service) DeleteThread(ctx context.Context, caller string, id ThreadID) error {
	t := tenant.MustFrom(ctx)
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		th, _, err := s.member(ctx, caller, id)
		if err != nil {
			return err
		}
		audience, err := s.store.ParticipantIDs(ctx, t, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		version := max(now.UnixMilli(), th.Version+1)
		if err := s.store.DeleteThread(ctx, t, id, now, version); err != nil {
			return err
		}
		ev, err := newEvent(t, EventThreadDeleted, "thread/"+string(id)+"/deletedBy/"+caller, map[string]any{
			"deletedByCommunicationIdentifier": wire(caller),
			"deleteTime":                       rfc3339(now),
			"createTime":                       rfc3339(th.CreatedAt),
			"version":                          version,
			"threadId":                         string(id),
			"transactionId":                    transactionID(),
		}, audience, ClientThreadDeleted, map[string]any{
			"threadId": string(id), "version": itoa(version), "deletedOn": rfc3339(now),
			"deletedBy": ClientParticipant{ID: wire(caller)},
		})
		if err != nil {
			return err
		}
		return s.outbox.Append(ctx, ev)
	})
}
