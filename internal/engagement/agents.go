package engagement

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Every agent is a router worker whose id is the person's id, and a chat
// participant with a communication identity of its own.

// Notifications an agent's desktop receives.
const (
	EventAgentOffer    = "Switchboard.AgentOfferIssued"
	NotifyAgentOffer   = "agentOfferIssued"
	EventAgentOfferEnd = "Switchboard.AgentOfferEnded"
	NotifyAgentOffEnd  = "agentOfferEnded"
)

// WorkerID is the router worker of a staff member.
func WorkerID(p identity.PersonID) string { return string(p) }

// StaffIdentity returns the staff member's chat identity, creating it the
// first time.
func (s *Service) StaffIdentity(ctx context.Context, p identity.PersonID) (string, error) {
	t := tenant.MustFrom(ctx)
	raw, err := s.Store.StaffIdentity(ctx, t, p)
	if err == nil || errs.KindOf(err) != errs.KindNotFound {
		return raw, err
	}
	ident, _, err := s.Identities.CreateIdentity(ctx, "", nil)
	if err != nil {
		return "", err
	}
	if err := s.Store.SetStaffIdentity(ctx, t, p, string(ident.ID)); err != nil {
		return "", err
	}
	// Another request may have won the race: the stored one is the one.
	return s.Store.StaffIdentity(ctx, t, p)
}

// AgentSession is what an agent's desktop needs to work: its chat
// identity with a fresh token, and its worker.
type AgentSession struct {
	Person    identity.Person
	Identity  string
	Token     identity.IssuedToken
	Worker    map[string]any
	WorkerTag string
}

// StartAgentSession prepares a staff member's desktop: identity, token and
// a router worker (created unavailable, taking chats, when missing).
func (s *Service) StartAgentSession(ctx context.Context, p identity.Person) (AgentSession, error) {
	raw, err := s.StaffIdentity(ctx, p.ID)
	if err != nil {
		return AgentSession{}, err
	}
	tok, err := s.Identities.IssueToken(ctx, identity.UserID(raw), identity.TokenRequest{Scopes: []string{string(identity.ScopeChat)}, ExpiresInMinutes: 8 * 60})
	if err != nil {
		return AgentSession{}, err
	}
	doc, err := s.ensureWorker(ctx, p)
	if err != nil {
		return AgentSession{}, err
	}
	return AgentSession{Person: p, Identity: raw, Token: tok, Worker: doc}, nil
}

// ensureWorker returns the staff member's router worker, creating it
// (unavailable, taking chats) when missing.
func (s *Service) ensureWorker(ctx context.Context, p identity.Person) (map[string]any, error) {
	w, err := s.Router.Get(ctx, routing.KindWorker, WorkerID(p.ID))
	if errs.KindOf(err) == errs.KindNotFound {
		w, _, err = s.Router.Upsert(ctx, routing.KindWorker, WorkerID(p.ID), map[string]any{
			"capacity": 100.0, "availableForOffers": false, "queues": []any{},
			"channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 20.0}},
			"labels":   map[string]any{"agentId": string(p.ID), "name": p.DisplayName},
			"presence": map[string]any{"status": "offline"},
		}, 0)
	}
	if err != nil {
		return nil, err
	}
	doc, err := routing.Decode(w.Doc)
	if err != nil {
		return nil, err
	}
	// A transfer to this agent selects the worker by this label; a worker
	// an admin made through the Job Router API may lack it.
	if labels, _ := doc["labels"].(map[string]any); labels["agentId"] != string(p.ID) {
		if w, _, err = s.Router.Upsert(ctx, routing.KindWorker, WorkerID(p.ID), map[string]any{"labels": map[string]any{"agentId": string(p.ID)}}, 0); err != nil {
			return nil, err
		}
		return routing.Decode(w.Doc)
	}
	return doc, nil
}

// SetPresence sets an agent's presence; only "available" takes offers.
func (s *Service) SetPresence(ctx context.Context, p identity.Person, status, reason string) (map[string]any, error) {
	if _, err := s.ensureWorker(ctx, p); err != nil {
		return nil, err
	}
	// A new status replaces the old reason: nil removes it (merge patch).
	presence := map[string]any{"status": status, "reasonCode": nil}
	if reason != "" {
		presence["reasonCode"] = reason
	}
	w, _, err := s.Router.Upsert(ctx, routing.KindWorker, WorkerID(p.ID), map[string]any{"presence": presence, "availableForOffers": status == "available"}, 0)
	if err != nil {
		return nil, err
	}
	return routing.Decode(w.Doc)
}

