// Package bot holds the bots that answer a conversation before a person
// does: the activities exchanged with a tenant's own webhook bot, the client
// that delivers them, and the handoff a bot asks for.
package bot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/conversation"
)

// ActivityType is an Activity's "type". Only the five below travel between
// Switchboard and a bot; the Bot Framework defines more (invoke, trace, …)
// and a bot that answers with those has them dropped.
type ActivityType string

const (
	TypeMessage            ActivityType = "message"
	TypeTyping             ActivityType = "typing"
	TypeConversationUpdate ActivityType = "conversationUpdate"
	TypeEvent              ActivityType = "event"
	TypeEndOfConversation  ActivityType = "endOfConversation"
)

func (t ActivityType) known() bool {
	switch t {
	case TypeMessage, TypeTyping, TypeConversationUpdate, TypeEvent, TypeEndOfConversation:
		return true
	}
	return false
}

// Event names. The two handoff names are the Bot Framework handoff
// protocol's (HandoffEventNames); handoff.completed is ours, because the
// protocol only tells the bot through handoff.status and a bot that ignores
// status events still needs to learn that it should stop talking.
const (
	EventHandoffInitiate  = "handoff.initiate"
	EventHandoffStatus    = "handoff.status"
	EventHandoffCompleted = "handoff.completed"
)

// ChannelWebchat is the channelId of web chat conversations.
const ChannelWebchat = "webchat"

// Text formats a message may declare; empty means plain.
const (
	TextPlain    = "plain"
	TextMarkdown = "markdown"
)

// Roles of a ChannelAccount.
const (
	RoleUser = "user"
	RoleBot  = "bot"
)

// Activity is the subset of the Bot Framework v3 Activity that Switchboard
// sends and accepts. Member names are the schema's, so a bot built with the
// Bot Framework SDK reads and writes it unchanged; members outside the subset
// are ignored on the way in.
type Activity struct {
	Type         ActivityType         `json:"type"`
	ID           string               `json:"id,omitempty"`
	Timestamp    time.Time            `json:"timestamp,omitzero"`
	ServiceURL   string               `json:"serviceUrl,omitempty"`
	ChannelID    string               `json:"channelId,omitempty"`
	From         *ChannelAccount      `json:"from,omitempty"`
	Recipient    *ChannelAccount      `json:"recipient,omitempty"`
	Conversation *ConversationAccount `json:"conversation,omitempty"`
	ReplyToID    string               `json:"replyToId,omitempty"`

	Text             string            `json:"text,omitempty"`
	TextFormat       string            `json:"textFormat,omitempty"`
	Locale           string            `json:"locale,omitempty"`
	Attachments      []Attachment      `json:"attachments,omitempty"`
	SuggestedActions *SuggestedActions `json:"suggestedActions,omitempty"`

	MembersAdded   []ChannelAccount `json:"membersAdded,omitempty"`
	MembersRemoved []ChannelAccount `json:"membersRemoved,omitempty"`

	// Name and Value carry an event; Code says why a conversation ended.
	Name  string          `json:"name,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
	Code  string          `json:"code,omitempty"`

	ChannelData json.RawMessage `json:"channelData,omitempty"`
}

// ChannelAccount is a participant: the visitor (role "user") or the bot.
type ChannelAccount struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
}

// ConversationAccount names the conversation; its id is the chat thread id.
type ConversationAccount struct {
	ID string `json:"id"`
}

// Attachment is a file or card. ContentURL points at a file; Content holds
// a card (hero card, Adaptive Card) whose ContentType says which.
type Attachment struct {
	ContentType string          `json:"contentType"`
	ContentURL  string          `json:"contentUrl,omitempty"`
	Content     json.RawMessage `json:"content,omitempty"`
	Name        string          `json:"name,omitempty"`
}

// SuggestedActions are quick-reply buttons shown under a message.
type SuggestedActions struct {
	To      []string     `json:"to,omitempty"`
	Actions []CardAction `json:"actions"`
}

// CardAction is one button: imBack posts Value back as the visitor's
// message, openUrl opens it.
type CardAction struct {
	Type  string          `json:"type"`
	Title string          `json:"title,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
	Text  string          `json:"text,omitempty"`
	Image string          `json:"image,omitempty"`
}

