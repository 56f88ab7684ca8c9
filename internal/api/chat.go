package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
)

// chatVersions are the Chat API versions the SDKs in use send.
var chatVersions = []string{
	"2020-09-21-preview2", "2020-11-01-preview3", "2021-03-07", "2021-04-05-preview6", "2021-09-07",
	"2023-04-01-preview", "2023-11-07", "2024-03-07", "2024-09-01", "2025-03-15",
}

func (s *Server) registerChat() {
	chat := func(method, path string, h func(w http.ResponseWriter, r *http.Request) error) route {
		return route{method: method, path: path, auth: authUser, versions: chatVersions, h: h}
	}
	create := chat("POST", "/chat/threads", s.createThread)
	create.idempotent = true
	s.handle(create)
	s.handle(chat("GET", "/chat/threads", s.listThreads))
	s.handle(chat("GET", "/chat/threads/{thread}", s.getThread))
	s.handle(chat("PATCH", "/chat/threads/{thread}", s.updateThread))
	s.handle(chat("DELETE", "/chat/threads/{thread}", s.deleteThread))
	s.handle(chat("POST", "/chat/threads/{thread}/messages", s.sendMessage))
	s.handle(chat("GET", "/chat/threads/{thread}/messages", s.listMessages))
	s.handle(chat("GET", "/chat/threads/{thread}/messages/{message}", s.getMessage))
	s.handle(chat("PATCH", "/chat/threads/{thread}/messages/{message}", s.updateMessage))
	s.handle(chat("DELETE", "/chat/threads/{thread}/messages/{message}", s.deleteMessage))
	s.handle(chat("GET", "/chat/threads/{thread}/participants", s.listParticipants))
	s.handle(chat("POST", "/chat/threads/{thread}/participants/:add", s.addParticipants))
	s.handle(chat("POST", "/chat/threads/{thread}/participants/:remove", s.removeParticipant))
	s.handle(chat("POST", "/chat/threads/{thread}/readReceipts", s.sendReadReceipt))
	s.handle(chat("GET", "/chat/threads/{thread}/readReceipts", s.listReadReceipts))
	s.handle(chat("POST", "/chat/threads/{thread}/typing", s.sendTyping))
}

// chatCaller is the caller's identity, if its token may do what level
// needs: chat.join cannot create, change or delete threads, and
// chat.join.limited cannot add or remove participants either.
func chatCaller(r *http.Request, level int) (string, error) {
	c := principalFrom(r.Context()).User
	switch {
	case c.Has(identity.ScopeChat):
	case c.Has(identity.ScopeChatJoin) && level <= levelParticipants:
	case c.Has(identity.ScopeChatJoinLimited) && level <= levelRead:
	default:
		return "", errs.New(errs.KindForbidden, "Forbidden", "the access token's scopes do not allow this chat operation")
	}
	return string(c.User), nil
}

const (
	levelRead = iota
	levelParticipants
	levelThreads
)

func threadID(r *http.Request) conversation.ThreadID {
	return conversation.ThreadID(r.PathValue("thread"))
}

type chatParticipantJSON struct {
	CommunicationIdentifier identity.Identifier `json:"communicationIdentifier"`
	DisplayName             string              `json:"displayName,omitempty"`
	ShareHistoryTime        *time.Time          `json:"shareHistoryTime,omitempty"`
	Metadata                map[string]string   `json:"metadata,omitempty"`
}

func participantInputs(in []chatParticipantJSON) ([]conversation.ParticipantInput, error) {
	out := make([]conversation.ParticipantInput, 0, len(in))
	for i, p := range in {
		raw, err := p.CommunicationIdentifier.Raw()
		if err != nil {
			return nil, errs.Invalid("InvalidParticipant", "participants[%d]: %s", i, errs.As(err).Message).WithTarget("participants")
		}
		out = append(out, conversation.ParticipantInput{ID: raw, DisplayName: p.DisplayName, ShareHistoryTime: p.ShareHistoryTime, Metadata: p.Metadata})
	}
	return out, nil
}

func participantJSON(p conversation.Participant) chatParticipantJSON {
	out := chatParticipantJSON{CommunicationIdentifier: identity.IdentifierFromRaw(p.ID), DisplayName: p.DisplayName, Metadata: p.Metadata}
	share := p.ShareHistoryTime
	if share.IsZero() {
		share = time.Unix(0, 0)
	}
	share = share.UTC()
	out.ShareHistoryTime = &share
	return out
}