type offerEvent struct {
	WorkerID    string            `json:"workerId"`
	JobID       string            `json:"jobId"`
	OfferID     string            `json:"offerId"`
	QueueID     string            `json:"queueId"`
	ChannelID   string            `json:"channelId"`
	OfferedOn   string            `json:"offeredOn"`
	ExpiresOn   string            `json:"expiresOn"`
	Priority    int               `json:"jobPriority"`
	Labels      map[string]string `json:"jobLabels"`
	Assignment  string            `json:"assignmentId"`
	EventReason string            `json:"-"`
}

// Offer is an offer as an agent's desktop shows it.
type Offer struct {
	OfferID      string            `json:"offerId"`
	JobID        string            `json:"jobId"`
	EngagementID ID                `json:"engagementId"`
	QueueID      string            `json:"queueId"`
	Channel      string            `json:"channel"`
	OfferedOn    string            `json:"offeredOn"`
	ExpiresOn    string            `json:"expiresOn"`
	Priority     int               `json:"priority"`
	Labels       map[string]string `json:"labels"`
	Reason       string            `json:"reason,omitempty"` // why it ended
}

// routerEvent turns router events about engagements' jobs into what
// desktops see, and joins an agent who accepted through the Job Router
// API rather than the desktop.
func (s *Service) routerEvent(ctx context.Context, ev event.Event) error {
	var d offerEvent
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return fmt.Errorf("engagement: %s data: %w", ev.Type, err)
	}
	eid := ID(d.Labels["engagementId"])
	if eid == "" && strings.HasPrefix(d.JobID, "eng-") {
		eid = engagementOfJob(d.JobID)
	}
	if eid == "" {
		return nil
	}
	raw, err := s.Store.StaffIdentity(ctx, tenant.MustFrom(ctx), identity.PersonID(d.WorkerID))
	if errs.KindOf(err) == errs.KindNotFound {
		return nil // a worker that is not a staff member
	}
	if err != nil {
		return err
	}
	o := Offer{OfferID: d.OfferID, JobID: d.JobID, EngagementID: eid, QueueID: d.QueueID, Channel: d.Labels["channel"],
		OfferedOn: d.OfferedOn, ExpiresOn: d.ExpiresOn, Priority: d.Priority, Labels: d.Labels}
	switch ev.Type {
	case routingEvent("RouterWorkerOfferIssued"):
		return s.notify(ctx, EventAgentOffer, NotifyAgentOffer, []string{raw}, o)
	case routingEvent("RouterWorkerOfferAccepted"):
		o.Reason = "Accepted"
		if err := s.notify(ctx, EventAgentOfferEnd, NotifyAgentOffEnd, []string{raw}, o); err != nil {
			return err
		}
		mu := s.engagementLock(ctx, eid)
		mu.Lock()
		defer mu.Unlock()
		e, err := s.Store.Engagement(ctx, tenant.MustFrom(ctx), eid)
		if err != nil || e.Job != d.JobID || e.Assignment == d.Assignment {
			return nil
		}
		return s.join(ctx, &e, identity.PersonID(d.WorkerID), d.Assignment)
	default:
		o.Reason = strings.TrimPrefix(strings.TrimPrefix(ev.Type, "Microsoft.Communication.RouterWorkerOffer"), "Microsoft.Communication.")
		return s.notify(ctx, EventAgentOfferEnd, NotifyAgentOffEnd, []string{raw}, o)
	}
}

func engagementOfJob(job string) ID {
	rest := strings.TrimPrefix(job, "eng-")
	// An engagement id is a UUID (36 characters); transfers add "-n".
	if len(rest) > 36 {
		rest = rest[:36]
	}
	return ID(rest)
}

func (s *Service) engagementLock(ctx context.Context, id ID) interface {
	Lock()
	Unlock()
} {
	e, err := s.Store.Engagement(ctx, tenant.MustFrom(ctx), id)
	if err != nil {
		return s.threadLock(tenant.MustFrom(ctx), conversation.ThreadID("engagement:"+string(id)))
	}
	return s.threadLock(e.Tenant, e.Thread)
}

