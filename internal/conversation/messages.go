package conversation

import (
	"context"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// htmlPolicy keeps the formatting people send in chat and drops anything
// that could script the widget or the agent desktop: scripts, event
// handlers, styles, forms, frames and non-http(s)/mailto links.
var htmlPolicy = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("b", "i", "em", "strong", "u", "s", "p", "br", "ul", "ol", "li", "code", "pre", "blockquote", "span", "div")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}()

// SanitizeHTML makes message html safe to render.
func SanitizeHTML(s string) string { return htmlPolicy.Sanitize(s) }

// SendMessageInput is a message a participant sends.
type SendMessageInput struct {
	Content           string
	Type              string
	SenderDisplayName string
	Metadata          map[string]string
	Attachments       []string // ids of files uploaded to this thread
}

func validMessageBody(content string) error {
	if len(content) > MaxMessageBytes {
		return errs.New(errs.KindTooLarge, "MessageTooLarge", "message content must be at most %d bytes", MaxMessageBytes).WithTarget("content")
	}
	if !utf8.ValidString(content) {
		return errs.Invalid("InvalidContent", "message content must be UTF-8").WithTarget("content")
	}
	return nil
}

// SendMessage posts a text or html message.
func (s *Service) SendMessage(ctx context.Context, caller string, id ThreadID, in SendMessageInput) (Message, error) {
	t := tenant.MustFrom(ctx)
	switch in.Type {
	case "", TypeText:
		in.Type = TypeText
	case TypeHTML:
	default:
		return Message{}, errs.Invalid("InvalidMessageType", "type must be text or html").WithTarget("type")
	}
	if err := validMessageBody(in.Content); err != nil {
		return Message{}, err
	}
	if in.Content == "" && len(in.Attachments) == 0 {
		return Message{}, errs.Invalid("InvalidContent", "content is required").WithTarget("content")
	}
	if utf8.RuneCountInString(in.SenderDisplayName) > MaxDisplayName {
		return Message{}, errs.Invalid("InvalidDisplayName", "senderDisplayName must be at most %d characters", MaxDisplayName).WithTarget("senderDisplayName")
	}
	if err := validMetadata(in.Metadata, "metadata"); err != nil {
		return Message{}, err
	}
	if len(in.Attachments) > MaxAttachmentsInMsg {
		return Message{}, errs.Invalid("TooManyAttachments", "a message has at most %d attachments", MaxAttachmentsInMsg).WithTarget("attachments")
	}
	if in.Type == TypeHTML {
		in.Content = SanitizeHTML(in.Content)
	}
	// Membership is checked on the read pool first, for a precise error
	// without holding the single writer; the write then re-checks it in the
	// statement that takes the sequence number, so a participant removed in
	// between cannot slip a message in.
	if _, _, err := s.member(ctx, caller, id); err != nil {
		return Message{}, err
	}
	var m Message
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		atts, files, err := s.attachments(ctx, id, in.Attachments)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		seq, msgID, err := s.store.NextMessage(ctx, t, id, caller, now)
		if errs.KindOf(err) == errs.KindNotFound {
			return errNotParticipant()
		}
		if err != nil {
			return err
		}
		m = Message{Tenant: t, Thread: id, ID: itoa(msgID), Seq: seq, Type: in.Type, Sender: caller,
			SenderDisplayName: in.SenderDisplayName, Content: Content{Message: in.Content, Attachments: atts},
			Metadata: in.Metadata, CreatedAt: now, Version: msgID}
		if err := s.store.InsertMessage(ctx, m); err != nil {
			return err
		}
		audience, err := s.store.ParticipantIDs(ctx, t, id)
		if err != nil {
			return err
		}
		ev, err := messageEvents(m, audience, EventMessageReceivedInThread, ClientMessageReceived, s.clientAttachments(files))
		if err != nil {
			return err
		}
		return s.outbox.Append(ctx, ev)
	})
	return m, err
}

// attachments resolves uploaded file ids; each must belong to the thread.
func (s *Service) attachments(ctx context.Context, id ThreadID, fileIDs []string) ([]Attachment, []File, error) {
	if len(fileIDs) == 0 {
		return nil, nil, nil
	}
	files, err := s.store.Files(ctx, tenant.MustFrom(ctx), fileIDs)
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]File{}
	for _, f := range files {
		if f.Thread == id {
			byID[f.ID] = f
		}
	}
	out := make([]Attachment, 0, len(fileIDs))
	ordered := make([]File, 0, len(fileIDs))
	for _, fid := range fileIDs {
		f, ok := byID[fid]
		if !ok {
			return nil, nil, errs.Invalid("InvalidAttachment", "attachment %s was not uploaded to this thread", fid).WithTarget("attachments")
		}
		out = append(out, Attachment{ID: f.ID, Kind: AttachmentKind(f.ContentType), Name: f.Name, ContentType: f.ContentType, Size: f.Size})
		ordered = append(ordered, f)
	}
	return out, ordered, nil
}

