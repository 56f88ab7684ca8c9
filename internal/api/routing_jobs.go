package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/routing"
)

func (s *Server) registerRoutingJobs() {
	r := func(method, path string, h func(w http.ResponseWriter, r *http.Request) error) route {
		return route{method: method, path: path, auth: authKey, versions: routingVersions, errors: routerErrors, h: h}
	}
	s.handle(r("PATCH", "/routing/jobs/{job}", s.upsertJob))
	s.handle(r("GET", "/routing/jobs/{job}", s.getJob))
	s.handle(r("DELETE", "/routing/jobs/{job}", s.deleteJob))
	s.handle(r("GET", "/routing/jobs", s.listJobs))
	s.handle(r("GET", "/routing/jobs/{job}/position", s.jobPosition))
	s.handle(r("POST", "/routing/jobs/{job}:cancel", s.cancelJob))
	s.handle(r("POST", "/routing/jobs/{job}:reclassify", s.reclassifyJob))
	s.handle(r("POST", "/routing/jobs/{job}/assignments/{assignment}:complete", s.completeJob))
	s.handle(r("POST", "/routing/jobs/{job}/assignments/{assignment}:close", s.closeJob))
	s.handle(r("POST", "/routing/jobs/{job}/assignments/{assignment}:unassign", s.unassignJob))
	s.handle(r("POST", "/routing/workers/{worker}/offers/{offer}:accept", s.acceptOffer))
	s.handle(r("POST", "/routing/workers/{worker}/offers/{offer}:decline", s.declineOffer))
	s.handle(r("GET", "/routing/queues/{queue}/statistics", s.queueStatistics))
}

// jobJSON is a job as the API shows it: the router's bookkeeping stays
// inside, except the decision trail (Switchboard's explanation of every
// offer).
func jobJSON(j *routing.Job) json.RawMessage {
	// The router's bookkeeping is left out (all omitted when zero) and the
	// ETag added, in one encoding.
	view := *j
	view.Unassignments, view.CloseAt, view.FiredExceptions, view.CreatedAt = 0, time.Time{}, nil, time.Time{}
	out, _ := json.Marshal(struct {
		*routing.Job
		ETag string `json:"etag"`
	}{&view, etag(j.Version)})
	return out
}

func writeJob(w http.ResponseWriter, status int, j *routing.Job) {
	w.Header().Set("ETag", etag(j.Version))
	writeJSON(w, status, jobJSON(j))
}

func (s *Server) upsertJob(w http.ResponseWriter, r *http.Request) error {
	version, patch, err := routerPatch(r)
	if err != nil {
		return err
	}
	j, created, err := s.deps.Routing.UpsertJob(r.Context(), r.PathValue("job"), patch, version)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJob(w, status, j)
	return nil
}

// routerPatch reads a router upsert: the If-Match version and the
// merge-patch body as plain JSON values.
func routerPatch(r *http.Request) (int64, map[string]any, error) {
	version, err := ifMatch(r)
	if err != nil {
		return 0, nil, err
	}
	raw, err := mergePatch(r)
	if err != nil {
		return 0, nil, err
	}
	patch, err := decodePatch(raw)
	return version, patch, err
}

// decodePatch turns a merge-patch body's fields into plain JSON values.
func decodePatch(raw map[string]json.RawMessage) (map[string]any, error) {
	patch := make(map[string]any, len(raw))
	for k, v := range raw {
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, errs.Invalid("InvalidRequestBody", "field %q is not JSON", k).WithTarget(k)
		}
		patch[k] = x
	}
	return patch, nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	j, err := s.deps.Routing.GetJob(r.Context(), r.PathValue("job"))
	if err != nil {
		return err
	}
	writeJob(w, http.StatusOK, j)
	return nil
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Routing.DeleteJob(r.Context(), r.PathValue("job")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var jobStatuses = map[string]bool{"all": true, "active": true, "pendingClassification": true, "queued": true, "assigned": true, "completed": true,
	"closed": true, "cancelled": true, "classificationFailed": true, "created": true, "pendingSchedule": true, "scheduled": true,
	"scheduleFailed": true, "waitingForActivation": true}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := routing.JobFilter{Status: q.Get("status"), QueueID: q.Get("queueId"), ChannelID: q.Get("channelId"), ClassificationPolicyID: q.Get("classificationPolicyId")}
	if f.Status != "" && !jobStatuses[f.Status] {
		return errs.Invalid("InvalidStatus", "status %q is not a job status", f.Status).WithTarget("status")
	}
	for name, at := range map[string]*time.Time{"scheduledBefore": &f.ScheduledBefore, "scheduledAfter": &f.ScheduledAfter} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return errs.Invalid("InvalidRequestParameter", "%s must be an RFC 3339 time", name).WithTarget(name)
			}
			*at = t
		}
	}
	jobs, err := s.deps.Routing.ListJobs(r.Context(), f, p.After, p.Limit+1)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(r, p, jobs, func(j *routing.Job) string { return j.ID }, jobJSON))
	return nil
}

