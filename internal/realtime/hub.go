// Package realtime is Switchboard's open real-time channel: one WebSocket
// per client (protocol in docs/realtime.md) carrying the ACS client events
// of the threads the client takes part in. Every node follows the event
// stream on NATS JetStream, so positions are the stream's sequence numbers
// and mean the same on every node; a client resumes on any node.
package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/switchboard-cc/switchboard/internal/bus"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Config tunes the hub.
type Config struct {
	Heartbeat    time.Duration // server ping interval
	HelloTimeout time.Duration
	QueueLength  int // frames a connection may have waiting before it is cut off
	WriteTimeout time.Duration
}

func (c *Config) defaults() {
	if c.Heartbeat <= 0 {
		c.Heartbeat = 25 * time.Second
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = 10 * time.Second
	}
	if c.QueueLength <= 0 {
		c.QueueLength = 128
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
}

// Authenticator verifies user access tokens.
type Authenticator interface {
	AuthenticateToken(ctx context.Context, token string) (identity.Claims, error)
}

// Metrics observes the hub.
type Metrics interface {
	RealtimeConnections(delta int)
	RealtimeDropped(reason string)
}

type userKey struct {
	tenant tenant.ID
	user   string
}

// Hub routes events to connected clients.
type Hub struct {
	bus     *bus.Bus
	auth    Authenticator
	metrics Metrics
	cfg     Config

	mu       sync.Mutex
	position uint64 // last stream sequence dispatched
	conns    map[userKey]map[*conn]struct{}

	follow jetstream.ConsumeContext
	eph    *nats.Subscription
	wg     sync.WaitGroup
}

// NewHub builds a hub; Start begins following the event stream.
func NewHub(b *bus.Bus, auth Authenticator, metrics Metrics, cfg Config) *Hub {
	cfg.defaults()
	return &Hub{bus: b, auth: auth, metrics: metrics, cfg: cfg, conns: map[userKey]map[*conn]struct{}{}}
}

// Start follows new events from the stream's current end.
func (h *Hub) Start(ctx context.Context) error {
	js := h.bus.JetStream()
	stream, err := js.Stream(ctx, h.bus.EventsStream())
	if err != nil {
		return fmt.Errorf("realtime: events stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("realtime: events stream info: %w", err)
	}
	h.position = info.State.LastSeq
	cons, err := js.OrderedConsumer(ctx, h.bus.EventsStream(), jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: info.State.LastSeq + 1,
		NamePrefix: h.bus.Durable("realtime-" + nuid.Next()),
	})
	if err != nil {
		return fmt.Errorf("realtime: follow events: %w", err)
	}
	h.follow, err = cons.Consume(h.onStored, jetstream.PullMaxMessages(1024))
	if err != nil {
		return fmt.Errorf("realtime: follow events: %w", err)
	}
	h.eph, err = h.bus.Conn().Subscribe(h.bus.EphemeralPrefix()+">", h.onEphemeral)
	if err != nil {
		return fmt.Errorf("realtime: ephemeral subscription: %w", err)
	}
	return nil
}

// Stop closes every connection with 1001 (going away) and stops following.
func (h *Hub) Stop() {
	if h.follow != nil {
		h.follow.Stop()
	}
	if h.eph != nil {
		_ = h.eph.Unsubscribe()
	}
	h.mu.Lock()
	var all []*conn
	for _, set := range h.conns {
		for c := range set {
			all = append(all, c)
		}
	}
	h.mu.Unlock()
	for _, c := range all {
		c.shut(closeGoingAway, "server shutting down")
	}
	h.wg.Wait()
}

// PublishEphemeral sends a notification that is not stored (typing) to
// every node's clients.
func (h *Hub) PublishEphemeral(ctx context.Context, e event.Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return h.bus.Conn().Publish(h.bus.EphemeralPrefix()+string(e.Tenant), body)
}

// Connections counts this node's open connections.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.conns {
		n += len(set)
	}
	return n
}

// Position is the last stream position this node has dispatched.
func (h *Hub) Position() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.position
}

// Revocation events close the identity's connections at once.
var revoking = map[string]bool{
	identity.EventTokensRevoked:   true,
	identity.EventIdentityDeleted: true,
}

func (h *Hub) onStored(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		return
	}
	seq := md.Sequence.Stream
	_, typ, _ := strings.Cut(strings.TrimPrefix(m.Subject(), h.bus.EventsPrefix()), ".")
	var e *event.Event
	if m.Headers().Get(bus.NotifyHeader) != "" || revoking[typ] {
		var ev event.Event
		if err := json.Unmarshal(m.Data(), &ev); err != nil {
			slog.Warn("realtime: undecodable event skipped", "subject", m.Subject(), "err", err)
		} else {
			e = &ev
		}
	}
	h.mu.Lock()
	h.position = seq
	var victims []*conn
	if e != nil && e.Notify != nil {
		h.dispatchLocked(*e, seq)
	} else if e != nil && revoking[e.Type] {
		victims = h.connsOfLocked(e.Tenant, strings.TrimPrefix(e.Subject, "identities/"))
	}
	h.mu.Unlock()
	for _, c := range victims {
		c.shut(closeUnauthorized, "the access token was revoked")
	}
}

