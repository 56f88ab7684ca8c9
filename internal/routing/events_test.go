package routing

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/event"
)

var evAt = time.Date(2026, 3, 2, 10, 30, 0, 123456789, time.FixedZone("WIB", 7*3600))

// evData decodes an event's data as a webhook receiver would.
func evData(t *testing.T, e event.Event) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatalf("%s: data %s: %v", e.Type, e.Data, err)
	}
	return d
}

func evTestJob() *Job {
	return &Job{ID: "j1", ChannelID: "voice", ChannelReference: "call-1", ClassificationPolicyID: "cp", QueueID: "sales",
		Priority: 3, Status: StatusQueued, Labels: map[string]any{"lang": "en"}, Tags: map[string]any{}}
}

func TestEventEnvelopeIsDeterministic(t *testing.T) {
	j := evTestJob()
	a, b := JobQueuedEvent("ten", j, evAt), JobQueuedEvent("ten", j, evAt)
	if !a.Time.Equal(evAt) || a.Time.Location() != time.UTC {
		t.Errorf("time %v, want %v in UTC", a.Time, evAt)
	}
	if a.Type != EventRouterJobQueued || a.Tenant != "ten" || a.DataVersion != "1.0" || a.Subject != "job/j1/channel/voice/queue/sales" {
		t.Errorf("event %+v", a)
	}
	if string(a.Data) != string(b.Data) || a.ID == b.ID || a.ID == "" {
		t.Errorf("same input gave data %s and %s, ids %q and %q", a.Data, b.Data, a.ID, b.ID)
	}
}

// Every status reaches RouterJobReceived in the PascalCase of ACS's
// acsRouterJobStatus enum.
func TestEventJobStatusPascalCase(t *testing.T) {
	want := map[JobStatus]string{
		StatusPendingClassification: "PendingClassification", StatusQueued: "Queued", StatusAssigned: "Assigned",
		StatusCompleted: "Completed", StatusClosed: "Closed", StatusCancelled: "Cancelled",
		StatusClassificationFailed: "ClassificationFailed", StatusCreated: "Created", StatusPendingSchedule: "PendingSchedule",
		StatusScheduled: "Scheduled", StatusScheduleFailed: "ScheduleFailed", StatusWaitingForActivation: "WaitingForActivation",
	}
	for status, w := range want {
		j := evTestJob()
		j.Status = status
		if got := evData(t, JobReceivedEvent("ten", j, evAt))["jobStatus"]; got != w {
			t.Errorf("%s is received as %v, want %s", status, got, w)
		}
	}
}

