// Package app wires Switchboard together and owns its lifecycle. It is the
// only place that chooses SQLite or PostgreSQL and embedded or external NATS.
package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cc/switchboard/internal/api"
	"github.com/switchboard-cc/switchboard/internal/blob"
	"github.com/switchboard-cc/switchboard/internal/bot"
	"github.com/switchboard-cc/switchboard/internal/bus"
	"github.com/switchboard-cc/switchboard/internal/channel/webchat"
	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/contact"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/engagement"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/journal"
	"github.com/switchboard-cc/switchboard/internal/netguard"
	"github.com/switchboard-cc/switchboard/internal/realtime"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/routing/remoterules"
	"github.com/switchboard-cc/switchboard/internal/routing/scenario"
	"github.com/switchboard-cc/switchboard/internal/secret"
	"github.com/switchboard-cc/switchboard/internal/store"
	"github.com/switchboard-cc/switchboard/internal/telemetry"
	"github.com/switchboard-cc/switchboard/internal/tenant"
	"github.com/switchboard-cc/switchboard/internal/tlsutil"
	"github.com/switchboard-cc/switchboard/internal/web"
	"github.com/switchboard-cc/switchboard/internal/webhook"
	"github.com/switchboard-cc/switchboard/openapi"
)

// App is one running Switchboard node.
type App struct {
	cfg      config.Config
	Store    *store.Store
	Bus      *bus.Bus
	Metrics  *telemetry.Metrics
	Tenants  *identity.Tenants
	People   *identity.People
	API      *api.Server
	Hub      *realtime.Hub
	Router   *routing.Service
	owners   *routerOwners
	recorder *scenario.FileRecorder
	// routerJournal is where the router commits on the embedded store.
	routerJournal *journal.Log
	Chat          *conversation.Service
	Contacts      *contact.Service
	Webchat       *webchat.Service
	Blobs         BlobStore
	// Engagements is the contact center: bots, handoff, agents.
	Engagements *engagement.Service
	engagements *engagementFollower

	fileSigner *blob.Signer
	relay      *bus.Relay
	dispatcher *webhook.Dispatcher
	servers    []*http.Server
	listeners  []net.Listener
	httpAddr   string
	httpsAddr  string
	bg         sync.WaitGroup
	stopBG     chan struct{}
}

// OpenStore opens the database with the master key; CLI commands that only
// touch stored state (tenant create, key rotation) use it without NATS.
func OpenStore(ctx context.Context, cfg config.Config) (*store.Store, error) {
	var key []byte
	var err error
	if cfg.MasterKey != "" {
		key, err = secret.ParseKey(cfg.MasterKey)
	} else {
		key, err = secret.LoadOrCreateKey(cfg.MasterKeyPath())
	}
	if err != nil {
		return nil, err
	}
	box, err := secret.NewBox(key)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, store.Config{URL: cfg.Database, DataDir: cfg.DataDir})
	if err != nil {
		return nil, err
	}
	return store.New(db, box), nil
}

