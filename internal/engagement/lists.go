package engagement

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/routing"
)

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