// AttachmentKind is "image" for images ACS clients show inline, else "file".
func AttachmentKind(contentType string) string {
	switch contentType {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return "image"
	}
	return "file"
}

func (s *Service) clientAttachments(files []File) []ClientAttachment {
	out := make([]ClientAttachment, 0, len(files))
	for _, f := range files {
		out = append(out, s.ClientAttachment(f))
	}
	return out
}

// ClientAttachment renders a file with a fresh signed link.
func (s *Service) ClientAttachment(f File) ClientAttachment {
	a := ClientAttachment{ID: f.ID, Kind: AttachmentKind(f.ContentType), Name: f.Name, ContentType: f.ContentType, Size: f.Size}
	if s.links != nil {
		a.URL = s.links.FileURL(f)
		if a.Kind == "image" {
			a.PreviewURL = a.URL
		}
	}
	return a
}

// AttachmentLinks renders a message's attachments with fresh links.
func (s *Service) AttachmentLinks(m Message) []ClientAttachment {
	out := make([]ClientAttachment, 0, len(m.Content.Attachments))
	for _, a := range m.Content.Attachments {
		out = append(out, s.ClientAttachment(File{Tenant: m.Tenant, ID: a.ID, Thread: m.Thread, Name: a.Name, ContentType: a.ContentType, Size: a.Size}))
	}
	return out
}

func visible(p Participant, m Message) bool {
	return p.ShareHistoryTime.IsZero() || !m.CreatedAt.Before(p.ShareHistoryTime)
}

// GetMessage returns one message the caller may see.
func (s *Service) GetMessage(ctx context.Context, caller string, id ThreadID, msgID string) (Message, error) {
	_, p, err := s.member(ctx, caller, id)
	if err != nil {
		return Message{}, err
	}
	m, err := s.store.Message(ctx, tenant.MustFrom(ctx), id, msgID)
	if err != nil {
		return Message{}, err
	}
	if !visible(p, m) {
		return Message{}, errs.NotFound("message %s not found", msgID)
	}
	return m, nil
}

// ListMessages pages through the messages the caller may see, newest
// first.
func (s *Service) ListMessages(ctx context.Context, caller string, id ThreadID, q MessageQuery) ([]Message, error) {
	_, p, err := s.member(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	q.VisibleFrom = p.ShareHistoryTime
	return s.store.Messages(ctx, tenant.MustFrom(ctx), id, q)
}

// MessagePatch edits a message; nil fields stay.
type MessagePatch struct {
	Content  *string
	Metadata map[string]string
	SetMeta  bool
}

// own loads a live message the caller sent.
func (s *Service) own(ctx context.Context, caller string, id ThreadID, msgID string) (Message, error) {
	if _, _, err := s.member(ctx, caller, id); err != nil {
		return Message{}, err
	}
	m, err := s.store.Message(ctx, tenant.MustFrom(ctx), id, msgID)
	if err != nil {
		return m, err
	}
	if m.DeletedAt != nil {
		return m, errs.NotFound("message %s not found", msgID)
	}
	if m.Sender != caller {
		return m, errs.New(errs.KindForbidden, "Forbidden", "only the sender can change a message")
	}
	return m, nil
}

// UpdateMessage edits the caller's own message.
func (s *Service) UpdateMessage(ctx context.Context, caller string, id ThreadID, msgID string, p MessagePatch) error {
	if p.Content != nil {
		if err := validMessageBody(*p.Content); err != nil {
			return err
		}
	}
	if err := validMetadata(p.Metadata, "metadata"); err != nil {
		return err
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		m, err := s.own(ctx, caller, id, msgID)
		if err != nil {
			return err
		}
		if p.Content != nil {
			m.Content.Message = *p.Content
			if m.Type == TypeHTML {
				m.Content.Message = SanitizeHTML(m.Content.Message)
			}
		}
		if p.SetMeta {
			m.Metadata = p.Metadata
		}
		now := s.now().UTC()
		m.EditedAt = &now
		m.Version = max(now.UnixMilli(), m.Version+1)
		if err := s.store.UpdateMessage(ctx, m); err != nil {
			return err
		}
		return s.messageEvent(ctx, m, EventMessageEditedInThread, ClientMessageEdited)
	})
}

