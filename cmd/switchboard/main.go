// Command switchboard runs the Switchboard contact-center platform and
// administers its tenants.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/telemetry"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type cli struct {
	config.Config `embed:""`

	Serve   serveCmd   `cmd:"" help:"Run Switchboard: API, events and webhooks in one process."`
	Tenant  tenantCmd  `cmd:"" help:"Create tenants and manage their access keys."`
	Config_ configCmd  `cmd:"" name:"config" help:"Inspect the configuration."`
	Migrate migrateCmd `cmd:"" help:"Apply database migrations and exit."`
	Routing routingCmd `cmd:"" help:"Job router tools."`
	Version versionCmd `cmd:"" help:"Print the version."`
}

type serveCmd struct {
	Demo bool `help:"Create (idempotently) a demo tenant with known logins and print how to use it." env:"SWITCHBOARD_DEMO"`
}

func logger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	return telemetry.NewLogger(w, cfg.LogFormat, lvl)
}

func (c *serveCmd) Run(cfg *config.Config) error {
	slog.SetDefault(logger(cfg, os.Stderr))
	start := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, *cfg)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		_ = a.Shutdown(context.Background())
		return err
	}
	slog.Info("switchboard ready", "version", version, "http", a.HTTPAddr(), "https", a.HTTPSAddr(), "startup_ms", time.Since(start).Milliseconds())
	if c.Demo {
		info, err := a.EnsureDemo(ctx)
		if err == nil {
			err = a.EnsureDemoCenter(ctx, info.Tenant.ID)
		}
		if err != nil {
			_ = a.Shutdown(context.Background())
			return err
		}
		printDemo(os.Stdout, cfg, a, info)
	}
	// Password hashing for the demo people leaves tens of megabytes of
	// garbage; hand it back now rather than when the scavenger gets to it.
	debug.FreeOSMemory()
	<-ctx.Done()
	stop()
	slog.Info("shutting down", "grace", cfg.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	return a.Shutdown(sctx)
}

func printDemo(w io.Writer, cfg *config.Config, a *app.App, info app.DemoInfo) {
	fmt.Fprintf(w, "\nSwitchboard demo tenant %q is ready.\n\n", info.Tenant.Name)
	fmt.Fprintf(w, "Logins (tenant %q):\n", info.Tenant.Name)
	for _, l := range info.Logins {
		fmt.Fprintf(w, "  %-11s %-10s password %s\n", l.Role, l.Username, l.Password)
	}
	fmt.Fprintf(w, "\nConnection string for the ACS SDKs (trust %s, e.g. NODE_EXTRA_CA_CERTS):\n  %s\n\n",
		filepath.Join(cfg.DataDir, "tls", "ca.pem"), info.ConnectionString)
	if a.HTTPSAddr() != "" {
		fmt.Fprintf(w, "HTTPS API:  %s\n", a.Endpoint())
	}
	if a.HTTPAddr() != "" {
		fmt.Fprintf(w, "HTTP API:   http://%s/\n", a.HTTPAddr())
		fmt.Fprintf(w, "OpenAPI:    http://%s/openapi.json\n", a.HTTPAddr())
		fmt.Fprintf(w, "Health:     http://%s/readyz\n", a.HTTPAddr())
		fmt.Fprintf(w, "Web chat:   http://%s/web/demo.html  (the widget on a demo page)\n", a.HTTPAddr())
		fmt.Fprintf(w, "Widget tag: <script src=\"http://%s/widget.js\" data-tenant=%q async></script>\n", a.HTTPAddr(), info.Tenant.Name)
	}
	fmt.Fprintln(w)
}

type tenantCmd struct {
	Create tenantCreateCmd `cmd:"" help:"Create a tenant; prints its connection string as the last line."`
	List   tenantListCmd   `cmd:"" help:"List tenants."`
	Keys   tenantKeysCmd   `cmd:"" help:"Manage a tenant's access keys."`
}

type tenantCreateCmd struct {
	Name string `arg:"" help:"Tenant name: lower-case letters, digits and dashes."`
}

func withTenants(cfg *config.Config, fn func(ctx context.Context, ts *identity.Tenants) error) error {
	slog.SetDefault(logger(cfg, os.Stderr))
	ctx := context.Background()
	st, err := app.OpenStore(ctx, *cfg)
	if err != nil {
		return err
	}
	defer st.DB().Close()
	return fn(ctx, identity.NewTenants(st, st))
}

