package routing_test

import (
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

// TestAcceptFreesAnOfferSlot: a worker at its concurrent offer limit that
// accepts an offer has room for the next one at once, as after a decline
// or an expiry — the waiting job must not wait for some other change.
func TestAcceptFreesAnOfferSlot(t *testing.T) {
	must := mustFn(t)
	e := routing.NewEngine()
	e.SetQueue("q", routing.Policy{Mode: routing.LongestIdle, OfferExpiry: time.Minute}, at(0))
	e.SetWorker(routing.WorkerSpec{ID: "solo", Capacity: 5, Available: true, Queues: []string{"q"}, MaxOffers: 1,
		Channels: map[string]routing.Channel{"chat": {Cost: 1}}}, at(0))
	first := must(e.Submit(routing.JobSpec{ID: "s1", Queue: "q", Channel: "chat"}, at(1)))
	if len(first) != 1 || first[0].Kind != routing.OfferIssued {
		t.Fatalf("s1: %+v", first)
	}
	if ds := must(e.Submit(routing.JobSpec{ID: "s2", Queue: "q", Channel: "chat"}, at(2))); len(offers(ds)) != 0 {
		t.Fatalf("s2 offered past the limit: %+v", ds)
	}
	ds := must(e.Accept("solo", first[0].Offer, at(3)))
	if got := offers(ds); got["s2"] != "solo" {
		t.Fatalf("after the accept: %+v, want s2 offered to solo", ds)
	}
}
