package api

import (
	"net/http"
	"strings"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/engagement"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
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
