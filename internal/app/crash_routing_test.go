package app_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// TestKill9KeepsRoutingState kills the server (SIGKILL) while jobs are
// being created and accepted. After the restart every job whose creation
// was acknowledged exists, every acknowledged assignment stands with its
// worker (holding the worker's capacity), and jobs still queued are
// offered again.
func TestKill9KeepsRoutingState(t *testing.T) {
	bin := buildSwitchboard(t)
	dataDir := t.TempDir()
	httpAddr, httpsAddr := crashFreeAddr(t), crashFreeAddr(t)
	start := func() *crashServer {
		return startCrashServer(t, bin, "serve", "--demo", "--data", dataDir, "--http-addr", httpAddr, "--https-addr", httpsAddr, "--log-level", "warn",
			"--outbound-allow-loopback")
	}
	srv := start()
	admin := routerClient{srv.client(t)}
	// Offers announced to a webhook: after the restart they must come
	// without anyone calling the router.
	var offersMu sync.Mutex
	offersAfter := map[string]bool{} // job ids offered in events raised after the restart
	var restartedAt time.Time
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var evs []struct {
			EventType string    `json:"eventType"`
			EventTime time.Time `json:"eventTime"`
			Data      struct {
				ValidationCode string `json:"validationCode"`
				JobID          string `json:"jobId"`
			} `json:"data"`
		}
		if json.NewDecoder(r.Body).Decode(&evs) != nil || len(evs) != 1 {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
			_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": evs[0].Data.ValidationCode})
			return
		}
		offersMu.Lock()
		if !restartedAt.IsZero() && evs[0].EventTime.After(restartedAt) {
			offersAfter[evs[0].Data.JobID] = true
		}
		offersMu.Unlock()
	}))
	defer hook.Close()
	admin.must(t, "POST", "/eventSubscriptions?api-version=2026-11-01", map[string]any{"endpoint": hook.URL,
		"includedEventTypes": []string{"Microsoft.Communication.RouterWorkerOfferIssued"}}, 201)
	admin.must(t, "PATCH", "/routing/distributionPolicies/dp"+routerVersion, map[string]any{"offerExpiresAfterSeconds": 600, "mode": map[string]any{"kind": "longestIdle"}}, 201)
	admin.must(t, "PATCH", "/routing/queues/q"+routerVersion, map[string]any{"distributionPolicyId": "dp"}, 201)
	const workers = 40
	for w := range workers {
		admin.must(t, "PATCH", fmt.Sprintf("/routing/workers/w%02d%s", w, routerVersion), map[string]any{
			"capacity": 1, "queues": []string{"q"}, "availableForOffers": true, "channels": []any{map[string]any{"channelId": "voice", "capacityCostPerJob": 1}}}, 201)
	}

	var (
		mu       sync.Mutex
		created  = map[string]bool{}
		assigned = map[string]string{} // job → worker, acknowledged
		killed   atomic.Bool
		once     sync.Once
		wg       sync.WaitGroup
	)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	c := routerClient{&switchboardtest.Client{Base: admin.Base, Key: admin.Key, HTTP: hc}}
	for p := range 4 {
		wg.Go(func() {
			for i := 0; !killed.Load(); i++ {
				id := fmt.Sprintf("job-%d-%d", p, i)
				code, _, err := c.call("PATCH", "/routing/jobs/"+id+routerVersion, map[string]any{"channelId": "voice", "queueId": "q"})
				if err != nil || code != http.StatusCreated {
					if !killed.Load() && err == nil {
						t.Errorf("create %s: %d", id, code)
					}
					return
				}
				mu.Lock()
				created[id] = true
				n := len(created)
				mu.Unlock()
				if n >= 150 {
					once.Do(func() {
						if err := srv.cmd.Process.Kill(); err != nil {
							t.Errorf("kill: %v", err)
						}
						killed.Store(true)
					})
				}
			}
		})
	}
	// Workers w30 … w39 never answer: their offers are open at the kill.
	for w := range workers - 10 {
		wg.Go(func() {
			worker := fmt.Sprintf("w%02d", w)
			for !killed.Load() {
				code, raw, err := c.call("GET", "/routing/workers/"+worker+routerVersion, nil)
				if err != nil || code != http.StatusOK {
					return
				}
				var view struct {
					Offers []struct{ OfferID, JobID string }
				}
				_ = json.Unmarshal(raw, &view)
				if len(view.Offers) == 0 {
					continue
				}
				o := view.Offers[0]
				code, raw, err = c.call("POST", "/routing/workers/"+worker+"/offers/"+o.OfferID+":accept"+routerVersion, nil)
				if err != nil {
					return
				}
				var acc struct{ JobID, WorkerID string }
				if code == http.StatusOK && json.Unmarshal(raw, &acc) == nil && acc.JobID != "" {
					mu.Lock()
					assigned[acc.JobID] = worker
					mu.Unlock()
					return // capacity 1: this worker is done
				}
			}
		})
	}
	wg.Wait()
	hc.CloseIdleConnections()
	if !killed.Load() {
		t.Fatal("the burst ended before the kill")
	}
	<-srv.exited

	offersMu.Lock()
	restartedAt = time.Now()
	offersMu.Unlock()
	srv = start()
	// Before any call to the router, the restarted node offers the queued
	// jobs again and says so.
	switchboardtest.Eventually(t, 20*time.Second, func() error {
		offersMu.Lock()
		defer offersMu.Unlock()
		if len(offersAfter) == 0 {
			return errors.New("no offer announced since the restart")
		}
		return nil
	})
	c = routerClient{srv.client(t)}
	queued := 0
	for id := range created {
		var job struct {
			Status      string `json:"status"`
			Assignments map[string]struct {
				WorkerID string `json:"workerId"`
			} `json:"assignments"`
		}
		_ = json.Unmarshal(c.must(t, "GET", "/routing/jobs/"+id+routerVersion, nil, 200), &job)
		if w, ok := assigned[id]; ok {
			var holder string
			for _, a := range job.Assignments {
				holder = a.WorkerID
			}
			if job.Status != "assigned" || holder != w {
				t.Errorf("%s was accepted by %s before the kill; after it: %s, %v", id, w, job.Status, job.Assignments)
			}
		} else if job.Status == "queued" {
			queued++
		}
	}
	if len(assigned) == 0 {
		t.Fatal("no offer was accepted before the kill")
	}
	// Workers that hold a job are full; the others are offered a queued job
	// again (offers do not survive a restart, jobs do).
	for w := range workers {
		worker := fmt.Sprintf("w%02d", w)
		var view struct {
			LoadRatio    float64
			AssignedJobs []struct{ JobID string }
			Offers       []struct{ JobID string }
		}
		_ = json.Unmarshal(c.must(t, "GET", "/routing/workers/"+worker+routerVersion, nil, 200), &view)
		busy := false
		for _, w := range assigned {
			busy = busy || w == worker
		}
		switch {
		case busy && (view.LoadRatio != 1 || len(view.AssignedJobs) != 1 || len(view.Offers) != 0):
			t.Errorf("%s held a job before the kill; after it: load %.1f, %d assigned, %d offers", worker, view.LoadRatio, len(view.AssignedJobs), len(view.Offers))
		case !busy && queued > 0 && len(view.Offers) == 0:
			// Free workers outnumbering queued jobs may rightly have none;
			// count them below instead.
		}
	}
	offered := 0
	for w := range workers {
		var view struct{ Offers []struct{ JobID string } }
		_ = json.Unmarshal(c.must(t, "GET", fmt.Sprintf("/routing/workers/w%02d%s", w, routerVersion), nil, 200), &view)
		offered += len(view.Offers)
	}
	free := workers - len(assigned)
	if want := min(free, queued); offered != want {
		t.Errorf("after the restart %d offers are out, want %d (free workers %d, queued jobs %d)", offered, want, free, queued)
	}
}