// New opens the store and the bus and builds every service. Nothing listens
// until Start.
func New(ctx context.Context, cfg config.Config) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.GCPercent > 0 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(cfg.GCPercent)
	}
	a := &App{cfg: cfg, Metrics: telemetry.New(), stopBG: make(chan struct{})}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.Store = st
	a.Bus, err = bus.Open(ctx, bus.Config{URL: cfg.NATS, StoreDir: filepath.Join(cfg.DataDir, "nats"), Namespace: cfg.NATSNamespace, Replicas: cfg.NATSReplicas})
	if err != nil {
		st.DB().Close()
		return nil, err
	}
	signing, err := st.ServerSecret(ctx, "token-signing-key", randomKey)
	if err != nil {
		a.closeData()
		return nil, err
	}
	outbound := netguard.Config{AllowLoopback: cfg.Outbound.AllowLoopback, AllowPrivate: cfg.Outbound.AllowPrivate, Timeout: 10 * time.Second}.Client()
	ids := identity.NewService(st, st, st, identity.NewTokenIssuer(signing, "switchboard"))
	a.Tenants = identity.NewTenants(st, st)
	a.People = identity.NewPeople(st, st, cfg.API.SessionTTL)
	a.relay = bus.NewRelay(a.Bus, outboxAdapter{s: st, exclusive: st.DB().Dialect() == store.SQLite}, a.Metrics, 250*time.Millisecond)
	st.DB().OnOutbox(a.relay.Kick)
	a.dispatcher = webhook.NewDispatcher(a.Bus, st, outbound, a.Metrics, webhook.DispatchConfig{RetryBase: cfg.Webhooks.RetryBase, RetryMax: cfg.Webhooks.RetryMax,
		Derive: conversation.Derives, Expand: conversation.UserScoped})
	a.Hub = realtime.NewHub(a.Bus, ids, a.Metrics, realtime.Config{Heartbeat: cfg.Realtime.Heartbeat, QueueLength: cfg.Realtime.QueueLength, HelloTimeout: cfg.Realtime.HelloTimeout})
	fileKey, err := st.ServerSecret(ctx, "file-link-key", randomKey)
	if err != nil {
		a.closeData()
		return nil, err
	}
	a.fileSigner = blob.NewSigner(fileKey)
	if a.Blobs, err = openBlobs(ctx, cfg); err != nil {
		a.closeData()
		return nil, err
	}
	a.Chat = conversation.NewService(st, ids, st, st, a.Hub, fileLinks{a.fileSigner})
	a.Contacts = contact.NewService(st, st, st, st, a.Blobs, identityDeleter{ids})
	visitorKey, err := st.ServerSecret(ctx, "visitor-token-key", randomKey)
	if err != nil {
		a.closeData()
		return nil, err
	}
	a.Webchat = webchat.NewService(st, ids, a.Chat, a.Contacts, visitorKey)
	hooks := webhook.NewService(st, outbound, a.dispatcher, a.dispatcher)
	a.Router = routing.NewService(routing.NewConfig(st, st), st, st, slog.Default())
	if st.DB().Dialect() == store.SQLite {
		// One process owns the file: its router commits to a journal
		// beside it and checkpoints into it.
		if a.routerJournal, err = journal.Open(filepath.Join(cfg.DataDir, "router-journal")); err != nil {
			a.closeData()
			return nil, err
		}
		if err := a.Router.UseJournal(ctx, a.routerJournal, st); err != nil {
			a.closeData()
			return nil, err
		}
	}
	a.Router.SetRemoteRules(remoterules.New())
	a.Engagements = engagement.New(engagement.Deps{Store: st, DeskStore: st, Tx: st, Outbox: st, Chat: a.Chat, Router: a.Router,
		Identities: ids, People: a.People, Contacts: a.Contacts, Webhooks: bot.NewClient(outbound), Lookups: bot.NewLookups(outbound),
		Channels: webchatChannels{webchat: a.Webchat, tenants: a.Tenants}, PublicURL: cfg.PublicURL})
	// Router events go to the outbox only when someone takes them: a
	// webhook subscription, or the contact center (offers to desktops).
	a.Router.SetEventFilter(func(ctx context.Context, t tenant.ID, typ string, job *routing.Job) bool {
		return engagement.WantsJob(typ, job) || a.dispatcher.Wants(ctx, t, typ)
	})
	if cfg.RoutingRecord != "" {
		rec, err := scenario.NewFileRecorder(cfg.RoutingRecord)
		if err != nil {
			a.closeData()
			return nil, err
		}
		a.Router.SetRecorder(rec)
		a.recorder = rec
	}
	var owners api.RouterOwners
	if cfg.NATS != "" {
		a.owners, err = startRouterOwners(ctx, a.Bus, a.Router, func(ctx context.Context, req api.ForwardedRequest) api.ForwardedResponse {
			return a.API.ServeForwarded(ctx, req)
		})
		if err != nil {
			a.closeData()
			return nil, err
		}
		owners = a.owners
		// The contact center runs on every node; its router calls go to
		// the node that runs the tenant's router.
		a.Engagements.Router = clusterRouter{local: a.Router, owners: a.owners}
		a.Engagements.Owns = func(ctx context.Context, t tenant.ID) bool {
			mine, err := a.owners.Local(ctx, t)
			return err == nil && mine
		}
	}
	a.API = api.New(api.Config{
		PublicURL:    cfg.PublicURL,
		MaxBodyBytes: cfg.API.MaxBodyBytes, ClockSkew: cfg.API.ClockSkew, TenantRate: cfg.API.TenantRate, SessionTTL: cfg.API.SessionTTL,
	}, api.Deps{
		Identity: ids, People: a.People, KeyRing: identity.NewKeyRing(st, 5*time.Second), Webhooks: hooks, Idempotency: st,
		Metrics: a.Metrics, Ready: a.ready, OpenAPI: openapi.Document, Chat: a.Chat, Realtime: a.Hub,
		Blobs: a.Blobs, Files: st, FileSigner: a.fileSigner, UploadLimits: a.Webchat.Limits,
		Contacts: a.Contacts, Webchat: a.Webchat, TenantNames: a.Tenants, Retention: st, Web: web.Handler(),
		Routing: a.Router, RouterOwners: owners, Engagements: a.Engagements,
	})
	return a, nil
}

func (a *App) ready(ctx context.Context) error {
	if err := a.Store.DB().Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if !a.Bus.Healthy() {
		return errors.New("bus: not connected")
	}
	return nil
}

