package routing_test

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func blended(id string, queues ...string) routing.WorkerSpec {
	return routing.WorkerSpec{ID: id, Capacity: 100, Available: true, Queues: queues,
		Channels: map[string]routing.Channel{"voice": {Cost: 100}, "chat": {Cost: 20, MaxJobs: 5}}}
}

func offers(ds []routing.Decision) map[string]string {
	out := map[string]string{}
	for _, d := range ds {
		if d.Kind == routing.OfferIssued {
			out[d.Job] = d.Worker
		}
	}
	return out
}

// mustFn returns a checker for (decisions, error) results.
func mustFn(t *testing.T) func([]routing.Decision, error) []routing.Decision {
	return func(ds []routing.Decision, err error) []routing.Decision {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
}

func TestLongestIdleAndCapacityBlending(t *testing.T) {
	must := mustFn(t)
	e := routing.NewEngine()
	e.SetQueue("q", routing.Policy{Mode: routing.LongestIdle, OfferExpiry: time.Minute}, at(0))
	e.SetWorker(blended("ana", "q"), at(0))
	e.SetWorker(blended("budi", "q"), at(5))
	// Ana has been idle longest: she gets the first call, Budi the second.
	got := offers(must(e.Submit(routing.JobSpec{ID: "call1", Queue: "q", Channel: "voice"}, at(10))))
	if got["call1"] != "ana" {
		t.Fatalf("call1 offered to %v, want ana", got)
	}
	got = offers(must(e.Submit(routing.JobSpec{ID: "call2", Queue: "q", Channel: "voice"}, at(11))))
	if got["call2"] != "budi" {
		t.Fatalf("call2 offered to %v, want budi (ana's capacity is held)", got)
	}
	// A third call waits: nobody has 100 free.
	ds := must(e.Submit(routing.JobSpec{ID: "call3", Queue: "q", Channel: "voice"}, at(12)))
	if len(offers(ds)) != 0 {
		t.Fatalf("call3 offered although everyone is full: %v", ds)
	}
	// Chats: one worker takes five at 20 each, not six.
	e2 := routing.NewEngine()
	e2.SetQueue("q", routing.Policy{Mode: routing.LongestIdle, OfferExpiry: time.Minute}, at(0))
	w := blended("cici", "q")
	w.Channels["chat"] = routing.Channel{Cost: 20, MaxJobs: 10}
	e2.SetWorker(w, at(0))
	n := 0
	for i := range 6 {
		n += len(offers(must(e2.Submit(routing.JobSpec{ID: fmt.Sprint("chat", i), Queue: "q", Channel: "chat"}, at(1)))))
	}
	if used, capacity := e2.Load("cici"); n != 5 || used != 100 || capacity != 100 {
		t.Fatalf("%d chats offered, load %d/%d; want 5 and 100/100", n, used, capacity)
	}
}

func TestAcceptIsExclusive(t *testing.T) {
	must := mustFn(t)
	e := routing.NewEngine()
	e.SetQueue("q", routing.Policy{Mode: routing.LongestIdle, MinOffers: 2, MaxOffers: 2, OfferExpiry: time.Minute}, at(0))
	e.SetWorker(blended("ana", "q"), at(0))
	e.SetWorker(blended("budi", "q"), at(1))
	ds := must(e.Submit(routing.JobSpec{ID: "c1", Queue: "q", Channel: "chat"}, at(2)))
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.Offer)
	}
	if len(ids) != 2 {
		t.Fatalf("want offers to both, got %v", ds)
	}
	ds = must(e.Accept("ana", ids[0], at(3)))
	if ds[0].Kind != routing.JobAssigned || ds[1].Kind != routing.OfferRevoked || ds[1].Worker != "budi" {
		t.Fatalf("accept: %+v", ds)
	}
	if _, err := e.Accept("budi", ids[1], at(3)); !errors.Is(err, routing.ErrJobTaken) {
		t.Fatalf("second accept: %v, want ErrJobTaken", err)
	}
	if used, _ := e.Load("budi"); used != 0 {
		t.Fatalf("budi still holds %d for a revoked offer", used)
	}
	must(e.Complete("c1", at(60)))
	if used, _ := e.Load("ana"); used != 0 {
		t.Fatalf("ana holds %d after completing", used)
	}
}

