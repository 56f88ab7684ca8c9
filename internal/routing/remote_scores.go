package routing

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"
)

// A bestWorker scoring rule that is a function or webhook is called when
// a job is written, outside the router's lock, for every worker of the
// job's queue (ACS's payload: {job, selectors, worker}, or with batch
// scoring {job, selectors, workers} in batches of batchSize answered by an
// array). The job carries the scores; workers without one (they joined
// the queue later, or the call failed) rank after those with one.

// scoringRequest is what prepareScores needs to know under the lock.
type scoringRequest struct {
	rule      map[string]any
	batch     int // 0: one call per worker
	labels    map[string]any
	selectors []Selector
	workers   []string
	wlabels   []map[string]any
}

// prepareScores calls a remote scoring rule for the job being written, if
// its queue's distribution policy has one.
func (s *Service) prepareScores(ctx context.Context, id string, patch map[string]any) (map[string]float64, error) {
	if !s.mayCallRemote(ctx) {
		return nil, nil
	}
	var req *scoringRequest
	err := s.read(ctx, func(r *Router) error {
		req = r.scoringRequest(id, patch)
		return nil
	})
	if err != nil || req == nil || s.remote == nil {
		return nil, err
	}
	scores := map[string]float64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	call := func(body any, ids []string) {
		ctx, cancel := context.WithTimeout(ctx, remoteTimeout)
		defer cancel()
		v, err := s.remote.Call(ctx, req.rule, body)
		if err != nil {
			s.log.Warn("routing: remote scoring rule failed; those workers rank last", "err", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if len(ids) == 1 && req.batch == 0 {
			if f, ok := v.(float64); ok {
				scores[ids[0]] = f
			}
			return
		}
		list, _ := v.([]any)
		for i, x := range list {
			if f, ok := x.(float64); ok && i < len(ids) {
				scores[ids[i]] = f
			}
		}
	}
	job := maps.Clone(req.labels)
	if req.batch > 0 {
		for from := 0; from < len(req.workers); from += req.batch {
			to := min(from+req.batch, len(req.workers))
			wg.Go(func() {
				call(map[string]any{"job": job, "selectors": req.selectors, "workers": req.wlabels[from:to]}, req.workers[from:to])
			})
		}
	} else {
		for i := range req.workers {
			wg.Go(func() {
				call(map[string]any{"job": job, "selectors": req.selectors, "worker": req.wlabels[i]}, req.workers[i:i+1])
			})
		}
	}
	wg.Wait()
	return scores, nil
}

// scoringRequest says what a remote scoring call needs, or nil when the
// job's queue does not score remotely.
func (r *Router) scoringRequest(id string, patch map[string]any) *scoringRequest {
	queue, _ := patch["queueId"].(string)
	labels := r.labelsAfter(id, patch)
	var selectors []Selector
	if j := r.jobs[id]; j != nil {
		if queue == "" {
			queue = j.QueueID
		}
		selectors = r.spec(j, time.Time{}).Selectors
	}
	if sels, err := toSelectors(patch["requestedWorkerSelectors"]); err == nil && sels != nil {
		selectors = sels
	}
	q := r.queues[queue]
	dp := r.dists[fmt.Sprint(q["distributionPolicyId"])]
	mode, _ := dp["mode"].(map[string]any)
	rule, _ := mode["scoringRule"].(map[string]any)
	if mode["kind"] != "bestWorker" || (rule["kind"] != "function" && rule["kind"] != "webhook") {
		return nil
	}
	req := &scoringRequest{rule: cloneDoc(rule), labels: labels, selectors: selectors}
	if opts, ok := mode["scoringRuleOptions"].(map[string]any); ok && opts["isBatchScoringEnabled"] == true {
		req.batch = 20
		if n, ok := opts["batchSize"].(float64); ok && n >= 1 {
			req.batch = int(n)
		}
	}
	for _, w := range r.eng.members(queue) {
		wl, _ := r.workers[w.ID]["labels"].(map[string]any)
		req.workers = append(req.workers, w.ID)
		req.wlabels = append(req.wlabels, maps.Clone(wl))
	}
	return req
}
