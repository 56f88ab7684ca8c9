package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-cc/switchboard/internal/bus"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// DispatchConfig tunes delivery.
type DispatchConfig struct {
	// RetryBase is the first retry delay; each retry doubles it up to RetryMax.
	RetryBase   time.Duration
	RetryMax    time.Duration
	Concurrency int
	// Derive, when set, names the event type derived from a published one
	// (ACS's per-recipient chat events) and Expand produces those events.
	Derive func(typ string) (string, bool)
	Expand func(e event.Event) []event.Event
}

func (c *DispatchConfig) defaults() {
	if c.RetryBase <= 0 {
		c.RetryBase = 5 * time.Second
	}
	if c.RetryMax <= 0 {
		c.RetryMax = 30 * time.Minute
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 128
	}
}

// Metrics observes deliveries.
type Metrics interface {
	Delivered(latency time.Duration)
	AttemptFailed()
	DeadLettered()
}

// Dispatcher fans events out to subscriptions and delivers them. It runs on
// every node; JetStream shares the work, so each delivery happens on one.
type Dispatcher struct {
	bus     *bus.Bus
	store   Store
	client  *http.Client
	metrics Metrics
	cfg     DispatchConfig

	mu    sync.Mutex
	cache map[tenant.ID][]Subscription
	// gen counts invalidations. A load that straddles one may have read the
	// subscriptions from before the change, so it is used but not cached:
	// caching it would hide the change until the next one.
	gen uint64

	sem      chan struct{}
	inflight sync.WaitGroup
	consumes []jetstream.ConsumeContext
	ctlSub   *nats.Subscription
}

// NewDispatcher wires a dispatcher; client must be the guarded client.
func NewDispatcher(b *bus.Bus, store Store, client *http.Client, metrics Metrics, cfg DispatchConfig) *Dispatcher {
	cfg.defaults()
	return &Dispatcher{bus: b, store: store, client: client, metrics: metrics, cfg: cfg,
		cache: map[tenant.ID][]Subscription{}, sem: make(chan struct{}, cfg.Concurrency)}
}

const (
	fanoutConsumer  = "webhook-fanout"
	deliverConsumer = "webhook-deliver"
	subHeader       = "Sb-Subscription"
)

// ctlSubject is the prefix of the core-NATS subjects announcing that a
// tenant's subscriptions changed, in the bus's namespace.
func (d *Dispatcher) ctlSubject() string { return d.bus.ControlPrefix() + "webhooks." }

