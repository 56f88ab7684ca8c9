package api_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// rv is the Job Router api-version these tests use.
const routerRV = "?api-version=2023-11-01"

func patchRouter(t *testing.T, c *switchboardtest.Client, path string, body any, want int) map[string]any {
	t.Helper()
	req := c.Request("PATCH", path+routerRV, body)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	resp, raw := c.Send(t, req)
	wantStatus(t, resp, raw, want)
	return switchboardtest.JSON(t, raw)
}

func getRouterJob(t *testing.T, c *switchboardtest.Client, id string) map[string]any {
	t.Helper()
	resp, raw := c.Do(t, "GET", "/routing/jobs/"+id+routerRV, nil)
	wantStatus(t, resp, raw, 200)
	return switchboardtest.JSON(t, raw)
}

// TestRemoteRules: function and webhook rules are called over HTTP with
// the job's labels (function key; OAuth client credentials), their answers
// classify the job; a rule whose endpoint is down makes the job fall back
// (fallback queue, own priority); and a rule that hangs delays only its
// own job, never the tenant's router.
func TestRemoteRules(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)

	var fnCalls atomic.Int32
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var labels map[string]any
		if r.Header.Get("x-functions-key") != "fn-key" || json.NewDecoder(r.Body).Decode(&labels) != nil || labels["tier"] != "gold" {
			http.Error(w, "bad call", http.StatusBadRequest)
			return
		}
		fnCalls.Add(1)
		_, _ = w.Write([]byte(`42`))
	}))
	defer fn.Close()
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("client_secret") != "s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"tok-1","expires_in":3600}`))
	}))
	defer tokens.Close()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-1" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`[{"key":"Id","labelOperator":"equal","value":"vip"}]`))
	}))
	defer hook.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		_, _ = w.Write([]byte(`7`))
	}))
	defer slow.Close()
	defer close(release)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + dead.Addr().String()
	dead.Close()

	patchRouter(t, c, "/routing/distributionPolicies/dp", map[string]any{"mode": map[string]any{"kind": "longestIdle"}}, 201)
	for _, q := range []string{"vip", "general", "direct"} {
		patchRouter(t, c, "/routing/queues/"+q, map[string]any{"distributionPolicyId": "dp"}, 201)
	}
	patchRouter(t, c, "/routing/classificationPolicies/remote", map[string]any{
		"fallbackQueueId":    "general",
		"prioritizationRule": map[string]any{"kind": "function", "functionUri": fn.URL, "credential": map[string]any{"functionKey": "fn-key"}},
		"queueSelectorAttachments": []any{map[string]any{"kind": "ruleEngine", "rule": map[string]any{"kind": "webhook",
			"authorizationServerUri": tokens.URL, "clientCredential": map[string]any{"clientId": "sb", "clientSecret": "s3cret"}, "webhookUri": hook.URL}}},
	}, 201)
	patchRouter(t, c, "/routing/jobs/j1", map[string]any{"channelId": "chat", "classificationPolicyId": "remote", "labels": map[string]any{"tier": "gold"}}, 201)
	if j := getRouterJob(t, c, "j1"); j["queueId"] != "vip" || j["priority"] != 42.0 || j["status"] != "queued" || fnCalls.Load() != 1 {
		t.Fatalf("classified by the remote rules: queue %v priority %v status %v (function called %d times)", j["queueId"], j["priority"], j["status"], fnCalls.Load())
	}

	// Endpoints down: the job still gets a queue (the fallback) and keeps
	// its own priority.
	patchRouter(t, c, "/routing/classificationPolicies/down", map[string]any{
		"fallbackQueueId":          "general",
		"prioritizationRule":       map[string]any{"kind": "function", "functionUri": deadURL},
		"queueSelectorAttachments": []any{map[string]any{"kind": "ruleEngine", "rule": map[string]any{"kind": "function", "functionUri": deadURL}}},
	}, 201)
	patchRouter(t, c, "/routing/jobs/j2", map[string]any{"channelId": "chat", "classificationPolicyId": "down", "priority": 3}, 201)
	if j := getRouterJob(t, c, "j2"); j["queueId"] != "general" || j["priority"] != 3.0 || j["status"] != "queued" {
		t.Fatalf("a dead rule falls back: queue %v priority %v status %v", j["queueId"], j["priority"], j["status"])
	}

	// A hanging rule holds only its own job.
	patchRouter(t, c, "/routing/classificationPolicies/slow", map[string]any{
		"fallbackQueueId": "general", "prioritizationRule": map[string]any{"kind": "function", "functionUri": slow.URL}}, 201)
	done := make(chan int, 1)
	go func() {
		req := c.Request("PATCH", "/routing/jobs/j3"+routerRV, map[string]any{"channelId": "chat", "classificationPolicyId": "slow"})
		req.Header.Set("Content-Type", "application/merge-patch+json")
		resp, err := c.HTTP.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	// While j3 waits on its rule, the router serves everything else.
	patchRouter(t, c, "/routing/jobs/j4", map[string]any{"channelId": "chat", "queueId": "direct"}, 201)
	patchRouter(t, c, "/routing/workers/w1", map[string]any{"capacity": 1, "queues": []string{"direct"}, "availableForOffers": true,
		"channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 1}}}, 201)
	select {
	case code := <-done:
		t.Fatalf("j3 finished (%d) before its rule answered", code)
	default:
	}
	release <- struct{}{}
	if code := <-done; code != http.StatusCreated {
		t.Fatalf("j3: %d", code)
	}
	if j := getRouterJob(t, c, "j3"); j["priority"] != 7.0 || j["queueId"] != "general" {
		t.Fatalf("j3 after its rule answered: priority %v queue %v", j["priority"], j["queueId"])
	}
}