func (h *Hub) onEphemeral(m *nats.Msg) {
	var e event.Event
	if err := json.Unmarshal(m.Data, &e); err != nil || e.Notify == nil {
		return
	}
	h.mu.Lock()
	h.dispatchLocked(e, 0)
	h.mu.Unlock()
}

func (h *Hub) connsOfLocked(t tenant.ID, user string) []*conn {
	var out []*conn
	for c := range h.conns[userKey{t, user}] {
		out = append(out, c)
	}
	return out
}

// dispatchLocked queues e for every connected member of its audience. It
// never blocks: a connection whose queue is full is cut off.
func (h *Hub) dispatchLocked(e event.Event, seq uint64) {
	n := e.Notify
	if n.SmallThreadsOnly && len(e.Audience) > smallThreadMax {
		return
	}
	for _, user := range e.Audience {
		if user == n.SkipSender {
			continue
		}
		set := h.conns[userKey{e.Tenant, user}]
		if len(set) == 0 {
			continue
		}
		f := eventFrame(n, user, seq)
		for c := range set {
			c.enqueue(f)
		}
	}
}

// smallThreadMax mirrors ACS: typing and receipts go to small threads only.
const smallThreadMax = 20

// frame is one queued server frame with its stream position (0 for
// ephemeral events and control frames).
type frame struct {
	seq  uint64
	body []byte
}

// eventFrame renders an event frame for one recipient: the notification
// data gains a "recipient" member.
func eventFrame(n *event.Notification, recipient string, seq uint64) frame {
	rid, _ := json.Marshal(identity.IdentifierFromRaw(recipient))
	data := n.Data
	var b strings.Builder
	b.Grow(len(data) + len(rid) + 96)
	b.WriteString(`{"type":"event","name":`)
	name, _ := json.Marshal(n.Name)
	b.Write(name)
	if seq > 0 {
		b.WriteString(`,"position":"` + strconv.FormatUint(seq, 10) + `"`)
	}
	b.WriteString(`,"data":{"recipient":`)
	b.Write(rid)
	if len(data) > 2 {
		b.WriteByte(',')
		b.Write(data[1:])
	} else {
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return frame{seq: seq, body: []byte(b.String())}
}

func (h *Hub) register(c *conn) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := userKey{c.tenant, c.user}
	set := h.conns[k]
	if set == nil {
		set = map[*conn]struct{}{}
		h.conns[k] = set
	}
	set[c] = struct{}{}
	if h.metrics != nil {
		h.metrics.RealtimeConnections(1)
	}
	return h.position
}

func (h *Hub) unregister(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := userKey{c.tenant, c.user}
	if set, ok := h.conns[k]; ok {
		if _, there := set[c]; there {
			delete(set, c)
			if h.metrics != nil {
				h.metrics.RealtimeConnections(-1)
			}
		}
		if len(set) == 0 {
			delete(h.conns, k)
		}
	}
}

var errResync = errors.New("realtime: resume position no longer available")

// replay reads the stored events of t after from, up to and including
// through, and hands those for user to send, in order. It reports
// errResync when events after from have already been dropped.
func (h *Hub) replay(ctx context.Context, t tenant.ID, user string, from, through uint64, send func(frame) error) error {
	if from >= through {
		return nil
	}
	js := h.bus.JetStream()
	stream, err := js.Stream(ctx, h.bus.EventsStream())
	if err != nil {
		return err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return err
	}
	if info.State.FirstSeq > from+1 && info.State.Msgs > 0 || info.State.Msgs == 0 && info.State.LastSeq > from {
		return errResync
	}
	cons, err := js.OrderedConsumer(ctx, h.bus.EventsStream(), jetstream.OrderedConsumerConfig{
		NamePrefix:     h.bus.Durable("replay-" + nuid.Next()),
		FilterSubjects: []string{h.bus.EventsPrefix() + string(t) + ".>"},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy, OptStartSeq: from + 1,
	})
	if err != nil {
		return err
	}
	// Nothing of this tenant's after from: answer at once rather than wait
	// out a fetch.
	if ci, err := cons.Info(ctx); err != nil {
		return err
	} else if ci.NumPending == 0 {
		return nil
	}
	for {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			seq := md.Sequence.Stream
			if seq > through {
				return nil
			}
			if m.Headers().Get(bus.NotifyHeader) != "" {
				var e event.Event
				if err := json.Unmarshal(m.Data(), &e); err == nil && e.Notify != nil && wants(e, user) {
					if err := send(eventFrame(e.Notify, user, seq)); err != nil {
						return err
					}
				}
			}
			if seq == through || md.NumPending == 0 {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return err
		}
		if got == 0 {
			// Nothing more of this tenant's up to the stream's end.
			return nil
		}
	}
}

func wants(e event.Event, user string) bool {
	if user == e.Notify.SkipSender {
		return false
	}
	if e.Notify.SmallThreadsOnly && len(e.Audience) > smallThreadMax {
		return false
	}
	for _, a := range e.Audience {
		if a == user {
			return true
		}
	}
	return false
}
