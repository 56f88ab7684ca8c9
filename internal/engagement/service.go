package engagement

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/bot"
	"github.com/switchboard-cc/switchboard/internal/contact"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Store keeps engagements, bots, flows and staff identities.
type Store interface {
	CreateEngagement(ctx context.Context, e Engagement) error
	// UpdateEngagement writes e if its stored version is still ifVersion
	// (a conflict error otherwise) and sets e's new version.
	UpdateEngagement(ctx context.Context, e *Engagement, ifVersion int64) error
	Engagement(ctx context.Context, t tenant.ID, id ID) (Engagement, error)
	// LiveEngagement is the thread's engagement that has not ended.
	LiveEngagement(ctx context.Context, t tenant.ID, thread conversation.ThreadID) (Engagement, error)
	Engagements(ctx context.Context, t tenant.ID, f Filter, after string, limit int) ([]Engagement, error)
	// QueuedEngagements lists waiting engagements of every tenant (for the
	// queue-position updates).
	QueuedEngagements(ctx context.Context, after string, limit int) ([]Engagement, error)

	PutBot(ctx context.Context, b Bot, ifVersion int64) error
	Bot(ctx context.Context, t tenant.ID, id BotID) (Bot, error)
	Bots(ctx context.Context, t tenant.ID) ([]Bot, error)
	DeleteBot(ctx context.Context, t tenant.ID, id BotID) error
	AddFlow(ctx context.Context, t tenant.ID, id BotID, source []byte, by string, at time.Time) (int, error)
	Flow(ctx context.Context, t tenant.ID, id BotID, version int) ([]byte, error)

	StaffIdentity(ctx context.Context, t tenant.ID, person identity.PersonID) (string, error)
	SetStaffIdentity(ctx context.Context, t tenant.ID, person identity.PersonID, raw string) error
}

// Tx runs fn in one transaction; calls inside it join it.
type Tx interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Outbox takes events inside the transaction that caused them.
type Outbox interface {
	Append(ctx context.Context, evs ...event.Event) error
}

// Chat is what the service does in chat threads.
type Chat interface {
	CreateThread(ctx context.Context, caller string, in conversation.CreateThreadInput) (conversation.Thread, []conversation.InvalidParticipant, error)
	GetThread(ctx context.Context, caller string, id conversation.ThreadID) (conversation.Thread, error)
	AddParticipants(ctx context.Context, caller string, id conversation.ThreadID, in []conversation.ParticipantInput) ([]conversation.InvalidParticipant, error)
	RemoveParticipant(ctx context.Context, caller string, id conversation.ThreadID, who string) error
	ListParticipants(ctx context.Context, caller string, id conversation.ThreadID, skip, limit int) ([]conversation.Participant, error)
	SendMessage(ctx context.Context, caller string, id conversation.ThreadID, in conversation.SendMessageInput) (conversation.Message, error)
	ListMessages(ctx context.Context, caller string, id conversation.ThreadID, q conversation.MessageQuery) ([]conversation.Message, error)
}

// Router is the job router as the service uses it.
type Router interface {
	UpsertJob(ctx context.Context, id string, patch map[string]any, ifMatch int64) (*routing.Job, bool, error)
	GetJob(ctx context.Context, id string) (*routing.Job, error)
	JobPosition(ctx context.Context, id string) (routing.Position, error)
	CancelJob(ctx context.Context, id, note, disposition string) error
	AcceptOffer(ctx context.Context, worker, offer string) (assignment, job string, err error)
	DeclineOffer(ctx context.Context, worker, offer string, retryAt time.Time) error
	CompleteJob(ctx context.Context, id, assignment, note string) error
	CloseJob(ctx context.Context, id, assignment, disposition, note string, closeAt time.Time) error
	UnassignJob(ctx context.Context, id, assignment string, suspend bool) (int, error)
	Upsert(ctx context.Context, kind routing.Kind, id string, patch map[string]any, ifMatch int64) (routing.Entity, bool, error)
	Get(ctx context.Context, kind routing.Kind, id string) (routing.Entity, error)
	List(ctx context.Context, kind routing.Kind, after string, limit int) ([]routing.Entity, error)
	QueueStatistics(ctx context.Context, id string) (routing.QueueStatistics, error)
}

