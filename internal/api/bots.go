package api

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-cc/switchboard/internal/bot"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/engagement"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Bot connections, their flows, and the API a webhook bot answers through.

type botJSON struct {
	engagement.Bot
	// Secret is shown to admins: the bot checks signatures with it and
	// answers through the API with it.
	Secret string `json:"secret,omitempty"`
	ETag   string `json:"etag"`
}

func (s *Server) renderBot(b engagement.Bot, withSecret bool) botJSON {
	out := botJSON{Bot: b, ETag: etag(b.Version)}
	if withSecret {
		out.Secret = fmt.Sprintf("%x", b.Secret)
	}
	return out
}

func (s *Server) listBots(w http.ResponseWriter, r *http.Request) error {
	bots, err := s.deps.Engagements.Bots(r.Context())
	if err != nil {
		return err
	}
	out := make([]botJSON, 0, len(bots))
	for _, b := range bots {
		out = append(out, s.renderBot(b, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

func (s *Server) getBot(w http.ResponseWriter, r *http.Request) error {
	b, err := s.deps.Engagements.GetBot(r.Context(), engagement.BotID(r.PathValue("bot")))
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	writeJSON(w, http.StatusOK, s.renderBot(b, p.Key || (p.Person != nil && p.Person.Role.AtLeast(identity.RoleAdmin))))
	return nil
}

func (s *Server) putBot(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name     *string             `json:"name"`
		Kind     engagement.BotKind  `json:"kind"`
		Channels []string            `json:"channels"`
		Enabled  *bool               `json:"enabled"`
		Locale   *string             `json:"locale"`
		Queue    *string             `json:"handoffQueueId"`
		Webhook  *engagement.Webhook `json:"webhook"`
		Lookup   *engagement.Webhook `json:"lookup"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	in := engagement.BotInput{Name: req.Name, Kind: req.Kind, Channels: req.Channels, Enabled: req.Enabled, Locale: req.Locale, Queue: req.Queue}
	if req.Webhook != nil {
		in.Webhook = &req.Webhook
	}
	if req.Lookup != nil {
		in.Lookup = &req.Lookup
	}
	want, err := ifMatch(r)
	if err != nil {
		return err
	}
	b, created, err := s.deps.Engagements.PutBot(r.Context(), engagement.BotID(r.PathValue("bot")), in, want)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("ETag", etag(b.Version))
	writeJSON(w, status, s.renderBot(b, true))
	return nil
}

func (s *Server) deleteBot(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Engagements.DeleteBot(r.Context(), engagement.BotID(r.PathValue("bot"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// maxFlowBytes bounds a flow document.
const maxFlowBytes = 256 << 10

func (s *Server) putFlow(w http.ResponseWriter, r *http.Request) error {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
	switch ct {
	case "application/yaml", "application/x-yaml", "text/yaml", "application/json", "text/plain":
	default:
		return errs.New(errs.KindUnsupportedMedia, "UnsupportedMediaType", "a flow is sent as application/yaml or application/json")
	}
	// The body is read once (HMAC hashes it first); the server's body
	// limit applies, and a flow has its own, smaller one.
	src, err := readBody(r)
	if err != nil {
		return err
	}
	if len(src) > maxFlowBytes {
		return errs.New(errs.KindTooLarge, "FlowTooLarge", "a flow document is at most %d bytes", maxFlowBytes)
	}
	by := "key"
	if p := principalFrom(r.Context()); p.Person != nil {
		by = string(p.Person.ID)
	}
	b, err := s.deps.Engagements.SetFlow(r.Context(), engagement.BotID(r.PathValue("bot")), src, by)
	var bad *engagement.InvalidFlow
	if errors.As(err, &bad) {
		body := errorBody{Error: errorDetail{Code: bad.Err.Code, Message: bad.Err.Message}}
		for _, p := range bad.Problems {
			body.Error.Details = append(body.Error.Details, errorDetail{Code: "FlowProblem", Message: p.Message,
				Target: fmt.Sprintf("line %d, column %d: %s", p.Line, p.Column, p.Path)})
		}
		w.Header().Set("x-ms-error-code", bad.Err.Code)
		writeJSON(w, http.StatusBadRequest, body)
		return nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.renderBot(b, false))
	return nil
}

func (s *Server) getFlow(w http.ResponseWriter, r *http.Request) error {
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errs.Invalid("InvalidVersion", "version must be a positive integer").WithTarget("version")
		}
		version = n
	}
	src, v, err := s.deps.Engagements.FlowSource(r.Context(), engagement.BotID(r.PathValue("bot")), version)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Flow-Version", strconv.Itoa(v))
	_, _ = w.Write(src)
	return nil
}

// botActivities takes a webhook bot's later answer, Bot Framework
// connector style: the activity's serviceUrl names the tenant and the bot,
// the bot's secret is its bearer token.
func (s *Server) botActivities(w http.ResponseWriter, r *http.Request) error {
	t, err := s.deps.TenantNames.Get(r.Context(), tenant.ID(r.PathValue("tenant")))
	if err != nil {
		return errs.Unauthenticated("InvalidBotCredentials", "the bot id or secret is wrong")
	}
	if err := s.tenants.allow(string(t.ID)); err != nil {
		return err
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	secret, herr := hex.DecodeString(strings.TrimSpace(token))
	if !ok || herr != nil {
		return errs.Unauthenticated("InvalidBotCredentials", "the bot id or secret is wrong")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	acts, err := bot.ParseActivities(body)
	if err != nil {
		return errs.Invalid("InvalidActivity", "%v", err)
	}
	ctx := tenant.With(r.Context(), t.ID)
	if err := s.deps.Engagements.BotActivities(ctx, engagement.BotID(r.PathValue("bot")), secret, conversation.ThreadID(r.PathValue("conversation")), acts); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": acts[0].ID})
	return nil
}
