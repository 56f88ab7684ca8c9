// Package bus is Switchboard's only door to NATS: an in-process server with
// JetStream for the embedded default (no port opened), or an external
// cluster for scale-out, behind the same client API.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-cc/switchboard/internal/event"
)

// DefaultNamespace prefixes every stream, subject and durable consumer name
// unless Config.Namespace says otherwise: streams SB_EVENTS and SB_WEBHOOKS,
// subjects sb.evt.…, sb.whk.… and sb.ctl.…. Code asks the Bus for its names
// (EventsStream, EventsPrefix, …), never spells them itself. Every subject
// carries the tenant right after its prefix, so a subscriber can never see
// another tenant by accident.
const DefaultNamespace = "sb"

var namespacePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)

// ValidateNamespace checks a namespace: 1-32 letters, digits, '_' or '-',
// starting with a letter or digit (it becomes part of stream names and a
// subject token). Namespaces compare case-insensitively.
func ValidateNamespace(ns string) error {
	if !namespacePattern.MatchString(ns) {
		return fmt.Errorf("bus: namespace %q must be 1-32 letters, digits, '_' or '-', starting with a letter or digit", ns)
	}
	return nil
}

// Config chooses embedded (URL empty) or external NATS.
type Config struct {
	URL      string
	StoreDir string
	// Namespace keeps several clusters (or test runs) apart on one NATS:
	// streams are <NAMESPACE>_EVENTS and <NAMESPACE>_WEBHOOKS, subjects
	// <namespace>.evt.…, <namespace>.whk.… and <namespace>.ctl.…, durable
	// consumers <namespace>-… (see Durable). Empty means DefaultNamespace.
	Namespace string
	// Replicas for streams on an external cluster.
	Replicas int
	// EventRetention bounds how long published events stay replayable.
	EventRetention time.Duration
}

// Bus is a connection to NATS with JetStream.
type Bus struct {
	ns *server.Server
	nc *nats.Conn
	js jetstream.JetStream
	// space is the namespace, lower case; subjects use it as is, stream
	// names in upper case.
	space string
}

// Open starts or connects to NATS and makes sure the streams exist.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	space := cfg.Namespace
	if space == "" {
		space = DefaultNamespace
	}
	if err := ValidateNamespace(space); err != nil {
		return nil, err
	}
	b := &Bus{space: strings.ToLower(space)}
	opts := []nats.Option{nats.Name("switchboard"), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if cfg.URL == "" {
		ns, err := server.NewServer(&server.Options{
			ServerName: "switchboard-embedded",
			DontListen: true,
			JetStream:  true,
			StoreDir:   filepath.Join(cfg.StoreDir),
			NoSigs:     true,
			NoLog:      true,
		})
		if err != nil {
			return nil, fmt.Errorf("bus: embedded nats: %w", err)
		}
		ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			ns.Shutdown()
			return nil, errors.New("bus: embedded nats did not start")
		}
		b.ns = ns
		opts = append(opts, nats.InProcessServer(ns))
	}
	url := cfg.URL
	if url == "" {
		url = nats.DefaultURL // ignored: InProcessServer wins
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("bus: connect: %w", err)
	}
	b.nc = nc
	if b.js, err = jetstream.New(nc); err != nil {
		b.Close()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	if err := b.ensureStreams(ctx, cfg); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Bus) ensureStreams(ctx context.Context, cfg Config) error {
	replicas := max(cfg.Replicas, 1)
	retention := cfg.EventRetention
	if retention == 0 {
		retention = 72 * time.Hour
	}
	streams := []jetstream.StreamConfig{{
		Name:       b.EventsStream(),
		Subjects:   []string{b.EventsPrefix() + ">"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     retention,
		Duplicates: 10 * time.Minute,
		Replicas:   replicas,
	}, {
		Name:       b.WebhooksStream(),
		Subjects:   []string{b.WebhooksPrefix() + ">"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.WorkQueuePolicy,
		Duplicates: 10 * time.Minute,
		Replicas:   replicas,
	}}
	for _, sc := range streams {
		if _, err := b.js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("bus: stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// JetStream returns the JetStream API.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// Conn returns the core NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// Namespace is the bus's namespace (lower case).
func (b *Bus) Namespace() string { return b.space }

// EventsStream is the stream every relayed event lands in.
func (b *Bus) EventsStream() string { return strings.ToUpper(b.space) + "_EVENTS" }

// WebhooksStream is the work queue of webhook deliveries.
func (b *Bus) WebhooksStream() string { return strings.ToUpper(b.space) + "_WEBHOOKS" }

// EventsPrefix starts every event subject: <prefix><tenant>.<type>.
func (b *Bus) EventsPrefix() string { return b.space + ".evt." }

// WebhooksPrefix starts every delivery subject: <prefix><tenant>.<subscription>.
func (b *Bus) WebhooksPrefix() string { return b.space + ".whk." }

// ControlPrefix starts the core-NATS subjects nodes use to tell each other
// about changes (cache invalidation and the like).
func (b *Bus) ControlPrefix() string { return b.space + ".ctl." }

// Durable names a durable consumer so that it is unique per namespace:
// <namespace>-<name>. The default namespace keeps the bare name, which is
// what its consumers were called before namespaces existed: a renamed
// consumer would replay the whole event stream, and a work-queue stream
// refuses a second unfiltered consumer.
func (b *Bus) Durable(name string) string {
	if b.space == DefaultNamespace {
		return name
	}
	return b.space + "-" + name
}

// NotifyHeader marks published events that carry a real-time
// notification, so followers skip the rest without decoding them.
const NotifyHeader = "Sb-Notify"

// RealtimeOnlyHeader marks events meant for real-time clients alone;
// webhook fan-out settles them unread.
const RealtimeOnlyHeader = "Sb-Realtime-Only"

// EphemeralPrefix is the core-NATS subject prefix of real-time
// notifications that are not stored (typing indicators).
func (b *Bus) EphemeralPrefix() string { return b.space + ".eph." }

// EventSubject is where an event of a tenant is published.
func (b *Bus) EventSubject(e event.Event) string {
	return b.EventsPrefix() + string(e.Tenant) + "." + SubjectToken(e.Type)
}

// SubjectToken makes s safe as part of a NATS subject (dots stay: they
// separate tokens, so an event type becomes several tokens).
func SubjectToken(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n', '*', '>':
			return '_'
		}
		return r
	}, s)
}

// Healthy reports whether the connection is up.
func (b *Bus) Healthy() bool { return b.nc != nil && b.nc.IsConnected() }

// Close drains the connection and stops the embedded server.
func (b *Bus) Close() {
	if b.nc != nil {
		if err := b.nc.Drain(); err != nil {
			b.nc.Close()
		}
		for i := 0; i < 100 && !b.nc.IsClosed(); i++ {
			time.Sleep(20 * time.Millisecond) // Drain is asynchronous; bounded wait for it at shutdown.
		}
	}
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
		slog.Debug("embedded nats stopped")
	}
}