func TestEventSelectors(t *testing.T) {
	expires := evAt.Add(30 * time.Second)
	sel := func(op LabelOperator, v any) WorkerSelector {
		return WorkerSelector{Selector: Selector{Key: "k", LabelOperator: op, Value: v}}
	}
	// Operators: REST's words become the events' (greater, less), cased as
	// Microsoft's samples case "equal".
	for op, want := range map[LabelOperator]string{Equal: "equal", NotEqual: "notEqual", GreaterThan: "greater", LessThan: "less",
		GreaterThanOrEqual: "greaterThanOrEqual", LessThanOrEqual: "lessThanOrEqual"} {
		if got := evSelectors([]WorkerSelector{sel(op, 1.0)}, evAt)[0].LabelOperator; got != want {
			t.Errorf("%s is sent as %q, want %q", op, got, want)
		}
	}
	stamped := sel(Equal, "en")
	stamped.ExpiresAfterSeconds, stamped.ExpiresAt, stamped.Status = 30, expires, "active"
	due := sel(GreaterThanOrEqual, 5.0)
	due.ExpiresAfterSeconds, due.ExpiresAt = 10, evAt.Add(-time.Second)
	j := evTestJob()
	j.RequestedWorkerSelectors = []WorkerSelector{sel(Equal, true), stamped, due}
	got := evData(t, JobReceivedEvent("ten", j, evAt))["requestedWorkerSelectors"]
	want := []any{
		// A selector that never expires: ttlSeconds null, no expirationTime.
		map[string]any{"key": "k", "labelOperator": "equal", "value": true, "ttlSeconds": nil, "state": "active"},
		map[string]any{"key": "k", "labelOperator": "equal", "value": "en", "ttlSeconds": 30.0, "state": "active",
			"expirationTime": expires.UTC().Format(time.RFC3339Nano)},
		// Not yet stamped by the router, but past its expiry.
		map[string]any{"key": "k", "labelOperator": "greaterThanOrEqual", "value": 5.0, "ttlSeconds": 10.0, "state": "expired",
			"expirationTime": evAt.Add(-time.Second).UTC().Format(time.RFC3339Nano)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("selectors\n got %v\nwant %v", got, want)
	}
	// No selectors is [], never null.
	j.RequestedWorkerSelectors, j.AttachedWorkerSelectors = nil, nil
	d := evData(t, JobQueuedEvent("ten", j, evAt))
	for _, k := range []string{"requestedWorkerSelectors", "attachedWorkerSelectors"} {
		if l, ok := d[k].([]any); !ok || len(l) != 0 {
			t.Errorf("%s is %#v, want []", k, d[k])
		}
	}
	// Expired selectors are split as the router says.
	d = evData(t, JobWorkerSelectorsExpiredEvent("ten", j, []WorkerSelector{due}, nil, evAt))
	if r, a := d["expiredRequestedWorkerSelectors"].([]any), d["expiredAttachedWorkerSelectors"].([]any); len(r) != 1 || len(a) != 0 {
		t.Errorf("expired: %v / %v", r, a)
	}
}

// Labels and tags are strings in events (ACS's schema types them
// map[string]string); numbers keep their shortest form.
func TestEventLabelsAreStrings(t *testing.T) {
	j := evTestJob()
	j.Labels = map[string]any{"vip": true, "skill": 7.0, "ratio": 0.25, "big": 1e21, "lang": "en"}
	j.Tags = nil
	d := evData(t, JobQueuedEvent("ten", j, evAt))
	want := map[string]any{"vip": "true", "skill": "7", "ratio": "0.25", "big": "1000000000000000000000", "lang": "en"}
	if !reflect.DeepEqual(d["labels"], want) {
		t.Errorf("labels %v, want %v", d["labels"], want)
	}
	if tags, ok := d["tags"].(map[string]any); !ok || len(tags) != 0 {
		t.Errorf("nil tags are %#v, want {}", d["tags"])
	}
	worker := map[string]any{"id": "w1", "labels": map[string]any{"level": 3.0}, "tags": map[string]string{"team": "a"}}
	d = evData(t, OfferAcceptedEvent("ten", j, worker, Offer{OfferID: "o1"}, "a1", evAt))
	if d["workerLabels"].(map[string]any)["level"] != "3" || d["workerTags"].(map[string]any)["team"] != "a" || d["jobLabels"].(map[string]any)["vip"] != "true" {
		t.Errorf("offer accepted %v", d)
	}
}

// Optional members are left out, not sent empty: scheduledOn without a
// schedule, maxNumberOfJobs without a limit.
func TestEventOptionalMembers(t *testing.T) {
	j := evTestJob()
	for _, e := range []event.Event{JobReceivedEvent("ten", j, evAt), JobWaitingForActivationEvent("ten", j, evAt), JobSchedulingFailedEvent("ten", j, "x", evAt)} {
		if v, ok := evData(t, e)["scheduledOn"]; ok {
			t.Errorf("%s of an unscheduled job has scheduledOn %v", e.Type, v)
		}
	}
	at := time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)
	j.MatchingMode = MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: at}
	d := evData(t, JobReceivedEvent("ten", j, evAt))
	if d["scheduledOn"] != "2026-03-03T08:00:00Z" || d["unavailableForMatching"] != true {
		t.Errorf("scheduled job received as %v", d)
	}
	j.ScheduledAt = at.Add(time.Minute) // the router's own schedule wins
	if d := evData(t, JobWaitingForActivationEvent("ten", j, evAt)); d["scheduledOn"] != "2026-03-03T08:01:00Z" {
		t.Errorf("waiting job scheduledOn %v", d["scheduledOn"])
	}

	w := map[string]any{"id": "w1", "capacity": 100.0, "channels": []any{
		map[string]any{"channelId": "chat", "capacityCostPerJob": 50.0, "maxNumberOfJobs": 2.0},
		map[string]any{"channelId": "voice", "capacityCostPerJob": 100.0}}}
	got := evData(t, WorkerRegisteredEvent("ten", w, nil, evAt))["channelConfigurations"]
	want := []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 50.0, "maxNumberOfJobs": 2.0},
		map[string]any{"channelId": "voice", "capacityCostPerJob": 100.0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("channels %v, want %v", got, want)
	}
}