// HandoffRequest is what a bot asks for in a handoff.initiate event's value.
// Every member is optional: an empty request still means "a person, now".
type HandoffRequest struct {
	Queue    string            `json:"queue,omitempty"`
	Priority int               `json:"priority,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Reason   string            `json:"reason,omitempty"`
}

// HandoffOf returns the first handoff.initiate event among acts. A value the
// request cannot be read from still asks for a person, so it yields an
// empty request rather than nothing.
func HandoffOf(acts []Activity) (*HandoffRequest, bool) {
	for _, a := range acts {
		if a.Type != TypeEvent || a.Name != EventHandoffInitiate {
			continue
		}
		req, err := handoffValue(a.Value)
		if err != nil {
			return &HandoffRequest{}, true
		}
		return req, true
	}
	return nil, false
}

// Priority bounds are the Job Router's, so a bot's priority goes to the job
// unchanged.
const (
	minPriority = -100
	maxPriority = 100
)

func handoffValue(v json.RawMessage) (*HandoffRequest, error) {
	req := &HandoffRequest{}
	if len(v) == 0 || string(v) == "null" {
		return req, nil
	}
	if err := json.Unmarshal(v, req); err != nil {
		return nil, fmt.Errorf("handoff value: %w", err)
	}
	if req.Priority < minPriority || req.Priority > maxPriority {
		return nil, fmt.Errorf("handoff priority %d is outside %d..%d", req.Priority, minPriority, maxPriority)
	}
	return req, nil
}

// NewID returns a fresh activity id, time-ordered so a bot's logs sort.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

func newActivity(t ActivityType, thread conversation.ThreadID, from, to ChannelAccount) Activity {
	return Activity{
		Type:         t,
		ID:           NewID(),
		Timestamp:    time.Now().UTC(),
		ChannelID:    ChannelWebchat,
		From:         &from,
		Recipient:    &to,
		Conversation: &ConversationAccount{ID: string(thread)},
	}
}

// MessageActivity is a visitor's message for the bot.
func MessageActivity(thread conversation.ThreadID, from, to ChannelAccount, text, locale string) Activity {
	a := newActivity(TypeMessage, thread, from, to)
	a.Text, a.TextFormat, a.Locale = text, TextPlain, locale
	return a
}

// ConversationUpdate tells the bot who joined or left.
func ConversationUpdate(thread conversation.ThreadID, from, to ChannelAccount, added, removed []ChannelAccount) Activity {
	a := newActivity(TypeConversationUpdate, thread, from, to)
	a.MembersAdded, a.MembersRemoved = added, removed
	return a
}

// Typing says the visitor is typing.
func Typing(thread conversation.ThreadID, from, to ChannelAccount) Activity {
	return newActivity(TypeTyping, thread, from, to)
}

// Event is a named event with an optional value marshalled to JSON.
func Event(thread conversation.ThreadID, from, to ChannelAccount, name string, value any) (Activity, error) {
	a := newActivity(TypeEvent, thread, from, to)
	a.Name = name
	if value != nil {
		v, err := json.Marshal(value)
		if err != nil {
			return Activity{}, fmt.Errorf("event %s value: %w", name, err)
		}
		a.Value = v
	}
	return a, nil
}

// EndOfConversation tells the bot the conversation left it; code is a Bot
// Framework end code such as "completedSuccessfully".
func EndOfConversation(thread conversation.ThreadID, from, to ChannelAccount, code string) Activity {
	a := newActivity(TypeEndOfConversation, thread, from, to)
	a.Code = code
	return a
}

// parseAnswer reads a bot's answer body: an array of activities, an object
// {"activities": [...]}, or one activity. Activities of types we do not
// carry are dropped; anything else wrong fails the whole answer, because
// delivering half of what a bot meant is worse than a person taking over.
func parseAnswer(body []byte) ([]Activity, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, nil
	}
	// The decoder silently turns invalid UTF-8 into U+FFFD; the customer
	// would see the replacement characters, so refuse the answer instead.
	if !utf8.Valid(body) {
		return nil, malformed("answer is not UTF-8")
	}
	var raw []json.RawMessage
	switch body[0] {
	case '[':
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, malformedErr("answer", err)
		}
	case '{':
		var wrapper struct {
			Activities json.RawMessage `json:"activities"`
		}
		if err := json.Unmarshal(body, &wrapper); err != nil {
			return nil, malformedErr("answer", err)
		}
		if wrapper.Activities == nil {
			raw = []json.RawMessage{body}
		} else if err := json.Unmarshal(wrapper.Activities, &raw); err != nil {
			return nil, malformedErr("activities", err)
		}
	default:
		return nil, malformed("answer is neither a JSON array nor an object")
	}
	var acts []Activity
	for i, r := range raw {
		// The type decides before the rest is read: a Bot Framework type we
		// do not carry may use members differently, and it is dropped anyway.
		var probe struct {
			Type ActivityType `json:"type"`
		}
		if err := json.Unmarshal(r, &probe); err != nil {
			return nil, malformedErr(fmt.Sprintf("activity %d", i), err)
		}
		if probe.Type == "" {
			return nil, malformed(fmt.Sprintf("activity %d has no type", i))
		}
		if !probe.Type.known() {
			continue
		}
		var a Activity
		if err := json.Unmarshal(r, &a); err != nil {
			return nil, malformedErr(fmt.Sprintf("activity %d", i), err)
		}
		if err := validate(a); err != nil {
			return nil, malformedErr(fmt.Sprintf("activity %d (%s)", i, a.Type), err)
		}
		acts = append(acts, a)
	}
	return acts, nil
}

// maxTextBytes and maxAttachments are a chat message's limits: a bot's
// message becomes one, and one the thread would refuse is refused here,
// where the caller can still hand the customer to a person.
const (
	maxTextBytes   = conversation.MaxMessageBytes
	maxAttachments = conversation.MaxAttachmentsInMsg
)

func validate(a Activity) error {
	switch a.Type {
	case TypeMessage:
		if len(a.Text) > maxTextBytes {
			return fmt.Errorf("text is %d bytes, over %d", len(a.Text), maxTextBytes)
		}
		if strings.TrimSpace(a.Text) == "" && len(a.Attachments) == 0 {
			return fmt.Errorf("message has neither text nor attachments")
		}
		switch a.TextFormat {
		case "", TextPlain, TextMarkdown:
		default:
			return fmt.Errorf("textFormat %q is not plain or markdown", a.TextFormat)
		}
		if len(a.Attachments) > maxAttachments {
			return fmt.Errorf("%d attachments, over %d", len(a.Attachments), maxAttachments)
		}
		for i, at := range a.Attachments {
			if err := validAttachment(at); err != nil {
				return fmt.Errorf("attachment %d: %w", i, err)
			}
		}
		if sa := a.SuggestedActions; sa != nil {
			for i, ca := range sa.Actions {
				if ca.Type == "" {
					return fmt.Errorf("suggested action %d has no type", i)
				}
			}
		}
	case TypeEvent:
		if a.Name == "" {
			return fmt.Errorf("event has no name")
		}
		if a.Name == EventHandoffInitiate {
			if _, err := handoffValue(a.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

func validAttachment(at Attachment) error {
	if at.ContentType == "" {
		return fmt.Errorf("no contentType")
	}
	if at.ContentURL == "" {
		if len(at.Content) == 0 || string(at.Content) == "null" {
			return fmt.Errorf("neither contentUrl nor content")
		}
		return nil
	}
	u, err := url.Parse(at.ContentURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("contentUrl is not an absolute http(s) URL")
	}
	return nil
}
