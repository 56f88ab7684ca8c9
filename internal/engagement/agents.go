package engagement

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

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
			// Another node may have joined the agent meanwhile (the
			// offer-accepted event): then the accept has done its work.
			if errs.KindOf(err) == errs.KindConflict {
				if again, rerr := s.Store.Engagement(ctx, tenant.MustFrom(ctx), eid); rerr == nil && again.Assignment == assignment {
					return again, nil
				}
			}
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

// Engagements lists the tenant's engagements.
func (s *Service) Engagements(ctx context.Context, f Filter, after string, limit int) ([]Engagement, error) {
	return s.Store.Engagements(ctx, tenant.MustFrom(ctx), f, after, limit)
}

// Get returns one engagement.
func (s *Service) Get(ctx context.Context, id ID) (Engagement, error) {
	return s.Store.Engagement(ctx, tenant.MustFrom(ctx), id)
}