func TestEventMatchingMode(t *testing.T) {
	for kind, want := range map[string]bool{"": false, QueueAndMatch: false, Suspend: true, ScheduleAndSuspend: true} {
		j := evTestJob()
		j.MatchingMode.Kind = kind
		if got := evData(t, JobReceivedEvent("ten", j, evAt))["unavailableForMatching"]; got != want {
			t.Errorf("matching mode %q: unavailableForMatching %v", kind, got)
		}
	}
}

// A scheduled job's events carry its selectors (as the samples) and the
// expired ones among them (as ACS's schema).
func TestEventSuspendedSelectors(t *testing.T) {
	j := evTestJob()
	live := WorkerSelector{Selector: Selector{Key: "a", LabelOperator: Equal, Value: "x"}}
	gone := WorkerSelector{Selector: Selector{Key: "b", LabelOperator: Equal, Value: "y"}, Status: "expired"}
	j.RequestedWorkerSelectors, j.AttachedWorkerSelectors = []WorkerSelector{live, gone}, []WorkerSelector{gone}
	d := evData(t, JobSchedulingFailedEvent("ten", j, "Expired Job", evAt))
	count := func(k string) int { return len(d[k].([]any)) }
	if count("requestedWorkerSelectors") != 2 || count("attachedWorkerSelectors") != 1 ||
		count("expiredRequestedWorkerSelectors") != 1 || count("expiredAttachedWorkerSelectors") != 1 || d["failureReason"] != "Expired Job" {
		t.Errorf("scheduling failed %v", d)
	}
}