func (c *tenantCreateCmd) Run(cfg *config.Config) error {
	return withTenants(cfg, func(ctx context.Context, ts *identity.Tenants) error {
		t, key, err := ts.Create(ctx, c.Name)
		if err != nil {
			return err
		}
		fmt.Printf("tenant %s created (id %s, key %s)\n", t.Name, t.ID, key.ID)
		fmt.Println(app.ConnectionString(app.RecordedEndpoint(*cfg), key))
		return nil
	})
}

type tenantListCmd struct{}

func (c *tenantListCmd) Run(cfg *config.Config) error {
	slog.SetDefault(logger(cfg, os.Stderr))
	ctx := context.Background()
	st, err := app.OpenStore(ctx, *cfg)
	if err != nil {
		return err
	}
	defer st.DB().Close()
	ts, err := st.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		fmt.Printf("%s\t%s\t%s\n", t.Name, t.ID, t.CreatedAt.Format(time.RFC3339))
	}
	return nil
}

type tenantKeysCmd struct {
	Rotate tenantKeysRotateCmd `cmd:"" help:"Add a new access key; older keys stay valid until revoked. Prints the new connection string last."`
	Revoke tenantKeysRevokeCmd `cmd:"" help:"Revoke one access key."`
	List   tenantKeysListCmd   `cmd:"" help:"List a tenant's access keys (ids only)."`
}

type tenantKeysRotateCmd struct {
	Name string `arg:""`
}

func (c *tenantKeysRotateCmd) Run(cfg *config.Config) error {
	return withTenants(cfg, func(ctx context.Context, ts *identity.Tenants) error {
		key, err := ts.RotateKey(ctx, c.Name)
		if err != nil {
			return err
		}
		fmt.Printf("new key %s for tenant %s; revoke the old one with: switchboard tenant keys revoke %s KEY-ID\n", key.ID, c.Name, c.Name)
		fmt.Println(app.ConnectionString(app.RecordedEndpoint(*cfg), key))
		return nil
	})
}

type tenantKeysRevokeCmd struct {
	Name  string `arg:""`
	KeyID string `arg:"" name:"key-id"`
}

func (c *tenantKeysRevokeCmd) Run(cfg *config.Config) error {
	return withTenants(cfg, func(ctx context.Context, ts *identity.Tenants) error {
		if err := ts.RevokeKey(ctx, c.Name, identity.KeyID(c.KeyID)); err != nil {
			return err
		}
		fmt.Printf("key %s of tenant %s revoked\n", c.KeyID, c.Name)
		return nil
	})
}

type tenantKeysListCmd struct {
	Name string `arg:""`
}

func (c *tenantKeysListCmd) Run(cfg *config.Config) error {
	return withTenants(cfg, func(ctx context.Context, ts *identity.Tenants) error {
		keys, err := ts.Keys(ctx, c.Name)
		if err != nil {
			return err
		}
		for _, k := range keys {
			state := "active"
			if k.RevokedAt != nil {
				state = "revoked " + k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Printf("%s\t%s\t%s\n", k.ID, k.CreatedAt.Format(time.RFC3339), state)
		}
		return nil
	})
}

type configCmd struct {
	Check configCheckCmd `cmd:"" help:"Validate the configuration (flags, environment) and print it with secrets redacted."`
}

type configCheckCmd struct{}

func (c *configCheckCmd) Run(cfg *config.Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("configuration is invalid:\n%w", err)
	}
	for _, l := range cfg.Redacted() {
		fmt.Println(l)
	}
	fmt.Println("configuration OK")
	return nil
}

type migrateCmd struct{}

func (c *migrateCmd) Run(cfg *config.Config) error {
	slog.SetDefault(logger(cfg, os.Stderr))
	st, err := app.OpenStore(context.Background(), *cfg)
	if err != nil {
		return err
	}
	fmt.Println("migrations applied")
	return st.DB().Close()
}

type versionCmd struct{}

func (c *versionCmd) Run() error {
	fmt.Println("switchboard", version)
	return nil
}

func main() {
	var c cli
	kctx := kong.Parse(&c,
		kong.Name("switchboard"),
		kong.Description("Self-hosted contact center speaking the Azure Communication Services wire format."),
		kong.UsageOnError(),
	)
	err := kctx.Run(&c.Config)
	if err != nil {
		var exit interface{ ExitCode() int }
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		os.Exit(1)
	}
}
