package webhook_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// routerFixtures maps each Job Router event Switchboard sends to Microsoft's
// sample. RouterJobSchedulingFailed is not sent: a schedule is only a time,
// and it cannot fail here.
var routerFixtures = map[string]string{
	"RouterJobReceived": "router_job_received.json", "RouterJobClassified": "router_job_classified.json",
	"RouterJobClassificationFailed": "router_job_classification_failed.json", "RouterJobQueued": "router_job_queued.json",
	"RouterJobCompleted": "router_job_completed.json", "RouterJobClosed": "router_job_closed.json",
	"RouterJobCancelled": "router_job_cancelled.json", "RouterJobExceptionTriggered": "router_job_exception_triggered.json",
	"RouterJobWorkerSelectorsExpired": "router_job_worker_selectors_expired.json", "RouterJobUnassigned": "router_job_unassigned.json",
	"RouterJobWaitingForActivation": "router_job_waiting_for_activation.json", "RouterJobDeleted": "router_job_deleted.json",
	"RouterWorkerOfferIssued": "router_worker_offer_issued.json", "RouterWorkerOfferAccepted": "router_worker_offer_accepted.json",
	"RouterWorkerOfferDeclined": "router_worker_offer_declined.json", "RouterWorkerOfferExpired": "router_worker_offer_expired.json",
	"RouterWorkerOfferRevoked": "router_worker_offer_revoked.json", "RouterWorkerRegistered": "router_worker_registered.json",
	"RouterWorkerUpdated": "router_worker_updated.json", "RouterWorkerDeregistered": "router_worker_deregistered.json",
	"RouterWorkerDeleted": "router_worker_deleted.json",
}

// shapeErrors lists how got differs from the sample's shape: every member
// of the sample, of the same JSON kind, recursively. A null in the sample
// admits anything; a selector's value is a string, number or boolean; its
// lifetime is a number in ACS's event schema (azsystemevents) although the
// samples quote it, and null for a selector that never expires.
func shapeErrors(path string, want, got map[string]any) []string {
	var out []string
	for k, wv := range want {
		gv, ok := got[k]
		p := path + "." + k
		if !ok {
			out = append(out, p+" is missing")
			continue
		}
		wk, gk := jsonKind(wv), jsonKind(gv)
		if wk == "null" || (k == "ttlSeconds" && (gk == "number" || gk == "null")) || (k == "value" && strings.Contains(path, "WorkerSelectors")) {
			continue
		}
		if wk != gk {
			out = append(out, fmt.Sprintf("%s is %s, the sample has %s", p, gk, wk))
			continue
		}
		switch wv := wv.(type) {
		case map[string]any:
			if k == "labels" || k == "tags" || k == "jobLabels" || k == "jobTags" {
				continue // free-form maps
			}
			out = append(out, shapeErrors(p, wv, gv.(map[string]any))...)
		case []any:
			if ga := gv.([]any); len(wv) > 0 && len(ga) > 0 {
				if wo, ok := wv[0].(map[string]any); ok {
					out = append(out, shapeErrors(p+"[0]", wo, ga[0].(map[string]any))...)
				}
			}
		}
	}
	return out
}

