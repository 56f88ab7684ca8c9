package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Store persists subscriptions and dead letters, scoped by tenant.
type Store interface {
	CreateSubscription(ctx context.Context, s Subscription) error
	Subscription(ctx context.Context, t tenant.ID, id SubscriptionID) (Subscription, error)
	Subscriptions(ctx context.Context, t tenant.ID, after SubscriptionID, limit int) ([]Subscription, error)
	UpdateSubscription(ctx context.Context, s Subscription) error
	DeleteSubscription(ctx context.Context, t tenant.ID, id SubscriptionID) error
	AddDeadLetter(ctx context.Context, d DeadLetter) error
	DeadLetter(ctx context.Context, t tenant.ID, id DeadLetterID) (DeadLetter, error)
	DeadLetters(ctx context.Context, t tenant.ID, after DeadLetterID, limit int) ([]DeadLetter, error)
	MarkDeadLetterReplayed(ctx context.Context, t tenant.ID, id DeadLetterID, at time.Time) error
}

// Requeuer puts an event back on a subscription's delivery queue.
type Requeuer interface {
	Enqueue(ctx context.Context, sub SubscriptionID, e event.Event, dedupeSuffix string) error
}

// Changes tells every node's delivery cache that a tenant's subscriptions
// changed.
type Changes interface {
	SubscriptionsChanged(t tenant.ID)
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Limits on subscriptions.
const (
	DefaultMaxAttempts = 10
	MaxMaxAttempts     = 30
	MaxEventTypes      = 64
)

// Service manages subscriptions and dead letters.
type Service struct {
	store    Store
	client   *http.Client
	requeue  Requeuer
	changes  Changes
	validate bool
	now      func() time.Time
}

// NewService wires the service. client is the guarded outbound client used
// for the validation handshake.
func NewService(store Store, client *http.Client, requeue Requeuer, changes Changes) *Service {
	return &Service{store: store, client: client, requeue: requeue, changes: changes, validate: true, now: time.Now}
}

// SubscriptionInput is what a tenant sets on a subscription.
type SubscriptionInput struct {
	Name        string
	URL         string
	Schema      Schema
	EventTypes  []string
	MaxAttempts int
}

func (in *SubscriptionInput) normalise() error {
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errs.Invalid("InvalidEndpoint", "endpoint must be an absolute http or https URL").WithTarget("endpoint")
	}
	if u.User != nil {
		return errs.Invalid("InvalidEndpoint", "endpoint must not carry credentials in the URL").WithTarget("endpoint")
	}
	switch in.Schema {
	case "":
		in.Schema = SchemaEventGrid
	case SchemaEventGrid, SchemaCloudEvents:
	default:
		return errs.Invalid("InvalidSchema", "eventDeliverySchema must be EventGridSchema or CloudEventSchemaV1_0").WithTarget("eventDeliverySchema")
	}
	if len(in.EventTypes) > MaxEventTypes {
		return errs.Invalid("TooManyEventTypes", "at most %d event types per subscription", MaxEventTypes).WithTarget("includedEventTypes")
	}
	for _, t := range in.EventTypes {
		if strings.TrimSpace(t) == "" || len(t) > 256 {
			return errs.Invalid("InvalidEventType", "event types must be non-empty names").WithTarget("includedEventTypes")
		}
	}
	if in.MaxAttempts == 0 {
		in.MaxAttempts = DefaultMaxAttempts
	}
	if in.MaxAttempts < 1 || in.MaxAttempts > MaxMaxAttempts {
		return errs.Invalid("InvalidMaxDeliveryAttempts", "maxDeliveryAttempts must be between 1 and %d", MaxMaxAttempts).WithTarget("maxDeliveryAttempts")
	}
	if len(in.Name) > 128 {
		return errs.Invalid("InvalidName", "name must be at most 128 characters").WithTarget("name")
	}
	return nil
}