// Start begins relaying and delivering events and opens the listeners.
func (a *App) Start(ctx context.Context) error {
	a.relay.Start()
	if err := a.dispatcher.Start(ctx); err != nil {
		return err
	}
	if err := a.Hub.Start(ctx); err != nil {
		return err
	}
	a.startMaintenance()
	a.startRetention()
	a.startRouters()
	var err error
	if a.engagements, err = startEngagementFollower(ctx, a.Bus, a.Engagements, 8); err != nil {
		return err
	}
	a.startPositionUpdates()
	handler := a.API.Handler()
	if a.cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("http listener: %w", err)
		}
		a.httpAddr = ln.Addr().String()
		a.serve(ln, &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second})
	}
	if a.cfg.HTTPSAddr != "" {
		tlsCfg, err := a.tlsConfig()
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", a.cfg.HTTPSAddr)
		if err != nil {
			return fmt.Errorf("https listener: %w", err)
		}
		a.httpsAddr = ln.Addr().String()
		a.serve(tls.NewListener(ln, tlsCfg), &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, TLSConfig: tlsCfg})
		if err := a.writeEndpoint(); err != nil {
			slog.Warn("cannot record the https endpoint for CLI commands", "err", err)
		}
	}
	return nil
}

func (a *App) serve(ln net.Listener, srv *http.Server) {
	srv.ErrorLog = slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug)
	a.servers = append(a.servers, srv)
	a.listeners = append(a.listeners, ln)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

func (a *App) tlsConfig() (*tls.Config, error) {
	certFile, keyFile := a.cfg.TLSCert, a.cfg.TLSKey
	if certFile == "" {
		hosts := append(tlsutil.DefaultHosts(), a.cfg.TLSHosts...)
		if h, _, err := net.SplitHostPort(a.cfg.HTTPSAddr); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
			hosts = append(hosts, h)
		}
		f, err := tlsutil.Ensure(filepath.Join(a.cfg.DataDir, "tls"), hosts)
		if err != nil {
			return nil, err
		}
		certFile, keyFile = f.Cert, f.Key
	}
	cert, err := tlsutil.Load(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}, nil
}

// HTTPAddr and HTTPSAddr are the bound addresses (after port 0 resolves).
func (a *App) HTTPAddr() string  { return a.httpAddr }
func (a *App) HTTPSAddr() string { return a.httpsAddr }

// Endpoint is the base URL put in connection strings.
func (a *App) Endpoint() string {
	return Endpoint(a.cfg, a.httpsAddr)
}

// Endpoint builds the public base URL from the configuration and the bound
// HTTPS address.
func Endpoint(cfg config.Config, httpsAddr string) string {
	if cfg.PublicURL != "" {
		return strings.TrimSuffix(cfg.PublicURL, "/") + "/"
	}
	_, port, err := net.SplitHostPort(httpsAddr)
	if err != nil {
		return "https://localhost/"
	}
	return "https://localhost:" + port + "/"
}

func (a *App) writeEndpoint() error {
	dir := filepath.Join(a.cfg.DataDir, "run")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "endpoint"), []byte(a.Endpoint()+"\n"), 0o600)
}

// RecordedEndpoint reads the endpoint a running server wrote, falling back
// to the configuration.
func RecordedEndpoint(cfg config.Config) string {
	if cfg.PublicURL == "" {
		if b, err := os.ReadFile(filepath.Join(cfg.DataDir, "run", "endpoint")); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return Endpoint(cfg, cfg.HTTPSAddr)
}

// startMaintenance runs periodic clean-up: expired sessions and
// idempotency records, and the outbox backlog gauge.
func (a *App) startMaintenance() {
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-a.stopBG:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			now := time.Now()
			if _, err := a.Store.DeleteExpiredSessions(ctx, now); err != nil {
				slog.Warn("session clean-up", "err", err)
			}
			if _, err := a.Store.ExpireIdempotencyKeys(ctx, now.Add(-24*time.Hour)); err != nil {
				slog.Warn("idempotency clean-up", "err", err)
			}
			if n, oldest, err := a.Store.OutboxLag(ctx, now); err == nil {
				a.Metrics.OutboxPending(n, oldest)
			}
			cancel()
		}
	}()
}

// startRetention purges expired conversations now and then.
func (a *App) startRetention() {
	every := a.cfg.RetentionInterval
	if every <= 0 {
		every = time.Hour
	}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-a.stopBG:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), every)
			if _, err := a.SweepRetention(ctx); err != nil {
				slog.Warn("retention sweep", "err", err)
			}
			cancel()
		}
	}()
}

