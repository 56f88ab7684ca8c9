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
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-cc/switchboard/internal/event"
)

// Stream and subject names. Every subject carries the tenant right after its
// prefix, so a subscriber can never see another tenant by accident.
const (
	EventsStream   = "SB_EVENTS"
	EventsPrefix   = "sb.evt."
	WebhooksStream = "SB_WEBHOOKS"
	WebhooksPrefix = "sb.whk."
	ControlPrefix  = "sb.ctl."
)

// Config chooses embedded (URL empty) or external NATS.
type Config struct {
	URL      string
	StoreDir string
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
}

// Open starts or connects to NATS and makes sure the streams exist.
func Open(ctx context.Context, cfg Config) (*Bus, error) {
	b := &Bus{}
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
		Name:       EventsStream,
		Subjects:   []string{EventsPrefix + ">"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     retention,
		Duplicates: 10 * time.Minute,
		Replicas:   replicas,
	}, {
		Name:       WebhooksStream,
		Subjects:   []string{WebhooksPrefix + ">"},
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

// EventSubject is where an event of a tenant is published.
func EventSubject(e event.Event) string {
	return EventsPrefix + string(e.Tenant) + "." + SubjectToken(e.Type)
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