type threadJSON struct {
	ID                               string                        `json:"id"`
	Topic                            string                        `json:"topic"`
	CreatedOn                        string                        `json:"createdOn"`
	CreatedByCommunicationIdentifier identity.Identifier           `json:"createdByCommunicationIdentifier"`
	DeletedOn                        string                        `json:"deletedOn,omitempty"`
	Metadata                         map[string]string             `json:"metadata,omitempty"`
	RetentionPolicy                  *conversation.RetentionPolicy `json:"retentionPolicy,omitempty"`
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func renderThread(th conversation.Thread) threadJSON {
	out := threadJSON{ID: string(th.ID), Topic: th.Topic, CreatedOn: rfc(th.CreatedAt),
		CreatedByCommunicationIdentifier: identity.IdentifierFromRaw(th.CreatedBy), Metadata: th.Metadata, RetentionPolicy: th.Retention}
	if th.DeletedAt != nil {
		out.DeletedOn = rfc(*th.DeletedAt)
	}
	return out
}

type chatErrorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

func invalidJSON(bad []conversation.InvalidParticipant) []chatErrorJSON {
	if len(bad) == 0 {
		return nil
	}
	out := make([]chatErrorJSON, len(bad))
	for i, b := range bad {
		out[i] = chatErrorJSON{Code: b.Code, Message: b.Error, Target: b.ID}
	}
	return out
}

func (s *Server) createThread(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelThreads)
	if err != nil {
		return err
	}
	var req struct {
		Topic           string                        `json:"topic"`
		Participants    []chatParticipantJSON         `json:"participants"`
		Metadata        map[string]string             `json:"metadata"`
		RetentionPolicy *conversation.RetentionPolicy `json:"retentionPolicy"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	ps, err := participantInputs(req.Participants)
	if err != nil {
		return err
	}
	th, bad, err := s.deps.Chat.CreateThread(r.Context(), caller, conversation.CreateThreadInput{
		Topic: req.Topic, Participants: ps, Metadata: req.Metadata, Retention: req.RetentionPolicy})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		ChatThread          threadJSON      `json:"chatThread"`
		InvalidParticipants []chatErrorJSON `json:"invalidParticipants,omitempty"`
	}{renderThread(th), invalidJSON(bad)})
	return nil
}

// startTime reads the startTime query parameter (RFC 3339), if any.
func startTime(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("startTime")
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, errs.Invalid("InvalidStartTime", "startTime must be an RFC 3339 date-time").WithTarget("startTime")
	}
	return t, nil
}

func (s *Server) listThreads(w http.ResponseWriter, r *http.Request) error {
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
	items, err := s.deps.Chat.ListThreads(r.Context(), caller, since, p.After, p.Limit+1)
	if err != nil {
		return err
	}
	type itemJSON struct {
		ID                    string `json:"id"`
		Topic                 string `json:"topic"`
		DeletedOn             string `json:"deletedOn,omitempty"`
		LastMessageReceivedOn string `json:"lastMessageReceivedOn,omitempty"`
	}
	writeJSON(w, http.StatusOK, pageOf(r, p, items, func(it conversation.ThreadItem) string {
		act := it.CreatedAt
		if it.LastMessageAt != nil {
			act = *it.LastMessageAt
		}
		return strconv.FormatInt(act.UnixMicro(), 10) + ":" + string(it.ID)
	}, func(it conversation.ThreadItem) itemJSON {
		out := itemJSON{ID: string(it.ID), Topic: it.Topic}
		if it.DeletedAt != nil {
			out.DeletedOn = rfc(*it.DeletedAt)
		}
		if it.LastMessageAt != nil {
			out.LastMessageReceivedOn = rfc(*it.LastMessageAt)
		}
		return out
	}))
	return nil
}

func (s *Server) getThread(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	th, err := s.deps.Chat.GetThread(r.Context(), caller, threadID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderThread(th))
	return nil
}

func (s *Server) updateThread(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelThreads)
	if err != nil {
		return err
	}
	patch, err := mergePatch(r)
	if err != nil {
		return err
	}
	var p conversation.ThreadPatch
	var topic string
	if ok, err := patchField(patch, "topic", &topic); err != nil {
		return err
	} else if ok {
		p.Topic = &topic
	}
	if _, ok := patch["metadata"]; ok {
		p.SetMeta = true
		if _, err := patchField(patch, "metadata", &p.Metadata); err != nil {
			return err
		}
	}
	if _, ok := patch["retentionPolicy"]; ok {
		p.SetRetain = true
		if _, err := patchField(patch, "retentionPolicy", &p.Retention); err != nil {
			return err
		}
	}
	if err := s.deps.Chat.UpdateThread(r.Context(), caller, threadID(r), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteThread(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelThreads)
	if err != nil {
		return err
	}
	if err := s.deps.Chat.DeleteThread(r.Context(), caller, threadID(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listParticipants(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	p, skip, err := skipPage(r)
	if err != nil {
		return err
	}
	ps, err := s.deps.Chat.ListParticipants(r.Context(), caller, threadID(r), skip, p.Limit+1)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, skipPageOf(r, p, skip, ps, participantJSON))
	return nil
}

// skipPage reads ACS's skip paging (participants, read receipts) or our
// continuation token, which carries the offset.
func skipPage(r *http.Request) (page, int, error) {
	p, err := pageParams(r)
	if err != nil {
		return p, 0, err
	}
	v := p.After
	if v == "" {
		v = r.URL.Query().Get("skip")
	}
	if v == "" {
		return p, 0, nil
	}
	skip, err := strconv.Atoi(v)
	if err != nil || skip < 0 {
		return p, 0, errs.Invalid("InvalidSkip", "skip must be a non-negative integer").WithTarget("skip")
	}
	return p, skip, nil
}

func skipPageOf[T any, I any](r *http.Request, p page, skip int, items []I, render func(I) T) list[T] {
	next := strconv.Itoa(skip + p.Limit)
	return pageOf(r, p, items, func(I) string { return next }, render)
}

func (s *Server) addParticipants(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelParticipants)
	if err != nil {
		return err
	}
	var req struct {
		Participants []chatParticipantJSON `json:"participants"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	ps, err := participantInputs(req.Participants)
	if err != nil {
		return err
	}
	bad, err := s.deps.Chat.AddParticipants(r.Context(), caller, threadID(r), ps)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		InvalidParticipants []chatErrorJSON `json:"invalidParticipants,omitempty"`
	}{invalidJSON(bad)})
	return nil
}

func (s *Server) removeParticipant(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelParticipants)
	if err != nil {
		return err
	}
	var id identity.Identifier
	if err := decodeJSON(r, &id, false); err != nil {
		return err
	}
	raw, err := id.Raw()
	if err != nil {
		return err
	}
	if err := s.deps.Chat.RemoveParticipant(r.Context(), caller, threadID(r), raw); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
