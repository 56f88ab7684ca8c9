package webhook_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
	"github.com/switchboard-cc/switchboard/internal/webhook"
	"github.com/switchboard-cc/switchboard/openapi"
)

// routerFixtures maps each Job Router event to Microsoft's sample (the
// same file name under both schema folders).
var routerFixtures = map[string]string{
	"RouterJobReceived": "router_job_received.json", "RouterJobClassified": "router_job_classified.json",
	"RouterJobClassificationFailed": "router_job_classification_failed.json", "RouterJobQueued": "router_job_queued.json",
	"RouterJobCompleted": "router_job_completed.json", "RouterJobClosed": "router_job_closed.json",
	"RouterJobCancelled": "router_job_cancelled.json", "RouterJobExceptionTriggered": "router_job_exception_triggered.json",
	"RouterJobWorkerSelectorsExpired": "router_job_worker_selectors_expired.json", "RouterJobUnassigned": "router_job_unassigned.json",
	"RouterJobWaitingForActivation": "router_job_waiting_for_activation.json", "RouterJobSchedulingFailed": "router_job_scheduling_failed.json",
	"RouterJobDeleted":        "router_job_deleted.json",
	"RouterWorkerOfferIssued": "router_worker_offer_issued.json", "RouterWorkerOfferAccepted": "router_worker_offer_accepted.json",
	"RouterWorkerOfferDeclined": "router_worker_offer_declined.json", "RouterWorkerOfferExpired": "router_worker_offer_expired.json",
	"RouterWorkerOfferRevoked": "router_worker_offer_revoked.json", "RouterWorkerRegistered": "router_worker_registered.json",
	"RouterWorkerUpdated": "router_worker_updated.json", "RouterWorkerDeregistered": "router_worker_deregistered.json",
	"RouterWorkerDeleted": "router_worker_deleted.json",
}

// notRaisedLive are the router events no path of the running router raises
// yet: a schedule is only a time here, and it cannot fail.
var notRaisedLive = map[string]bool{"RouterJobSchedulingFailed": true}

// sampleAliases are members Microsoft's samples misspell, per sample: the
// sample's name and the name ACS's event schema (and the other sample)
// gives the member.
var sampleAliases = map[string]map[string]string{
	// One requested selector in the CloudEvents sample still has the
	// preview's "ttl".
	"cloud-events-schema/router_job_queued.json": {"ttl": "ttlSeconds"},
	// The Event Grid sample and the schema say expiredAttachedWorkerSelectors.
	"cloud-events-schema/router_job_worker_selectors_expired.json": {"attachedWorkerSelectorsExpired": "expiredAttachedWorkerSelectors"},
}

// shapeRules adjusts the comparison with one sample.
type shapeRules struct {
	aliases map[string]string // the sample's member name -> ours
	// pinned members must equal the sample's value, not just its kind.
	pinned map[string]bool
	// fullLists requires a list the sample fills to be filled, so that its
	// items are compared too.
	fullLists bool
}

// shapeErrors lists how got differs from the sample's shape: every member
// of the sample, of the same JSON kind, recursively. A null in the sample
// admits anything; a selector's value is a string, number or boolean; its
// lifetime must be a number, as in ACS's event schema (the SDKs decode a
// number and fail on the string the samples quote), or null for a
// selector that never expires.
func shapeErrors(path string, want, got map[string]any, rules shapeRules) []string {
	var out []string
	for _, wk := range slices.Sorted(maps.Keys(want)) {
		wv := want[wk]
		k := wk
		if a, ok := rules.aliases[wk]; ok {
			k = a
		}
		gv, ok := got[k]
		p := path + "." + k
		if !ok {
			out = append(out, p+" is missing")
			continue
		}
		if rules.pinned[k] && !reflect.DeepEqual(wv, gv) {
			out = append(out, fmt.Sprintf("%s is %s, the sample has %s", p, show(gv), show(wv)))
			continue
		}
		wkind, gkind := jsonKind(wv), jsonKind(gv)
		if k == "ttlSeconds" {
			if gkind != "number" && gkind != "null" {
				out = append(out, fmt.Sprintf("%s is %s; ACS's event schema has a number (or null)", p, gkind))
			}
			continue
		}
		if wkind == "null" || (k == "value" && strings.Contains(path, "WorkerSelectors")) {
			continue
		}
		if wkind != gkind {
			out = append(out, fmt.Sprintf("%s is %s, the sample has %s", p, gkind, wkind))
			continue
		}
		switch wv := wv.(type) {
		case map[string]any:
			if k == "labels" || k == "tags" || k == "jobLabels" || k == "jobTags" {
				continue // free-form maps
			}
			out = append(out, shapeErrors(p, wv, gv.(map[string]any), rules)...)
		case []any:
			if ga := gv.([]any); len(wv) > 0 && len(ga) > 0 {
				if wo, ok := wv[0].(map[string]any); ok {
					out = append(out, shapeErrors(p+"[0]", wo, ga[0].(map[string]any), rules)...)
				}
			} else if len(wv) > 0 && rules.fullLists {
				out = append(out, p+" is empty, so its items' shape is not shown")
			}
		}
	}
	return out
}

