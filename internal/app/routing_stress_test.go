package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

const routerVersion = "?api-version=2023-11-01"

// routerClient calls the Job Router API of one node without the testing
// helpers' t.Fatal, so that many goroutines can share it.
type routerClient struct{ *switchboardtest.Client }

func (c routerClient) call(method, path string, body any) (int, []byte, error) {
	req := c.Request(method, path, body)
	if method == http.MethodPatch {
		req.Header.Set("Content-Type", "application/merge-patch+json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

func (c routerClient) must(t *testing.T, method, path string, body any, want ...int) []byte {
	t.Helper()
	code, raw, err := c.call(method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	for _, w := range want {
		if code == w {
			return raw
		}
	}
	t.Fatalf("%s %s: %d %s, want %v", method, path, code, raw, want)
	return nil
}

// routingStress drives the router with 64 concurrent agents (spread over
// the given nodes) accepting, declining, completing and closing while
// producers create jobs, each job offered to two workers at once. It
// proves that no job is ever assigned twice and no worker ever holds more
// than its capacity.
func routingStress(t *testing.T, nodes []routerClient) {
	const (
		workers  = 16
		agents   = 64 // four racing for each worker's offers
		jobs     = 320
		capacity = 100
	)
	admin := nodes[0]
	admin.must(t, "PATCH", "/routing/distributionPolicies/ring2"+routerVersion,
		map[string]any{"offerExpiresAfterSeconds": 30, "mode": map[string]any{"kind": "longestIdle", "minConcurrentOffers": 1, "maxConcurrentOffers": 2}}, 201)
	admin.must(t, "PATCH", "/routing/queues/main"+routerVersion, map[string]any{"distributionPolicyId": "ring2"}, 201)
	for w := range workers {
		admin.must(t, "PATCH", fmt.Sprintf("/routing/workers/w%02d%s", w, routerVersion), map[string]any{
			"capacity": capacity, "queues": []string{"main"}, "availableForOffers": true,
			"channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 40}, map[string]any{"channelId": "voice", "capacityCostPerJob": 100}},
		}, 201)
	}

	var (
		mu       sync.Mutex
		accepted = map[string][]string{} // job → workers whose accept succeeded
		load     = map[string]int{}      // worker → capacity held, as the agents know it
		closed   atomic.Int64
		failures atomic.Int64
	)
	fail := func(format string, args ...any) {
		failures.Add(1)
		t.Errorf(format, args...)
	}
	cost := map[string]int{"chat": 40, "voice": 100}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	for p := range 8 {
		wg.Go(func() {
			node := nodes[p%len(nodes)]
			for i := p; i < jobs; i += 8 {
				channel := "chat"
				if i%3 == 0 {
					channel = "voice"
				}
				code, raw, err := node.call("PATCH", fmt.Sprintf("/routing/jobs/job-%04d%s", i, routerVersion),
					map[string]any{"channelId": channel, "queueId": "main", "priority": i % 5})
				if err != nil || code != http.StatusCreated {
					fail("create job %d: %d %s %v", i, code, raw, err)
				}
			}
		})
	}
	for a := range agents {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(a), 7))
			// A worker's four agents are spread over the nodes.
			node := nodes[(a/workers)%len(nodes)]
			worker := fmt.Sprintf("w%02d", a%workers)
			for closed.Load() < jobs && ctx.Err() == nil && failures.Load() == 0 {
				code, raw, err := node.call("GET", "/routing/workers/"+worker+routerVersion, nil)
				if err != nil || code != http.StatusOK {
					fail("get worker %s: %d %v", worker, code, err)
					return
				}
				var view struct {
					LoadRatio float64 `json:"loadRatio"`
					Offers    []struct {
						OfferID string `json:"offerId"`
						JobID   string `json:"jobId"`
					} `json:"offers"`
				}
				_ = json.Unmarshal(raw, &view)
				if view.LoadRatio > 1 {
					fail("worker %s reports load %.2f", worker, view.LoadRatio)
				}
				for _, o := range view.Offers {
					base := "/routing/workers/" + worker + "/offers/" + url.PathEscape(o.OfferID)
					if rng.IntN(5) == 0 {
						retry := time.Now().Add(20 * time.Millisecond).UTC().Format(time.RFC3339Nano)
						code, raw, _ := node.call("POST", base+":decline"+routerVersion, map[string]any{"retryOfferAt": retry})
						if code != http.StatusOK && code != http.StatusNotFound {
							fail("decline: %d %s", code, raw)
						}
						continue
					}
					code, raw, err := node.call("POST", base+":accept"+routerVersion, nil)
					if err != nil {
						fail("accept: %v", err)
						return
					}
					if code == http.StatusConflict || code == http.StatusNotFound {
						continue // another agent or worker was first, or the offer was revoked
					}
					if code != http.StatusOK {
						fail("accept %s: %d %s", o.OfferID, code, raw)
						return
					}
					var acc struct{ AssignmentID, JobID, WorkerID string }
					_ = json.Unmarshal(raw, &acc)
					code, raw, _ = node.call("GET", "/routing/jobs/"+acc.JobID+routerVersion, nil)
					var job struct{ ChannelID string }
					_ = json.Unmarshal(raw, &job)
					mu.Lock()
					accepted[acc.JobID] = append(accepted[acc.JobID], worker)
					load[worker] += cost[job.ChannelID]
					over := load[worker]
					mu.Unlock()
					if code != http.StatusOK || over > capacity {
						fail("worker %s holds %d of %d after accepting %s (%d)", worker, over, capacity, acc.JobID, code)
					}
					jobPath := "/routing/jobs/" + acc.JobID + "/assignments/" + acc.AssignmentID
					if code, raw, _ := node.call("POST", jobPath+":complete"+routerVersion, map[string]any{"note": "done"}); code != http.StatusOK {
						fail("complete %s: %d %s", acc.JobID, code, raw)
					}
					// The agents' count drops before the close is sent: the
					// server may reuse the capacity as soon as it closes.
					mu.Lock()
					load[worker] -= cost[job.ChannelID]
					mu.Unlock()
					if code, raw, _ := node.call("POST", jobPath+":close"+routerVersion, map[string]any{"dispositionCode": "ok"}); code != http.StatusOK {
						fail("close %s: %d %s", acc.JobID, code, raw)
					}
					closed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("only %d of %d jobs closed in time", closed.Load(), jobs)
	}
	for i := range jobs {
		id := fmt.Sprintf("job-%04d", i)
		if n := len(accepted[id]); n != 1 {
			t.Errorf("%s was accepted %d times (%v)", id, n, accepted[id])
		}
		var job struct {
			Status      string         `json:"status"`
			Assignments map[string]any `json:"assignments"`
		}
		_ = json.Unmarshal(admin.must(t, "GET", "/routing/jobs/"+id+routerVersion, nil, 200), &job)
		if job.Status != "closed" || len(job.Assignments) != 1 {
			t.Errorf("%s: %s with %d assignments", id, job.Status, len(job.Assignments))
		}
	}
}

func TestRoutingStress(t *testing.T) {
	s := switchboardtest.Start(t)
	routingStress(t, []routerClient{{s.Client(t)}})
}

// TestRoutingStressTwoProcesses runs the same stress through two real
// server processes on the local PostgreSQL and NATS: half the agents and
// producers talk to each node, and one node runs the tenant's router.
func TestRoutingStressTwoProcesses(t *testing.T) {
	bin := buildSwitchboard(t)
	natsURL := switchboardtest.NATSURL()
	common := []string{"--database", switchboardtest.FreshPostgres(t), "--nats", natsURL,
		"--nats-namespace", switchboardtest.FreshNATSNamespace(t, natsURL), "--master-key", switchboardtest.NewMasterKey(), "--log-level", "warn",
		"--api-tenant-rate", "1000000"} // the agents poll flat out; the rate limit is not under test
	start := func() *crashServer {
		args := append([]string{"serve", "--demo", "--data", t.TempDir(), "--http-addr", crashFreeAddr(t), "--https-addr", crashFreeAddr(t)}, common...)
		return startCrashServer(t, bin, args...)
	}
	a, b := start(), start()
	routingStress(t, []routerClient{{a.client(t)}, {b.client(t)}})
}