// startRouters loads the routers of tenants with live jobs, so that their
// queued jobs are offered and their timers run before anyone calls. In a
// cluster it looks again every few seconds: the tenants of a node that
// died are taken over when its leases lapse.
func (a *App) startRouters() {
	var local func(ctx context.Context, t tenant.ID) (bool, error)
	if a.owners != nil {
		local = a.owners.Local
	}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		t := time.NewTicker(routerLeaseTTL / 2)
		defer t.Stop()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), routerLeaseTTL)
			if err := a.Router.WarmAll(ctx, local); err != nil {
				slog.Warn("routing: warm routers", "err", err)
			}
			cancel()
			if a.owners == nil {
				return // one process: once is enough
			}
			select {
			case <-a.stopBG:
				return
			case <-t.C:
			}
		}
	}()
}

// SweepRetention runs one retention sweep now.
func (a *App) SweepRetention(ctx context.Context) (int, error) {
	return conversation.Sweep(ctx, a.Store, a.Blobs, a.Metrics, time.Now())
}

// Shutdown stops accepting requests, lets in-flight ones finish, flushes the
// outbox, stops deliveries, and closes the bus and the database.
func (a *App) Shutdown(ctx context.Context) error {
	var errsJoined error
	for _, srv := range a.servers {
		if err := srv.Shutdown(ctx); err != nil {
			errsJoined = errors.Join(errsJoined, err)
		}
	}
	a.Hub.Stop()
	if a.engagements != nil {
		a.engagements.close()
	}
	a.Router.Stop()
	if a.recorder != nil {
		a.recorder.Close()
	}
	if a.owners != nil {
		a.owners.stop(ctx)
	}
	close(a.stopBG)
	a.bg.Wait()
	a.relay.Stop(ctx)
	a.dispatcher.Stop(ctx)
	a.closeData()
	return errsJoined
}

func (a *App) closeData() {
	if a.routerJournal != nil {
		a.Router.Stop() // its last checkpoint needs the database
		_ = a.routerJournal.Close()
	}
	if a.Bus != nil {
		a.Bus.Close()
	}
	if a.Store != nil {
		_ = a.Store.DB().Close()
	}
}

// outboxAdapter presents the store's outbox to the relay. With SQLite the
// relay is the outbox's only publisher (one process owns the file) and
// sequence numbers follow commit order, so it reads the oldest rows and
// deletes through the last published one, without claiming rows; with
// PostgreSQL, nodes share the outbox and claim rows with a lease.
type outboxAdapter struct {
	s         *store.Store
	exclusive bool
}

func (o outboxAdapter) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]bus.OutboxEntry, error) {
	var entries []store.OutboxEntry
	var err error
	if o.exclusive {
		entries, err = o.s.OldestOutbox(ctx, limit)
	} else {
		entries, err = o.s.ClaimOutbox(ctx, now, lease, limit)
	}
	if err != nil {
		return nil, err
	}
	out := make([]bus.OutboxEntry, len(entries))
	for i, e := range entries {
		out[i] = bus.OutboxEntry{Seq: e.Seq, Event: e.Event}
	}
	return out, nil
}

// Delete removes published events. The relay passes the acknowledged
// prefix of a batch in order, so in exclusive mode a range delete suffices.
func (o outboxAdapter) Delete(ctx context.Context, seqs []int64) error {
	if o.exclusive && len(seqs) > 0 {
		return o.s.DeleteOutboxThrough(ctx, seqs[len(seqs)-1])
	}
	return o.s.DeleteOutbox(ctx, seqs)
}

// fileLinks signs attachment links, valid for a day; clients fetch fresh
// ones with the messages.
type fileLinks struct{ signer *blob.Signer }

func (l fileLinks) FileURL(f conversation.File) string {
	return l.signer.Sign("/files/"+string(f.Tenant)+"/"+f.ID, time.Now(), 24*time.Hour)
}

// identityDeleter lets contact erasure delete a visitor's identity by rawId.
type identityDeleter struct{ ids *identity.Service }

func (d identityDeleter) DeleteIdentityRaw(ctx context.Context, raw string) error {
	return d.ids.DeleteIdentity(ctx, identity.UserID(raw))
}

// BlobStore keeps attachment contents.
type BlobStore interface {
	Put(ctx context.Context, key string, r io.Reader, max int64) (int64, error)
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	Delete(ctx context.Context, key string) error
}

// openBlobs is the data directory, or the configured S3-compatible bucket.
func openBlobs(ctx context.Context, cfg config.Config) (BlobStore, error) {
	f := cfg.Files
	if f.S3Endpoint == "" {
		return blob.NewDir(filepath.Join(cfg.DataDir, "files"))
	}
	return blob.NewS3(ctx, blob.S3Config{Endpoint: f.S3Endpoint, Bucket: f.S3Bucket, Region: f.S3Region, AccessKey: f.S3AccessKey,
		SecretKey: f.S3SecretKey, Prefix: f.S3Prefix, Insecure: f.S3Insecure, SpoolDir: filepath.Join(cfg.DataDir, "spool")})
}

// randomKey makes a 32-byte server secret the first time one is needed.
func randomKey() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}