func TestEventUpdatedWorkerProperties(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"id": "w1", "capacity": 100.0, "availableForOffers": true, "queues": []any{"a", "b"},
			"labels": map[string]any{"lang": "en", "Id": "w1"}, "tags": map[string]any{"team": "x"},
			"channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 10.0}, map[string]any{"channelId": "voice", "capacityCostPerJob": 100.0}},
			"state":    "active", "offers": []any{}, "loadRatio": 0.0}
	}
	cases := []struct {
		name   string
		change func(w map[string]any)
		want   []string
	}{
		{"nothing", func(map[string]any) {}, []string{}},
		{"runtime members only", func(w map[string]any) { w["state"], w["loadRatio"], w["offers"] = "inactive", 0.5, []any{"o"} }, []string{}},
		{"queues reordered", func(w map[string]any) { w["queues"] = []any{"b", "a", "a"} }, []string{}},
		{"channels reordered", func(w map[string]any) { ch := w["channels"].([]any); w["channels"] = []any{ch[1], ch[0]} }, []string{}},
		{"capacity as the Go int it equals", func(w map[string]any) { w["capacity"] = 100 }, []string{}},
		{"availability", func(w map[string]any) { w["availableForOffers"] = false }, []string{"AvailableForOffers"}},
		{"capacity", func(w map[string]any) { w["capacity"] = 150.0 }, []string{"TotalCapacity"}},
		{"queue added", func(w map[string]any) { w["queues"] = []any{"a", "b", "c"} }, []string{"QueueAssignments"}},
		{"label value", func(w map[string]any) { w["labels"].(map[string]any)["lang"] = "fr" }, []string{"Labels"}},
		{"label type", func(w map[string]any) {
			w["labels"].(map[string]any)["lang"] = 7.0
			w["tags"] = map[string]any{"team": 7.0}
		}, []string{"Labels", "Tags"}},
		{"tags dropped", func(w map[string]any) { delete(w, "tags") }, []string{"Tags"}},
		{"channel limit", func(w map[string]any) { w["channels"].([]any)[0].(map[string]any)["maxNumberOfJobs"] = 3.0 }, []string{"ChannelConfigurations"}},
		// Microsoft's sample: capacity, labels and tags changed.
		{"the sample's change", func(w map[string]any) {
			w["capacity"], w["labels"], w["tags"] = 10.0, map[string]any{"x": "111"}, map[string]any{}
		}, []string{"TotalCapacity", "Labels", "Tags"}},
		{"everything", func(w map[string]any) {
			w["availableForOffers"], w["capacity"], w["queues"], w["labels"], w["tags"], w["channels"] = false, 1.0, []any{}, nil, nil, nil
		}, []string{"AvailableForOffers", "TotalCapacity", "QueueAssignments", "Labels", "Tags", "ChannelConfigurations"}},
	}
	for _, c := range cases {
		after := base()
		c.change(after)
		if got := UpdatedWorkerProperties(base(), after); !slices.Equal(got, c.want) || got == nil {
			t.Errorf("%s: %#v, want %v", c.name, got, c.want)
		}
	}
	// The event carries the diff and the worker as it is now.
	after := base()
	after["capacity"] = 150.0
	e := WorkerUpdatedEvent("ten", base(), after, map[string]map[string]any{"a": {"name": "A", "labels": map[string]any{"Id": "a"}}}, evAt)
	d := evData(t, e)
	if e.Subject != "worker/w1" || d["totalCapacity"] != 150.0 || !reflect.DeepEqual(d["updatedWorkerProperties"], []any{"TotalCapacity"}) {
		t.Errorf("worker updated %s %v", e.Subject, d)
	}
	wantQueues := []any{map[string]any{"id": "a", "name": "A", "labels": map[string]any{"Id": "a"}},
		map[string]any{"id": "b", "name": "", "labels": map[string]any{}}} // b's document is unknown here
	if !reflect.DeepEqual(d["queueAssignments"], wantQueues) {
		t.Errorf("queueAssignments %v, want %v", d["queueAssignments"], wantQueues)
	}
	if _, ok := d["availableForOffers"]; ok {
		t.Error("worker events carry availableForOffers, which ACS's do not")
	}
}

// Subjects name what the event is about as the samples do.
func TestEventSubjects(t *testing.T) {
	j := evTestJob()
	j.DispositionCode = "Resolved"
	a := Assignment{AssignmentID: "a1", WorkerID: "w1"}
	w := map[string]any{"id": "w1"}
	o := Offer{OfferID: "o1", JobID: "j1", OfferedAt: evAt, ExpiresAt: evAt.Add(time.Minute)}
	for _, c := range []struct {
		e    event.Event
		want string
	}{
		{JobReceivedEvent("t", j, evAt), "job/j1/channel/voice"},
		{JobClassifiedEvent("t", j, nil, evAt), "job/j1/channel/voice/queue/sales"},
		{JobClassificationFailedEvent("t", j, []string{"no queue"}, evAt), "job/j1/channel/voice/classificationpolicy/cp"},
		{JobQueuedEvent("t", j, evAt), "job/j1/channel/voice/queue/sales"},
		{JobCompletedEvent("t", j, a, evAt), "job/j1/channel/voice/assignment/a1"},
		{JobClosedEvent("t", j, a, evAt), "job/j1/channel/voice/assignment/a1"},
		{JobUnassignedEvent("t", j, a, evAt), "job/j1/channel/voice/assignment/a1"},
		{JobCancelledEvent("t", j, "gone", evAt), "job/j1/channel/voice/disposition/Resolved"},
		{JobExceptionTriggeredEvent("t", j, "r1", evAt), "job/j1/channel/voice/exceptionrule/r1"},
		{JobWorkerSelectorsExpiredEvent("t", j, nil, nil, evAt), "job/j1/channel/voice/queue/sales"},
		{JobWaitingForActivationEvent("t", j, evAt), "job/j1/channel/voice"},
		{JobSchedulingFailedEvent("t", j, "x", evAt), "job/j1/channel/voice"},
		{JobDeletedEvent("t", j, evAt), "job/j1/channel/voice"},
		{OfferIssuedEvent("t", j, w, o, evAt), "worker/w1/job/j1"},
		{OfferAcceptedEvent("t", j, w, o, "a1", evAt), "worker/w1/job/j1"},
		{OfferDeclinedEvent("t", j, "w1", o, evAt), "worker/w1/job/j1"},
		{OfferExpiredEvent("t", j, "w1", o, evAt), "worker/w1/job/j1"},
		{OfferRevokedEvent("t", j, "w1", o, evAt), "worker/w1/job/j1"},
		{WorkerRegisteredEvent("t", w, nil, evAt), "worker/w1"},
		{WorkerUpdatedEvent("t", w, w, nil, evAt), "worker/w1"},
		{WorkerDeregisteredEvent("t", "w1", evAt), "worker/w1"},
		{WorkerDeletedEvent("t", "w1", evAt), "worker/w1"},
	} {
		if c.e.Subject != c.want {
			t.Errorf("%s: subject %q, want %q", c.e.Type, c.e.Subject, c.want)
		}
	}
}

