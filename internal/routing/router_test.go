package routing

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// testRouter builds a router from documents as the config API stores them.
func testRouter(t *testing.T, docs map[Kind]map[string]string) *Router {
	t.Helper()
	n := 0
	r := NewRouter(func() string { n++; return fmt.Sprintf("id-%d", n) })
	for _, kind := range []Kind{KindDistributionPolicy, KindClassificationPolicy, KindExceptionPolicy, KindQueue, KindWorker} {
		for _, id := range sortedKeys(docs[kind]) {
			doc, err := Decode([]byte(docs[kind][id]))
			if err != nil {
				t.Fatal(err)
			}
			NormalizeKinds(doc)
			if _, err := Prepare(kind, id, doc); err != nil {
				t.Fatalf("%s %s: %v", kind, id, err)
			}
			r.SetConfig(kind, id, doc, t0)
		}
	}
	return r
}

var t0 = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

func facts(ch Changes) []string {
	var out []string
	for _, f := range ch.Facts {
		s := f.Kind
		if f.Worker != "" {
			s += " " + f.Worker
		}
		out = append(out, s)
	}
	return out
}

func mustJob(t *testing.T, r *Router, id, body string, now time.Time) (*Job, Changes) {
	t.Helper()
	patch, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	view, ch, err := r.UpsertJob(r.Job(id), id, patch, now)
	if err != nil {
		t.Fatalf("job %s: %v", id, err)
	}
	return view, ch
}

func TestRouterJobLifecycle(t *testing.T) {
	r := testRouter(t, map[Kind]map[string]string{
		KindDistributionPolicy: {"dp": `{"offerExpiresAfterSeconds":30,"mode":{"kind":"longestIdle"}}`},
		KindClassificationPolicy: {"cp": `{"fallbackQueueId":"q","prioritizationRule":{"kind":"expression","expression":"If(job.vip = true, 10, 1)"},
			"workerSelectorAttachments":[{"kind":"passThrough","key":"lang","labelOperator":"equal"}]}`},
		KindQueue:  {"q": `{"distributionPolicyId":"dp"}`},
		KindWorker: {"w1": `{"capacity":100,"queues":["q"],"labels":{"lang":"en"},"channels":[{"channelId":"chat","capacityCostPerJob":50}],"availableForOffers":true}`},
	})
	view, ch := mustJob(t, r, "j1", `{"channelId":"chat","classificationPolicyId":"cp","labels":{"vip":true,"lang":"en"}}`, t0)
	if view.Status != StatusPendingClassification {
		t.Fatalf("answered status %s, want pendingClassification (classification follows the answer)", view.Status)
	}
	want := []string{"RouterJobReceived", "RouterJobClassified", "RouterJobQueued", "RouterWorkerOfferIssued w1"}
	if got := facts(ch); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("facts %v, want %v", got, want)
	}
	j := r.Job("j1")
	if j.Priority != 10 || len(j.AttachedWorkerSelectors) != 1 || j.Status != StatusQueued {
		t.Fatalf("classified job: priority %d, attached %v, status %s", j.Priority, j.AttachedWorkerSelectors, j.Status)
	}
	offer := ch.Facts[3].Offer.OfferID
	if got := r.WorkerView("w1", r.workers["w1"])["offers"].([]any); len(got) != 1 {
		t.Fatalf("worker view offers %v", got)
	}
	aid, _, ch, err := r.Accept("w1", offer, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != StatusAssigned || j.Assignments[aid] == nil {
		t.Fatalf("after accept: %s %v", j.Status, j.Assignments)
	}
	if _, _, _, err := r.Accept("w1", offer, t0.Add(time.Second)); !errors.Is(err, ErrOfferNotFound) && errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("second accept: %v", err)
	}
	view2 := r.WorkerView("w1", r.workers["w1"])
	if view2["loadRatio"] != 0.5 || len(view2["assignedJobs"].([]any)) != 1 {
		t.Fatalf("worker view after accept: %v", view2)
	}
	if _, err := r.Complete("j1", aid, "done", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if r.WorkerView("w1", r.workers["w1"])["loadRatio"] != 0.5 {
		t.Fatal("a completed job must hold capacity until closed")
	}
	ch, err = r.Close("j1", aid, "Resolved", "", t0.Add(2*time.Minute), t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Facts) != 0 || j.Status != StatusCompleted {
		t.Fatalf("a deferred close acts later: %v %s", facts(ch), j.Status)
	}
	if got := r.NextWake(); !got.Equal(t0.Add(30*time.Second+0)) && !got.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("next wake %v", got)
	}
	ch = r.Tick(t0.Add(2 * time.Minute))
	if fmt.Sprint(facts(ch)) != "[RouterJobClosed w1]" || j.Status != StatusClosed || j.DispositionCode != "Resolved" || r.Job("j1") != nil {
		t.Fatalf("close at closeAt: %v %s", facts(ch), j.Status)
	}
	if r.WorkerView("w1", r.workers["w1"])["loadRatio"] != 0.0 {
		t.Fatal("closing frees capacity")
	}
}