func TestExpiryDeclineAndPriority(t *testing.T) {
	must := mustFn(t)
	e := routing.NewEngine()
	e.SetQueue("q", routing.Policy{Mode: routing.LongestIdle, OfferExpiry: 30 * time.Second}, at(0))
	e.SetWorker(blended("ana", "q"), at(0))
	ds := must(e.Submit(routing.JobSpec{ID: "low", Queue: "q", Channel: "voice", Priority: 1}, at(1)))
	first := ds[0].Offer
	// A higher-priority job waits behind the offered one only while Ana is
	// busy; when she declines, she gets the urgent one, not "low" again
	// until her retry time.
	must(e.Submit(routing.JobSpec{ID: "urgent", Queue: "q", Channel: "voice", Priority: 10}, at(2)))
	ds = must(e.Decline("ana", first, at(100), at(3)))
	if ds[0].Kind != routing.OfferDeclined {
		t.Fatalf("decline: %+v", ds)
	}
	if got := offers(ds); got["urgent"] != "ana" {
		t.Fatalf("after decline: %v, want urgent to ana", got)
	}
	// The urgent offer expires unanswered; Ana is offered it again.
	ds = e.Tick(at(40))
	if ds[0].Kind != routing.OfferExpired || offers(ds)["urgent"] != "ana" {
		t.Fatalf("tick: %+v", ds)
	}
}

func TestSelectorsAndExplanation(t *testing.T) {
	must := mustFn(t)
	e := routing.NewEngine()
	e.SetQueue("q", routing.Policy{Mode: routing.BestWorker, OfferExpiry: time.Minute}, at(0))
	ana := blended("ana", "q")
	ana.Labels = map[string]any{"lang": "en", "tier": "gold", "skill": 6.0}
	budi := blended("budi", "q")
	budi.Labels = map[string]any{"lang": "id", "tier": "gold", "skill": 9.0}
	cici := blended("cici", "q")
	cici.Labels = map[string]any{"lang": "id"}
	cici.Available = false
	for _, w := range []routing.WorkerSpec{ana, budi, cici} {
		e.SetWorker(w, at(0))
	}
	ds := must(e.Submit(routing.JobSpec{ID: "j", Queue: "q", Channel: "chat", Labels: map[string]any{"lang": "id", "tier": "gold"},
		Selectors: []routing.Selector{{Key: "tier", LabelOperator: routing.Equal, Value: "gold"}, {Key: "skill", LabelOperator: routing.GreaterThanOrEqual, Value: 5.0}}}, at(1)))
	d := ds[0]
	// ACS's default score: both meet the equality (1 each); on the
	// comparison Budi's margin (9 over 5) beats Ana's (6 over 5).
	if d.Worker != "budi" || d.Why.Candidates[0].Score <= d.Why.Candidates[1].Score {
		t.Fatalf("offered to %s (%+v), want budi (the larger margin on skill)", d.Worker, d.Why.Candidates)
	}
	if len(d.Why.Candidates) != 2 || d.Why.Excluded["cici"] != "not available for offers" {
		t.Fatalf("explanation: %+v", d.Why)
	}
	// A selector nobody meets leaves the job waiting, and says why.
	ds = must(e.Submit(routing.JobSpec{ID: "k", Queue: "q", Channel: "chat",
		Selectors: []routing.Selector{{Key: "lang", LabelOperator: routing.Equal, Value: "fr"}}}, at(2)))
	if len(ds) != 0 {
		t.Fatalf("a job no one may take was offered: %+v", ds)
	}
}

func TestRoundRobin(t *testing.T) {
	must := mustFn(t)
	e := routing.NewEngine()
	e.SetQueue("q", routing.Policy{Mode: routing.RoundRobin, OfferExpiry: time.Minute}, at(0))
	for _, id := range []string{"a", "b", "c"} {
		e.SetWorker(blended(id, "q"), at(0))
	}
	var order []string
	for i := range 6 {
		ds := must(e.Submit(routing.JobSpec{ID: fmt.Sprint("j", i), Queue: "q", Channel: "chat"}, at(i+1)))
		order = append(order, ds[0].Worker)
	}
	if fmt.Sprint(order) != "[a b c a b c]" {
		t.Fatalf("round robin order %v", order)
	}
}