// AcceptOffer accepts an offer for an agent and puts the agent into the
// conversation, with its whole history, before answering.
func (s *Service) AcceptOffer(ctx context.Context, p identity.PersonID, offerID string) (Engagement, error) {
	assignment, job, err := s.Router.AcceptOffer(ctx, WorkerID(p), offerID)
	if err != nil {
		return Engagement{}, err
	}
	eid := engagementOfJob(job)
	mu := s.engagementLock(ctx, eid)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.Store.Engagement(ctx, tenant.MustFrom(ctx), eid)
	if err != nil {
		return Engagement{}, err
	}
	if e.Assignment != assignment {
		if err := s.join(ctx, &e, p, assignment); err != nil {
			return Engagement{}, err
		}
	}
	return e, nil
}

// DeclineOffer declines an offer; the job goes to someone else.
func (s *Service) DeclineOffer(ctx context.Context, p identity.PersonID, offerID string) error {
	return s.Router.DeclineOffer(ctx, WorkerID(p), offerID, time.Time{})
}

// join puts the agent who holds the assignment into the thread.
func (s *Service) join(ctx context.Context, e *Engagement, p identity.PersonID, assignment string) error {
	raw, err := s.StaffIdentity(ctx, p)
	if err != nil {
		return err
	}
	name := ""
	if s.People != nil {
		if person, err := s.People.Get(ctx, p); err == nil {
			name = person.DisplayName
		}
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.Chat.AddParticipants(ctx, e.Customer, e.Thread, []conversation.ParticipantInput{{ID: raw, DisplayName: name,
			Metadata: map[string]string{"role": "agent"}}}); err != nil {
			return err
		}
		if e.SideThread != "" {
			if _, err := s.Chat.AddParticipants(ctx, e.SideOwner, e.SideThread, []conversation.ParticipantInput{{ID: raw, DisplayName: name}}); err != nil {
				return err
			}
		}
		now := s.now().UTC()
		e.State, e.Agent, e.AgentIdentity, e.AgentName, e.Assignment, e.AssignedAt, e.UpdatedAt = StateAssigned, p, raw, name, assignment, now, now
		return s.Store.UpdateEngagement(ctx, e, e.Version)
	})
	if err == nil {
		s.positions.Delete(string(e.Tenant) + "|" + string(e.ID))
	}
	return err
}

// agentEngagement loads an engagement the agent holds.
func (s *Service) agentEngagement(ctx context.Context, p identity.PersonID, id ID, states ...State) (Engagement, error) {
	e, err := s.Store.Engagement(ctx, tenant.MustFrom(ctx), id)
	if err != nil {
		return e, err
	}
	if e.Agent != p {
		return e, errs.NotFound("engagement %s not found", id)
	}
	if !slices.Contains(states, e.State) {
		return e, errs.Conflict("InvalidState", "the engagement is %s", e.State)
	}
	return e, nil
}

// End ends the conversation with the customer: the agent leaves the
// thread, the customer is asked for a rating, and the agent wraps up.
func (s *Service) End(ctx context.Context, p identity.PersonID, id ID) (Engagement, error) {
	e, err := s.agentEngagement(ctx, p, id, StateAssigned)
	if err != nil {
		return e, err
	}
	if err := s.Router.CompleteJob(ctx, e.Job, e.Assignment, ""); err != nil && errs.KindOf(err) != errs.KindConflict {
		return e, err
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Chat.RemoveParticipant(ctx, e.AgentIdentity, e.Thread, e.AgentIdentity); err != nil && !gone(err) {
			return err
		}
		e.State, e.UpdatedAt = StateWrapUp, s.now().UTC()
		return s.Store.UpdateEngagement(ctx, &e, e.Version)
	})
	if err != nil {
		return e, err
	}
	_ = s.notify(ctx, EventEnded, NotifyEnded, []string{e.Customer}, map[string]any{"engagementId": e.ID, "threadId": e.Thread, "rate": true})
	return e, nil
}