func TestRouterExceptionsSelectorsAndUnassign(t *testing.T) {
	r := testRouter(t, map[Kind]map[string]string{
		KindDistributionPolicy: {"dp": `{"offerExpiresAfterSeconds":30,"mode":{"kind":"longestIdle"}}`},
		KindExceptionPolicy: {"ep": `{"exceptionRules":[{"id":"overflow","trigger":{"kind":"waitTime","thresholdSeconds":60},
			"actions":[{"kind":"manualReclassify","queueId":"q2","priority":5}]}]}`},
		KindQueue: {"q1": `{"distributionPolicyId":"dp","exceptionPolicyId":"ep"}`, "q2": `{"distributionPolicyId":"dp"}`},
		KindWorker: {"w1": `{"capacity":1,"queues":["q2"],"labels":{"skill":3},"channels":[{"channelId":"voice","capacityCostPerJob":1}],"availableForOffers":true}`,
			"w2": `{"capacity":1,"queues":["q1"],"labels":{"skill":1},"channels":[{"channelId":"voice","capacityCostPerJob":1}],"availableForOffers":true}`},
	})
	_, ch := mustJob(t, r, "j", `{"channelId":"voice","queueId":"q1","requestedWorkerSelectors":[{"key":"skill","labelOperator":"greaterThanOrEqual","value":5,"expiresAfterSeconds":20}]}`, t0)
	if fmt.Sprint(facts(ch)) != "[RouterJobReceived RouterJobQueued]" {
		t.Fatalf("facts %v: w2 does not meet the selector", facts(ch))
	}
	ch = r.Tick(t0.Add(20 * time.Second))
	if fmt.Sprint(facts(ch)) != "[RouterJobWorkerSelectorsExpired RouterWorkerOfferIssued w2]" {
		t.Fatalf("selector expiry widens the pool: %v", facts(ch))
	}
	offer := ch.Facts[1].Offer.OfferID
	if _, err := r.Decline("w2", offer, time.Time{}, t0.Add(21*time.Second)); err != nil {
		t.Fatal(err)
	}
	ch = r.Tick(t0.Add(60 * time.Second))
	want := "[RouterJobExceptionTriggered RouterJobQueued RouterWorkerOfferIssued w1]"
	if fmt.Sprint(facts(ch)) != want {
		t.Fatalf("overflow after a minute: %v, want %v", facts(ch), want)
	}
	j := r.Job("j")
	if j.QueueID != "q2" || j.Priority != 5 {
		t.Fatalf("manual reclassify: queue %s priority %d", j.QueueID, j.Priority)
	}
	aid, _, _, err := r.Accept("w1", ch.Facts[2].Offer.OfferID, t0.Add(61*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		n, ch, err := r.Unassign("j", aid, false, t0.Add(62*time.Second))
		if err != nil || n != i {
			t.Fatalf("unassign %d: %d %v", i, n, err)
		}
		// The same (only) worker is offered the job again at once.
		var next string
		for _, f := range ch.Facts {
			if f.Kind == "RouterWorkerOfferIssued" {
				next = f.Offer.OfferID
			}
		}
		if aid, _, _, err = r.Accept("w1", next, t0.Add(63*time.Second)); err != nil {
			t.Fatalf("re-accept %d: %v", i, err)
		}
	}
	if _, _, err := r.Unassign("j", aid, false, t0.Add(64*time.Second)); errs.KindOf(err) != errs.KindInvalid {
		t.Fatalf("a fourth unassign: %v", err)
	}
}

func TestRouterBadJobs(t *testing.T) {
	r := testRouter(t, map[Kind]map[string]string{
		KindDistributionPolicy: {"dp": `{"mode":{"kind":"longestIdle"}}`},
		KindQueue:              {"q": `{"distributionPolicyId":"dp"}`},
	})
	for _, body := range []string{
		`{"queueId":"q"}`,
		`{"channelId":"c"}`,
		`{"channelId":"c","queueId":"nope"}`,
		`{"channelId":"c","queueId":"q","priority":101}`,
		`{"channelId":"c","queueId":"q","priority":"high"}`,
		`{"channelId":"c","queueId":"q","labels":{"x":{"y":1}}}`,
		`{"channelId":"c","queueId":"q","requestedWorkerSelectors":[{"key":"k","labelOperator":"greaterThan","value":"a"}]}`,
		`{"channelId":"c","queueId":"q","matchingMode":{"kind":"scheduleAndSuspend"}}`,
	} {
		patch, _ := Decode([]byte(body))
		if _, _, err := r.UpsertJob(nil, "j", patch, t0); errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("%s: %v, want invalid", body, err)
		}
		if r.Job("j") != nil {
			t.Fatalf("%s: a refused job was kept", body)
		}
	}
}

