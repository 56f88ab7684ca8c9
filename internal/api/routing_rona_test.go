package api_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// TestRONAPausesAndStoresTheWorker: a worker that lets its offers expire
// maxMissedOffers times in a row is paused — stored so, with the reason —
// and comes back with presence available.
func TestRONAPausesAndStoresTheWorker(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	patchRouter(t, c, "/routing/distributionPolicies/fast", map[string]any{"offerExpiresAfterSeconds": 1, "mode": map[string]any{"kind": "longestIdle"}}, 201)
	patchRouter(t, c, "/routing/queues/q", map[string]any{"distributionPolicyId": "fast"}, 201)
	patchRouter(t, c, "/routing/workers/sleepy", map[string]any{"capacity": 1, "queues": []string{"q"}, "maxMissedOffers": 1,
		"presence": map[string]any{"status": "available"}, "channels": []any{map[string]any{"channelId": "voice", "capacityCostPerJob": 1}}}, 201)
	patchRouter(t, c, "/routing/jobs/j", map[string]any{"channelId": "voice", "queueId": "q"}, 201)
	var w struct {
		State              string
		AvailableForOffers bool
		PausedReason       string
		Offers             []any
	}
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		resp, raw := c.Do(t, "GET", "/routing/workers/sleepy"+routerRV, nil)
		if resp.StatusCode != 200 {
			return fmt.Errorf("%d %s", resp.StatusCode, raw)
		}
		_ = json.Unmarshal(raw, &w)
		if w.AvailableForOffers {
			return fmt.Errorf("still available: %s", raw)
		}
		return nil
	})
	if w.State != "inactive" || w.PausedReason == "" || len(w.Offers) != 0 {
		t.Fatalf("paused worker: %+v", w)
	}
	// Back from the pause: the job is offered again.
	patchRouter(t, c, "/routing/workers/sleepy", map[string]any{"presence": map[string]any{"status": "available"}}, 200)
	resp, raw := c.Do(t, "GET", "/routing/workers/sleepy"+routerRV, nil)
	wantStatus(t, resp, raw, 200)
	_ = json.Unmarshal(raw, &w)
	w.PausedReason = ""
	_ = json.Unmarshal(raw, &w)
	if !w.AvailableForOffers || len(w.Offers) != 1 || w.PausedReason != "" {
		t.Fatalf("back from the pause: %s", raw)
	}
}
