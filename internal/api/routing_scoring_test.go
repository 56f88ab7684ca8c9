package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// TestRemoteScoring: a bestWorker scoring rule that is a function is
// called with ACS's payload — per worker, or in batches with
// isBatchScoringEnabled — and its scores choose the worker (here the
// lowest skill wins, which no default score would pick).
func TestRemoteScoring(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	var single, batches atomic.Int32
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Job     map[string]any   `json:"job"`
			Worker  map[string]any   `json:"worker"`
			Workers []map[string]any `json:"workers"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.Job["tier"] != "gold" {
			http.Error(w, "bad scoring request", http.StatusBadRequest)
			return
		}
		score := func(l map[string]any) float64 { skill, _ := l["skill"].(float64); return 100 - skill }
		if body.Workers != nil {
			batches.Add(1)
			out := make([]float64, len(body.Workers))
			for i, wl := range body.Workers {
				out[i] = score(wl)
			}
			_ = json.NewEncoder(w).Encode(out)
			return
		}
		single.Add(1)
		_ = json.NewEncoder(w).Encode(score(body.Worker))
	}))
	defer fn.Close()
	rule := map[string]any{"kind": "function", "functionUri": fn.URL}
	patchRouter(t, c, "/routing/distributionPolicies/each", map[string]any{"mode": map[string]any{"kind": "bestWorker", "scoringRule": rule}}, 201)
	patchRouter(t, c, "/routing/distributionPolicies/batched", map[string]any{"mode": map[string]any{"kind": "bestWorker", "scoringRule": rule,
		"scoringRuleOptions": map[string]any{"isBatchScoringEnabled": true, "batchSize": 2}}}, 201)
	patchRouter(t, c, "/routing/queues/q1", map[string]any{"distributionPolicyId": "each"}, 201)
	patchRouter(t, c, "/routing/queues/q2", map[string]any{"distributionPolicyId": "batched"}, 201)
	for w, skill := range map[string]int{"novice": 2, "mid": 5, "expert": 9} {
		patchRouter(t, c, "/routing/workers/"+w, map[string]any{"capacity": 2, "queues": []string{"q1", "q2"}, "labels": map[string]any{"skill": skill},
			"availableForOffers": true, "channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 1}}}, 201)
	}
	for _, tc := range []struct{ job, queue string }{{"j1", "q1"}, {"j2", "q2"}} {
		patchRouter(t, c, "/routing/jobs/"+tc.job, map[string]any{"channelId": "chat", "queueId": tc.queue, "labels": map[string]any{"tier": "gold"}}, 201)
		var j struct {
			Decisions []struct {
				Kind       string
				WorkerID   string
				Candidates []struct {
					WorkerID string
					Score    float64
				}
			}
		}
		raw, _ := json.Marshal(getRouterJob(t, c, tc.job))
		_ = json.Unmarshal(raw, &j)
		if len(j.Decisions) == 0 || j.Decisions[0].WorkerID != "novice" || j.Decisions[0].Candidates[0].Score != 98 {
			t.Fatalf("%s: %s", tc.job, raw)
		}
	}
	if single.Load() != 3 || batches.Load() != 2 {
		t.Fatalf("calls: %d single (want 3, one per worker), %d batches (want 2 for three workers in twos)", single.Load(), batches.Load())
	}
}