// The members that carry facts rather than shape: who, which assignment,
// which rule, when.
func TestEventFacts(t *testing.T) {
	j := evTestJob()
	j.DispositionCode = "Resolved"
	a := Assignment{AssignmentID: "a1", WorkerID: "w1"}
	if d := evData(t, JobClosedEvent("t", j, a, evAt)); d["assignmentId"] != "a1" || d["workerId"] != "w1" || d["dispositionCode"] != "Resolved" || d["queueId"] != "sales" {
		t.Errorf("closed %v", d)
	}
	if d := evData(t, JobCancelledEvent("t", j, "customer hung up", evAt)); d["note"] != "customer hung up" || d["dispositionCode"] != "Resolved" {
		t.Errorf("cancelled %v", d)
	}
	if d := evData(t, JobExceptionTriggeredEvent("t", j, "r1", evAt)); d["ruleKey"] != "r1" || d["exceptionRuleId"] != "r1" {
		t.Errorf("exception %v", d)
	}
	d := evData(t, JobClassificationFailedEvent("t", j, []string{"no queue matched"}, evAt))
	want := []any{map[string]any{"code": "ClassificationFailed", "message": "no queue matched", "target": nil, "innererror": nil, "details": nil}}
	if !reflect.DeepEqual(d["errors"], want) || d["classificationPolicyId"] != "cp" {
		t.Errorf("classification failed %v", d)
	}
	q := map[string]any{"id": "sales", "name": "Sales", "labels": map[string]any{"Id": "sales", "tier": 1.0}}
	d = evData(t, JobClassifiedEvent("t", j, q, evAt))
	wantQ := map[string]any{"id": "sales", "name": "Sales", "labels": map[string]any{"Id": "sales", "tier": "1"}}
	if !reflect.DeepEqual(d["queueDetails"], wantQ) || !reflect.DeepEqual(d["queueInfo"], wantQ) || d["priority"] != 3.0 {
		t.Errorf("classified %v", d)
	}
	o := Offer{OfferID: "o1", OfferedAt: evAt, ExpiresAt: evAt.Add(time.Minute)}
	d = evData(t, OfferIssuedEvent("t", j, map[string]any{"id": "w1"}, o, evAt))
	if d["offerId"] != "o1" || d["workerId"] != "w1" || d["jobPriority"] != 3.0 || d["queueId"] != "sales" || d["channelReference"] != "call-1" ||
		d["offeredOn"] != "2026-03-02T03:30:00.123456789Z" || d["expiresOn"] != "2026-03-02T03:31:00.123456789Z" {
		t.Errorf("offer issued %v", d)
	}
	if d := evData(t, OfferDeclinedEvent("t", j, "w1", o, evAt)); len(d) != 6 {
		t.Errorf("offer declined carries %v, want the six members of the sample", d)
	}
	if d := evData(t, WorkerDeletedEvent("t", "w1", evAt)); !reflect.DeepEqual(d, map[string]any{"workerId": "w1"}) {
		t.Errorf("worker deleted %v", d)
	}
}
