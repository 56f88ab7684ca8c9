package routing_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

// BenchmarkEngineLifecycle: the in-memory engine alone, 10,000 workers in
// 200 queues: submit → offer → accept → complete per op. The whole-system
// figure (persistence, API) is measured once the engine is wired.
func BenchmarkEngineLifecycle(b *testing.B) {
	e := routing.NewEngine()
	const queues, workers = 200, 10000
	for q := range queues {
		e.SetQueue(fmt.Sprint("q", q), routing.Policy{Mode: routing.LongestIdle, OfferExpiry: time.Minute}, t0)
	}
	for w := range workers {
		e.SetWorker(routing.WorkerSpec{ID: fmt.Sprint("w", w), Capacity: 100, Available: true, Queues: []string{fmt.Sprint("q", w%queues)},
			Channels: map[string]routing.Channel{"chat": {Cost: 20}}}, t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		id := fmt.Sprint("j", i)
		ds, err := e.Submit(routing.JobSpec{ID: id, Queue: fmt.Sprint("q", i%queues), Channel: "chat"}, now)
		if err != nil || len(ds) != 1 {
			b.Fatalf("submit: %v %v", ds, err)
		}
		if _, err := e.Accept(ds[0].Worker, ds[0].Offer, now); err != nil {
			b.Fatal(err)
		}
		if _, err := e.Complete(id, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}
