package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/channel/webchat"
	"github.com/switchboard-cc/switchboard/internal/engagement"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// handoffFlow hands off on the customer's first message.
const handoffFlow = `version: 1
locale: en
start: welcome
handoff: {queue: support}
steps:
  welcome:
    say: "Hi!"
    intents:
      anything: {keywords: [help], next: agent}
  agent:
    handoff: {queue: support}
`

// BenchmarkHandoffToOffer: 200 agents are logged in, each with its
// desktop's real-time socket open and available; customers (one every
// 20 ms) write the message that makes the bot hand them off. Measured:
// from the moment the customer's message is sent to the moment the
// offer arrives on an agent's socket, which accepts it at once.
func BenchmarkHandoffToOffer(b *testing.B) {
	const agents = 200
	s := quietNode(b)
	ctx := tenant.With(context.Background(), s.Demo.Tenant.ID)
	a := s.App
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	_, _, err := a.Router.Upsert(ctx, routing.KindDistributionPolicy, "dp", map[string]any{"offerExpiresAfterSeconds": 600.0, "mode": map[string]any{"kind": "longestIdle"}}, 0)
	must(err)
	_, _, err = a.Router.Upsert(ctx, routing.KindQueue, "support", map[string]any{"distributionPolicyId": "dp"}, 0)
	must(err)
	name, kind, queue := "Bench bot", engagement.BotFlow, "support"
	_, _, err = a.Engagements.PutBot(ctx, "bench", engagement.BotInput{Name: &name, Kind: kind, Channels: []string{"webchat"}, Queue: &queue}, 0)
	must(err)
	_, err = a.Engagements.SetFlow(ctx, "bench", []byte(handoffFlow), "bench")
	must(err)

	var mu sync.Mutex
	sent := map[string]time.Time{} // thread → when the customer's message was accepted
	var lat []time.Duration
	got := make(chan struct{}, 1<<16)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 30 * time.Second}
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range agents {
		p, err := a.People.Create(ctx, identity.NewPerson{Username: fmt.Sprint("bench-agent-", i), DisplayName: fmt.Sprint("Agent ", i), Role: identity.RoleAgent, Password: "bench-password-1"})
		must(err)
		as, err := a.Engagements.StartAgentSession(ctx, p)
		must(err)
		_, _, err = a.Router.Upsert(ctx, routing.KindWorker, engagement.WorkerID(p.ID), map[string]any{"queues": []any{"support"}, "capacity": 1000.0}, 0)
		must(err)
		_, err = a.Engagements.SetPresence(ctx, p, "available", "")
		must(err)
		ws, err := wsConnect(runCtx, s.HTTPURL, as.Token.Token)
		must(err)
		go func() {
			defer ws.CloseNow()
			for {
				_, data, err := ws.Read(runCtx)
				if err != nil {
					return
				}
				at := time.Now()
				var f struct {
					Type, Name string
					Data       engagement.Offer
				}
				if json.Unmarshal(data, &f) != nil || f.Name != engagement.NotifyAgentOffer {
					continue
				}
				mu.Lock()
				if t0, ok := sent[f.Data.Labels["threadId"]]; ok {
					lat = append(lat, at.Sub(t0))
				}
				mu.Unlock()
				got <- struct{}{}
				if _, err := a.Engagements.AcceptOffer(ctx, p.ID, f.Data.OfferID); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	visitors := make([]webchat.Session, b.N)
	for i := range visitors {
		visitors[i], err = a.Webchat.StartSession(ctx, s.Demo.Tenant.Name, webchat.SessionRequest{DisplayName: fmt.Sprint("Customer ", i), Locale: "en"})
		must(err)
	}
	b.ResetTimer()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	for _, v := range visitors {
		<-tick.C
		wg.Go(func() {
			req, _ := http.NewRequest("POST", s.HTTPURL+"/chat/threads/"+url.PathEscape(string(v.Thread))+"/messages?api-version=2025-03-15",
				strings.NewReader(`{"content":"I need help"}`))
			req.Header.Set("Authorization", "Bearer "+v.Token.Token)
			req.Header.Set("Content-Type", "application/json")
			// From before the send: the send's own time counts too.
			mu.Lock()
			sent[string(v.Thread)] = time.Now()
			mu.Unlock()
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("send: %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	deadline := time.After(60 * time.Second)
	for range b.N {
		select {
		case <-got:
		case <-deadline:
			b.Fatalf("offers arrived for %d of %d handoffs", len(lat), b.N)
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		b.Fatal("no latencies")
	}
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}