// fixtureSubject is the sample's subject as a pattern ({…} stands for one
// path segment).
func fixtureSubject(t *testing.T, file string) *regexp.Regexp {
	raw, err := readFixture(t, file)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct{ Subject string }
	_ = json.Unmarshal(raw, &ev)
	quoted := regexp.QuoteMeta(ev.Subject)
	return regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]*\\\}`).ReplaceAllString(quoted, `[^/]+`) + "$")
}

// TestRouterEventsMatchACS drives jobs and workers through every path that
// raises a Job Router event and checks each delivered event against
// Microsoft's sample: type, subject pattern and data shape, and that it
// names the job or worker it is about.
func TestRouterEventsMatchACS(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	rc := newReceiver(t)
	subscribe(t, c, map[string]any{"endpoint": rc.URL})
	const rv = "?api-version=2023-11-01"
	call := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		req := c.Request(method, path+rv, body)
		if method == "PATCH" {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		}
		resp, raw := c.Send(t, req)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return out
	}
	offersOf := func(worker string) []map[string]any {
		var w struct{ Offers []map[string]any }
		raw, _ := json.Marshal(call("GET", "/routing/workers/"+worker, nil, 200))
		_ = json.Unmarshal(raw, &w)
		return w.Offers
	}

	call("PATCH", "/routing/distributionPolicies/pair", map[string]any{"offerExpiresAfterSeconds": 600, "mode": map[string]any{"kind": "longestIdle", "maxConcurrentOffers": 2}}, 201)
	call("PATCH", "/routing/distributionPolicies/quick", map[string]any{"offerExpiresAfterSeconds": 1, "mode": map[string]any{"kind": "longestIdle"}}, 201)
	call("PATCH", "/routing/exceptionPolicies/overflow", map[string]any{"exceptionRules": []any{map[string]any{"id": "full",
		"trigger": map[string]any{"kind": "queueLength", "threshold": 0}, "actions": []any{map[string]any{"kind": "manualReclassify", "queueId": "sales"}}}}}, 201)
	call("PATCH", "/routing/queues/sales", map[string]any{"name": "Sales", "distributionPolicyId": "pair", "labels": map[string]any{"lang": "en"}}, 201)
	call("PATCH", "/routing/queues/front", map[string]any{"name": "Front", "distributionPolicyId": "pair", "exceptionPolicyId": "overflow"}, 201)
	call("PATCH", "/routing/queues/fast", map[string]any{"name": "Fast", "distributionPolicyId": "quick"}, 201)
	call("PATCH", "/routing/classificationPolicies/byLang", map[string]any{"fallbackQueueId": "sales",
		"workerSelectorAttachments": []any{map[string]any{"kind": "static", "workerSelector": map[string]any{"key": "lang", "labelOperator": "equal", "value": "en"}}}}, 201)
	call("PATCH", "/routing/classificationPolicies/nowhere", map[string]any{
		"queueSelectorAttachments": []any{map[string]any{"kind": "static", "queueSelector": map[string]any{"key": "lang", "labelOperator": "equal", "value": "xx"}}}}, 201)
	worker := func(id string, queues []string) {
		call("PATCH", "/routing/workers/"+id, map[string]any{"capacity": 100, "queues": queues, "labels": map[string]any{"lang": "en"}, "tags": map[string]any{"team": "a"},
			"availableForOffers": true, "channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 50, "maxNumberOfJobs": 2}}}, 201)
	}
	worker("ana", []string{"sales"})
	worker("budi", []string{"sales"})
	call("PATCH", "/routing/workers/budi", map[string]any{"capacity": 150}, 200) // RouterWorkerUpdated

	// Classified, offered to both, accepted by one (the other revoked),
	// unassigned, accepted again, completed, closed.
	call("PATCH", "/routing/jobs/j1", map[string]any{"channelId": "chat", "channelReference": "conv-1", "classificationPolicyId": "byLang", "labels": map[string]any{"vip": true}}, 201)
	offers := offersOf("ana")
	if len(offers) != 1 {
		t.Fatalf("ana's offers: %v", offers)
	}
	aid := call("POST", "/routing/workers/ana/offers/"+offers[0]["offerId"].(string)+":accept", nil, 200)["assignmentId"].(string)
	call("POST", "/routing/jobs/j1/assignments/"+aid+":unassign", map[string]any{}, 200)
	var o2 []map[string]any
	switchboardtest.Eventually(t, waitFor, func() error {
		if o2 = append(offersOf("ana"), offersOf("budi")...); len(o2) == 0 {
			return fmt.Errorf("j1 not offered again")
		}
		return nil
	})
	w2 := "ana"
	if len(offersOf("ana")) == 0 {
		w2 = "budi"
	}
	aid = call("POST", "/routing/workers/"+w2+"/offers/"+o2[0]["offerId"].(string)+":accept", nil, 200)["assignmentId"].(string)
	call("POST", "/routing/jobs/j1/assignments/"+aid+":complete", map[string]any{"note": "done"}, 200)
	call("POST", "/routing/jobs/j1/assignments/"+aid+":close", map[string]any{"dispositionCode": "Resolved"}, 200)

	// Declined; cancelled; deleted.
	call("PATCH", "/routing/jobs/j2", map[string]any{"channelId": "chat", "queueId": "sales"}, 201)
	for _, w := range []string{"ana", "budi"} {
		for _, o := range offersOf(w) {
			if o["jobId"] == "j2" {
				call("POST", "/routing/workers/"+w+"/offers/"+o["offerId"].(string)+":decline", map[string]any{}, 200)
			}
		}
	}
	call("POST", "/routing/jobs/j2:cancel", map[string]any{"note": "gone", "dispositionCode": "Abandoned"}, 200)
	call("DELETE", "/routing/jobs/j2", nil, 204)

	// Classification that finds no queue; an exception that overflows; a
	// selector that expires; a scheduled job that wakes.
	call("PATCH", "/routing/jobs/j3", map[string]any{"channelId": "chat", "classificationPolicyId": "nowhere"}, 201)
	call("PATCH", "/routing/jobs/j4", map[string]any{"channelId": "voice", "queueId": "front"}, 201)
	call("PATCH", "/routing/jobs/j5", map[string]any{"channelId": "voice", "queueId": "sales",
		"requestedWorkerSelectors": []any{map[string]any{"key": "lang", "labelOperator": "equal", "value": "fr", "expiresAfterSeconds": 1}}}, 201)
	call("PATCH", "/routing/jobs/j6", map[string]any{"channelId": "voice", "queueId": "sales",
		"matchingMode": map[string]any{"kind": "scheduleAndSuspend", "scheduleAt": time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)}}, 201)

	// An offer that expires unanswered.
	worker("cici", []string{"fast"})
	call("PATCH", "/routing/jobs/j7", map[string]any{"channelId": "chat", "queueId": "fast"}, 201)

	call("PATCH", "/routing/workers/ana", map[string]any{"availableForOffers": false}, 200)
	call("DELETE", "/routing/workers/ana", nil, 204)

	type got struct {
		subject string
		data    map[string]any
	}
	byType := map[string][]got{}
	switchboardtest.Eventually(t, waitFor, func() error {
		byType = map[string][]got{}
		for _, d := range rc.deliveries() {
			var evs []struct {
				EventType string         `json:"eventType"`
				Subject   string         `json:"subject"`
				Data      map[string]any `json:"data"`
			}
			if err := json.Unmarshal(d.body, &evs); err != nil {
				return err
			}
			for _, e := range evs {
				if typ, ok := strings.CutPrefix(e.EventType, "Microsoft.Communication."); ok && strings.HasPrefix(typ, "Router") {
					byType[typ] = append(byType[typ], got{e.Subject, e.Data})
				}
			}
		}
		for typ := range routerFixtures {
			if len(byType[typ]) == 0 {
				return fmt.Errorf("no %s delivered", typ)
			}
		}
		return nil
	})
	for typ, file := range routerFixtures {
		want := fixtureData(t, file)
		subject := fixtureSubject(t, file)
		// Some event of the type has the sample's whole shape (optional
		// members such as scheduledOn appear only when they apply).
		var best []string
		for i, g := range byType[typ] {
			errs := shapeErrors(typ, want, g.data)
			if !subject.MatchString(g.subject) {
				errs = append(errs, fmt.Sprintf("subject %q does not match %s", g.subject, subject))
			}
			if i == 0 || len(errs) < len(best) {
				best = errs
			}
			if id, ok := g.data["jobId"].(string); ok && !strings.HasPrefix(g.subject, "job/"+id+"/") && !strings.HasSuffix(g.subject, "/job/"+id) {
				t.Errorf("%s about job %s has subject %s", typ, id, g.subject)
			}
		}
		for _, e := range best {
			t.Error(e)
		}
	}
	// Spot checks of meaning, not just shape.
	for _, g := range byType["RouterJobReceived"] {
		if g.data["jobId"] == "j1" && g.data["jobStatus"] != "PendingClassification" {
			t.Errorf("j1 was received as %v", g.data["jobStatus"])
		}
	}
	for _, g := range byType["RouterJobClassified"] {
		if g.data["jobId"] == "j1" && g.data["queueInfo"].(map[string]any)["name"] != "Sales" {
			t.Errorf("j1 classified into %v", g.data["queueInfo"])
		}
	}
	if u := byType["RouterWorkerUpdated"][0].data["updatedWorkerProperties"]; fmt.Sprint(u) != "[TotalCapacity]" {
		t.Errorf("budi's update changed %v", u)
	}
	if e := byType["RouterJobExceptionTriggered"][0].data; e["jobId"] != "j4" || e["ruleKey"] != "full" {
		t.Errorf("exception: %v", e)
	}
	if n := len(byType["RouterWorkerOfferRevoked"]); n < 1 {
		t.Errorf("accepting j1 revoked %d offers", n)
	}
}