// Start creates the durable consumers and begins consuming.
func (d *Dispatcher) Start(ctx context.Context) error {
	js := d.bus.JetStream()
	fan, err := js.CreateOrUpdateConsumer(ctx, d.bus.EventsStream(), jetstream.ConsumerConfig{
		Durable: d.bus.Durable(fanoutConsumer), AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
		MaxAckPending: 8192, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("webhook: fanout consumer: %w", err)
	}
	del, err := js.CreateOrUpdateConsumer(ctx, d.bus.WebhooksStream(), jetstream.ConsumerConfig{
		Durable: d.bus.Durable(deliverConsumer), AckPolicy: jetstream.AckExplicitPolicy, AckWait: 60 * time.Second,
		MaxAckPending: 8192,
	})
	if err != nil {
		return fmt.Errorf("webhook: delivery consumer: %w", err)
	}
	ctl := d.ctlSubject()
	d.ctlSub, err = d.bus.Conn().Subscribe(ctl+"*", func(m *nats.Msg) {
		d.forget(tenant.ID(strings.TrimPrefix(m.Subject, ctl)))
	})
	if err != nil {
		return fmt.Errorf("webhook: control subscription: %w", err)
	}
	for _, c := range []struct {
		cons jetstream.Consumer
		fn   func(jetstream.Msg)
	}{{fan, d.fanout}, {del, d.deliver}} {
		fn := c.fn
		cc, err := c.cons.Consume(func(m jetstream.Msg) {
			d.sem <- struct{}{}
			d.inflight.Add(1)
			go func() {
				defer func() { <-d.sem; d.inflight.Done() }()
				fn(m)
			}()
		}, jetstream.PullMaxMessages(512))
		if err != nil {
			return fmt.Errorf("webhook: consume: %w", err)
		}
		d.consumes = append(d.consumes, cc)
	}
	return nil
}

// Stop stops consuming and waits for deliveries in flight.
func (d *Dispatcher) Stop(ctx context.Context) {
	for _, cc := range d.consumes {
		cc.Drain()
	}
	if d.ctlSub != nil {
		_ = d.ctlSub.Unsubscribe()
	}
	done := make(chan struct{})
	go func() { d.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// SubscriptionsChanged drops every node's cached subscriptions of t.
func (d *Dispatcher) SubscriptionsChanged(t tenant.ID) {
	d.forget(t)
	if err := d.bus.Conn().Publish(d.ctlSubject()+string(t), nil); err != nil {
		slog.Warn("webhook: announce subscription change", "err", err)
	}
	// Flush so a change is seen by other nodes before the API call returns.
	_ = d.bus.Conn().FlushTimeout(2 * time.Second)
}

// Wants reports whether any of the tenant's subscriptions receives events
// of type typ, from the cache every node keeps (an error counts as yes:
// better an event nobody takes than one lost).
func (d *Dispatcher) Wants(ctx context.Context, t tenant.ID, typ string) bool {
	subs, err := d.subscriptions(ctx, t)
	if err != nil {
		return true
	}
	for _, s := range subs {
		if s.Wants(typ) {
			return true
		}
	}
	return false
}

func (d *Dispatcher) forget(t tenant.ID) {
	d.mu.Lock()
	delete(d.cache, t)
	d.gen++
	d.mu.Unlock()
}

func (d *Dispatcher) subscriptions(ctx context.Context, t tenant.ID) ([]Subscription, error) {
	d.mu.Lock()
	subs, ok := d.cache[t]
	gen := d.gen
	d.mu.Unlock()
	if ok {
		return subs, nil
	}
	var all []Subscription
	var after SubscriptionID
	for {
		page, err := d.store.Subscriptions(ctx, t, after, 500)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	d.mu.Lock()
	if d.gen == gen {
		d.cache[t] = all
	}
	d.mu.Unlock()
	return all, nil
}

func (d *Dispatcher) fanout(m jetstream.Msg) {
	ctx := context.Background()
	if m.Headers().Get(bus.RealtimeOnlyHeader) != "" {
		_ = m.Ack()
		return
	}
	// The subject names the tenant and the type, so most events (those no
	// subscription wants) are settled without decoding their body.
	t, typ, ok := strings.Cut(strings.TrimPrefix(m.Subject(), d.bus.EventsPrefix()), ".")
	if !ok {
		slog.Error("webhook: event on an unexpected subject dropped", "subject", m.Subject())
		_ = m.Term()
		return
	}
	subs, err := d.subscriptions(ctx, tenant.ID(t))
	if err != nil {
		slog.Warn("webhook: load subscriptions", "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	wanted := func(typ string) bool {
		return slices.ContainsFunc(subs, func(s Subscription) bool { return s.Wants(typ) })
	}
	derived := ""
	if d.cfg.Derive != nil {
		if dt, ok := d.cfg.Derive(typ); ok && wanted(dt) {
			derived = dt
		}
	}
	if !wanted(typ) && derived == "" {
		_ = m.Ack()
		return
	}
	var e event.Event
	if err := json.Unmarshal(m.Data(), &e); err != nil || e.Tenant != tenant.ID(t) {
		slog.Error("webhook: undecodable event dropped", "subject", m.Subject(), "err", err)
		_ = m.Term()
		return
	}
	evs := []event.Event{e}
	if derived != "" {
		evs = append(evs, d.cfg.Expand(e)...)
	}
	for _, e := range evs {
		for _, s := range subs {
			if !s.Wants(e.Type) {
				continue
			}
			if err := d.Enqueue(ctx, s.ID, e, ""); err != nil {
				slog.Warn("webhook: enqueue", "err", err)
				_ = m.NakWithDelay(time.Second)
				return
			}
		}
	}
	_ = m.Ack()
}

// Enqueue queues one delivery of e to subscription sub. The delivery id is
// the event id and subscription, so a re-run fan-out does not deliver twice.
func (d *Dispatcher) Enqueue(ctx context.Context, sub SubscriptionID, e event.Event, dedupeSuffix string) error {
	e.Audience, e.Notify = nil, nil // real-time routing is no webhook's business
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: d.bus.WebhooksPrefix() + string(e.Tenant) + "." + string(sub), Data: body, Header: nats.Header{}}
	msg.Header.Set(subHeader, string(sub))
	msg.Header.Set(jetstream.MsgIDHeader, e.ID+"/"+string(sub)+dedupeSuffix)
	_, err = d.bus.JetStream().PublishMsg(ctx, msg)
	return err
}

func (d *Dispatcher) deliver(m jetstream.Msg) {
	ctx := context.Background()
	var e event.Event
	if err := json.Unmarshal(m.Data(), &e); err != nil {
		_ = m.Term()
		return
	}
	subID := SubscriptionID(m.Headers().Get(subHeader))
	// The subject names the tenant; never trust anything else to pick the
	// subscription's tenant.
	sub, err := d.store.Subscription(ctx, e.Tenant, subID)
	if errs.KindOf(err) == errs.KindNotFound {
		_ = m.Ack() // deleted subscription: its queued deliveries go with it
		return
	}
	if err != nil {
		_ = m.NakWithDelay(time.Second)
		return
	}
	attempt := 1
	if md, err := m.Metadata(); err == nil {
		attempt = int(md.NumDelivered)
	}
	if err := d.post(ctx, sub, e, attempt); err != nil {
		d.metrics.AttemptFailed()
		if attempt >= sub.MaxAttempts {
			dl := DeadLetter{ID: DeadLetterID(uuid.NewString()), Tenant: e.Tenant, Subscription: sub.ID, Event: e,
				Attempts: attempt, LastError: err.Error(), CreatedAt: time.Now().UTC()}
			if derr := d.store.AddDeadLetter(ctx, dl); derr != nil {
				slog.Error("webhook: dead letter", "err", derr)
				_ = m.NakWithDelay(d.backoff(attempt))
				return
			}
			d.metrics.DeadLettered()
			slog.Warn("webhook: delivery dead-lettered", "tenant", e.Tenant, "subscription", sub.ID, "event", e.ID, "attempts", attempt, "err", err)
			_ = m.Term()
			return
		}
		_ = m.NakWithDelay(d.backoff(attempt))
		return
	}
	d.metrics.Delivered(time.Since(e.Time))
	_ = m.Ack()
}

func (d *Dispatcher) backoff(attempt int) time.Duration {
	delay := d.cfg.RetryBase
	for i := 1; i < attempt && delay < d.cfg.RetryMax; i++ {
		delay *= 2
	}
	return min(delay, d.cfg.RetryMax)
}

func (d *Dispatcher) post(ctx context.Context, sub Subscription, e event.Event, attempt int) error {
	body, ct := Envelope(sub.Schema, e)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("aeg-event-type", "Notification")
	req.Header.Set("aeg-delivery-count", strconv.Itoa(attempt-1))
	req.Header.Set("aeg-subscription-name", sub.Name)
	req.Header.Set(SignatureHeader, Sign(sub.Secret, body, time.Now()))
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("endpoint answered %d", resp.StatusCode)
	}
	return nil
}
