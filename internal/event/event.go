// Package event is the shape of every domain event: written to the outbox in
// the same transaction as the change that caused it, then relayed to the bus
// and on to webhooks and real-time clients.
package event

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Event is one fact that happened in a tenant. Type uses ACS names
// (Microsoft.Communication.*) or the Switchboard.* prefix for our own.
type Event struct {
	ID          string          `json:"id"`
	Tenant      tenant.ID       `json:"tenant"`
	Type        string          `json:"type"`
	Subject     string          `json:"subject"`
	Time        time.Time       `json:"time"`
	DataVersion string          `json:"dataVersion"`
	Data        json.RawMessage `json:"data"`
}

// New builds an event with a fresh id. data is marshalled to JSON.
func New(t tenant.ID, typ, subject string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, err
	}
	return Event{
		ID:          uuid.NewString(),
		Tenant:      t,
		Type:        typ,
		Subject:     subject,
		Time:        time.Now().UTC(),
		DataVersion: "1.0",
		Data:        raw,
	}, nil
}
