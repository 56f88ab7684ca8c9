package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// routingNode is a quiet node whose demo tenant has 200 queues and, when
// workers > 0, that many workers spread over them (capacity 100, chat 20).
func routingNode(b *testing.B, workers int) (*switchboardtest.Server, context.Context) {
	s := quietNode(b)
	ctx := tenant.With(context.Background(), s.Demo.Tenant.ID)
	r := s.App.Router
	if _, _, err := r.Upsert(ctx, routing.KindDistributionPolicy, "dp", map[string]any{"offerExpiresAfterSeconds": 600.0, "mode": map[string]any{"kind": "longestIdle"}}, 0); err != nil {
		b.Fatal(err)
	}
	for q := range 200 {
		if _, _, err := r.Upsert(ctx, routing.KindQueue, fmt.Sprint("q", q), map[string]any{"distributionPolicyId": "dp"}, 0); err != nil {
			b.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for w := g; w < workers; w += 16 {
				_, _, err := r.Upsert(ctx, routing.KindWorker, fmt.Sprint("w", w), map[string]any{"capacity": 100.0, "availableForOffers": true,
					"queues": []any{fmt.Sprint("q", w%200)}, "channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 20.0}}}, 0)
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return s, ctx
}

// offerOf reads the job's decision trail for the offer it was given.
func offerOf(j *routing.Job) (worker, offer string) {
	for _, e := range j.Trail {
		if e.Kind == routing.OfferIssued {
			return e.WorkerID, e.OfferID
		}
	}
	return "", ""
}

// BenchmarkRoutingLifecycle: the router service on the embedded store
// (SQLite, outbox, relay to JetStream) with 10,000 workers in 200 queues;
// 64 concurrent callers each run jobs through create → offer → accept →
// complete → close, every step committed before it returns.
func BenchmarkRoutingLifecycle(b *testing.B) {
	s, ctx := routingNode(b, 10000)
	r := s.App.Router
	var seq atomic.Int64
	b.SetParallelism(32) // × GOMAXPROCS(2) = 64 callers
	profileTimed(b)
	cpu, steal := processCPU(), startSteal(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			id := fmt.Sprint("job-", i)
			if _, _, err := r.UpsertJob(ctx, id, map[string]any{"channelId": "chat", "queueId": fmt.Sprint("q", i%200)}, 0); err != nil {
				b.Error(err)
				return
			}
			j, err := r.GetJob(ctx, id)
			if err != nil {
				b.Error(err)
				return
			}
			worker, offer := offerOf(j)
			if offer == "" {
				b.Errorf("%s was not offered: %s", id, j.Status)
				return
			}
			aid, _, err := r.AcceptOffer(ctx, worker, offer)
			if err != nil {
				b.Error(err)
				return
			}
			if err := r.CompleteJob(ctx, id, aid, ""); err != nil {
				b.Error(err)
				return
			}
			if err := r.CloseJob(ctx, id, aid, "done", "", time.Time{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	// The process's CPU time per job (callers included): steadier than
	// the rate on a machine whose speed drifts, and what a change saves.
	b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/job")
	b.ReportMetric(steal.Percent(b), "steal-%")
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRoutingCreateToOffer: jobs created over the REST API open-loop
// at 2,000/s into 200 queues served by 10,000 workers, on a `switchboard
// serve` process of its own (the load generator, this process, shares its
// two cores but not its heap or collector, as remote clients would not).
// A job is offered inside the request that creates it and the answer
// comes once both are committed, so the answer's latency is creation →
// offer.
//
// The server runs at niceness 10. Remote clients have processors of their
// own; here the generator shares two with the server, and the server's
// work in the background (its collector's idle-time workers take every
// idle processor while it marks; the journal's checkpoint) kept the
// generator from reading answers for milliseconds at a time. At the lower
// priority the server still answers at full speed whenever the generator
// does not need a processor, and any wait it has behind the generator is
// in the figures.
func BenchmarkRoutingCreateToOffer(b *testing.B) {
	_, c := serveProcess(b, 10, "--api-tenant-rate", "1000000")
	c.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 30 * time.Second}
	setUpRouting(b, c, 10000)
	awaitOutboxEmpty(b, c.Base) // the workers' registration events are relayed before the clock starts
	const rate = 2000
	// The requests are built and signed beforehand, and the generator
	// does not collect its garbage while it runs (it allocates a few
	// hundred MB): its own work on the two cores the server needs is kept
	// small, as a client elsewhere would not take them at all.
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = patchRequest(c, fmt.Sprintf("/routing/jobs/j%d", i), map[string]any{"channelId": "chat", "queueId": fmt.Sprint("q", i%200)})
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	before, steal := serverHistogram(b, c.Base, "routing/jobs"), startSteal(b)
	b.ResetTimer()
	start := time.Now()
	due := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second / rate) }
	fire := func(i int) {
		resp := send(b, c, reqs[i])
		// From when the job was due, not when it left: a generator that
		// falls behind must not hide the wait (coordinated omission).
		lat[i] = time.Since(due(i))
		if resp != http.StatusCreated {
			b.Errorf("status %d", resp)
		}
	}
	// Open loop: each job leaves when its time comes (or at once, with
	// every other one due, when the generator wakes late), whatever the
	// others do.
	for next := 0; next < b.N; {
		if wait := time.Until(due(next)); wait > 0 {
			time.Sleep(wait)
		}
		for now := time.Now(); next < b.N && !due(next).After(now); next++ {
			i := next
			wg.Go(func() { fire(i) })
		}
	}
	wg.Wait()
	b.StopTimer()
	sort.Slice(lat, func(x, y int) bool { return lat[x] < lat[y] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
	// The same requests as the server timed them (from its reading the
	// request to its writing the answer): the shares answered within 1,
	// 2.5 and 5 ms.
	after := serverHistogram(b, c.Base, "routing/jobs")
	b.ReportMetric(after.share(before, 0.001), "server≤1ms-%")
	b.ReportMetric(after.share(before, 0.0025), "server≤2.5ms-%")
	b.ReportMetric(after.share(before, 0.005), "server≤5ms-%")
	b.ReportMetric(steal.Percent(b), "steal-%")
}

// setUpRouting gives the demo tenant, over the API, 200 queues and that
// many workers spread over them (capacity 100, chat 20).
func setUpRouting(b *testing.B, c *switchboardtest.Client, workers int) {
	if st := patch(b, c, "/routing/distributionPolicies/dp", map[string]any{"offerExpiresAfterSeconds": 600.0, "mode": map[string]any{"kind": "longestIdle"}}); st >= 300 {
		b.Fatalf("distribution policy: %d", st)
	}
	for q := range 200 {
		if st := patch(b, c, fmt.Sprint("/routing/queues/q", q), map[string]any{"distributionPolicyId": "dp"}); st >= 300 {
			b.Fatalf("queue: %d", st)
		}
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for w := g; w < workers; w += 16 {
				st := patch(b, c, fmt.Sprint("/routing/workers/w", w), map[string]any{"capacity": 100.0, "availableForOffers": true,
					"queues": []any{fmt.Sprint("q", w%200)}, "channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 20.0}}})
				if st >= 300 {
					b.Errorf("worker: %d", st)
					return
				}
			}
		})
	}
	wg.Wait()
}

// patch merge-patches a Job Router resource and returns the status.
func patch(b *testing.B, c *switchboardtest.Client, path string, doc map[string]any) int {
	return send(b, c, patchRequest(c, path, doc))
}

func patchRequest(c *switchboardtest.Client, path string, doc map[string]any) *http.Request {
	req := c.Request("PATCH", path+"?api-version=2023-11-01", doc)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	return req
}

// send sends a request and returns the status.
func send(b *testing.B, c *switchboardtest.Client, req *http.Request) int {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
	resp.Body.Close()
	return resp.StatusCode
}

// awaitOutboxEmpty polls the server's /metrics until no event waits in its
// outbox.
func awaitOutboxEmpty(b *testing.B, base string) {
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); <-poll.C {
		families := metricFamilies(b, base)
		if g := families["switchboard_outbox_pending"].GetMetric(); len(g) == 1 && g[0].GetGauge().GetValue() == 0 {
			return
		}
	}
	b.Fatal("the server's outbox did not empty within two minutes")
}

func metricFamilies(b *testing.B, base string) map[string]*dto.MetricFamily {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return families
}

// histogramReading is a request count and, by bucket bound in seconds,
// how many of them took at most that long.
type histogramReading struct {
	count  float64
	within map[float64]float64
}

// share is the share of the requests between two readings that took at
// most le seconds, in percent.
func (r histogramReading) share(since histogramReading, le float64) float64 {
	return 100 * (r.within[le] - since.within[le]) / (r.count - since.count)
}

// serverHistogram reads, from the server's /metrics, how many requests on
// routes containing route it has answered, and how long they took (the
// buckets of its request-duration histogram).
func serverHistogram(b *testing.B, base, route string) histogramReading {
	out := histogramReading{within: map[float64]float64{}}
	f := metricFamilies(b, base)["switchboard_http_request_duration_seconds"]
	for _, m := range f.GetMetric() {
		matches := false
		for _, l := range m.GetLabel() {
			matches = matches || (l.GetName() == "route" && strings.Contains(l.GetValue(), route))
		}
		if !matches {
			continue
		}
		h := m.GetHistogram()
		out.count += float64(h.GetSampleCount())
		for _, bk := range h.GetBucket() {
			out.within[bk.GetUpperBound()] += float64(bk.GetCumulativeCount())
		}
	}
	return out
}

// BenchmarkRoutingQueuedMemory: the heap the router holds per 1,000 jobs
// waiting in queues (no worker available).
func BenchmarkRoutingQueuedMemory(b *testing.B) {
	s, ctx := routingNode(b, 0)
	r := s.App.Router
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	b.ResetTimer()
	var seq atomic.Int64
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			_, _, err := r.UpsertJob(ctx, fmt.Sprint("job-", i), map[string]any{"channelId": "chat", "queueId": fmt.Sprint("q", i%200),
				"labels": map[string]any{"language": "id", "tier": "gold"}}, 0)
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	// In steady state the journal's in-memory index of changes not yet
	// checkpointed is emptied every 200 ms; a list checkpoints at once.
	if _, err := r.ListJobs(ctx, routing.JobFilter{}, "", 1); err != nil {
		b.Fatal(err)
	}
	after := heap()
	b.ReportMetric(float64(after-before)/float64(b.N)*1000/1024, "KiB/1000-jobs")
}
