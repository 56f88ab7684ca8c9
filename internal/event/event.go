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
	// Audience lists the communication identifiers (rawIds) that may see
	// this event in real time; empty means no real-time delivery.
	Audience []string `json:"audience,omitempty"`
	// Notify is the real-time client notification for the audience.
	Notify *Notification `json:"notify,omitempty"`
	// RealtimeOnly events exist to reach real-time clients (a waiting
	// customer's place, an offer on an agent's screen): webhooks and other
	// consumers of the stream skip them.
	RealtimeOnly bool `json:"realtimeOnly,omitempty"`
}

// Notification is what a real-time client receives: the ACS client event
// name and its payload. Each recipient's copy gains a "recipient" field.
type Notification struct {
	Name string          `json:"name"`
	Data json.RawMessage `json:"data"`
	// SkipSender is an identifier that must not receive its own
	// notification (typing indicators, read receipts).
	SkipSender string `json:"skipSender,omitempty"`
	// SmallThreadsOnly drops the notification when the audience is larger
	// than ACS delivers typing and receipts to.
	SmallThreadsOnly bool `json:"smallThreadsOnly,omitempty"`
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