// DeleteMessage soft-deletes the caller's own message: it stays listed
// with deletedOn and without content.
func (s *Service) DeleteMessage(ctx context.Context, caller string, id ThreadID, msgID string) error {
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		m, err := s.own(ctx, caller, id, msgID)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		m.DeletedAt = &now
		m.Content = Content{}
		m.Metadata = nil
		m.Version = max(now.UnixMilli(), m.Version+1)
		if err := s.store.UpdateMessage(ctx, m); err != nil {
			return err
		}
		return s.messageEvent(ctx, m, EventMessageDeletedInThread, ClientMessageDeleted)
	})
}

func (s *Service) messageEvent(ctx context.Context, m Message, typ, name string) error {
	audience, err := s.store.ParticipantIDs(ctx, m.Tenant, m.Thread)
	if err != nil {
		return err
	}
	ev, err := messageEvents(m, audience, typ, name, s.AttachmentLinks(m))
	if err != nil {
		return err
	}
	return s.outbox.Append(ctx, ev)
}

// SendReadReceipt records that the caller has read up to msgID.
func (s *Service) SendReadReceipt(ctx context.Context, caller string, id ThreadID, msgID string) error {
	t := tenant.MustFrom(ctx)
	if msgID == "" {
		return errs.Invalid("InvalidChatMessageId", "chatMessageId is required").WithTarget("chatMessageId")
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		_, p, err := s.member(ctx, caller, id)
		if err != nil {
			return err
		}
		m, err := s.store.Message(ctx, t, id, msgID)
		if err != nil || !visible(p, m) {
			if err == nil || errs.KindOf(err) == errs.KindNotFound {
				return errs.NotFound("message %s not found", msgID).WithTarget("chatMessageId")
			}
			return err
		}
		now := s.now().UTC()
		if err := s.store.SetReadReceipt(ctx, t, id, ReadReceipt{Sender: caller, MessageID: msgID, ReadAt: now}); err != nil {
			return err
		}
		audience, err := s.store.ParticipantIDs(ctx, t, id)
		if err != nil {
			return err
		}
		ev, err := newEvent(t, EventReadReceiptReceived, "thread/"+string(id)+"/sender/"+caller, map[string]any{
			"threadId": string(id), "senderCommunicationIdentifier": wire(caller), "chatMessageId": msgID, "readOn": rfc3339(now),
		}, audience, ClientReadReceipt, map[string]any{
			"threadId": string(id), "sender": wire(caller), "senderDisplayName": p.DisplayName, "chatMessageId": msgID, "readOn": rfc3339(now),
		})
		if err != nil {
			return err
		}
		ev.Notify.SkipSender, ev.Notify.SmallThreadsOnly = caller, true
		return s.outbox.Append(ctx, ev)
	})
}

// ListReadReceipts pages through a thread's read receipts.
func (s *Service) ListReadReceipts(ctx context.Context, caller string, id ThreadID, skip, limit int) ([]ReadReceipt, error) {
	if _, _, err := s.member(ctx, caller, id); err != nil {
		return nil, err
	}
	return s.store.ReadReceipts(ctx, tenant.MustFrom(ctx), id, skip, limit)
}

// SendTyping tells the other participants that the caller is typing. It is
// ephemeral: nothing is stored, and it is not replayed on resume.
func (s *Service) SendTyping(ctx context.Context, caller string, id ThreadID, displayName string) error {
	t := tenant.MustFrom(ctx)
	if utf8.RuneCountInString(displayName) > MaxDisplayName {
		return errs.Invalid("InvalidDisplayName", "senderDisplayName must be at most %d characters", MaxDisplayName).WithTarget("senderDisplayName")
	}
	_, p, err := s.member(ctx, caller, id)
	if err != nil {
		return err
	}
	if displayName == "" {
		displayName = p.DisplayName
	}
	audience, err := s.store.ParticipantIDs(ctx, t, id)
	if err != nil {
		return err
	}
	if len(audience) > SmallThreadMax || s.ephemeral == nil {
		return nil
	}
	now := s.now().UTC()
	ev, err := newEvent(t, EventTypingInThread, "thread/"+string(id)+"/sender/"+caller, map[string]any{
		"threadId": string(id), "senderCommunicationIdentifier": wire(caller), "senderDisplayName": displayName, "receivedOn": rfc3339(now),
	}, audience, ClientTypingIndicator, map[string]any{
		"threadId": string(id), "sender": wire(caller), "senderDisplayName": displayName,
		"version": itoa(now.UnixMilli()), "receivedOn": rfc3339(now),
	})
	if err != nil {
		return err
	}
	ev.Notify.SkipSender = caller
	return s.ephemeral.PublishEphemeral(ctx, ev)
}
