package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/switchboard-cc/switchboard/internal/bot/flow"
	"github.com/switchboard-cc/switchboard/internal/engagement"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// DemoTenant is the name of the tenant --demo creates.
const DemoTenant = "demo"

// DemoLogin is one known demo login.
type DemoLogin struct {
	Username, Password string
	Role               identity.Role
	DisplayName        string
}

// DemoLogins are the people --demo creates, with known passwords.
var DemoLogins = []DemoLogin{
	{"admin", "demo-admin-1", identity.RoleAdmin, "Ayu Admin"},
	{"supervisor", "demo-supervisor-1", identity.RoleSupervisor, "Sam Supervisor"},
	{"agent1", "demo-agent-1", identity.RoleAgent, "Alex Agent"},
	{"agent2", "demo-agent-2", identity.RoleAgent, "Budi Agent"},
}

// DemoInfo is what the demo prints.
type DemoInfo struct {
	Tenant           tenant.Tenant
	ConnectionString string
	Logins           []DemoLogin
}

// ConnectionString renders an ACS connection string.
func ConnectionString(endpoint string, key identity.AccessKey) string {
	return "endpoint=" + endpoint + ";accesskey=" + base64.StdEncoding.EncodeToString(key.Secret)
}

// EnsureDemo creates the demo tenant and its people if they are missing;
// running it again changes nothing.
func (a *App) EnsureDemo(ctx context.Context) (DemoInfo, error) {
	t, key, _, err := a.Tenants.Ensure(ctx, DemoTenant)
	if err != nil {
		return DemoInfo{}, fmt.Errorf("demo tenant: %w", err)
	}
	tctx := tenant.With(ctx, t.ID)
	for _, l := range DemoLogins {
		_, err := a.People.Create(tctx, identity.NewPerson{Username: l.Username, DisplayName: l.DisplayName, Role: l.Role, Password: l.Password})
		var e *errs.Error
		if err != nil && !(errors.As(err, &e) && e.Code == "UsernameTaken") {
			return DemoInfo{}, fmt.Errorf("demo user %s: %w", l.Username, err)
		}
	}
	return DemoInfo{Tenant: t, ConnectionString: ConnectionString(a.Endpoint(), key), Logins: DemoLogins}, nil
}

// EnsureDemoCenter gives the demo tenant a working contact center: a
// support queue the demo agents serve, and a flow bot in English and one
// in Indonesian answering web chat. What exists is left as it is, and a
// node starting beside another that does the same loses nothing.
func (a *App) EnsureDemoCenter(ctx context.Context, t tenant.ID) error {
	ctx = tenant.With(ctx, t)
	// Through the contact center's router: in a cluster, the node that
	// runs the tenant's router.
	router := a.Engagements.Router
	missing := func(kind routing.Kind, id string) bool {
		_, err := router.Get(ctx, kind, id)
		return errs.KindOf(err) == errs.KindNotFound
	}
	if missing(routing.KindDistributionPolicy, "demo-longest-idle") {
		if _, _, err := router.Upsert(ctx, routing.KindDistributionPolicy, "demo-longest-idle", map[string]any{
			"name": "Longest idle", "offerExpiresAfterSeconds": 30.0, "mode": map[string]any{"kind": "longestIdle"}}, 0); err != nil {
			return fmt.Errorf("demo distribution policy: %w", err)
		}
	}
	if missing(routing.KindQueue, "support") {
		if _, _, err := router.Upsert(ctx, routing.KindQueue, "support", map[string]any{"name": "Support", "distributionPolicyId": "demo-longest-idle"}, 0); err != nil {
			return fmt.Errorf("demo queue: %w", err)
		}
	}
	people, err := a.People.List(ctx, "", 100)
	if err != nil {
		return err
	}
	for _, p := range people {
		if p.Role != identity.RoleAgent || !missing(routing.KindWorker, engagement.WorkerID(p.ID)) {
			continue
		}
		if _, _, err := router.Upsert(ctx, routing.KindWorker, engagement.WorkerID(p.ID), map[string]any{
			"capacity": 100.0, "availableForOffers": false, "queues": []any{"support"},
			"channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 20.0}},
			"labels":   map[string]any{"agentId": string(p.ID), "name": p.DisplayName},
			"presence": map[string]any{"status": "offline"},
		}, 0); err != nil {
			return fmt.Errorf("demo worker %s: %w", p.Username, err)
		}
	}
	for _, b := range []struct{ id, name, locale string }{{"assistant", "Sunny (bot)", "en"}, {"asisten", "Sari (bot)", "id"}} {
		if _, err := a.Engagements.GetBot(ctx, engagement.BotID(b.id)); errs.KindOf(err) != errs.KindNotFound {
			continue
		}
		name, locale, queue := b.name, b.locale, "support"
		if _, _, err := a.Engagements.PutBot(ctx, engagement.BotID(b.id), engagement.BotInput{Name: &name, Kind: engagement.BotFlow,
			Channels: []string{"webchat"}, Locale: &locale, Queue: &queue}, 0); err != nil {
			if errs.KindOf(err) == errs.KindPreconditionFailed {
				continue // another node created it meanwhile
			}
			return fmt.Errorf("demo bot %s: %w", b.id, err)
		}
		if _, err := a.Engagements.SetFlow(ctx, engagement.BotID(b.id), flow.Demo(b.locale), "demo"); err != nil {
			return fmt.Errorf("demo flow %s: %w", b.id, err)
		}
	}
	return nil
}
