package app

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
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
