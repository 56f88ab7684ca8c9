package routing

import (
	"context"
	"encoding/json"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Configuration goes through the router so that it sees every change at
// once: a worker becoming available is offered work in the same call.

// Upsert writes a configuration entity (see Config.Upsert) and applies it.
func (s *Service) Upsert(ctx context.Context, kind Kind, id string, patch map[string]any, ifMatch int64) (Entity, bool, error) {
	var out Entity
	var created bool
	err := s.do(ctx, func(r *Router, now time.Time) (Changes, error) {
		e, c, err := s.config.Upsert(ctx, kind, id, patch, ifMatch)
		if err != nil {
			return Changes{}, err
		}
		doc, err := Decode(e.Doc)
		if err != nil {
			return Changes{}, err
		}
		out, created = e, c
		if s.recorder != nil {
			s.recordStep(tenant.MustFrom(ctx), now, map[string]any{"config": map[string]any{"kind": string(kind), "id": id, "doc": cloneDoc(doc)}})
		}
		ch := r.SetConfig(kind, id, doc, now)
		if kind == KindWorker {
			out.Doc = viewDoc(r, id, doc)
		}
		return ch, nil
	})
	return out, created, err
}

func viewDoc(r *Router, id string, doc map[string]any) json.RawMessage {
	raw, _ := json.Marshal(r.WorkerView(id, doc))
	return raw
}

// Get returns a configuration entity; a worker with its runtime state.
func (s *Service) Get(ctx context.Context, kind Kind, id string) (Entity, error) {
	e, err := s.config.Get(ctx, kind, id)
	if err != nil || kind != KindWorker {
		return e, err
	}
	return s.overlay(ctx, []Entity{e})[0], nil
}

// List pages a configuration collection; workers with their runtime state.
func (s *Service) List(ctx context.Context, kind Kind, after string, limit int) ([]Entity, error) {
	es, err := s.config.List(ctx, kind, after, limit)
	if err != nil || kind != KindWorker {
		return es, err
	}
	return s.overlay(ctx, es), nil
}

func (s *Service) overlay(ctx context.Context, es []Entity) []Entity {
	tr, err := s.router(ctx)
	if err != nil {
		return es
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i, e := range es {
		if doc, err := Decode(e.Doc); err == nil {
			es[i].Doc = viewDoc(tr.r, e.ID, doc)
		}
	}
	return es
}

// Delete removes a configuration entity nothing uses; a queue or
// classification policy with live jobs stays.
func (s *Service) Delete(ctx context.Context, kind Kind, id string) error {
	return s.do(ctx, func(r *Router, now time.Time) (Changes, error) {
		if n := r.ActiveJobsUsing(kind, id); n > 0 {
			if kind == KindQueue {
				return Changes{}, errs.Conflict("ActiveJobWithQueueExist", "There is active job with this queue")
			}
			return Changes{}, errs.Invalid("ActiveJobWithClassificationPolicyExist", "There is active job with this classification policy")
		}
		if err := s.config.Delete(ctx, kind, id); err != nil {
			return Changes{}, err
		}
		s.recordStep(tenant.MustFrom(ctx), now, map[string]any{"remove": map[string]any{"kind": string(kind), "id": id}})
		return r.RemoveConfig(kind, id, now), nil
	})
}

// stored loads a job the router no longer holds.
func (s *Service) stored(ctx context.Context, id string) (*Job, error) {
	if j, ok, err := s.journaledJob(tenant.MustFrom(ctx), id); ok {
		return j, err
	}
	rec, err := s.jobs.RouterJob(ctx, tenant.MustFrom(ctx), id)
	if err != nil {
		return nil, err
	}
	return decodeRecord(rec)
}

// current is the job as the router holds it, else as stored; nil if none.
func (s *Service) current(ctx context.Context, r *Router, id string) (*Job, error) {
	if j := r.Job(id); j != nil {
		return j, nil
	}
	j, err := s.stored(ctx, id)
	if errs.KindOf(err) == errs.KindNotFound {
		return nil, nil
	}
	return j, err
}

// UpsertJob creates or merge-patches a job (ifMatch: 0 any, -1 must exist,
// else the version it must have).
func (s *Service) UpsertJob(ctx context.Context, id string, patch map[string]any, ifMatch int64) (*Job, bool, error) {
	var view *Job
	var created bool
	resolved, err := s.prepareRemote(ctx, id, patch)
	if err != nil {
		return nil, false, err
	}
	scores, err := s.prepareScores(ctx, id, patch)
	if err != nil {
		return nil, false, err
	}
	tr, err := s.router(ctx)
	if err != nil {
		return nil, false, err
	}
	// A job the router does not hold is read before taking the lock: the
	// lock serialises the tenant's routing, and a read under it would
	// hold everyone up. A new id is not read at all.
	var stored, fresh *Job
	var freshErr error
	if tr.ids.MayExist(id) {
		if stored, err = s.stored(ctx, id); err != nil && errs.KindOf(err) != errs.KindNotFound {
			return nil, false, err
		}
	} else {
		// Almost certainly a creation: the job is read from its patch
		// before the lock too.
		fresh, freshErr = NewJob(id, patch)
	}
	err = s.do(ctx, func(r *Router, now time.Time) (Changes, error) {
		r.resolved, r.scores = resolved, scores
		defer func() { r.resolved, r.scores = nil, nil }()
		cur := r.Job(id)
		if cur == nil && stored != nil {
			cur = stored
			if !stored.Status.Terminal() {
				// It finished (or went) meanwhile: read it again.
				var err error
				if cur, err = s.current(ctx, r, id); err != nil {
					return Changes{}, err
				}
			}
		}
		switch {
		case cur == nil && ifMatch != 0:
			return Changes{}, errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "no job to match the ETag")
		case cur != nil && ifMatch > 0 && cur.Version != ifMatch:
			return Changes{}, errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "the job changed since that ETag")
		}
		created = cur == nil
		var v *Job
		var ch Changes
		var err error
		switch {
		case created && freshErr != nil:
			return Changes{}, freshErr
		case created && fresh != nil:
			v, ch, err = r.CreateJob(fresh, now)
		default:
			v, ch, err = r.UpsertJob(cur, id, patch, now)
		}
		if err != nil {
			return ch, err
		}
		if created {
			tr.ids.Add(id)
		}
		if s.recorder != nil {
			step := cloneDoc(patch)
			step["id"] = id
			s.recordStep(tenant.MustFrom(ctx), now, map[string]any{"job": step})
		}
		view = v
		// The answer carries the version this call stores.
		view.Version++
		if cur != nil {
			view.Version = cur.Version + 1
		}
		return ch, nil
	})
	return view, created, err
}

