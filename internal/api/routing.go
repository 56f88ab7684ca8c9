package api

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/routing"
)

// routingVersions are the Job Router API versions the SDKs send.
var routingVersions = []string{"2021-04-07-preview1", "2022-07-18-preview", "2023-08-25-preview", "2023-11-01", "2024-01-18-preview"}

func (s *Server) registerRouting() {
	for _, kind := range []routing.Kind{routing.KindDistributionPolicy, routing.KindClassificationPolicy, routing.KindExceptionPolicy, routing.KindQueue, routing.KindWorker} {
		base := "/routing/" + string(kind)
		// The configuration is also the admin pages': an admin's session
		// changes it, a supervisor's reads it; SDKs sign with the key.
		r := func(method, path string, h func(k routing.Kind) func(w http.ResponseWriter, r *http.Request) error) route {
			min := identity.RoleAdmin
			if method == "GET" {
				min = identity.RoleSupervisor
			}
			return route{method: method, path: path, auth: authAdmin, minRole: min, versions: routingVersions, errors: routerErrors, h: h(kind)}
		}
		s.handle(r("PATCH", base+"/{id}", s.upsertConfig))
		s.handle(r("GET", base+"/{id}", s.getConfig))
		s.handle(r("DELETE", base+"/{id}", s.deleteConfig))
		s.handle(r("GET", base, s.listConfig))
	}
}

// configJSON is an entity's document with its etag, as the API shows it.
func configJSON(e routing.Entity) json.RawMessage {
	doc, err := routing.Decode(e.Doc)
	if err != nil {
		return e.Doc
	}
	doc["etag"] = etag(e.Version)
	raw, _ := json.Marshal(doc)
	return raw
}

func writeEntity(w http.ResponseWriter, status int, e routing.Entity) {
	w.Header().Set("ETag", etag(e.Version))
	w.Header().Set("Last-Modified", e.UpdatedAt.UTC().Format(http.TimeFormat))
	writeJSON(w, status, configJSON(e))
}

func (s *Server) upsertConfig(kind routing.Kind) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		version, patch, err := routerPatch(r)
		if err != nil {
			return err
		}
		e, created, err := s.deps.Routing.Upsert(r.Context(), kind, r.PathValue("id"), patch, version)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		writeEntity(w, status, e)
		return nil
	}
}

func (s *Server) getConfig(kind routing.Kind) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		e, err := s.deps.Routing.Get(r.Context(), kind, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeEntity(w, http.StatusOK, e)
		return nil
	}
}

func (s *Server) deleteConfig(kind routing.Kind) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := s.deps.Routing.Delete(r.Context(), kind, r.PathValue("id")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) listConfig(kind routing.Kind) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := pageParams(r)
		if err != nil {
			return err
		}
		keep := func(routing.Entity) bool { return true }
		if kind == routing.KindWorker {
			if keep, err = workerFilter(r); err != nil {
				return err
			}
		}
		// Filters apply before paging: read on until the page is full.
		var es []routing.Entity
		after := p.After
		for len(es) <= p.Limit {
			batch, err := s.deps.Routing.List(r.Context(), kind, after, 500)
			if err != nil {
				return err
			}
			for _, e := range batch {
				if keep(e) {
					es = append(es, e)
				}
			}
			if len(batch) < 500 {
				break
			}
			after = batch[len(batch)-1].ID
		}
		writeJSON(w, http.StatusOK, pageOf(r, p, es, func(e routing.Entity) string { return e.ID }, configJSON))
		return nil
	}
}

// workerView is what the list filters read of a worker.
type workerView struct {
	State    string          `json:"state"`
	Capacity float64         `json:"capacity"`
	Load     float64         `json:"loadRatio"`
	Queues   []string        `json:"queues"`
	Channels []workerChannel `json:"channels"`
}

type workerChannel struct {
	ChannelID string `json:"channelId"`
}

// workerFilter reads the list workers filters: state, channelId, queueId,
// hasCapacity.
func workerFilter(r *http.Request) (func(routing.Entity) bool, error) {
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "", "all", "active", "draining", "inactive":
	default:
		return nil, errs.Invalid("InvalidState", "state must be active, draining, inactive or all").WithTarget("state")
	}
	hasCap := q.Get("hasCapacity")
	if hasCap != "" && hasCap != "true" && hasCap != "false" {
		return nil, errs.Invalid("InvalidHasCapacity", "hasCapacity must be true or false").WithTarget("hasCapacity")
	}
	channel, queue := q.Get("channelId"), q.Get("queueId")
	return func(e routing.Entity) bool {
		var w workerView
		if json.Unmarshal(e.Doc, &w) != nil {
			return false
		}
		if state != "" && state != "all" && w.State != state {
			return false
		}
		if channel != "" && !slices.ContainsFunc(w.Channels, func(c workerChannel) bool { return c.ChannelID == channel }) {
			return false
		}
		if queue != "" && !slices.Contains(w.Queues, queue) {
			return false
		}
		if hasCap != "" {
			free := w.State == "active" && w.Capacity > 0 && w.Load < 1
			if free != (hasCap == "true") {
				return false
			}
		}
		return true
	}, nil
}
