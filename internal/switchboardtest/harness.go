// Package switchboardtest boots a whole Switchboard node in-process for
// tests: port 0 listeners, a temporary data directory, the demo tenant, and
// clients that sign requests exactly as the ACS SDKs do.
package switchboardtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/telemetry"
)

// Server is a running node.
type Server struct {
	App      *app.App
	Config   config.Config
	HTTPURL  string // http://127.0.0.1:port
	HTTPSURL string // https://localhost:port
	CAFile   string
	Demo     app.DemoInfo
}

// Option changes the configuration before start.
type Option func(*config.Config)

// WithDataDir reuses a data directory (restart tests).
func WithDataDir(dir string) Option { return func(c *config.Config) { c.DataDir = dir } }

// WithPostgres and WithNATS run the node against external servers.
func WithPostgres(url string) Option { return func(c *config.Config) { c.Database = url } }
func WithNATS(url string) Option     { return func(c *config.Config) { c.NATS = url } }

// WithConfig applies any change.
func WithConfig(fn func(*config.Config)) Option { return Option(fn) }

// DefaultConfig is the configuration tests start from: loopback listeners
// on port 0, loopback webhooks allowed, fast retries.
func DefaultConfig(dataDir string) config.Config {
	return config.Config{
		DataDir:       dataDir,
		HTTPAddr:      "127.0.0.1:0",
		HTTPSAddr:     "127.0.0.1:0",
		NATSReplicas:  1,
		LogFormat:     "text",
		LogLevel:      "warn",
		Outbound:      config.Outbound{AllowLoopback: true},
		API:           config.API{MaxBodyBytes: 1 << 20, TenantRate: 100000, ClockSkew: 15 * time.Minute, SessionTTL: time.Hour},
		Webhooks:      config.Webhooks{RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond},
		ShutdownGrace: 10 * time.Second,
	}
}

// Start boots a node with the demo tenant and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := DefaultConfig(t.TempDir())
	for _, o := range opts {
		o(&cfg)
	}
	s, err := StartConfig(cfg)
	if err != nil {
		t.Fatalf("start switchboard: %v", err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

var quietLogs sync.Once

// StartConfig boots a node with cfg; the caller stops it. The process
// logger is set once to warnings, so request logs do not drown test output.
func StartConfig(cfg config.Config) (*Server, error) {
	quietLogs.Do(func() { slog.SetDefault(telemetry.NewLogger(os.Stderr, "text", slog.LevelWarn)) })
	ctx := context.Background()
	a, err := app.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Shutdown(ctx)
		return nil, err
	}
	demo, err := a.EnsureDemo(ctx)
	if err != nil {
		_ = a.Shutdown(ctx)
		return nil, err
	}
	return &Server{App: a, Config: cfg, HTTPURL: "http://" + a.HTTPAddr(), HTTPSURL: a.Endpoint()[:len(a.Endpoint())-1],
		CAFile: filepath.Join(cfg.DataDir, "tls", "ca.pem"), Demo: demo}, nil
}

// Stop shuts the node down gracefully.
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = s.App.Shutdown(ctx)
}

// DemoCenter gives the demo tenant what `serve --demo` gives it beyond
// its people: the support queue, the demo agents' workers and the flow
// bots answering web chat.
func (s *Server) DemoCenter(t testing.TB) {
	t.Helper()
	if err := s.App.EnsureDemoCenter(context.Background(), s.Demo.Tenant.ID); err != nil {
		t.Fatalf("demo contact center: %v", err)
	}
}

// TLSConfig trusts the node's generated CA.
func (s *Server) TLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("ca.pem holds no certificate")
	}
	return &tls.Config{RootCAs: pool}
}

// Eventually polls cond until it returns nil or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(wait) // polling interval, not synchronisation
		wait = min(wait*2, 50*time.Millisecond)
	}
}
