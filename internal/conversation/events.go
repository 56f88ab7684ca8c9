package conversation

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Event types: the thread-scoped ACS events are written to the outbox; the
// user-scoped ones (one per recipient) are derived from them on the way to
// webhooks by UserScoped.
const (
	EventThreadCreated            = "Microsoft.Communication.ChatThreadCreated"
	EventThreadDeleted            = "Microsoft.Communication.ChatThreadDeleted"
	EventThreadPropertiesUpdated  = "Microsoft.Communication.ChatThreadPropertiesUpdated"
	EventThreadParticipantAdded   = "Microsoft.Communication.ChatThreadParticipantAdded"
	EventThreadParticipantRemoved = "Microsoft.Communication.ChatThreadParticipantRemoved"
	EventMessageReceivedInThread  = "Microsoft.Communication.ChatMessageReceivedInThread"
	EventMessageEditedInThread    = "Microsoft.Communication.ChatMessageEditedInThread"
	EventMessageDeletedInThread   = "Microsoft.Communication.ChatMessageDeletedInThread"
	// ACS has no Event Grid event for read receipts; real-time clients need
	// one, and webhooks may subscribe to it.
	EventReadReceiptReceived = "Switchboard.ChatReadReceiptReceived"
	// EventTypingInThread is ACS's (preview) typing event; it is ephemeral
	// here: real-time only, never stored.
	EventTypingInThread = "Microsoft.Communication.ChatTypingIndicatorReceivedInThread"

	EventMessageReceived             = "Microsoft.Communication.ChatMessageReceived"
	EventMessageEdited               = "Microsoft.Communication.ChatMessageEdited"
	EventMessageDeleted              = "Microsoft.Communication.ChatMessageDeleted"
	EventThreadCreatedWithUser       = "Microsoft.Communication.ChatThreadCreatedWithUser"
	EventThreadWithUserDeleted       = "Microsoft.Communication.ChatThreadWithUserDeleted"
	EventThreadPropertiesUpdatedUser = "Microsoft.Communication.ChatThreadPropertiesUpdatedPerUser"
	EventParticipantAddedWithUser    = "Microsoft.Communication.ChatParticipantAddedToThreadWithUser"
	EventParticipantRemovedWithUser  = "Microsoft.Communication.ChatParticipantRemovedFromThreadWithUser"
)

// Client event names: those of the ACS JavaScript chat SDK.
const (
	ClientMessageReceived    = "chatMessageReceived"
	ClientMessageEdited      = "chatMessageEdited"
	ClientMessageDeleted     = "chatMessageDeleted"
	ClientTypingIndicator    = "typingIndicatorReceived"
	ClientReadReceipt        = "readReceiptReceived"
	ClientThreadCreated      = "chatThreadCreated"
	ClientThreadUpdated      = "chatThreadPropertiesUpdated"
	ClientThreadDeleted      = "chatThreadDeleted"
	ClientParticipantsAdded  = "participantsAdded"
	ClientParticipantsRemove = "participantsRemoved"
)

// derivedIDSpace namespaces the ids of derived user-scoped events.
var derivedIDSpace = uuid.MustParse("6f1c3f0e-8a4b-4c55-9a59-3d0e7d1c2b10")

// userScoped maps a thread-scoped event to its per-recipient ACS event.
var userScoped = map[string]string{
	EventThreadCreated:            EventThreadCreatedWithUser,
	EventThreadDeleted:            EventThreadWithUserDeleted,
	EventThreadPropertiesUpdated:  EventThreadPropertiesUpdatedUser,
	EventThreadParticipantAdded:   EventParticipantAddedWithUser,
	EventThreadParticipantRemoved: EventParticipantRemovedWithUser,
	EventMessageReceivedInThread:  EventMessageReceived,
	EventMessageEditedInThread:    EventMessageEdited,
	EventMessageDeletedInThread:   EventMessageDeleted,
}

// Derives lists the user-scoped event type derived from typ, if any.
func Derives(typ string) (string, bool) {
	d, ok := userScoped[typ]
	return d, ok
}

// UserScoped derives the per-recipient ACS events of a thread-scoped chat
// event: one per member of its audience (message events skip the sender).
// Ids are derived from the source event's, so a re-run yields the same ids.
func UserScoped(e event.Event) []event.Event {
	typ, ok := userScoped[e.Type]
	if !ok || len(e.Audience) == 0 {
		return nil
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return nil
	}
	var sender string
	if raw, ok := data["senderCommunicationIdentifier"]; ok {
		var id identity.Identifier
		if json.Unmarshal(raw, &id) == nil {
			sender = id.RawID
		}
	}
	out := make([]event.Event, 0, len(e.Audience))
	for _, r := range e.Audience {
		if sender != "" && r == sender && strings.HasPrefix(e.Type, "Microsoft.Communication.ChatMessage") {
			continue
		}
		d := make(map[string]json.RawMessage, len(data)+3)
		for k, v := range data {
			d[k] = v
		}
		d["recipientCommunicationIdentifier"], _ = json.Marshal(identity.IdentifierFromRaw(r))
		// The plain-id members of the first event schema, which ACS still
		// sends and its samples show, ride along.
		d["recipientId"], _ = json.Marshal(r)
		if sender != "" {
			d["senderId"], _ = json.Marshal(sender)
		}
		addLegacyIDs(d)
		body, _ := json.Marshal(d)
		// As ACS: the thread event's subject, then the recipient.
		subject := e.Subject + "/recipient/" + r
		out = append(out, event.Event{
			ID: uuid.NewSHA1(derivedIDSpace, []byte(e.ID+"|"+r)).String(), Tenant: e.Tenant, Type: typ, Subject: subject,
			Time: e.Time, DataVersion: e.DataVersion, Data: body,
		})
	}
	return out
}

