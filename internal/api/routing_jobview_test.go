package api_test

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// A job as the API shows it: its ETag in the body as in the header, its
// decision trail, and none of the router's own bookkeeping — also once
// the job is finished and read back from the store.
func TestJobViewShowsTheETagAndHidesBookkeeping(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	patchRouter(t, c, "/routing/distributionPolicies/dp", map[string]any{"offerExpiresAfterSeconds": 60, "mode": map[string]any{"kind": "longestIdle"}}, 201)
	patchRouter(t, c, "/routing/queues/q", map[string]any{"distributionPolicyId": "dp"}, 201)
	patchRouter(t, c, "/routing/workers/w", map[string]any{"capacity": 1, "queues": []string{"q"}, "availableForOffers": true,
		"channels": []any{map[string]any{"channelId": "voice", "capacityCostPerJob": 1}}}, 201)
	patchRouter(t, c, "/routing/jobs/j", map[string]any{"channelId": "voice", "queueId": "q", "labels": map[string]any{"tier": "gold"}}, 201)
	check := func(what string) map[string]any {
		t.Helper()
		resp, raw := c.Do(t, "GET", "/routing/jobs/j"+routerRV, nil)
		wantStatus(t, resp, raw, 200)
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if doc["etag"] == nil || doc["etag"] != resp.Header.Get("ETag") {
			t.Fatalf("%s: etag %v in the body, %q in the header", what, doc["etag"], resp.Header.Get("ETag"))
		}
		for _, hidden := range []string{"unassignmentCount", "closeAt", "firedExceptions", "createdAt", "Version", "version"} {
			if _, ok := doc[hidden]; ok {
				t.Fatalf("%s: the job shows %q: %s", what, hidden, raw)
			}
		}
		if doc["decisions"] == nil || doc["labels"].(map[string]any)["tier"] != "gold" {
			t.Fatalf("%s: %s", what, raw)
		}
		return doc
	}
	doc := check("offered")
	var offer string
	for _, d := range doc["decisions"].([]any) {
		if e := d.(map[string]any); e["kind"] == "OfferIssued" {
			offer, _ = e["offerId"].(string)
		}
	}
	resp, raw := c.Do(t, "POST", "/routing/workers/w/offers/"+offer+":accept"+routerRV, nil)
	wantStatus(t, resp, raw, 200)
	var acc struct{ AssignmentID string }
	_ = json.Unmarshal(raw, &acc)
	resp, raw = c.Do(t, "POST", "/routing/jobs/j/assignments/"+acc.AssignmentID+":unassign"+routerRV, map[string]any{})
	wantStatus(t, resp, raw, 200)
	check("unassigned once")
	resp, raw = c.Do(t, "POST", "/routing/jobs/j:cancel"+routerRV, map[string]any{"dispositionCode": "gone"})
	wantStatus(t, resp, raw, 200)
	if doc := check("cancelled"); doc["status"] != "cancelled" || doc["dispositionCode"] != "gone" {
		t.Fatalf("cancelled job: %v", doc)
	}
}
