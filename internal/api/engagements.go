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

// The contact center's native API: bots and their flows (admins), the
// agent desktop's work (agents), engagements (supervisors), the waiting
// customer's place and rating (visitors, with their user token).

func (s *Server) registerEngagements() {
	if s.deps.Engagements == nil {
		return
	}
	n := func(method, path string, auth authMode, min identity.Role, h func(w http.ResponseWriter, r *http.Request) error) route {
		return route{method: method, path: path, auth: auth, minRole: min, versions: nativeVersions, h: h}
	}
	s.handle(n("GET", "/bots", authAdmin, identity.RoleSupervisor, s.listBots))
	s.handle(n("GET", "/bots/{bot}", authAdmin, identity.RoleSupervisor, s.getBot))
	s.handle(n("PATCH", "/bots/{bot}", authAdmin, identity.RoleAdmin, s.putBot))
	s.handle(n("DELETE", "/bots/{bot}", authAdmin, identity.RoleAdmin, s.deleteBot))
	s.handle(n("PUT", "/bots/{bot}/flow", authAdmin, identity.RoleAdmin, s.putFlow))
	s.handle(n("GET", "/bots/{bot}/flow", authAdmin, identity.RoleSupervisor, s.getFlow))

	s.handle(n("GET", "/desk/settings", authAdmin, identity.RoleAgent, s.getDesk))
	s.handle(n("PUT", "/desk/settings", authAdmin, identity.RoleAdmin, s.putDesk))
	s.handle(n("POST", "/agent/session", authSession, identity.RoleAgent, s.agentSession))
	s.handle(n("PUT", "/agent/presence", authSession, identity.RoleAgent, s.agentPresence))
	s.handle(n("GET", "/agent/colleagues", authSession, identity.RoleAgent, s.agentColleagues))
	s.handle(n("GET", "/agent/queues", authSession, identity.RoleAgent, s.agentQueues))
	s.handle(n("GET", "/agent/offers", authSession, identity.RoleAgent, s.agentOffers))
	s.handle(n("POST", "/agent/offers/{offer}:accept", authSession, identity.RoleAgent, s.acceptEngagementOffer))
	s.handle(n("POST", "/agent/offers/{offer}:decline", authSession, identity.RoleAgent, s.declineEngagementOffer))
	s.handle(n("GET", "/agent/engagements", authSession, identity.RoleAgent, s.agentEngagements))
	s.handle(n("GET", "/engagements", authSession, identity.RoleSupervisor, s.listEngagements))
	s.handle(n("GET", "/engagements/{engagement}", authSession, identity.RoleAgent, s.getEngagement))
	s.handle(n("POST", "/engagements/{engagement}:end", authSession, identity.RoleAgent, s.endEngagement))
	s.handle(n("POST", "/engagements/{engagement}:wrapUp", authSession, identity.RoleAgent, s.wrapUpEngagement))

	s.handle(n("GET", "/engagements/{engagement}/messages", authSession, identity.RoleAgent, s.engagementTranscript))
	s.handle(n("GET", "/engagements/{engagement}/history", authSession, identity.RoleAgent, s.engagementHistory))
	s.handle(n("GET", "/engagements/{engagement}/notes", authSession, identity.RoleAgent, s.engagementNotes))
	s.handle(n("POST", "/engagements/{engagement}/notes", authSession, identity.RoleAgent, s.addEngagementNote))
	s.handle(n("POST", "/engagements/{engagement}:transfer", authSession, identity.RoleAgent, s.transferEngagement))
	s.handle(n("POST", "/engagements/{engagement}:monitor", authSession, identity.RoleSupervisor, s.monitorEngagement(true)))
	s.handle(n("POST", "/engagements/{engagement}:unmonitor", authSession, identity.RoleSupervisor, s.monitorEngagement(false)))
	s.handle(n("POST", "/engagements/{engagement}:barge", authSession, identity.RoleSupervisor, s.bargeEngagement))
	s.handle(n("GET", "/wallboard", authSession, identity.RoleSupervisor, s.wallboard))
	s.handle(n("POST", "/botapi/{tenant}/{bot}/v3/conversations/{conversation}/activities", authNone, "", s.botActivities))
	s.handle(n("POST", "/botapi/{tenant}/{bot}/v3/conversations/{conversation}/activities/{activity}", authNone, "", s.botActivities))
	s.handle(n("GET", "/webchat/position", authUser, "", s.customerPosition))
	s.handle(n("POST", "/engagements/{engagement}:rate", authUser, "", s.rateEngagement))
	s.handle(n("POST", "/engagements/{engagement}:leave", authUser, "", s.leaveEngagement))
}

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