// Create validates the endpoint with the handshake its schema defines, then
// stores the subscription. Nothing is stored when the endpoint fails it.
// id may be empty for a server-chosen one.
func (s *Service) Create(ctx context.Context, id SubscriptionID, in SubscriptionInput) (Subscription, error) {
	t := tenant.MustFrom(ctx)
	if id == "" {
		id = SubscriptionID(uuid.NewString())
	}
	if !idPattern.MatchString(string(id)) {
		return Subscription{}, errs.Invalid("InvalidId", "subscription ids are 1-128 letters, digits, '-', '_' or '.'").WithTarget("id")
	}
	if err := in.normalise(); err != nil {
		return Subscription{}, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return Subscription{}, err
	}
	now := s.now().UTC()
	sub := Subscription{ID: id, Tenant: t, Name: in.Name, URL: in.URL, Schema: in.Schema,
		EventTypes: in.EventTypes, Secret: secret, MaxAttempts: in.MaxAttempts, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := s.handshake(ctx, sub); err != nil {
		return Subscription{}, err
	}
	if err := s.store.CreateSubscription(ctx, sub); err != nil {
		return Subscription{}, err
	}
	s.changes.SubscriptionsChanged(t)
	return sub, nil
}

// Get returns one subscription.
func (s *Service) Get(ctx context.Context, id SubscriptionID) (Subscription, error) {
	return s.store.Subscription(ctx, tenant.MustFrom(ctx), id)
}

// List pages through subscriptions.
func (s *Service) List(ctx context.Context, after SubscriptionID, limit int) ([]Subscription, error) {
	return s.store.Subscriptions(ctx, tenant.MustFrom(ctx), after, limit)
}

// Update replaces the settable fields if the subscription is still at
// ifVersion (0: unconditional). A changed endpoint is validated again.
func (s *Service) Update(ctx context.Context, id SubscriptionID, in SubscriptionInput, ifVersion int64) (Subscription, error) {
	t := tenant.MustFrom(ctx)
	cur, err := s.store.Subscription(ctx, t, id)
	if err != nil {
		return Subscription{}, err
	}
	if ifVersion != 0 && cur.Version != ifVersion {
		return Subscription{}, errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "the subscription was changed since it was read")
	}
	if err := in.normalise(); err != nil {
		return Subscription{}, err
	}
	next := cur
	next.Name, next.URL, next.Schema, next.EventTypes, next.MaxAttempts = in.Name, in.URL, in.Schema, in.EventTypes, in.MaxAttempts
	next.Version++
	next.UpdatedAt = s.now().UTC()
	if next.URL != cur.URL || next.Schema != cur.Schema {
		if err := s.handshake(ctx, next); err != nil {
			return Subscription{}, err
		}
	}
	if err := s.store.UpdateSubscription(ctx, next); err != nil {
		return Subscription{}, err
	}
	s.changes.SubscriptionsChanged(t)
	return next, nil
}

// Delete removes a subscription; queued deliveries to it are dropped.
func (s *Service) Delete(ctx context.Context, id SubscriptionID) error {
	t := tenant.MustFrom(ctx)
	if err := s.store.DeleteSubscription(ctx, t, id); err != nil {
		return err
	}
	s.changes.SubscriptionsChanged(t)
	return nil
}

// DeadLetters pages through failed deliveries.
func (s *Service) DeadLetters(ctx context.Context, after DeadLetterID, limit int) ([]DeadLetter, error) {
	return s.store.DeadLetters(ctx, tenant.MustFrom(ctx), after, limit)
}

// Replay puts a dead-lettered event back on its subscription's queue.
func (s *Service) Replay(ctx context.Context, id DeadLetterID) error {
	t := tenant.MustFrom(ctx)
	d, err := s.store.DeadLetter(ctx, t, id)
	if err != nil {
		return err
	}
	if _, err := s.store.Subscription(ctx, t, d.Subscription); err != nil {
		return errs.Conflict("SubscriptionDeleted", "the dead letter's subscription no longer exists")
	}
	now := s.now().UTC()
	// A fresh dedupe suffix: the original delivery id is inside JetStream's
	// duplicate window and would be dropped.
	if err := s.requeue.Enqueue(ctx, d.Subscription, d.Event, "replay-"+now.Format("20060102T150405.000000000")); err != nil {
		return err
	}
	return s.store.MarkDeadLetterReplayed(ctx, t, id, now)
}

const validationEventType = "Microsoft.EventGrid.SubscriptionValidationEvent"

// handshake proves the endpoint wants the events: Event Grid's validation
// event (echo validationCode) or the CloudEvents abuse-protection OPTIONS
// request (answer WebHook-Allowed-Origin).
func (s *Service) handshake(ctx context.Context, sub Subscription) error {
	if !s.validate {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fail := func(format string, args ...any) error {
		return errs.Invalid("EndpointValidationFailed", "endpoint validation failed: "+format, args...).WithTarget("endpoint")
	}
	if sub.Schema == SchemaCloudEvents {
		req, err := http.NewRequestWithContext(ctx, http.MethodOptions, sub.URL, nil)
		if err != nil {
			return fail("%v", err)
		}
		req.Header.Set("WebHook-Request-Origin", "switchboard")
		resp, err := s.client.Do(req)
		if err != nil {
			return fail("%v", err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		allowed := resp.Header.Get("WebHook-Allowed-Origin")
		if resp.StatusCode/100 != 2 || (allowed != "*" && allowed != "switchboard") {
			return fail("the endpoint must answer OPTIONS with 200 and WebHook-Allowed-Origin (got %d %q)", resp.StatusCode, allowed)
		}
		return nil
	}
	code := uuid.NewString()
	data, _ := json.Marshal(map[string]string{"validationCode": code})
	ev := event.Event{ID: uuid.NewString(), Tenant: sub.Tenant, Type: validationEventType, Subject: "", Time: s.now().UTC(), DataVersion: "2", Data: data}
	body, ct := Envelope(SchemaEventGrid, ev)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("aeg-event-type", "SubscriptionValidation")
	resp, err := s.client.Do(req)
	if err != nil {
		return fail("%v", err)
	}
	defer resp.Body.Close()
	var answer struct {
		ValidationResponse string `json:"validationResponse"`
	}
	if resp.StatusCode/100 != 2 {
		return fail("the endpoint answered %d to the validation event", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&answer); err != nil || answer.ValidationResponse != code {
		return fail("the endpoint must echo data.validationCode as {\"validationResponse\": code}")
	}
	return nil
}
