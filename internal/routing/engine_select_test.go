package routing

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// The longest-idle ranking that keeps only the first few candidates must
// give exactly the first few of the full ranking: the same workers in the
// same order with the same scores, the preferred agent first, the same
// counts — over random queues of loads, idle times, ties and exclusions.
func TestBestIdleKeepsTheFullRankingsHead(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	base := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for round := range 300 {
		e := NewEngine()
		e.SetQueue("q", Policy{Mode: LongestIdle, OfferExpiry: time.Minute}, base)
		n := 1 + rng.Intn(60)
		for i := range n {
			// Few distinct idle times and loads: many ties.
			joined := base.Add(time.Duration(rng.Intn(4)) * time.Second)
			spec := WorkerSpec{ID: fmt.Sprintf("w%03d", rng.Intn(1000)), Capacity: 100, Available: rng.Intn(6) > 0, Queues: []string{"q"},
				Channels: map[string]Channel{"chat": {Cost: 20}}, Labels: map[string]any{"tier": []string{"gold", "silver"}[i%2]}}
			e.SetWorker(spec, joined)
		}
		for _, w := range e.workers {
			w.used = 20 * rng.Intn(6) // some full
			if rng.Intn(8) == 0 {
				w.wrapUntil = base.Add(time.Duration(rng.Intn(120)) * time.Second) // some in wrap-up
			}
			if rng.Intn(8) == 0 {
				w.MaxOffers = 1
				w.offers = map[string]*offer{"o": {}} // some at their offer limit
			}
			e.sync(w)
		}
		j := &job{JobSpec: JobSpec{ID: "j", Queue: "q", Channel: "chat", Labels: map[string]any{"tier": "gold"}}, channel: e.channelNumber("chat")}
		members := e.members("q")
		if rng.Intn(2) == 0 {
			j.Preferred = members[rng.Intn(len(members))].ID
		}
		now := base.Add(time.Minute)
		p := e.policies["q"]
		if err := e.checkMembers(); err != nil {
			t.Fatal(err)
		}
		full, fullWhy := e.candidates(j, p, now, 1<<30)
		for _, keep := range []int{1, 2, 3, maxExplained} {
			got, why := e.candidates(j, p, now, keep)
			want := full[:min(keep, len(full))]
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("round %d keep %d: %v, want %v (preferred %q)", round, keep, got, want, j.Preferred)
			}
			if why.CandidateCount != len(full) || why.ExcludedCount != fullWhy.ExcludedCount || fmt.Sprint(why.Excluded) != fmt.Sprint(fullWhy.Excluded) {
				t.Fatalf("round %d keep %d: counts %d/%d excluded %v, want %d/%d %v", round, keep, why.CandidateCount, why.ExcludedCount, why.Excluded,
					len(full), fullWhy.ExcludedCount, fullWhy.Excluded)
			}
		}
	}
}

// A wrap-up far beyond what Unix nanoseconds hold (wrapUpSeconds is any
// non-negative integer) still keeps the worker from offers: ranking's
// copies compare times as the worker's own are compared.
func TestLongWrapUpKeepsTheWorkerOut(t *testing.T) {
	e := NewEngine()
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	e.SetQueue("q", Policy{Mode: LongestIdle, OfferExpiry: time.Minute}, now)
	wrap := 250 * 365 * 24 * time.Hour // ends after 2262
	e.SetWorker(WorkerSpec{ID: "w", Available: true, Capacity: 1, Queues: []string{"q"}, Channels: map[string]Channel{"chat": {Cost: 1}}, WrapUp: wrap}, now)
	ds, err := e.Submit(JobSpec{ID: "j1", Queue: "q", Channel: "chat"}, now)
	if err != nil || len(ds) != 1 {
		t.Fatalf("j1: %v %v", ds, err)
	}
	if _, err := e.Accept("w", ds[0].Offer, now); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Complete("j1", now); err != nil {
		t.Fatal(err)
	}
	if ds, _ := e.Submit(JobSpec{ID: "j2", Queue: "q", Channel: "chat"}, now.Add(time.Second)); len(ds) > 0 {
		t.Fatalf("a worker in wrap-up until %v was offered j2: %+v", e.workers["w"].wrapUntil, ds)
	}
	if err := e.checkMembers(); err != nil {
		t.Fatal(err)
	}
}
