package app

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-cc/switchboard/internal/bus"
	"github.com/switchboard-cc/switchboard/internal/channel/webchat"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/engagement"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// The contact center follows the event stream with one durable consumer
// shared by every node. Events of one thread (or one job) go to the same
// lane, so a customer's messages are answered in order; lanes run side by
// side.

const engagementConsumer = "engagements"

// engagementMaxDeliver bounds the tries of one event (a bug must not spin
// forever); the last failure is logged as an error.
const engagementMaxDeliver = 8

type engagementFollower struct {
	svc    *engagement.Service
	lanes  []chan jetstream.Msg
	cc     jetstream.ConsumeContext
	typing *nats.Subscription
	wg     sync.WaitGroup
	stop   chan struct{}
}

func startEngagementFollower(ctx context.Context, b *bus.Bus, svc *engagement.Service, lanes int) (*engagementFollower, error) {
	// One filter for the whole stream, the rest skipped by subject: servers
	// before 2.10 take a single filter subject, and one consumer keeps a
	// thread's events in order.
	wanted := map[string]bool{}
	for _, typ := range engagement.EventTypes {
		wanted[bus.SubjectToken(typ)] = true
	}
	prefix := b.EventsPrefix()
	cons, err := b.JetStream().CreateOrUpdateConsumer(ctx, b.EventsStream(), jetstream.ConsumerConfig{
		Durable: b.Durable(engagementConsumer), AckPolicy: jetstream.AckExplicitPolicy, AckWait: 60 * time.Second,
		MaxAckPending: 4096, MaxDeliver: engagementMaxDeliver, DeliverPolicy: jetstream.DeliverNewPolicy, FilterSubject: prefix + ">",
	})
	if err != nil {
		return nil, fmt.Errorf("engagements: consumer: %w", err)
	}
	f := &engagementFollower{svc: svc, stop: make(chan struct{})}
	for range lanes {
		lane := make(chan jetstream.Msg, 256)
		f.lanes = append(f.lanes, lane)
		f.wg.Go(func() { f.run(lane) })
	}
	f.cc, err = cons.Consume(func(m jetstream.Msg) {
		// <prefix><tenant>.<type…>
		rest := strings.TrimPrefix(m.Subject(), prefix)
		if _, typ, ok := strings.Cut(rest, "."); !ok || !wanted[typ] {
			_ = m.Ack()
			return
		}
		f.lanes[f.laneOf(m.Data())%uint32(len(f.lanes))] <- m
	}, jetstream.PullMaxMessages(512))
	if err != nil {
		f.close()
		return nil, fmt.Errorf("engagements: consume: %w", err)
	}
	// Typing is not stored: it arrives on the bus's ephemeral subjects, to
	// one node of the group.
	f.typing, err = b.Conn().QueueSubscribe(b.EphemeralPrefix()+">", b.Durable("engagement-typing"), func(m *nats.Msg) {
		var ev event.Event
		if json.Unmarshal(m.Data, &ev) == nil && ev.Type == conversation.EventTypingInThread {
			svc.CustomerTyping(context.Background(), ev)
		}
	})
	if err != nil {
		f.close()
		return nil, fmt.Errorf("engagements: typing: %w", err)
	}
	return f, nil
}

// laneOf keys an event by its thread, or its job for router events.
func (f *engagementFollower) laneOf(raw []byte) uint32 {
	var e struct {
		Tenant string `json:"tenant"`
		Data   struct {
			ThreadID string            `json:"threadId"`
			Labels   map[string]string `json:"jobLabels"`
		} `json:"data"`
	}
	_ = json.Unmarshal(raw, &e)
	key := e.Data.ThreadID
	if key == "" {
		key = e.Data.Labels["threadId"]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(e.Tenant + "|" + key))
	return h.Sum32()
}

func (f *engagementFollower) run(lane chan jetstream.Msg) {
	for {
		select {
		case <-f.stop:
			return
		case m := <-lane:
			var ev event.Event
			if err := json.Unmarshal(m.Data(), &ev); err != nil {
				slog.Error("engagements: undecodable event; dropped", "err", err)
				_ = m.Term()
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			err := f.svc.HandleEvent(ctx, ev)
			cancel()
			if err != nil {
				if md, merr := m.Metadata(); merr == nil && md.NumDelivered >= engagementMaxDeliver {
					// The stream will not offer it again: say so loudly.
					slog.Error("engagements: event given up after retries", "type", ev.Type, "tenant", ev.Tenant, "event", ev.ID, "err", err)
					_ = m.Term()
					continue
				}
				slog.Warn("engagements: event not handled; retrying", "type", ev.Type, "tenant", ev.Tenant, "err", err)
				_ = m.NakWithDelay(2 * time.Second)
				continue
			}
			_ = m.Ack()
		}
	}
}

func (f *engagementFollower) close() {
	if f.typing != nil {
		_ = f.typing.Unsubscribe()
	}
	if f.cc != nil {
		f.cc.Drain()
	}
	close(f.stop)
	f.wg.Wait()
}

// webchatChannels tells the contact center what a tenant set for web chat.
type webchatChannels struct {
	webchat *webchat.Service
	tenants *identity.Tenants
}

func (c webchatChannels) settings(ctx context.Context) (webchat.Settings, bool) {
	t, err := c.tenants.Get(ctx, tenant.MustFrom(ctx))
	if err != nil {
		return webchat.Settings{}, false
	}
	st, err := c.webchat.Settings(ctx, t.Name)
	return st, err == nil
}

func (c webchatChannels) Open(ctx context.Context, channel string, now time.Time) bool {
	st, ok := c.settings(ctx)
	return !ok || st.BusinessHours.Open(now)
}

func (c webchatChannels) Location(ctx context.Context) *time.Location {
	st, ok := c.settings(ctx)
	if !ok {
		return time.UTC
	}
	loc, err := time.LoadLocation(st.BusinessHours.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func (c webchatChannels) Queue(ctx context.Context, channel string) string {
	st, _ := c.settings(ctx)
	return st.QueueID
}

// startPositionUpdates keeps waiting customers told where they stand.
func (a *App) startPositionUpdates() {
	a.bg.Go(func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-a.stopBG:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if err := a.Engagements.RefreshPositions(ctx); err != nil {
					slog.Warn("engagements: queue positions", "err", err)
				}
				cancel()
			}
		}
	})
}
