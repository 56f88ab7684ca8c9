package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/webhook"
)

func (s *Server) registerWebhooks() {
	admin := func(method, path string, idem bool, h func(http.ResponseWriter, *http.Request) error) {
		s.handle(route{method: method, path: path, auth: authAdmin, minRole: identity.RoleAdmin, versions: nativeVersions, idempotent: idem, h: h})
	}
	admin("POST", "/eventSubscriptions", true, s.createSubscription)
	admin("GET", "/eventSubscriptions", false, s.listSubscriptions)
	admin("GET", "/eventSubscriptions/{id}", false, s.getSubscription)
	admin("PATCH", "/eventSubscriptions/{id}", false, s.patchSubscription)
	admin("DELETE", "/eventSubscriptions/{id}", false, s.deleteSubscription)
	admin("GET", "/deadLetters", false, s.listDeadLetters)
	admin("POST", "/deadLetters/{id}:replay", false, s.replayDeadLetter)
}

type subscriptionJSON struct {
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	Endpoint            string   `json:"endpoint"`
	EventDeliverySchema string   `json:"eventDeliverySchema"`
	IncludedEventTypes  []string `json:"includedEventTypes"`
	MaxDeliveryAttempts int      `json:"maxDeliveryAttempts"`
	CreatedOn           string   `json:"createdOn"`
	UpdatedOn           string   `json:"updatedOn"`
	ETag                string   `json:"etag"`
	// SigningSecret is shown once, when the subscription is created.
	SigningSecret string `json:"signingSecret,omitempty"`
}

func renderSubscription(sub webhook.Subscription) subscriptionJSON {
	types := sub.EventTypes
	if types == nil {
		types = []string{}
	}
	return subscriptionJSON{ID: string(sub.ID), Name: sub.Name, Endpoint: sub.URL, EventDeliverySchema: string(sub.Schema),
		IncludedEventTypes: types, MaxDeliveryAttempts: sub.MaxAttempts, CreatedOn: sub.CreatedAt.Format(time.RFC3339Nano),
		UpdatedOn: sub.UpdatedAt.Format(time.RFC3339Nano), ETag: etag(sub.Version)}
}

type subscriptionRequest struct {
	Name                string   `json:"name"`
	Endpoint            string   `json:"endpoint"`
	EventDeliverySchema string   `json:"eventDeliverySchema"`
	IncludedEventTypes  []string `json:"includedEventTypes"`
	MaxDeliveryAttempts int      `json:"maxDeliveryAttempts"`
}

func (req subscriptionRequest) input() webhook.SubscriptionInput {
	return webhook.SubscriptionInput{Name: req.Name, URL: req.Endpoint, Schema: webhook.Schema(req.EventDeliverySchema),
		EventTypes: req.IncludedEventTypes, MaxAttempts: req.MaxDeliveryAttempts}
}

func (s *Server) writeCreatedSubscription(w http.ResponseWriter, sub webhook.Subscription) {
	out := renderSubscription(sub)
	out.SigningSecret = base64.StdEncoding.EncodeToString(sub.Secret)
	w.Header().Set("ETag", etag(sub.Version))
	w.Header().Set("Location", "/eventSubscriptions/"+string(sub.ID))
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request) error {
	var req subscriptionRequest
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	sub, err := s.deps.Webhooks.Create(r.Context(), "", req.input())
	if err != nil {
		return err
	}
	s.writeCreatedSubscription(w, sub)
	return nil
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	subs, err := s.deps.Webhooks.List(r.Context(), webhook.SubscriptionID(p.After), p.Limit+1)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(r, p, subs, func(x webhook.Subscription) string { return string(x.ID) }, renderSubscription))
	return nil
}

func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.deps.Webhooks.Get(r.Context(), webhook.SubscriptionID(r.PathValue("id")))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(sub.Version))
	writeJSON(w, http.StatusOK, renderSubscription(sub))
	return nil
}