// GetJob returns a job.
func (s *Service) GetJob(ctx context.Context, id string) (*Job, error) {
	tr, err := s.router(ctx)
	if err != nil {
		return nil, err
	}
	// A change the journal holds is committed: read there, a reader does
	// not wait for the runner's batch (nor see what it has not committed).
	if j, ok, err := s.journaledJob(tr.t, id); ok {
		return j, err
	}
	tr.mu.Lock()
	if j := tr.r.Job(id); j != nil {
		c := j.Clone()
		tr.mu.Unlock()
		return c, nil
	}
	tr.mu.Unlock()
	return s.stored(ctx, id)
}

// ListJobs pages jobs by id.
func (s *Service) ListJobs(ctx context.Context, f JobFilter, after string, limit int) ([]*Job, error) {
	if err := s.checkpoint(ctx); err != nil {
		return nil, err
	}
	recs, err := s.jobs.RouterJobs(ctx, tenant.MustFrom(ctx), f, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*Job, 0, len(recs))
	for _, rec := range recs {
		j, err := decodeRecord(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// DeleteJob removes a job and its traces.
func (s *Service) DeleteJob(ctx context.Context, id string) error {
	return s.do(ctx, func(r *Router, now time.Time) (Changes, error) {
		j, err := s.current(ctx, r, id)
		if err != nil {
			return Changes{}, err
		}
		if j == nil {
			return Changes{}, ErrJobNotFound
		}
		if r.Job(id) != nil {
			s.recordStep(tenant.MustFrom(ctx), now, map[string]any{"delete": map[string]any{"job": id}})
		}
		return r.DeleteJob(j, now), nil
	})
}

// live runs an operation on a job the router holds; a job it no longer
// holds exists only as stored (finished) or not at all.
func (s *Service) live(ctx context.Context, id string, step map[string]any, fn func(r *Router, now time.Time) (Changes, error)) error {
	return s.do(ctx, func(r *Router, now time.Time) (Changes, error) {
		if r.Job(id) == nil {
			j, err := s.stored(ctx, id)
			if err != nil {
				return Changes{}, err
			}
			return Changes{}, errs.Invalid("InvalidJobStatus", "job %s is %s", id, j.Status)
		}
		ch, err := fn(r, now)
		if err == nil && step != nil {
			s.recordStep(tenant.MustFrom(ctx), now, step)
		}
		return ch, err
	})
}

// stepIf builds a step to record only when the service records.
func (s *Service) stepIf(build func() map[string]any) map[string]any {
	if s.recorder == nil {
		return nil
	}
	return build()
}

// jobStep is a recorded action on a job.
func jobStep(action, id string, extra map[string]any) map[string]any {
	m := map[string]any{"job": id}
	for k, v := range extra {
		m[k] = v
	}
	return map[string]any{action: m}
}

// CancelJob cancels a job.
func (s *Service) CancelJob(ctx context.Context, id, note, disposition string) error {
	step := s.stepIf(func() map[string]any {
		return jobStep("cancel", id, map[string]any{"note": note, "disposition": disposition})
	})
	return s.live(ctx, id, step, func(r *Router, now time.Time) (Changes, error) { return r.Cancel(id, note, disposition, now) })
}

// ReclassifyJob runs a job's classification again.
func (s *Service) ReclassifyJob(ctx context.Context, id string) error {
	resolved, err := s.prepareRemote(ctx, id, nil)
	if err != nil {
		return err
	}
	return s.live(ctx, id, s.stepIf(func() map[string]any { return jobStep("reclassify", id, nil) }), func(r *Router, now time.Time) (Changes, error) {
		return r.withResolved(resolved, func() (Changes, error) { return r.Reclassify(id, now) })
	})
}

// CompleteJob completes an assignment.
func (s *Service) CompleteJob(ctx context.Context, id, assignment, note string) error {
	return s.live(ctx, id, s.stepIf(func() map[string]any { return jobStep("complete", id, map[string]any{"note": note}) }), func(r *Router, now time.Time) (Changes, error) {
		return r.Complete(id, assignment, note, now)
	})
}

// CloseJob closes an assignment now or at closeAt.
func (s *Service) CloseJob(ctx context.Context, id, assignment, disposition, note string, closeAt time.Time) error {
	return s.live(ctx, id, nil, func(r *Router, now time.Time) (Changes, error) {
		ch, err := r.Close(id, assignment, disposition, note, closeAt, now)
		if err == nil && s.recorder != nil {
			extra := map[string]any{"disposition": disposition, "note": note}
			if closeAt.After(now) {
				extra["closeAfter"] = closeAt.Sub(now).String()
			}
			s.recordStep(tenant.MustFrom(ctx), now, jobStep("close", id, extra))
		}
		return ch, err
	})
}

// UnassignJob takes a job back from its worker.
func (s *Service) UnassignJob(ctx context.Context, id, assignment string, suspend bool) (int, error) {
	var n int
	err := s.live(ctx, id, s.stepIf(func() map[string]any { return jobStep("unassign", id, map[string]any{"suspend": suspend}) }), func(r *Router, now time.Time) (Changes, error) {
		var ch Changes
		var err error
		n, ch, err = r.Unassign(id, assignment, suspend, now)
		return ch, err
	})
	return n, err
}

// AcceptOffer turns an offer into an assignment.
func (s *Service) AcceptOffer(ctx context.Context, worker, offer string) (assignment, job string, err error) {
	err = s.do(ctx, func(r *Router, now time.Time) (Changes, error) {
		aid, j, ch, err := r.Accept(worker, offer, now)
		if err == nil {
			assignment, job = aid, j.ID
			if s.recorder != nil {
				s.recordStep(tenant.MustFrom(ctx), now, map[string]any{"accept": map[string]any{"job": j.ID, "worker": worker}})
			}
		}
		return ch, err
	})
	return assignment, job, err
}

// DeclineOffer gives an offer back.
func (s *Service) DeclineOffer(ctx context.Context, worker, offer string, retryAt time.Time) error {
	return s.do(ctx, func(r *Router, now time.Time) (Changes, error) {
		job, _ := r.offerParties(offer)
		ch, err := r.Decline(worker, offer, retryAt, now)
		if err == nil {
			step := map[string]any{"job": job, "worker": worker}
			if retryAt.After(now) {
				step["retryAfter"] = retryAt.Sub(now).String()
			}
			s.recordStep(tenant.MustFrom(ctx), now, map[string]any{"decline": step})
		}
		return ch, err
	})
}

// JobPosition is a queued job's place.
func (s *Service) JobPosition(ctx context.Context, id string) (Position, error) {
	var p Position
	err := s.read(ctx, func(r *Router) error {
		var err error
		if r.Job(id) == nil {
			if _, err := s.stored(ctx, id); err != nil {
				return err
			}
		}
		p, err = r.Position(id, s.now())
		if errs.KindOf(err) == errs.KindNotFound {
			return errs.Invalid("InvalidJobStatus", "job %s is not queued", id)
		}
		return err
	})
	return p, err
}

// QueueStatistics reports a queue's live figures.
func (s *Service) QueueStatistics(ctx context.Context, id string) (QueueStatistics, error) {
	var st QueueStatistics
	err := s.read(ctx, func(r *Router) error {
		var err error
		st, err = r.QueueStatistics(id, s.now())
		return err
	})
	return st, err
}

func (s *Service) read(ctx context.Context, fn func(r *Router) error) error {
	tr, err := s.router(ctx)
	if err != nil {
		return err
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return fn(tr.r)
}

// WarmAll loads the router of every tenant with live jobs that local
// says this node runs (nil: all).
func (s *Service) WarmAll(ctx context.Context, local func(ctx context.Context, t tenant.ID) (bool, error)) error {
	tenants, err := s.jobs.RouterTenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if local != nil {
			if mine, err := local(ctx, t); err != nil || !mine {
				continue
			}
		}
		if err := s.Warm(tenant.With(ctx, t)); err != nil {
			s.log.Warn("routing: load tenant", "tenant", t, "err", err)
		}
	}
	return nil
}