func (s *Server) getDesk(w http.ResponseWriter, r *http.Request) error {
	d, err := s.deps.Engagements.Desk(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) putDesk(w http.ResponseWriter, r *http.Request) error {
	var d engagement.DeskSettings
	if err := decodeJSON(r, &d, false); err != nil {
		return err
	}
	d, err := s.deps.Engagements.SetDesk(r.Context(), d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) agentSession(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	as, err := s.deps.Engagements.StartAgentSession(r.Context(), *p.Person)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user": renderUser(*p.Person), "identity": identity.IdentifierFromRaw(as.Identity),
		"token": as.Token.Token, "expiresOn": as.Token.ExpiresOn.UTC().Format("2006-01-02T15:04:05Z07:00"),
		"workerId": engagement.WorkerID(p.Person.ID), "worker": as.Worker,
	})
	return nil
}

func (s *Server) agentPresence(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Status     string `json:"status"`
		ReasonCode string `json:"reasonCode"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	doc, err := s.deps.Engagements.SetPresence(r.Context(), *principalFrom(r.Context()).Person, req.Status, req.ReasonCode)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

func (s *Server) agentColleagues(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.deps.Engagements.Colleagues(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": cs})
	return nil
}

func (s *Server) agentQueues(w http.ResponseWriter, r *http.Request) error {
	qs, err := s.deps.Engagements.Queues(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": qs})
	return nil
}

func (s *Server) agentOffers(w http.ResponseWriter, r *http.Request) error {
	offers, err := s.deps.Engagements.AgentOffers(r.Context(), principalFrom(r.Context()).Person.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": offers})
	return nil
}

func (s *Server) acceptEngagementOffer(w http.ResponseWriter, r *http.Request) error {
	e, err := s.deps.Engagements.AcceptOffer(r.Context(), principalFrom(r.Context()).Person.ID, r.PathValue("offer"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, engagementView(e))
	return nil
}

func (s *Server) declineEngagementOffer(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Engagements.DeclineOffer(r.Context(), principalFrom(r.Context()).Person.ID, r.PathValue("offer")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) agentEngagements(w http.ResponseWriter, r *http.Request) error {
	es, err := s.deps.Engagements.Engagements(r.Context(), engagement.Filter{Agent: principalFrom(r.Context()).Person.ID,
		States: []engagement.State{engagement.StateAssigned, engagement.StateWrapUp}}, "", 100)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": engagementViews(es)})
	return nil
}

func (s *Server) listEngagements(w http.ResponseWriter, r *http.Request) error {
	var f engagement.Filter
	for _, st := range r.URL.Query()["state"] {
		f.States = append(f.States, engagement.State(st))
	}
	es, err := s.deps.Engagements.Engagements(r.Context(), f, "", 500)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": engagementViews(es)})
	return nil
}

func (s *Server) getEngagement(w http.ResponseWriter, r *http.Request) error {
	e, err := s.deps.Engagements.Get(r.Context(), engagement.ID(r.PathValue("engagement")))
	if err != nil {
		return err
	}
	p := principalFrom(r.Context())
	if !p.Person.Role.AtLeast(identity.RoleSupervisor) && e.Agent != p.Person.ID {
		return errs.NotFound("engagement %s not found", e.ID)
	}
	writeJSON(w, http.StatusOK, engagementView(e))
	return nil
}

func (s *Server) endEngagement(w http.ResponseWriter, r *http.Request) error {
	e, err := s.deps.Engagements.End(r.Context(), principalFrom(r.Context()).Person.ID, engagement.ID(r.PathValue("engagement")))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, engagementView(e))
	return nil
}

func (s *Server) wrapUpEngagement(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		DispositionCode string `json:"dispositionCode"`
		Notes           string `json:"notes"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		return err
	}
	e, err := s.deps.Engagements.WrapUp(r.Context(), principalFrom(r.Context()).Person.ID, engagement.ID(r.PathValue("engagement")), req.DispositionCode, req.Notes)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, engagementView(e))
	return nil
}