// TestNoDoubleAssignmentNoOverload drives the engine with random
// submissions, accepts (including late and duplicate ones), declines,
// completions, expiries and worker changes, and checks after every step
// that no job has two workers, no worker holds more than its capacity,
// and every unit of held capacity belongs to a live offer or assignment.
func TestNoDoubleAssignmentNoOverload(t *testing.T) {
	assignments, expiries := 0, 0
	defer func() {
		if assignments == 0 || expiries == 0 {
			t.Errorf("the random walk assigned %d jobs and expired %d offers: it must exercise both", assignments, expiries)
		}
	}()
	for seed := int64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewSource(seed))
		e := routing.NewEngine()
		e.SetQueue("q", routing.Policy{Mode: routing.Mode([]string{"longestIdle", "roundRobin", "bestWorker"}[seed%3]), MinOffers: 1, MaxOffers: 3, OfferExpiry: 20 * time.Second}, at(0))
		workers := []string{"w0", "w1", "w2", "w3", "w4"}
		for _, w := range workers {
			e.SetWorker(blended(w, "q"), at(0))
		}
		open := map[string]string{} // offer → worker
		assigned := map[string]string{}
		now := 0
		for step := 0; step < 400; step++ {
			now++
			var ds []routing.Decision
			var err error
			switch op := r.Intn(7); op {
			case 0, 1:
				ch := []string{"voice", "chat"}[r.Intn(2)]
				ds, err = e.Submit(routing.JobSpec{ID: fmt.Sprintf("j%d", step), Queue: "q", Channel: ch}, at(now))
			case 2:
				for o, w := range open {
					ds, err = e.Accept(w, o, at(now))
					if errors.Is(err, routing.ErrJobTaken) || errors.Is(err, routing.ErrOfferNotFound) {
						err = nil
					}
					break
				}
			case 3:
				for o, w := range open {
					ds, err = e.Decline(w, o, at(now+5), at(now))
					break
				}
			case 4:
				for j := range assigned {
					ds, err = e.Complete(j, at(now))
					delete(assigned, j)
					break
				}
			case 5:
				now += 15
				ds = e.Tick(at(now))
			case 6:
				// The worker changes: presence, wrap-up, queues, offer
				// limit, pause after a miss.
				spec := blended(workers[r.Intn(len(workers))], "q")
				switch r.Intn(4) {
				case 0:
					spec.Available = r.Intn(3) > 0
				case 3:
					spec.MaxMisses = 1 // paused by its next unanswered offer
				case 1:
					spec.WrapUp = time.Duration(r.Intn(20)) * time.Second
				case 2:
					spec.Queues, spec.MaxOffers = []string{"q", "q2"}, 1+r.Intn(2)
				}
				ds = e.SetWorker(spec, at(now))
			}
			if err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			for _, d := range ds {
				switch d.Kind {
				case routing.OfferIssued:
					open[d.Offer] = d.Worker
				case routing.OfferRevoked, routing.OfferExpired, routing.OfferDeclined:
					delete(open, d.Offer)
					if d.Kind == routing.OfferExpired {
						expiries++
					}
				case routing.JobAssigned:
					if prev, ok := assigned[d.Job]; ok {
						t.Fatalf("seed %d: job %s assigned to %s and %s", seed, d.Job, prev, d.Worker)
					}
					assigned[d.Job] = d.Worker
					assignments++
					delete(open, d.Offer)
				}
			}
			if err := e.CheckMembers(); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
			for _, w := range workers {
				used, capacity := e.Load(w)
				if used > capacity || used < 0 {
					t.Fatalf("seed %d step %d: %s holds %d of %d", seed, step, w, used, capacity)
				}
			}
			for j, w := range assigned {
				if got := e.Assigned(j); got != w {
					t.Fatalf("seed %d: the engine has %s on %s, the decisions said %s", seed, j, got, w)
				}
			}
		}
	}
}

