package routing

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"
)

// RemoteRules calls function and webhook rules over HTTP.
type RemoteRules interface {
	// Call posts body (a job's labels, or a scoring request) and returns
	// the answer.
	Call(ctx context.Context, rule map[string]any, body any) (any, error)
}

// remoteTimeout bounds each remote rule: a slow or dead endpoint delays
// only the job that needs it, and then the job falls back.
const remoteTimeout = 3 * time.Second

// SetRemoteRules enables function and webhook rules.
func (s *Service) SetRemoteRules(r RemoteRules) { s.remote = r }

// hasRemote reports whether a document holds a function or webhook rule.
func hasRemote(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		if k := x["kind"]; k == "function" || k == "webhook" {
			return true
		}
		for _, c := range x {
			if hasRemote(c) {
				return true
			}
		}
	case []any:
		for _, c := range x {
			if hasRemote(c) {
				return true
			}
		}
	}
	return false
}

// resolve calls every remote rule of a (copied) policy, at once, and
// attaches each answer or failure to its rule.
func (s *Service) resolve(ctx context.Context, policy map[string]any, labels map[string]any) {
	var rules []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if k := x["kind"]; k == "function" || k == "webhook" {
				rules = append(rules, x)
				return
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(policy)
	var wg sync.WaitGroup
	results := make([]any, len(rules))
	failures := make([]error, len(rules))
	for i, rule := range rules {
		wg.Go(func() {
			if s.remote == nil {
				failures[i] = errors.New("remote rules are not enabled")
				return
			}
			ctx, cancel := context.WithTimeout(ctx, remoteTimeout)
			defer cancel()
			results[i], failures[i] = s.remote.Call(ctx, rule, maps.Clone(labels))
		})
	}
	wg.Wait()
	for i, rule := range rules {
		if failures[i] != nil {
			rule[failedKey] = failures[i].Error()
			s.log.Warn("routing: remote rule failed; the job falls back", "kind", rule["kind"], "err", failures[i])
			continue
		}
		rule[resolvedKey] = results[i]
	}
}

// prepareRemote resolves the remote rules of the classification policy a
// job is about to go through, outside the router's lock; the router then
// classifies with the answers. It returns nil when there is nothing to
// resolve.
func (s *Service) prepareRemote(ctx context.Context, id string, patch map[string]any) (map[string]map[string]any, error) {
	if !s.mayCallRemote(ctx) {
		return nil, nil
	}
	var policyID string
	var policy map[string]any
	var labels map[string]any
	err := s.read(ctx, func(r *Router) error {
		if j := r.Job(id); j != nil {
			policyID = j.ClassificationPolicyID
		}
		if p, ok := patch["classificationPolicyId"].(string); ok {
			policyID = p
		}
		labels = r.labelsAfter(id, patch)
		if doc := r.classes[policyID]; doc != nil && hasRemote(doc) {
			policy = cloneDoc(doc)
		}
		return nil
	})
	if err != nil || policy == nil {
		return nil, err
	}
	s.resolve(ctx, policy, labels)
	return map[string]map[string]any{policyID: policy}, nil
}

// mayCallRemote is false when no policy of the tenant has a rule run over
// HTTP: the common case needs no look at the router (and no wait for its
// lock) before a job is written.
func (s *Service) mayCallRemote(ctx context.Context) bool {
	tr, err := s.router(ctx)
	return err != nil || tr.remote.Load()
}

// labelsAfter are the labels a job will have once patch is applied.
func (r *Router) labelsAfter(id string, patch map[string]any) map[string]any {
	labels := map[string]any{}
	if j := r.jobs[id]; j != nil {
		maps.Copy(labels, j.Labels)
	}
	if l, ok := patch["labels"].(map[string]any); ok {
		labels = Merge(labels, l)
	}
	return labels
}

func (r *Router) withResolved(policies map[string]map[string]any, fn func() (Changes, error)) (Changes, error) {
	r.resolved = policies
	defer func() { r.resolved = nil }()
	return fn()
}