// addLegacyIDs adds createdBy/editedBy/deletedBy (plain rawIds) beside
// their identifier models, and members beside participants.
func addLegacyIDs(d map[string]json.RawMessage) {
	for _, k := range []string{"createdBy", "editedBy", "deletedBy"} {
		raw, ok := d[k+"CommunicationIdentifier"]
		if !ok {
			continue
		}
		var id identity.Identifier
		if json.Unmarshal(raw, &id) == nil {
			d[k], _ = json.Marshal(id.RawID)
		}
	}
	if raw, ok := d["participants"]; ok {
		var ps []participantEvent
		if json.Unmarshal(raw, &ps) == nil {
			type member struct {
				DisplayName string `json:"displayName"`
				MemberID    string `json:"memberId"`
			}
			ms := make([]member, 0, len(ps))
			for _, p := range ps {
				if p.ID != nil {
					ms = append(ms, member{DisplayName: p.DisplayName, MemberID: p.ID.RawID})
				}
			}
			d["members"], _ = json.Marshal(ms)
		}
	}
}

// wire renders a rawId as the ACS identifier model.
func wire(raw string) *identity.Identifier {
	if raw == "" {
		return nil
	}
	id := identity.IdentifierFromRaw(raw)
	return &id
}

// eventType is the capitalised message type ACS events carry ("Text").
func eventType(t string) string {
	if t == "" {
		return t
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

func transactionID() string { return strings.ReplaceAll(uuid.NewString(), "-", "") }

type participantEvent struct {
	DisplayName string               `json:"displayName"`
	Metadata    map[string]string    `json:"metadata"`
	ID          *identity.Identifier `json:"participantCommunicationIdentifier"`
}

func participantProps(p Participant) participantEvent {
	return participantEvent{DisplayName: p.DisplayName, Metadata: nonNil(p.Metadata), ID: wire(p.ID)}
}

// ClientParticipant is a participant in real-time payloads (the SDK's
// ChatParticipant).
type ClientParticipant struct {
	ID               *identity.Identifier `json:"id"`
	DisplayName      string               `json:"displayName,omitempty"`
	ShareHistoryTime string               `json:"shareHistoryTime,omitempty"`
	Metadata         map[string]string    `json:"metadata,omitempty"`
}

func clientParticipant(p Participant) ClientParticipant {
	cp := ClientParticipant{ID: wire(p.ID), DisplayName: p.DisplayName, Metadata: p.Metadata}
	if !p.ShareHistoryTime.IsZero() {
		cp.ShareHistoryTime = rfc3339(p.ShareHistoryTime)
	}
	return cp
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// newEvent builds an outbox event with its audience and client
// notification.
func newEvent(t tenant.ID, typ, subject string, data any, audience []string, name string, client any) (event.Event, error) {
	e, err := event.New(t, typ, subject, data)
	if err != nil {
		return e, err
	}
	e.Audience = audience
	if name == "" {
		return e, nil
	}
	return withNotify(e, name, client)
}

func withNotify(e event.Event, name string, client any) (event.Event, error) {
	raw, err := json.Marshal(client)
	if err != nil {
		return e, err
	}
	e.Notify = &event.Notification{Name: name, Data: raw}
	return e, nil
}

func messageEvents(m Message, audience []string, typ, name string, attachments []ClientAttachment) (event.Event, error) {
	data := map[string]any{
		"messageId":                     m.ID,
		"senderCommunicationIdentifier": wire(m.Sender),
		"senderDisplayName":             m.SenderDisplayName,
		"composeTime":                   rfc3339(m.CreatedAt),
		"type":                          eventType(m.Type),
		"version":                       m.Version,
		"threadId":                      string(m.Thread),
		"transactionId":                 transactionID(),
	}
	client := map[string]any{
		"threadId":          string(m.Thread),
		"id":                m.ID,
		"type":              m.Type,
		"version":           itoa(m.Version),
		"sequenceId":        itoa(m.Seq),
		"sender":            wire(m.Sender),
		"senderDisplayName": m.SenderDisplayName,
		"createdOn":         rfc3339(m.CreatedAt),
	}
	if typ != EventMessageDeletedInThread {
		data["messageBody"] = m.Content.Message
		data["metadata"] = nonNil(m.Metadata)
		client["message"] = m.Content.Message
		client["metadata"] = nonNil(m.Metadata)
		client["attachments"] = attachments
	}
	if m.EditedAt != nil && typ == EventMessageEditedInThread {
		data["editTime"] = rfc3339(*m.EditedAt)
		client["editedOn"] = rfc3339(*m.EditedAt)
	}
	if m.DeletedAt != nil {
		data["deleteTime"] = rfc3339(*m.DeletedAt)
		client["deletedOn"] = rfc3339(*m.DeletedAt)
	}
	return newEvent(m.Tenant, typ, "thread/"+string(m.Thread)+"/sender/"+m.Sender, data, audience, name, client)
}

// ClientAttachment is an attachment as clients see it, with its link.
type ClientAttachment struct {
	ID          string `json:"id"`
	Kind        string `json:"attachmentType"`
	Name        string `json:"name,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Size        int64  `json:"size,omitempty"`
	URL         string `json:"url,omitempty"`
	PreviewURL  string `json:"previewUrl,omitempty"`
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