// WrapUp closes the agent's work on an engagement with a disposition code
// and notes; the agent's wrap-up time starts.
func (s *Service) WrapUp(ctx context.Context, p identity.PersonID, id ID, disposition, notes string) (Engagement, error) {
	if len(disposition) > 64 || len(notes) > 4000 {
		return Engagement{}, errs.Invalid("InvalidWrapUp", "dispositionCode is at most 64 characters and notes at most 4000")
	}
	if err := s.checkDisposition(ctx, disposition); err != nil {
		return Engagement{}, err
	}
	e, err := s.agentEngagement(ctx, p, id, StateAssigned, StateWrapUp)
	if err != nil {
		return e, err
	}
	if e.State == StateAssigned {
		if e, err = s.End(ctx, p, id); err != nil {
			return e, err
		}
	}
	if err := s.Router.CloseJob(ctx, e.Job, e.Assignment, disposition, notes, time.Time{}); err != nil && errs.KindOf(err) != errs.KindConflict {
		return e, err
	}
	now := s.now().UTC()
	e.State, e.Disposition, e.WrapUpNotes, e.EndedAt, e.UpdatedAt = StateEnded, disposition, notes, now, now
	return e, s.Store.UpdateEngagement(ctx, &e, e.Version)
}

// Rate stores the customer's rating of an ended conversation.
func (s *Service) Rate(ctx context.Context, caller string, id ID, rating int, comment string) (Engagement, error) {
	if rating < 1 || rating > 5 {
		return Engagement{}, errs.Invalid("InvalidRating", "rating must be 1 to 5").WithTarget("rating")
	}
	if utf8.RuneCountInString(comment) > 2000 {
		return Engagement{}, errs.Invalid("InvalidComment", "comment must be at most 2000 characters").WithTarget("comment")
	}
	e, err := s.Store.Engagement(ctx, tenant.MustFrom(ctx), id)
	if err != nil {
		return e, err
	}
	if e.Customer != caller {
		return e, errs.NotFound("engagement %s not found", id)
	}
	if e.State != StateWrapUp && e.State != StateEnded {
		return e, errs.Conflict("NotEnded", "a conversation is rated once it has ended")
	}
	if e.Rating != 0 {
		return e, errs.Conflict("AlreadyRated", "this conversation has been rated")
	}
	now := s.now().UTC()
	e.Rating, e.Comment, e.RatedAt, e.UpdatedAt = rating, strings.TrimSpace(comment), now, now
	return e, s.Store.UpdateEngagement(ctx, &e, e.Version)
}

// Engagements lists the tenant's engagements.
func (s *Service) Engagements(ctx context.Context, f Filter, after string, limit int) ([]Engagement, error) {
	return s.Store.Engagements(ctx, tenant.MustFrom(ctx), f, after, limit)
}

// Get returns one engagement.
func (s *Service) Get(ctx context.Context, id ID) (Engagement, error) {
	return s.Store.Engagement(ctx, tenant.MustFrom(ctx), id)
}

// AgentOffers are the offers an agent holds now (a desktop that loads or
// reconnects shows them; later ones arrive as notifications).
func (s *Service) AgentOffers(ctx context.Context, p identity.PersonID) ([]Offer, error) {
	w, err := s.Router.Get(ctx, routing.KindWorker, WorkerID(p))
	if errs.KindOf(err) == errs.KindNotFound {
		return []Offer{}, nil
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		Offers []struct {
			OfferID   string    `json:"offerId"`
			JobID     string    `json:"jobId"`
			OfferedAt time.Time `json:"offeredAt"`
			ExpiresAt time.Time `json:"expiresAt"`
		} `json:"offers"`
	}
	if err := json.Unmarshal(w.Doc, &doc); err != nil {
		return nil, fmt.Errorf("engagement: worker %s: %w", p, err)
	}
	out := []Offer{}
	for _, o := range doc.Offers {
		j, err := s.Router.GetJob(ctx, o.JobID)
		if err != nil {
			continue // gone meanwhile
		}
		labels := map[string]string{}
		for k, v := range j.Labels {
			if sv, ok := v.(string); ok {
				labels[k] = sv
			}
		}
		eid := ID(labels["engagementId"])
		if eid == "" {
			continue
		}
		out = append(out, Offer{OfferID: o.OfferID, JobID: o.JobID, EngagementID: eid, QueueID: j.QueueID, Channel: labels["channel"],
			OfferedOn: o.OfferedAt.UTC().Format(time.RFC3339Nano), ExpiresOn: o.ExpiresAt.UTC().Format(time.RFC3339Nano),
			Priority: j.Priority, Labels: labels})
	}
	return out, nil
}

// Colleague is a staff member an agent may hand a conversation to.
type Colleague struct {
	ID          identity.PersonID `json:"id"`
	DisplayName string            `json:"displayName"`
	Role        identity.Role     `json:"role"`
	Presence    string            `json:"presence"` // from the router worker; "offline" without one
}

