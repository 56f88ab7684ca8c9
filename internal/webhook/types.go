// Package webhook delivers a tenant's events to the HTTP endpoints it
// subscribes, in Event Grid or CloudEvents 1.0 envelopes, signed, retried
// with back-off, and dead-lettered when every attempt fails.
package webhook

import (
	"slices"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// SubscriptionID identifies a webhook subscription.
type SubscriptionID string

// Schema is the envelope a subscription receives, named as Event Grid names
// its delivery schemas.
type Schema string

const (
	SchemaEventGrid   Schema = "EventGridSchema"
	SchemaCloudEvents Schema = "CloudEventSchemaV1_0"
)

// Subscription sends a tenant's events of the listed types (all when empty)
// to URL.
type Subscription struct {
	ID          SubscriptionID
	Tenant      tenant.ID
	Name        string
	URL         string
	Schema      Schema
	EventTypes  []string
	Secret      []byte
	MaxAttempts int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int64
}

// Wants reports whether the subscription receives events of type typ.
// Types compare case-insensitively, as Event Grid filters do.
func (s Subscription) Wants(typ string) bool {
	if len(s.EventTypes) == 0 {
		return true
	}
	return slices.ContainsFunc(s.EventTypes, func(t string) bool { return strings.EqualFold(t, typ) })
}

// DeadLetterID identifies a dead-lettered delivery.
type DeadLetterID string

// DeadLetter is a delivery that failed every attempt.
type DeadLetter struct {
	ID           DeadLetterID
	Tenant       tenant.ID
	Subscription SubscriptionID
	Event        event.Event
	Attempts     int
	LastError    string
	CreatedAt    time.Time
	ReplayedAt   *time.Time
}