func show(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

// subjectPattern is a sample's subject as a pattern ({…} stands for one
// path segment).
func subjectPattern(subject string) *regexp.Regexp {
	quoted := regexp.QuoteMeta(subject)
	return regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]*\\\}`).ReplaceAllString(quoted, `[^/]+`) + "$")
}

// fixtureSubject is the sample's subject as a pattern.
func fixtureSubject(t *testing.T, file string) *regexp.Regexp {
	raw, err := readFixture(t, file)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct{ Subject string }
	_ = json.Unmarshal(raw, &ev)
	return subjectPattern(ev.Subject)
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

	var byType map[string][]deliveredEvent
	switchboardtest.Eventually(t, waitFor, func() error {
		var err error
		if byType, err = acsEventsByType(rc, "Router"); err != nil {
			return err
		}
		for typ := range routerFixtures {
			if len(byType[typ]) == 0 && !notRaisedLive[typ] {
				return fmt.Errorf("no %s delivered", typ)
			}
		}
		return nil
	})
	for typ, file := range routerFixtures {
		if notRaisedLive[typ] {
			continue
		}
		want := fixtureData(t, file)
		subject := fixtureSubject(t, file)
		// Some event of the type has the sample's whole shape (optional
		// members such as scheduledOn appear only when they apply).
		var best []string
		for i, g := range byType[typ] {
			errs := shapeErrors(typ, want, g.data, shapeRules{})
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

// routerSampleInputs builds every Job Router event from one job, queue,
// worker and offer, filled so that each member the samples show (lists
// with items, a schedule, a channel's limit) has something to show.
func routerSampleInputs() map[string]event.Event {
	const tn = tenant.ID("tenant-1")
	at := time.Date(2026, 2, 17, 0, 55, 25, 173629300, time.UTC)
	sel := func(key string, v any, ttl float64) routing.WorkerSelector {
		return routing.WorkerSelector{Selector: routing.Selector{Key: key, LabelOperator: routing.Equal, Value: v},
			ExpiresAfterSeconds: ttl, ExpiresAt: at.Add(time.Duration(ttl) * time.Second), Status: "active"}
	}
	j := &routing.Job{ID: "job-1", ChannelID: "voice", ChannelReference: "call-1", ClassificationPolicyID: "cp-1", QueueID: "q-1",
		Priority: 5, Status: routing.StatusPendingClassification, DispositionCode: "Resolved",
		Labels: map[string]any{"locale": "en-us", "vip": true, "tier": 2.0}, Tags: map[string]any{"segment": "Enterprise"},
		RequestedWorkerSelectors: []routing.WorkerSelector{sel("skill", 5.0, 30)},
		AttachedWorkerSelectors:  []routing.WorkerSelector{sel("locale", "en-us", 35)},
		MatchingMode:             routing.MatchingMode{Kind: routing.ScheduleAndSuspend, ScheduleAt: at.Add(time.Hour)},
		ScheduledAt:              at.Add(time.Hour)}
	queue := map[string]any{"id": "q-1", "name": "Queue 1", "labels": map[string]any{"Id": "q-1", "language": "en"}}
	queues := map[string]map[string]any{"q-1": queue}
	worker := func(capacity float64, labels, tags map[string]any) map[string]any {
		return map[string]any{"id": "w-1", "capacity": capacity, "queues": []any{"q-1"}, "labels": labels, "tags": tags,
			"channels":           []any{map[string]any{"channelId": "voice", "capacityCostPerJob": 10.0, "maxNumberOfJobs": 5.0}},
			"availableForOffers": true}
	}
	// As in the sample: capacity, labels and tags changed.
	before := worker(50, map[string]any{"Id": "w-1", "x": "110"}, map[string]any{})
	after := worker(100, map[string]any{"Id": "w-1", "x": "111", "y": "111"}, map[string]any{"locale": "en-us"})
	a := routing.Assignment{AssignmentID: "a-1", WorkerID: "w-1"}
	o := routing.Offer{OfferID: "o-1", JobID: j.ID, CapacityCost: 10, OfferedAt: at, ExpiresAt: at.Add(time.Minute)}
	return map[string]event.Event{
		"RouterJobReceived":               routing.JobReceivedEvent(tn, j, at),
		"RouterJobClassified":             routing.JobClassifiedEvent(tn, j, queue, at),
		"RouterJobClassificationFailed":   routing.JobClassificationFailedEvent(tn, j, []string{"no queue matched"}, at),
		"RouterJobQueued":                 routing.JobQueuedEvent(tn, j, at),
		"RouterJobCompleted":              routing.JobCompletedEvent(tn, j, a, at),
		"RouterJobClosed":                 routing.JobClosedEvent(tn, j, a, at),
		"RouterJobCancelled":              routing.JobCancelledEvent(tn, j, "customer hung up", at),
		"RouterJobExceptionTriggered":     routing.JobExceptionTriggeredEvent(tn, j, "overflow", at),
		"RouterJobWorkerSelectorsExpired": routing.JobWorkerSelectorsExpiredEvent(tn, j, j.RequestedWorkerSelectors, j.AttachedWorkerSelectors, at),
		"RouterJobUnassigned":             routing.JobUnassignedEvent(tn, j, a, at),
		"RouterJobWaitingForActivation":   routing.JobWaitingForActivationEvent(tn, j, at),
		"RouterJobSchedulingFailed":       routing.JobSchedulingFailedEvent(tn, j, "Expired Job", at),
		"RouterJobDeleted":                routing.JobDeletedEvent(tn, j, at),
		"RouterWorkerOfferIssued":         routing.OfferIssuedEvent(tn, j, after, o, at),
		"RouterWorkerOfferAccepted":       routing.OfferAcceptedEvent(tn, j, after, o, "a-1", at),
		"RouterWorkerOfferDeclined":       routing.OfferDeclinedEvent(tn, j, "w-1", o, at),
		"RouterWorkerOfferExpired":        routing.OfferExpiredEvent(tn, j, "w-1", o, at),
		"RouterWorkerOfferRevoked":        routing.OfferRevokedEvent(tn, j, "w-1", o, at),
		"RouterWorkerRegistered":          routing.WorkerRegisteredEvent(tn, after, queues, at),
		"RouterWorkerUpdated":             routing.WorkerUpdatedEvent(tn, before, after, queues, at),
		"RouterWorkerDeregistered":        routing.WorkerDeregisteredEvent(tn, "w-1", at),
		"RouterWorkerDeleted":             routing.WorkerDeletedEvent(tn, "w-1", at),
	}
}

// pinnedMembers must carry the sample's very value: the PascalCase status,
// the label operator as the samples spell it, the properties a worker
// update names.
var pinnedMembers = map[string]bool{"jobStatus": true, "labelOperator": true, "updatedWorkerProperties": true}

// timeMembers are the members ACS's event schema types date-time.
var timeMembers = map[string]bool{"scheduledOn": true, "offeredOn": true, "expiresOn": true, "expirationTime": true}

// TestRouterEventBuildersMatchACS renders every Job Router event the
// routing package builds in both envelopes and holds each against
// Microsoft's sample in that envelope: envelope members, type, data
// version, subject pattern, and every member of the data (same JSON kind,
// recursively; a few pinned to the sample's value).
func TestRouterEventBuildersMatchACS(t *testing.T) {
	built := routerSampleInputs()
	if len(built) != len(routerFixtures) {
		t.Fatalf("%d events built, %d samples", len(built), len(routerFixtures))
	}
	root := filepath.Join(switchboardtest.FixturesDir(t), "acs", "eventgrid")
	for _, typ := range slices.Sorted(maps.Keys(routerFixtures)) {
		e, ok := built[typ]
		if !ok {
			t.Errorf("%s is not built", typ)
			continue
		}
		if e.Type != "Microsoft.Communication."+typ {
			t.Errorf("%s is built as %s", typ, e.Type)
		}
		for _, c := range []struct {
			dir    string
			schema webhook.Schema
			typeAt string
		}{{"event-grid-schema", webhook.SchemaEventGrid, "eventType"}, {"cloud-events-schema", webhook.SchemaCloudEvents, "type"}} {
			file := c.dir + "/" + routerFixtures[typ]
			raw, err := os.ReadFile(filepath.Join(root, file))
			if err != nil {
				t.Fatal(err)
			}
			var sample map[string]any
			if err := json.Unmarshal(raw, &sample); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			body, _ := webhook.Envelope(c.schema, e)
			var got map[string]any
			if c.schema == webhook.SchemaEventGrid {
				var arr []map[string]any
				if err := json.Unmarshal(body, &arr); err != nil || len(arr) != 1 {
					t.Fatalf("%s: Event Grid body %s", typ, body)
				}
				got = arr[0]
			} else if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%s: CloudEvents body %s", typ, body)
			}
			for _, e := range envelopeErrors(file, sample, got) {
				t.Error(e)
			}
			if got[c.typeAt] != sample[c.typeAt] {
				t.Errorf("%s: %s is %v, the sample has %v", file, c.typeAt, got[c.typeAt], sample[c.typeAt])
			}
			if subject, _ := sample["subject"].(string); !subjectPattern(subject).MatchString(e.Subject) {
				t.Errorf("%s: subject %q does not match the sample's %q", file, e.Subject, subject)
			}
			want, _ := sample["data"].(map[string]any)
			data, _ := got["data"].(map[string]any)
			rules := shapeRules{aliases: sampleAliases[file], pinned: pinnedMembers, fullLists: true}
			for _, e := range shapeErrors(file+": data", want, data, rules) {
				t.Error(e)
			}
			for _, e := range timeErrors(file+": data", data) {
				t.Error(e)
			}
		}
	}
}

// envelopeErrors compares the envelope's members (not data) with the
// sample's. CloudEvents attribute names are lower case; the samples write
// specVersion, which receivers read as specversion.
func envelopeErrors(file string, sample, got map[string]any) []string {
	lower := map[string]any{}
	for k, v := range got {
		lower[strings.ToLower(k)] = v
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(sample)) {
		if k == "data" {
			continue
		}
		gv, ok := got[k]
		if !ok && strings.HasPrefix(file, "cloud-events") {
			gv, ok = lower[strings.ToLower(k)]
		}
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: envelope member %s is missing", file, k))
		case jsonKind(gv) != jsonKind(sample[k]):
			out = append(out, fmt.Sprintf("%s: envelope member %s is %s, the sample has %s", file, k, jsonKind(gv), jsonKind(sample[k])))
		case slices.Contains([]string{"dataVersion", "metadataVersion", "specVersion"}, k) && gv != sample[k]:
			out = append(out, fmt.Sprintf("%s: %s is %v, the sample has %v", file, k, gv, sample[k]))
		}
	}
	return out
}

// timeErrors checks that every date-time member is RFC 3339 (the Job
// Received sample writes .NET's "3/28/2007 7:13:50 PM +00:00"; the schema
// says date-time, which the SDKs parse as RFC 3339).
func timeErrors(path string, v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if s, ok := x[k].(string); ok && timeMembers[k] {
				if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
					out = append(out, fmt.Sprintf("%s.%s: %q is not RFC 3339", path, k, s))
				}
			}
			out = append(out, timeErrors(path+"."+k, x[k])...)
		}
	case []any:
		for i, e := range x {
			out = append(out, timeErrors(fmt.Sprintf("%s[%d]", path, i), e)...)
		}
	}
	return out
}

// TestRouterEventBuildersAreDocumented holds every built event, in both
// envelopes, against openapi.json: the envelope schema of its type, named
// in the notification's discriminator, and a data schema that documents
// every member sent and requires none that is not.
func TestRouterEventBuildersAreDocumented(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openapi.Document, &doc); err != nil {
		t.Fatal(err)
	}
	schemas, _ := dig(doc, "components", "schemas").(map[string]any)
	d := docCheck{schemas: schemas}
	for _, typ := range slices.Sorted(maps.Keys(routerFixtures)) {
		e := routerSampleInputs()[typ]
		for _, c := range []struct {
			schema       webhook.Schema
			suffix, list string
		}{{webhook.SchemaEventGrid, "EventGridEvent", "EventGridNotification"}, {webhook.SchemaCloudEvents, "CloudEvent", "CloudEventNotification"}} {
			name := typ + c.suffix
			s, ok := schemas[name].(map[string]any)
			if !ok {
				t.Errorf("openapi.json has no schema %s", name)
				continue
			}
			mapping, _ := dig(schemas, c.list, "discriminator", "mapping").(map[string]any)
			if mapping == nil {
				mapping, _ = dig(schemas, c.list, "items", "discriminator", "mapping").(map[string]any)
			}
			if mapping[e.Type] != "#/components/schemas/"+name {
				t.Errorf("%s maps %s to %v, want %s", c.list, e.Type, mapping[e.Type], name)
			}
			body, _ := webhook.Envelope(c.schema, e)
			var v any
			_ = json.Unmarshal(body, &v)
			if arr, ok := v.([]any); ok {
				v = arr[0]
			}
			for _, err := range d.errors(s, v, name, false) {
				t.Error(err)
			}
		}
	}
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// docCheck validates JSON against the document's schemas: $ref, allOf,
// const, enum, type, pattern, properties, required, additionalProperties
// and items. Objects that declare their properties (outside allOf) may
// not carry others.
type docCheck struct{ schemas map[string]any }

func (d docCheck) errors(s map[string]any, v any, at string, strict bool) []string {
	var out []string
	if ref, ok := s["$ref"].(string); ok {
		target, _ := d.schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
		if target == nil {
			return []string{at + ": unresolved " + ref}
		}
		out = append(out, d.errors(target, v, at, strict)...)
	}
	for _, b := range asList(s["allOf"]) {
		bm, _ := b.(map[string]any)
		out = append(out, d.errors(bm, v, at, false)...)
	}
	if c, ok := s["const"]; ok && !reflect.DeepEqual(c, v) {
		out = append(out, fmt.Sprintf("%s: %s, want %s", at, show(v), show(c)))
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return reflect.DeepEqual(x, v) }) {
		out = append(out, fmt.Sprintf("%s: %s is not one of %s", at, show(v), show(e)))
	}
	if ty, ok := s["type"]; ok && !typeIs(ty, v) {
		return append(out, fmt.Sprintf("%s: %s is not of type %v", at, show(v), ty))
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		ap, hasAP := s["additionalProperties"]
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if ps, ok := props[k].(map[string]any); ok {
				out = append(out, d.errors(ps, x[k], at+"."+k, true)...)
			} else if apm, ok := ap.(map[string]any); ok {
				out = append(out, d.errors(apm, x[k], at+"."+k, true)...)
			} else if strict && props != nil && !hasAP && s["allOf"] == nil {
				out = append(out, fmt.Sprintf("%s: member %q is not documented", at, k))
			}
		}
		for _, r := range asList(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				out = append(out, fmt.Sprintf("%s: required member %q is missing", at, r))
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, it := range x {
				out = append(out, d.errors(items, it, fmt.Sprintf("%s[%d]", at, i), true)...)
			}
		}
	case string:
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			out = append(out, fmt.Sprintf("%s: %q does not match %s", at, x, p))
		}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func typeIs(ty, v any) bool {
	names := asList(ty)
	if s, ok := ty.(string); ok {
		names = []any{s}
	}
	for _, n := range names {
		switch x := v.(type) {
		case nil:
			if n == "null" {
				return true
			}
		case bool:
			if n == "boolean" {
				return true
			}
		case float64:
			if n == "number" || (n == "integer" && x == float64(int64(x))) {
				return true
			}
		case string:
			if n == "string" {
				return true
			}
		case []any:
			if n == "array" {
				return true
			}
		case map[string]any:
			if n == "object" {
				return true
			}
		}
	}
	return false
}
