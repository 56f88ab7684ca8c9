package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-cc/switchboard/internal/event"
)

// OutboxEntry is an event waiting in the outbox, with its position.
type OutboxEntry struct {
	Seq   int64
	Event event.Event
}

// Outbox is the relay's view of the outbox table.
type Outbox interface {
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxEntry, error)
	Delete(ctx context.Context, seqs []int64) error
}

// RelayMetrics observes the relay.
type RelayMetrics interface {
	Published(n int, oldest time.Duration)
	Failed()
}

// Relay publishes committed outbox events to JetStream, at least once: an
// event leaves the outbox only after JetStream acknowledged it, and the
// stream drops a re-publish of the same event id within its duplicate window.
type Relay struct {
	bus     *Bus
	outbox  Outbox
	metrics RelayMetrics
	kick    chan struct{}
	poll    time.Duration
	batch   int

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewRelay makes a relay; poll is how often it looks for events written by
// other processes (its own writes kick it at once).
func NewRelay(b *Bus, outbox Outbox, metrics RelayMetrics, poll time.Duration) *Relay {
	return &Relay{bus: b, outbox: outbox, metrics: metrics, kick: make(chan struct{}, 1), poll: poll, batch: 512,
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Kick asks the relay to run now.
func (r *Relay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Start runs the relay until Stop.
func (r *Relay) Start() { go r.run() }

// Stop flushes what is committed, then stops.
func (r *Relay) Stop(ctx context.Context) {
	r.once.Do(func() { close(r.stop) })
	select {
	case <-r.done:
	case <-ctx.Done():
	}
}

func (r *Relay) run() {
	defer close(r.done)
	t := time.NewTicker(r.poll)
	defer t.Stop()
	ctx := context.Background()
	for {
		select {
		case <-r.stop:
			r.flush(ctx, 5*time.Second)
			return
		case <-r.kick:
		case <-t.C:
		}
		r.drain(ctx)
	}
}

// flush drains with a deadline (shutdown).
func (r *Relay) flush(ctx context.Context, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	r.drain(ctx)
}

// drain publishes until the outbox is empty or a publish fails.
func (r *Relay) drain(ctx context.Context) {
	for {
		n, err := r.once1(ctx)
		if err != nil {
			if r.metrics != nil {
				r.metrics.Failed()
			}
			slog.Warn("outbox relay", "err", err)
			return
		}
		if n < r.batch {
			return
		}
	}
}

func (r *Relay) once1(ctx context.Context) (int, error) {
	now := time.Now()
	entries, err := r.outbox.Claim(ctx, now, 30*time.Second, r.batch)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	futures := make([]jetstream.PubAckFuture, 0, len(entries))
	for _, e := range entries {
		body, err := json.Marshal(e.Event)
		if err != nil {
			return 0, fmt.Errorf("relay: marshal %s: %w", e.Event.ID, err)
		}
		msg := &nats.Msg{Subject: r.bus.EventSubject(e.Event), Data: body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, e.Event.ID)
		if e.Event.Notify != nil {
			msg.Header.Set(NotifyHeader, "1")
		}
		if e.Event.RealtimeOnly {
			msg.Header.Set(RealtimeOnlyHeader, "1")
		}
		f, err := r.bus.js.PublishMsgAsync(msg)
		if err != nil {
			return 0, fmt.Errorf("relay: publish: %w", err)
		}
		futures = append(futures, f)
	}
	seqs := make([]int64, 0, len(entries))
	for i, f := range futures {
		select {
		case <-f.Ok():
			seqs = append(seqs, entries[i].Seq)
		case err := <-f.Err():
			// Publish what was acknowledged; the rest stays claimed until its
			// lease ends and is retried then.
			_ = r.outbox.Delete(ctx, seqs)
			return 0, fmt.Errorf("relay: publish ack: %w", err)
		case <-ctx.Done():
			_ = r.outbox.Delete(ctx, seqs)
			return 0, ctx.Err()
		}
	}
	if err := r.outbox.Delete(ctx, seqs); err != nil {
		return 0, err
	}
	if r.metrics != nil {
		r.metrics.Published(len(entries), time.Since(entries[0].Event.Time))
	}
	return len(entries), nil
}