func (s *Server) person(r *http.Request) identity.Person { return *principalFrom(r.Context()).Person }

func engagementID(r *http.Request) engagement.ID { return engagement.ID(r.PathValue("engagement")) }

// renderMessages answers messages in the ACS chat shape, newest first.
func (s *Server) renderMessages(w http.ResponseWriter, r *http.Request, msgs []conversation.Message) {
	out := make([]messageJSON, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, s.renderMessage(r, m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

func (s *Server) engagementTranscript(w http.ResponseWriter, r *http.Request) error {
	msgs, err := s.deps.Engagements.Transcript(r.Context(), s.person(r), engagementID(r))
	if err != nil {
		return err
	}
	s.renderMessages(w, r, msgs)
	return nil
}

func (s *Server) engagementHistory(w http.ResponseWriter, r *http.Request) error {
	es, err := s.deps.Engagements.History(r.Context(), s.person(r), engagementID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": engagementViews(es)})
	return nil
}

func (s *Server) engagementNotes(w http.ResponseWriter, r *http.Request) error {
	msgs, err := s.deps.Engagements.Notes(r.Context(), s.person(r), engagementID(r))
	if err != nil {
		return err
	}
	s.renderMessages(w, r, msgs)
	return nil
}

func (s *Server) addEngagementNote(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Content string `json:"content"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if strings.TrimSpace(req.Content) == "" {
		return errs.Invalid("InvalidContent", "content must not be empty").WithTarget("content")
	}
	m, err := s.deps.Engagements.AddNote(r.Context(), s.person(r), engagementID(r), req.Content)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.renderMessage(r, m))
	return nil
}

func (s *Server) transferEngagement(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		QueueID string `json:"queueId"`
		AgentID string `json:"agentId"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	e, err := s.deps.Engagements.Transfer(r.Context(), s.person(r), engagementID(r), req.QueueID, identity.PersonID(req.AgentID))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, engagementView(e))
	return nil
}

func (s *Server) monitorEngagement(on bool) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		e, err := s.deps.Engagements.Monitor(r.Context(), s.person(r), engagementID(r), on)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, engagementView(e))
		return nil
	}
}

func (s *Server) bargeEngagement(w http.ResponseWriter, r *http.Request) error {
	e, err := s.deps.Engagements.Barge(r.Context(), s.person(r), engagementID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, engagementView(e))
	return nil
}

func (s *Server) wallboard(w http.ResponseWriter, r *http.Request) error {
	wb, err := s.deps.Engagements.Wallboard(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wb)
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

func (s *Server) customerPosition(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	thread := r.URL.Query().Get("threadId")
	if thread == "" {
		return errs.Invalid("MissingThreadId", "threadId is required").WithTarget("threadId")
	}
	p, err := s.deps.Engagements.CustomerPosition(r.Context(), caller, thread)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) rateEngagement(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	var req struct {
		Rating  int    `json:"rating"`
		Comment string `json:"comment"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	e, err := s.deps.Engagements.Rate(r.Context(), caller, engagement.ID(r.PathValue("engagement")), req.Rating, req.Comment)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"engagementId": e.ID, "rating": e.Rating, "comment": e.Comment})
	return nil
}

func (s *Server) leaveEngagement(w http.ResponseWriter, r *http.Request) error {
	caller, err := chatCaller(r, levelRead)
	if err != nil {
		return err
	}
	e, err := s.deps.Engagements.Leave(r.Context(), caller, engagementID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"engagementId": e.ID, "state": e.State, "rate": !e.AssignedAt.IsZero()})
	return nil
}

// engagementView leaves out the bot's own bookkeeping (its state may hold
// what the customer typed before validation).
func engagementView(e engagement.Engagement) engagement.Engagement {
	e.BotState, e.LastMessage = nil, ""
	return e
}

func engagementViews(es []engagement.Engagement) []engagement.Engagement {
	out := make([]engagement.Engagement, 0, len(es))
	for _, e := range es {
		out = append(out, engagementView(e))
	}
	return out
}