// QueueRef names a queue for the desktop.
type QueueRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Colleagues lists the tenant's staff with their presence, for transfers.
func (s *Service) Colleagues(ctx context.Context) ([]Colleague, error) {
	if s.People == nil {
		return []Colleague{}, nil
	}
	people, err := s.People.List(ctx, "", 1000)
	if err != nil {
		return nil, err
	}
	workers, err := listAll(ctx, s.Router, routing.KindWorker)
	if err != nil {
		return nil, err
	}
	presence := map[string]string{}
	for _, w := range workers {
		var doc struct {
			Presence struct{ Status string } `json:"presence"`
		}
		_ = json.Unmarshal(w.Doc, &doc)
		presence[w.ID] = doc.Presence.Status
	}
	out := []Colleague{}
	for _, p := range people {
		st := presence[WorkerID(p.ID)]
		if st == "" {
			st = "offline"
		}
		out = append(out, Colleague{ID: p.ID, DisplayName: p.DisplayName, Role: p.Role, Presence: st})
	}
	return out, nil
}

// Queues lists the tenant's queues by id and name.
func (s *Service) Queues(ctx context.Context) ([]QueueRef, error) {
	queues, err := listAll(ctx, s.Router, routing.KindQueue)
	if err != nil {
		return nil, err
	}
	out := []QueueRef{}
	for _, q := range queues {
		var doc struct{ Name string }
		_ = json.Unmarshal(q.Doc, &doc)
		out = append(out, QueueRef{ID: q.ID, Name: doc.Name})
	}
	return out, nil
}

// Notification an agent's desktop receives when the customer leaves.
const (
	EventCustomerLeft  = "Switchboard.EngagementCustomerLeft"
	NotifyCustomerLeft = "engagementCustomerLeft"
)

// Leave ends the conversation for the customer (the widget's "end chat"):
// a bot lets go, a waiting customer's job is cancelled (abandoned), and an
// agent who has it is told and goes on to wrap up.
func (s *Service) Leave(ctx context.Context, caller string, id ID) (Engagement, error) {
	mu := s.engagementLock(ctx, id)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.Store.Engagement(ctx, tenant.MustFrom(ctx), id)
	if err != nil || e.Customer != caller {
		return Engagement{}, errs.NotFound("engagement %s not found", id)
	}
	now := s.now().UTC()
	switch e.State {
	case StateBot:
		err = s.Tx.InTx(ctx, func(ctx context.Context) error {
			if err := s.Chat.RemoveParticipant(ctx, e.BotIdentity, e.Thread, e.BotIdentity); err != nil && !gone(err) {
				return err
			}
			e.State, e.EndedAt, e.UpdatedAt = StateEnded, now, now
			return s.Store.UpdateEngagement(ctx, &e, e.Version)
		})
	case StateQueued:
		if err := s.Router.CancelJob(ctx, e.Job, "the customer left", "abandoned"); err != nil && errs.KindOf(err) != errs.KindNotFound {
			return e, err
		}
		e.State, e.EndedAt, e.UpdatedAt = StateEnded, now, now
		err = s.Store.UpdateEngagement(ctx, &e, e.Version)
	case StateAssigned:
		if err := s.Router.CompleteJob(ctx, e.Job, e.Assignment, "the customer left"); err != nil && errs.KindOf(err) != errs.KindConflict {
			return e, err
		}
		err = s.Tx.InTx(ctx, func(ctx context.Context) error {
			if err := s.Chat.RemoveParticipant(ctx, e.AgentIdentity, e.Thread, e.AgentIdentity); err != nil && !gone(err) {
				return err
			}
			e.State, e.UpdatedAt = StateWrapUp, now
			return s.Store.UpdateEngagement(ctx, &e, e.Version)
		})
		if err == nil {
			_ = s.notify(ctx, EventCustomerLeft, NotifyCustomerLeft, []string{e.AgentIdentity}, map[string]any{"engagementId": e.ID, "threadId": e.Thread})
		}
	default:
		return e, errs.Conflict("InvalidState", "the conversation has already ended")
	}
	if err != nil {
		return e, err
	}
	s.positions.Delete(string(e.Tenant) + "|" + string(e.ID))
	if !e.AssignedAt.IsZero() {
		_ = s.notify(ctx, EventEnded, NotifyEnded, []string{e.Customer}, map[string]any{"engagementId": e.ID, "threadId": e.Thread, "rate": true})
	}
	return e, nil
}