func TestBestWorkerScoringRule(t *testing.T) {
	docs := func(rule string) map[Kind]map[string]string {
		return map[Kind]map[string]string{
			KindDistributionPolicy: {"dp": `{"mode":{"kind":"bestWorker","scoringRule":` + rule + `,"scoringRuleOptions":{"descendingOrder":true}}}`},
			KindQueue:              {"q": `{"distributionPolicyId":"dp"}`},
			KindWorker: {"a": `{"capacity":1,"queues":["q"],"labels":{"csat":4.9,"langs":2},"channels":[{"channelId":"voice","capacityCostPerJob":1}],"availableForOffers":true}`,
				"b": `{"capacity":1,"queues":["q"],"labels":{"csat":4.1,"langs":3},"channels":[{"channelId":"voice","capacityCostPerJob":1}],"availableForOffers":true}`},
		}
	}
	for rule, want := range map[string]string{
		`{"kind":"expression","expression":"worker.csat * 10"}`:                             "a",
		`{"kind":"expression","expression":"If(job.multilingual = true, worker.langs, 0)"}`: "b",
	} {
		r := testRouter(t, docs(rule))
		_, ch := mustJob(t, r, "j", `{"channelId":"voice","queueId":"q","labels":{"multilingual":true}}`, t0)
		if got := facts(ch); len(got) < 3 || got[2] != "RouterWorkerOfferIssued "+want {
			t.Errorf("rule %s: %v, want the offer to %s", rule, got, want)
		}
	}
	// Ascending order turns the ranking round.
	d := docs(`{"kind":"expression","expression":"worker.csat"}`)
	d[KindDistributionPolicy]["dp"] = `{"mode":{"kind":"bestWorker","scoringRule":{"kind":"expression","expression":"worker.csat"},"scoringRuleOptions":{"descendingOrder":false}}}`
	r := testRouter(t, d)
	if _, ch := mustJob(t, r, "j", `{"channelId":"voice","queueId":"q"}`, t0); facts(ch)[2] != "RouterWorkerOfferIssued b" {
		t.Errorf("ascending: %v", facts(ch))
	}
}