func (s *Server) jobPosition(w http.ResponseWriter, r *http.Request) error {
	pos, err := s.deps.Routing.JobPosition(r.Context(), r.PathValue("job"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pos)
	return nil
}

// jobAction is the body of cancel, complete and close.
type jobAction struct {
	Note            string    `json:"note"`
	DispositionCode string    `json:"dispositionCode"`
	CloseAt         time.Time `json:"closeAt"`
	SuspendMatching bool      `json:"suspendMatching"`
	RetryOfferAt    time.Time `json:"retryOfferAt"`
}

func readAction(r *http.Request) (jobAction, error) {
	var a jobAction
	err := decodeJSON(r, &a, true)
	return a, err
}

func empty(w http.ResponseWriter) { writeJSON(w, http.StatusOK, json.RawMessage(`{}`)) }

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) error {
	a, err := readAction(r)
	if err != nil {
		return err
	}
	if err := s.deps.Routing.CancelJob(r.Context(), r.PathValue("job"), a.Note, a.DispositionCode); err != nil {
		return err
	}
	empty(w)
	return nil
}

func (s *Server) reclassifyJob(w http.ResponseWriter, r *http.Request) error {
	if _, err := readAction(r); err != nil {
		return err
	}
	if err := s.deps.Routing.ReclassifyJob(r.Context(), r.PathValue("job")); err != nil {
		return err
	}
	empty(w)
	return nil
}

func (s *Server) completeJob(w http.ResponseWriter, r *http.Request) error {
	a, err := readAction(r)
	if err != nil {
		return err
	}
	if err := s.deps.Routing.CompleteJob(r.Context(), r.PathValue("job"), r.PathValue("assignment"), a.Note); err != nil {
		return err
	}
	empty(w)
	return nil
}

func (s *Server) closeJob(w http.ResponseWriter, r *http.Request) error {
	a, err := readAction(r)
	if err != nil {
		return err
	}
	if err := s.deps.Routing.CloseJob(r.Context(), r.PathValue("job"), r.PathValue("assignment"), a.DispositionCode, a.Note, a.CloseAt); err != nil {
		return err
	}
	empty(w)
	return nil
}

func (s *Server) unassignJob(w http.ResponseWriter, r *http.Request) error {
	a, err := readAction(r)
	if err != nil {
		return err
	}
	id := r.PathValue("job")
	n, err := s.deps.Routing.UnassignJob(r.Context(), id, r.PathValue("assignment"), a.SuspendMatching)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobId": id, "unassignmentCount": n})
	return nil
}

func (s *Server) acceptOffer(w http.ResponseWriter, r *http.Request) error {
	worker := r.PathValue("worker")
	aid, job, err := s.deps.Routing.AcceptOffer(r.Context(), worker, r.PathValue("offer"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"assignmentId": aid, "jobId": job, "workerId": worker})
	return nil
}

func (s *Server) declineOffer(w http.ResponseWriter, r *http.Request) error {
	a, err := readAction(r)
	if err != nil {
		return err
	}
	if err := s.deps.Routing.DeclineOffer(r.Context(), r.PathValue("worker"), r.PathValue("offer"), a.RetryOfferAt); err != nil {
		return err
	}
	empty(w)
	return nil
}

func (s *Server) queueStatistics(w http.ResponseWriter, r *http.Request) error {
	st, err := s.deps.Routing.QueueStatistics(r.Context(), r.PathValue("queue"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
