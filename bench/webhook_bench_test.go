package bench

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkWebhookLatency creates identities at a steady 1,000 per second
// and measures, for each IdentityCreated event, the time from the event's
// commit (its eventTime) to its arrival at a subscribed receiver. b.N is
// the number of events; the p50/p99/max are reported.
func BenchmarkWebhookLatency(b *testing.B) {
	const rate = 1000
	s := quietNode(b)
	c := s.Client(b)
	c.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}

	var mu sync.Mutex
	var lat []time.Duration
	got := make(chan struct{}, 1<<16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var evs []struct {
			Data      map[string]any `json:"data"`
			EventType string         `json:"eventType"`
			EventTime time.Time      `json:"eventTime"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &evs); err != nil {
			w.WriteHeader(400)
			return
		}
		for _, e := range evs {
			if code, ok := e.Data["validationCode"]; ok {
				_ = json.NewEncoder(w).Encode(map[string]any{"validationResponse": code})
				return
			}
			mu.Lock()
			lat = append(lat, now.Sub(e.EventTime))
			mu.Unlock()
			got <- struct{}{}
		}
	}))
	defer recv.Close()
	resp, body := c.Do(b, "POST", "/eventSubscriptions?api-version=2026-11-01", map[string]any{
		"endpoint": recv.URL, "includedEventTypes": []string{"Switchboard.IdentityCreated"},
	})
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("subscribe: %d %s", resp.StatusCode, body)
	}

	b.ResetTimer()
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := 0; i < b.N; i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.HTTP.Do(c.Request("POST", "/identities?api-version=2023-10-01", nil))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	deadline := time.After(30 * time.Second)
	for i := 0; i < b.N; i++ {
		select {
		case <-got:
		case <-deadline:
			b.Fatalf("only %d of %d events delivered", i, b.N)
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}