func TestContactCenterMethods(t *testing.T) {
	must := mustFn(t)
	t.Run("attendant offers everyone at once", func(t *testing.T) {
		e := routing.NewEngine()
		e.SetQueue("q", routing.Policy{Mode: routing.Attendant, OfferExpiry: time.Minute}, at(0))
		for _, id := range []string{"a", "b", "c"} {
			e.SetWorker(blended(id, "q"), at(0))
		}
		ds := must(e.Submit(routing.JobSpec{ID: "call", Queue: "q", Channel: "voice"}, at(1)))
		if len(ds) != 3 {
			t.Fatalf("attendant issued %d offers, want 3", len(ds))
		}
		out := must(e.Accept("b", ds[1].Offer, at(2)))
		if len(out) != 3 || out[1].Kind != routing.OfferRevoked || out[2].Kind != routing.OfferRevoked {
			t.Fatalf("accept: %+v", out)
		}
	})
	t.Run("serial follows the order, one at a time", func(t *testing.T) {
		e := routing.NewEngine()
		e.SetQueue("q", routing.Policy{Mode: routing.Serial, MaxOffers: 3, Order: []string{"c", "a", "b"}, OfferExpiry: time.Minute}, at(0))
		for _, id := range []string{"a", "b", "c"} {
			e.SetWorker(blended(id, "q"), at(0))
		}
		ds := must(e.Submit(routing.JobSpec{ID: "call", Queue: "q", Channel: "voice"}, at(1)))
		if len(ds) != 1 || ds[0].Worker != "c" {
			t.Fatalf("first offer %+v, want c alone", ds)
		}
		ds = must(e.Decline("c", ds[0].Offer, at(100), at(2)))
		if len(ds) != 2 || ds[1].Worker != "a" {
			t.Fatalf("after c declines: %+v, want a", ds)
		}
	})
	t.Run("wrap-up holds a worker after a job", func(t *testing.T) {
		e := routing.NewEngine()
		e.SetQueue("q", routing.Policy{Mode: routing.LongestIdle, OfferExpiry: time.Minute}, at(0))
		w := blended("a", "q")
		w.WrapUp = 30 * time.Second
		e.SetWorker(w, at(0))
		ds := must(e.Submit(routing.JobSpec{ID: "c1", Queue: "q", Channel: "voice"}, at(1)))
		must(e.Accept("a", ds[0].Offer, at(2)))
		must(e.Complete("c1", at(10)))
		if ds := must(e.Submit(routing.JobSpec{ID: "c2", Queue: "q", Channel: "voice"}, at(11))); len(ds) != 0 {
			t.Fatalf("offered during wrap-up: %+v", ds)
		}
		if got := offers(e.Tick(at(41))); got["c2"] != "a" {
			t.Fatalf("after wrap-up: %v", got)
		}
	})
	t.Run("RONA pauses a worker who does not answer", func(t *testing.T) {
		e := routing.NewEngine()
		e.SetQueue("q", routing.Policy{Mode: routing.LongestIdle, OfferExpiry: 10 * time.Second}, at(0))
		a := blended("a", "q")
		a.MaxMisses = 2
		e.SetWorker(a, at(0))
		e.SetWorker(blended("b", "q"), at(5))
		must(e.Submit(routing.JobSpec{ID: "c1", Queue: "q", Channel: "voice"}, at(6))) // to a (idle longer)
		must(e.Submit(routing.JobSpec{ID: "c2", Queue: "q", Channel: "voice"}, at(6))) // to b
		ds := e.Tick(at(20))                                                           // both expire; re-offered
		ds = append(ds, e.Tick(at(40))...)
		paused := false
		for _, d := range ds {
			if d.Kind == routing.WorkerPaused {
				paused = paused || d.Worker == "a"
			}
		}
		if !paused {
			t.Fatalf("a missed two offers and was not paused: %+v", ds)
		}
		for _, d := range e.Tick(at(60)) {
			if d.Kind == routing.OfferIssued && d.Worker == "a" {
				t.Fatal("a paused worker got an offer")
			}
		}
	})
	t.Run("a returning customer's agent comes first", func(t *testing.T) {
		e := routing.NewEngine()
		e.SetQueue("q", routing.Policy{Mode: routing.LongestIdle, OfferExpiry: time.Minute}, at(0))
		e.SetWorker(blended("a", "q"), at(0))
		e.SetWorker(blended("b", "q"), at(5))
		ds := must(e.Submit(routing.JobSpec{ID: "chat", Queue: "q", Channel: "chat", Preferred: "b"}, at(6)))
		if ds[0].Worker != "b" {
			t.Fatalf("offered to %s, want the preferred b", ds[0].Worker)
		}
	})
}
