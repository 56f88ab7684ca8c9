// Package engagement is the contact center around a conversation: a bot
// answers first, hands the customer to a person through the router, an
// agent takes it, wraps it up and the customer rates it. It drives chat,
// the router and bots through small interfaces and knows no transport.
package engagement

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/switchboard-cc/switchboard/internal/contact"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// ID names an engagement.
type ID string

// State is where an engagement stands.
type State string

// An engagement moves bot → queued → assigned → wrapUp → ended; it may
// start queued (no bot on the channel) and end from any state.
const (
	StateBot      State = "bot"
	StateQueued   State = "queued"
	StateAssigned State = "assigned"
	StateWrapUp   State = "wrapUp"
	StateEnded    State = "ended"
)

// Live reports whether the engagement has not ended.
func (s State) Live() bool { return s != StateEnded && s != "" }

// Handoff reasons, as the router job's handoffReason label carries them.
const (
	ReasonFlow          = "flow"
	ReasonCustomer      = "customer"
	ReasonNotUnderstood = "notUnderstood"
	ReasonBotFailed     = "botFailed"
	ReasonNoBot         = "noBot"
	ReasonTransfer      = "transfer"
)

// Engagement is one customer conversation handled by the contact center:
// a span of a chat thread from the customer's first message to the end.
type Engagement struct {
	Tenant   tenant.ID             `json:"-"`
	ID       ID                    `json:"id"`
	Thread   conversation.ThreadID `json:"threadId"`
	Contact  contact.ID            `json:"contactId"`
	Customer string                `json:"customer"` // the customer's rawId
	Channel  string                `json:"channel"`
	Locale   string                `json:"locale"`
	State    State                 `json:"state"`

	Bot         BotID           `json:"botId,omitempty"`
	BotIdentity string          `json:"botIdentity,omitempty"`
	BotState    json.RawMessage `json:"botState,omitempty"`
	// LastMessage is the id of the customer's last message the bot took,
	// so a redelivered event is not answered twice.
	LastMessage string            `json:"lastMessage,omitempty"`
	Fields      map[string]string `json:"fields,omitempty"` // what the bot collected
	// Known is what was known of the customer when the engagement began
	// (name, e-mail, phone, contact fields): the bot's templates read it.
	Known map[string]string `json:"known,omitempty"`

	HandoffReason string            `json:"handoffReason,omitempty"`
	Queue         string            `json:"queueId,omitempty"`
	Job           string            `json:"jobId,omitempty"`
	Agent         identity.PersonID `json:"agentId,omitempty"`
	AgentIdentity string            `json:"agentIdentity,omitempty"`
	AgentName     string            `json:"agentName,omitempty"`
	Assignment    string            `json:"assignmentId,omitempty"`
	Transfers     int               `json:"transfers,omitempty"`

	// SideThread is where staff talk about the conversation (notes and
	// whispers); SideOwner created it.
	SideThread conversation.ThreadID `json:"sideThreadId,omitempty"`
	SideOwner  string                `json:"sideOwner,omitempty"`
	// Monitors are supervisors watching silently; Barged joined.
	Monitors []string `json:"monitors,omitempty"`
	Barged   []string `json:"barged,omitempty"`

	Disposition string `json:"dispositionCode,omitempty"`
	WrapUpNotes string `json:"wrapUpNotes,omitempty"`
	Rating      int    `json:"rating,omitempty"`
	Comment     string `json:"ratingComment,omitempty"`

	CreatedAt  time.Time `json:"createdAt"`
	HandoffAt  time.Time `json:"handoffAt,omitzero"`
	AssignedAt time.Time `json:"assignedAt,omitzero"`
	EndedAt    time.Time `json:"endedAt,omitzero"`
	RatedAt    time.Time `json:"ratedAt,omitzero"`
	UpdatedAt  time.Time `json:"updatedAt"`
	Version    int64     `json:"-"`
}

// JobID is the router job of an engagement's handoff number n (a transfer
// hands off again, as a new job).
func JobID(id ID, n int) string {
	if n == 0 {
		return "eng-" + string(id)
	}
	return "eng-" + string(id) + "-" + itoa(n)
}

// Filter narrows an engagement list.
type Filter struct {
	States  []State
	Agent   identity.PersonID
	Contact contact.ID
	Thread  conversation.ThreadID
	// Since keeps engagements created at or after it.
	Since time.Time
}

func itoa(n int) string { return strconv.Itoa(n) }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

var zeroTime time.Time