func TestPositionAndEstimatedWait(t *testing.T) {
	r := testRouter(t, map[Kind]map[string]string{
		KindDistributionPolicy: {"dp": `{"offerExpiresAfterSeconds":600,"mode":{"kind":"longestIdle"}}`},
		KindQueue:              {"q": `{"distributionPolicyId":"dp"}`},
		KindWorker:             {"w": `{"capacity":1,"queues":["q"],"channels":[{"channelId":"voice","capacityCostPerJob":1}],"availableForOffers":true}`},
	})
	// The only agent takes a call every two minutes.
	for i := range 3 {
		at := t0.Add(time.Duration(2*i) * time.Minute)
		_, ch := mustJob(t, r, fmt.Sprint("served", i), `{"channelId":"voice","queueId":"q"}`, at)
		offer := ch.Facts[len(ch.Facts)-1].Offer.OfferID
		aid, _, _, err := r.Accept("w", offer, at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Close(fmt.Sprint("served", i), aid, "", "", time.Time{}, at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(4 * time.Minute)
	_, _ = mustJob(t, r, "busy", `{"channelId":"voice","queueId":"q"}`, now)
	_, _ = mustJob(t, r, "low", `{"channelId":"voice","queueId":"q","priority":1}`, now)
	_, _ = mustJob(t, r, "high", `{"channelId":"voice","queueId":"q","priority":9}`, now)
	p, err := r.Position("low", now)
	if err != nil {
		t.Fatal(err)
	}
	// "busy" was offered (not accepted) and still counts as queued; "high"
	// jumped ahead: low is third of three. Three calls served in four
	// minutes is 0.75 a minute, so three places are four minutes.
	if p.Position != 3 || p.QueueLength != 3 || p.EstimatedWaitTimeMinutes == nil || *p.EstimatedWaitTimeMinutes != 4 {
		t.Fatalf("position %+v (estimate %v)", p, p.EstimatedWaitTimeMinutes)
	}
	st, _ := r.QueueStatistics("q", now)
	if st.Length != 3 || st.EstimatedWaitTimeMinutes["9"] != 2.67 || st.EstimatedWaitTimeMinutes["1"] != 5.33 {
		t.Fatalf("statistics %+v", st)
	}
}

func TestLateAcceptOnlyTellsTheOfferedWorker(t *testing.T) {
	r := testRouter(t, map[Kind]map[string]string{
		KindDistributionPolicy: {"dp": `{"offerExpiresAfterSeconds":60,"mode":{"kind":"longestIdle","maxConcurrentOffers":2}}`},
		KindQueue:              {"q": `{"distributionPolicyId":"dp"}`},
		KindWorker: {"w1": `{"capacity":1,"queues":["q"],"channels":[{"channelId":"voice","capacityCostPerJob":1}],"availableForOffers":true}`,
			"w2": `{"capacity":1,"queues":["q"],"channels":[{"channelId":"voice","capacityCostPerJob":1}],"availableForOffers":true}`,
			"w3": `{"capacity":1,"queues":["q"],"channels":[{"channelId":"chat","capacityCostPerJob":1}],"availableForOffers":true}`},
	})
	_, ch := mustJob(t, r, "j", `{"channelId":"voice","queueId":"q"}`, t0)
	o1, o2 := ch.Facts[2].Offer.OfferID, ch.Facts[3].Offer.OfferID
	if _, _, _, err := r.Accept(ch.Facts[2].Worker, o1, t0); err != nil {
		t.Fatal(err)
	}
	// The other offered worker learns the job was taken.
	if _, _, _, err := r.Accept(ch.Facts[3].Worker, o2, t0); errs.KindOf(err) != errs.KindConflict {
		t.Fatalf("late accept by the offered worker: %v, want a conflict", err)
	}
	// Anyone else presenting those ids learns nothing.
	for _, o := range []string{o1, o2} {
		if _, _, _, err := r.Accept("w3", o, t0); errs.KindOf(err) != errs.KindNotFound {
			t.Fatalf("w3 presenting %s: %v, want not found", o, err)
		}
	}
	// A cancelled job's assignment is closed.
	r.Cancel("j", "", "", t0.Add(time.Second))
	for _, f := range []*Job{ch.Facts[0].Job} {
		for _, a := range f.Assignments {
			if a.ClosedAt.IsZero() {
				t.Fatalf("a cancelled job keeps an open assignment: %+v", a)
			}
		}
	}
}

// A queued job moved to another queue or channel loses the offers made
// for the old one, and the capacity they held comes back.
func TestJobMovedLosesItsOffers(t *testing.T) {
	r := testRouter(t, map[Kind]map[string]string{
		KindDistributionPolicy: {"dp": `{"offerExpiresAfterSeconds":60,"mode":{"kind":"longestIdle"}}`},
		KindQueue:              {"q1": `{"distributionPolicyId":"dp"}`, "q2": `{"distributionPolicyId":"dp"}`},
		KindWorker: {"a": `{"capacity":100,"queues":["q1"],"channels":[{"channelId":"chat","capacityCostPerJob":20},{"channelId":"voice","capacityCostPerJob":100}],"availableForOffers":true}`,
			"b": `{"capacity":100,"queues":["q2"],"channels":[{"channelId":"chat","capacityCostPerJob":20}],"availableForOffers":true}`},
	})
	_, ch := mustJob(t, r, "j", `{"channelId":"chat","queueId":"q1"}`, t0)
	if fmt.Sprint(facts(ch)) != "[RouterJobReceived RouterJobQueued RouterWorkerOfferIssued a]" {
		t.Fatalf("%v", facts(ch))
	}
	_, ch = mustJob(t, r, "j", `{"queueId":"q2"}`, t0.Add(time.Second))
	if fmt.Sprint(facts(ch)) != "[RouterWorkerOfferRevoked a RouterWorkerOfferIssued b]" {
		t.Fatalf("moving the job: %v", facts(ch))
	}
	if used, _ := r.eng.Load("a"); used != 0 {
		t.Fatalf("a still holds %d for a job it lost", used)
	}
}

// Timers of answered offers do not pile up: the heap follows live work.
func TestTimerHeapFollowsLiveWork(t *testing.T) {
	r := testRouter(t, map[Kind]map[string]string{
		KindDistributionPolicy: {"dp": `{"offerExpiresAfterSeconds":3600,"mode":{"kind":"longestIdle"}}`},
		KindQueue:              {"q": `{"distributionPolicyId":"dp"}`},
		KindWorker:             {"w": `{"capacity":1,"queues":["q"],"channels":[{"channelId":"voice","capacityCostPerJob":1}],"availableForOffers":true}`},
	})
	for i := range 20000 {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		id := fmt.Sprint("j", i)
		_, ch := mustJob(t, r, id, `{"channelId":"voice","queueId":"q"}`, now)
		aid, _, _, err := r.Accept("w", ch.Facts[len(ch.Facts)-1].Offer.OfferID, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Close(id, aid, "", "", time.Time{}, now); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.timers); n > 8192 {
		t.Fatalf("%d timers held for no live offer or job", n)
	}
}