// patchSubscription is a merge-patch upsert: it creates the subscription
// with the caller's id when none exists, or merges the fields given.
func (s *Server) patchSubscription(w http.ResponseWriter, r *http.Request) error {
	id := webhook.SubscriptionID(r.PathValue("id"))
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	patch, err := mergePatch(r)
	if err != nil {
		return err
	}
	cur, err := s.deps.Webhooks.Get(r.Context(), id)
	exists := err == nil
	if err != nil && errs.KindOf(err) != errs.KindNotFound {
		return err
	}
	if !exists && ver != 0 {
		return errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "If-Match was given but the subscription does not exist")
	}
	if ver == anyVersion {
		ver = 0 // it exists, which is all "*" asks
	}
	req := subscriptionRequest{}
	if exists {
		req = subscriptionRequest{Name: cur.Name, Endpoint: cur.URL, EventDeliverySchema: string(cur.Schema), IncludedEventTypes: cur.EventTypes, MaxDeliveryAttempts: cur.MaxAttempts}
	}
	// Apply the patch onto the current fields: null resets a field.
	base, _ := json.Marshal(req)
	var merged map[string]json.RawMessage
	_ = json.Unmarshal(base, &merged)
	for k, v := range patch {
		switch k {
		case "name", "endpoint", "eventDeliverySchema", "includedEventTypes", "maxDeliveryAttempts":
		default:
			return errs.Invalid("ReadOnlyField", "field %q is unknown or read-only", k).WithTarget(k)
		}
		if string(v) == "null" {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	mb, _ := json.Marshal(merged)
	var next subscriptionRequest
	if err := json.Unmarshal(mb, &next); err != nil {
		return errs.Invalid("InvalidRequestBody", "a field has the wrong type: %v", err)
	}
	if !exists {
		sub, err := s.deps.Webhooks.Create(r.Context(), id, next.input())
		if err != nil {
			return err
		}
		s.writeCreatedSubscription(w, sub)
		return nil
	}
	sub, err := s.deps.Webhooks.Update(r.Context(), id, next.input(), ver)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(sub.Version))
	writeJSON(w, http.StatusOK, renderSubscription(sub))
	return nil
}

func (s *Server) deleteSubscription(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Webhooks.Delete(r.Context(), webhook.SubscriptionID(r.PathValue("id"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type deadLetterJSON struct {
	ID             string          `json:"id"`
	SubscriptionID string          `json:"subscriptionId"`
	EventID        string          `json:"eventId"`
	EventType      string          `json:"eventType"`
	Subject        string          `json:"subject"`
	EventTime      string          `json:"eventTime"`
	Data           json.RawMessage `json:"data"`
	Attempts       int             `json:"deliveryAttempts"`
	LastError      string          `json:"lastError"`
	DeadLetteredOn string          `json:"deadLetteredOn"`
	ReplayedOn     *string         `json:"replayedOn"`
}

func renderDeadLetter(d webhook.DeadLetter) deadLetterJSON {
	out := deadLetterJSON{ID: string(d.ID), SubscriptionID: string(d.Subscription), EventID: d.Event.ID, EventType: d.Event.Type,
		Subject: d.Event.Subject, EventTime: d.Event.Time.Format(time.RFC3339Nano), Data: d.Event.Data, Attempts: d.Attempts,
		LastError: d.LastError, DeadLetteredOn: d.CreatedAt.Format(time.RFC3339Nano)}
	if d.ReplayedAt != nil {
		v := d.ReplayedAt.Format(time.RFC3339Nano)
		out.ReplayedOn = &v
	}
	return out
}

func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	dls, err := s.deps.Webhooks.DeadLetters(r.Context(), webhook.DeadLetterID(p.After), p.Limit+1)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(r, p, dls, func(x webhook.DeadLetter) string { return string(x.ID) }, renderDeadLetter))
	return nil
}

func (s *Server) replayDeadLetter(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Webhooks.Replay(r.Context(), webhook.DeadLetterID(r.PathValue("id"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