// Identities creates the chat identities of bots and staff.
type Identities interface {
	CreateIdentity(ctx context.Context, customID string, tok *identity.TokenRequest) (identity.Identity, *identity.IssuedToken, error)
	IssueToken(ctx context.Context, id identity.UserID, req identity.TokenRequest) (identity.IssuedToken, error)
}

// People finds staff members.
type People interface {
	Get(ctx context.Context, id identity.PersonID) (identity.Person, error)
	List(ctx context.Context, after identity.PersonID, limit int) ([]identity.Person, error)
}

// Contacts reads the customers behind engagements.
type Contacts interface {
	Get(ctx context.Context, id contact.ID) (contact.Contact, error)
}

// WebhookBots delivers activities to tenants' bots.
type WebhookBots interface {
	Deliver(ctx context.Context, ep bot.Endpoint, act bot.Activity) ([]bot.Activity, error)
}

// Lookups asks a tenant's customer-lookup webhook who a customer is.
type Lookups interface {
	Lookup(ctx context.Context, ep bot.Endpoint, fields map[string]string) (found bool, out map[string]string, err error)
}

// Channels tells what a tenant set for a channel: whether it is open now
// (business hours) and where its conversations queue when no bot names a
// queue.
type Channels interface {
	Open(ctx context.Context, channel string, now time.Time) bool
	Queue(ctx context.Context, channel string) string
	// Location is the tenant's time zone (its days for daily figures).
	Location(ctx context.Context) *time.Location
}

// Deps are the service's collaborators.
type Deps struct {
	Store      Store
	DeskStore  DeskStore
	Tx         Tx
	Outbox     Outbox
	Chat       Chat
	Router     Router
	Identities Identities
	People     People
	Contacts   Contacts
	Webhooks   WebhookBots
	Lookups    Lookups
	Channels   Channels
	// Owns reports whether this node runs the tenant's router (nil: every
	// tenant, a single node); only that node re-announces queue positions.
	Owns func(ctx context.Context, t tenant.ID) bool
	// PublicURL is where bots reach the API (the serviceUrl of activities).
	PublicURL string
	Log       *slog.Logger
}

// Service runs the contact center's engagements.
type Service struct {
	Deps
	now   func() time.Time
	newID func() string

	flows  sync.Map // flowKey → *flow.Flow
	locks  [64]sync.Mutex
	stop   chan struct{}
	ticker sync.WaitGroup

	positions sync.Map // ID → last position announced (int)
	typing    sync.Map // tenant|ID → when a bot was last told the customer types
}

// New wires the service.
func New(d Deps) *Service {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Service{Deps: d, now: time.Now, newID: uuid.NewString, stop: make(chan struct{})}
}

// threadLock serialises the work on one thread within this process, so a
// customer's messages are answered one at a time, in order.
func (s *Service) threadLock(t tenant.ID, th conversation.ThreadID) *sync.Mutex {
	h := uint32(2166136261)
	for _, c := range []byte(string(t) + "|" + string(th)) {
		h = (h ^ uint32(c)) * 16777619
	}
	return &s.locks[h%uint32(len(s.locks))]
}

// notify sends a real-time notification (not stored in any thread) to the
// given identities.
func (s *Service) notify(ctx context.Context, typ, name string, audience []string, data any) error {
	ev, err := event.New(tenant.MustFrom(ctx), typ, name, data)
	if err != nil {
		return err
	}
	ev.Audience, ev.RealtimeOnly = audience, true
	ev.Notify = &event.Notification{Name: name, Data: ev.Data}
	return s.Tx.InTx(ctx, func(ctx context.Context) error { return s.Outbox.Append(ctx, ev) })
}

// Stop ends the background work.
func (s *Service) Stop() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.ticker.Wait()
}
