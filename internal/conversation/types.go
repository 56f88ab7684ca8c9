// Package conversation is chat with ACS Chat semantics: threads,
// participants, messages, read receipts and typing notifications, and the
// events each change causes (for webhooks and real-time clients). It knows
// nothing of HTTP, SQL or sockets.
package conversation

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// ThreadID is an ACS chat thread id: "19:<hex>@thread.v2".
type ThreadID string

// NewThreadID returns a fresh thread id.
func NewThreadID() ThreadID {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return ThreadID("19:" + hex.EncodeToString(b) + "@thread.v2")
}

// Limits ACS documents for chat; a request over one fails with 400.
const (
	MaxParticipants     = 250
	MaxMessageBytes     = 28 * 1024
	MaxTopicLength      = 256
	MaxMetadataBytes    = 1024
	MaxDisplayName      = 256
	SmallThreadMax      = 20 // typing and receipts are delivered only up to this size
	MaxAttachmentsInMsg = 10
)

// Message types.
const (
	TypeText               = "text"
	TypeHTML               = "html"
	TypeTopicUpdated       = "topicUpdated"
	TypeParticipantAdded   = "participantAdded"
	TypeParticipantRemoved = "participantRemoved"
)

// RetentionPolicy is an ACS thread retention policy.
type RetentionPolicy struct {
	Kind                  string `json:"kind"`
	DeleteThreadAfterDays int    `json:"deleteThreadAfterDays,omitempty"`
}

// Thread is a chat thread's properties.
type Thread struct {
	Tenant        tenant.ID
	ID            ThreadID
	Topic         string
	CreatedBy     string // rawId
	CreatedAt     time.Time
	DeletedAt     *time.Time
	Metadata      map[string]string
	Retention     *RetentionPolicy
	LastMessageAt *time.Time
	Version       int64 // milliseconds; changes with every property change
}

// ThreadItem is a thread in a participant's list.
type ThreadItem struct {
	ID            ThreadID
	Topic         string
	DeletedAt     *time.Time
	LastMessageAt *time.Time
	CreatedAt     time.Time
}

// Participant is a member of a thread.
type Participant struct {
	ID               string            `json:"id"` // rawId
	DisplayName      string            `json:"displayName,omitempty"`
	ShareHistoryTime time.Time         `json:"shareHistoryTime"` // history visible from here; zero = all
	Metadata         map[string]string `json:"metadata,omitempty"`
	AddedAt          time.Time         `json:"addedAt"`
}

// Attachment is a file or image attached to a message.
type Attachment struct {
	ID          string `json:"id"`
	Kind        string `json:"attachmentType"` // "image" | "file"
	Name        string `json:"name,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Size        int64  `json:"size,omitempty"`
}

// Content is a message's content: text for text/html messages, the topic
// or participants for system messages.
type Content struct {
	Message      string        `json:"message,omitempty"`
	Topic        string        `json:"topic,omitempty"`
	Participants []Participant `json:"participants,omitempty"`
	Initiator    string        `json:"initiator,omitempty"`
	Attachments  []Attachment  `json:"attachments,omitempty"`
}

// Message is a chat message.
type Message struct {
	Tenant            tenant.ID
	Thread            ThreadID
	ID                string // millisecond timestamp, unique in the thread
	Seq               int64  // sequenceId
	Type              string
	Sender            string // rawId; empty for system messages
	SenderDisplayName string
	Content           Content
	Metadata          map[string]string
	CreatedAt         time.Time
	EditedAt          *time.Time
	DeletedAt         *time.Time
	Version           int64
}

// ReadReceipt says a participant has read up to a message.
type ReadReceipt struct {
	Sender    string
	MessageID string
	ReadAt    time.Time
}

// File is an uploaded attachment's record; the bytes live in a BlobStore.
type File struct {
	Tenant      tenant.ID
	ID          string
	Thread      ThreadID
	Uploader    string
	Name        string
	ContentType string
	Size        int64
	CreatedAt   time.Time
}
