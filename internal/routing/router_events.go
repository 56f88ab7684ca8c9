package routing

import (
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Events turns facts into the tenant's Router* events.
func (r *Router) Events(t tenant.ID, facts []Fact) []event.Event {
	return nil
}
