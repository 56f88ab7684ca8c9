package routing

import (
	"time"

	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// A recorder keeps what a tenant's router was told, in the scenario
// vocabulary (docs/routing.md), so that `switchboard routing replay` can
// run it again under a virtual clock: the configuration the router loaded,
// then every change and answer at its time. Timers are not recorded: the
// replay runs them itself. Function and webhook rules are not called in a
// replay (the job falls back, as when they fail).

// Recorder receives the steps; it is called under the tenant's lock, in
// the order the router applied them.
type Recorder interface {
	Start(t tenant.ID, at time.Time, config map[string]map[string]map[string]any)
	Step(t tenant.ID, at time.Time, step map[string]any)
}

// SetRecorder records every tenant's router input.
func (s *Service) SetRecorder(r Recorder) { s.recorder = r }

// recordLoad starts a tenant's recording with the configuration loaded.
func (s *Service) recordLoad(t tenant.ID, r *Router, now time.Time) {
	if s.recorder == nil {
		return
	}
	cfg := map[string]map[string]map[string]any{}
	for kind, docs := range map[Kind]map[string]map[string]any{KindDistributionPolicy: r.dists, KindClassificationPolicy: r.classes,
		KindExceptionPolicy: r.excepts, KindQueue: r.queues, KindWorker: r.workers} {
		m := map[string]map[string]any{}
		for id, doc := range docs {
			m[id] = cloneDoc(doc)
		}
		cfg[string(kind)] = m
	}
	s.recorder.Start(t, now, cfg)
}

// recordStep notes one input the router accepted.
func (s *Service) recordStep(t tenant.ID, now time.Time, step map[string]any) {
	if s.recorder != nil {
		s.recorder.Step(t, now, step)
	}
}

// offerParties names an open offer's job and worker (a replay issues its
// own offer ids).
func (r *Router) offerParties(offer string) (job, worker string) {
	if o := r.offers[offer]; o != nil {
		return o.JobID, o.worker
	}
	return "", ""
}
