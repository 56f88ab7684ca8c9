package api

import (
	"net/http"
	"strconv"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
)

type messageContentJSON struct {
	Message                          string                          `json:"message,omitempty"`
	Topic                            string                          `json:"topic,omitempty"`
	Participants                     []chatParticipantJSON           `json:"participants,omitempty"`
	InitiatorCommunicationIdentifier *identity.Identifier            `json:"initiatorCommunicationIdentifier,omitempty"`
	Attachments                      []conversation.ClientAttachment `json:"attachments,omitempty"`
}

type messageJSON struct {
	ID                            string               `json:"id"`
	Type                          string               `json:"type"`
	SequenceID                    string               `json:"sequenceId"`
	Version                       string               `json:"version"`
	Content                       *messageContentJSON  `json:"content,omitempty"`
	SenderDisplayName             string               `json:"senderDisplayName,omitempty"`
	CreatedOn                     string               `json:"createdOn"`
	SenderCommunicationIdentifier *identity.Identifier `json:"senderCommunicationIdentifier,omitempty"`
	DeletedOn                     string               `json:"deletedOn,omitempty"`
	EditedOn                      string               `json:"editedOn,omitempty"`
	Metadata                      map[string]string    `json:"metadata,omitempty"`
}

// renderMessage is a message as the REST API shows it; attachment links
// are made absolute for the host the client called.
func (s *Server) renderMessage(r *http.Request, m conversation.Message) messageJSON {
	out := messageJSON{ID: m.ID, Type: m.Type, SequenceID: strconv.FormatInt(m.Seq, 10), Version: strconv.FormatInt(m.Version, 10),
		SenderDisplayName: m.SenderDisplayName, CreatedOn: rfc(m.CreatedAt), Metadata: m.Metadata}
	if m.Sender != "" {
		id := identity.IdentifierFromRaw(m.Sender)
		out.SenderCommunicationIdentifier = &id
	}
	if m.DeletedAt != nil {
		out.DeletedOn = rfc(*m.DeletedAt)
		return out
	}
	if m.EditedAt != nil {
		out.EditedOn = rfc(*m.EditedAt)
	}
	c := &messageContentJSON{Message: m.Content.Message, Topic: m.Content.Topic}
	for _, p := range m.Content.Participants {
		c.Participants = append(c.Participants, participantJSON(p))
	}
	if m.Content.Initiator != "" {
		id := identity.IdentifierFromRaw(m.Content.Initiator)
		c.InitiatorCommunicationIdentifier = &id
	}
	if len(m.Content.Attachments) > 0 {
		c.Attachments = s.deps.Chat.AttachmentLinks(m)
		for i := range c.Attachments {
			c.Attachments[i].URL, c.Attachments[i].PreviewURL = absolute(r, c.Attachments[i].URL), absolute(r, c.Attachments[i].PreviewURL)
		}
	}
	out.Content = c
	return out
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	var req struct {
		Content           string            `json:"content"`
		SenderDisplayName string            `json:"senderDisplayName"`
		Type              string            `json:"type"`
		Metadata          map[string]string `json:"metadata"`
		Attachments       []struct {
			ID string `json:"id"`
		} `json:"attachments"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	in := conversation.SendMessageInput{Content: req.Content, Type: req.Type, SenderDisplayName: req.SenderDisplayName, Metadata: req.Metadata}
	for _, a := range req.Attachments {
		in.Attachments = append(in.Attachments, a.ID)
	}
	m, err := s.deps.Chat.SendMessage(r.Context(), caller, threadID(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+m.ID)
	writeJSON(w, http.StatusCreated, map[string]string{"id": m.ID})
	return nil
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	since, err := startTime(r)
	if err != nil {
		return err
	}
	q := conversation.MessageQuery{Since: since, Limit: p.Limit + 1}
	if p.After != "" {
		if _, err := strconv.ParseUint(p.After, 10, 64); err != nil {
			return errs.Invalid("InvalidContinuationToken", "the continuation token is malformed").WithTarget("continuationToken")
		}
		q.BeforeID = p.After
	}
	ms, err := s.deps.Chat.ListMessages(r.Context(), caller, threadID(r), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(r, p, ms, func(m conversation.Message) string { return m.ID }, func(m conversation.Message) messageJSON {
		return s.renderMessage(r, m)
	}))
	return nil
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	m, err := s.deps.Chat.GetMessage(r.Context(), caller, threadID(r), r.PathValue("message"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.renderMessage(r, m))
	return nil
}

func (s *Server) updateMessage(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	patch, err := mergePatch(r)
	if err != nil {
		return err
	}
	var p conversation.MessagePatch
	var content string
	if ok, err := patchField(patch, "content", &content); err != nil {
		return err
	} else if ok {
		p.Content = &content
	}
	if _, ok := patch["metadata"]; ok {
		p.SetMeta = true
		if _, err := patchField(patch, "metadata", &p.Metadata); err != nil {
			return err
		}
	}
	if err := s.deps.Chat.UpdateMessage(r.Context(), caller, threadID(r), r.PathValue("message"), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	if err := s.deps.Chat.DeleteMessage(r.Context(), caller, threadID(r), r.PathValue("message")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) sendReadReceipt(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	var req struct {
		ChatMessageID string `json:"chatMessageId"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if err := s.deps.Chat.SendReadReceipt(r.Context(), caller, threadID(r), req.ChatMessageID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) listReadReceipts(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	p, skip, err := skipPage(r)
	if err != nil {
		return err
	}
	rs, err := s.deps.Chat.ListReadReceipts(r.Context(), caller, threadID(r), skip, p.Limit+1)
	if err != nil {
		return err
	}
	type receiptJSON struct {
		SenderCommunicationIdentifier identity.Identifier `json:"senderCommunicationIdentifier"`
		ChatMessageID                 string              `json:"chatMessageId"`
		ReadOn                        string              `json:"readOn"`
	}
	writeJSON(w, http.StatusOK, skipPageOf(r, p, skip, rs, func(rr conversation.ReadReceipt) receiptJSON {
		return receiptJSON{SenderCommunicationIdentifier: identity.IdentifierFromRaw(rr.Sender), ChatMessageID: rr.MessageID, ReadOn: rfc(rr.ReadAt)}
	}))
	return nil
}

func (s *Server) sendTyping(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	var req struct {
		SenderDisplayName string `json:"senderDisplayName"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		return err
	}
	if err := s.deps.Chat.SendTyping(r.Context(), caller, threadID(r), req.SenderDisplayName); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
