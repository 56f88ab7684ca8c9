package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

func TestSupervisorMonitorsWhispersBargesAndTheAgentTransfers(t *testing.T) {
	s := switchboardtest.Start(t)
	setupBot(t, s)
	v, agent, agentToken, id := handedToAgent(t, s, "Eka")
	agentEvents := rtFrames(t, s, agentToken)

	sup := loginDemo(t, s, "supervisor", "demo-supervisor-1")
	resp, raw := sup.do(t, "POST", "/agent/session"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	supToken := switchboardtest.JSON(t, raw)["token"].(string)
	supEvents := rtFrames(t, s, supToken)

	// Silent monitoring: the supervisor hears the conversation, the
	// customer sees no one new.
	resp, raw = sup.do(t, "POST", "/engagements/"+id+":monitor"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	sendChat(t, s, v.token, v.thread, "Is anyone there?")
	got := supEvents("engagementMessage", func(d map[string]any) bool { return d["message"] == "Is anyone there?" })
	if got["engagementId"] != id {
		t.Fatalf("monitored message %v", got)
	}
	resp, raw = bearer(t, s, v.token, "GET", "/chat/threads/"+v.thread+"/participants"+chatv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if strings.Contains(string(raw), "Sam Supervisor") {
		t.Fatalf("a silent monitor shows in the thread: %s", raw)
	}
	resp, raw = sup.do(t, "GET", "/engagements/"+id+"/messages"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if !strings.Contains(string(raw), "Is anyone there?") {
		t.Fatalf("the supervisor's transcript lacks the customer's message: %s", raw)
	}

	// A whisper reaches the agent only.
	resp, raw = sup.do(t, "POST", "/engagements/"+id+"/notes"+nv, map[string]any{"content": "Offer the 10% voucher"})
	wantStatus(t, resp, raw, http.StatusCreated)
	w := agentEvents("chatMessageReceived", func(d map[string]any) bool { return d["message"] == "Offer the 10% voucher" })
	if w["threadId"] == v.thread || w["metadata"].(map[string]any)["kind"] != "whisper" {
		t.Fatalf("the whisper went to the customer's thread or is not marked: %v", w)
	}
	resp, raw = agent.do(t, "POST", "/engagements/"+id+"/notes"+nv, map[string]any{"content": "customer is a VIP"})
	wantStatus(t, resp, raw, http.StatusCreated)
	resp, raw = sup.do(t, "GET", "/engagements/"+id+"/notes"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if !strings.Contains(string(raw), "customer is a VIP") || !strings.Contains(string(raw), `"kind":"note"`) {
		t.Fatalf("the agent's note is not in the side thread: %s", raw)
	}
	visible, _ := threadMessages(t, s, v.token, v.thread)
	for _, m := range visible {
		if strings.Contains(m.Content, "voucher") || strings.Contains(m.Content, "VIP") {
			t.Fatalf("the customer sees staff talk: %+v", m)
		}
	}

	// Barge in: the supervisor joins and speaks.
	resp, raw = sup.do(t, "POST", "/engagements/"+id+":barge"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	sendChat(t, s, supToken, v.thread, "Hello, I'm the supervisor.")
	waitForText(t, s, v.token, v.thread, "Hello, I'm the supervisor.")

	// The agent transfers to agent2, who sees the history.
	agent2 := loginDemo(t, s, "agent2", "demo-agent-2")
	resp, raw = agent2.do(t, "POST", "/agent/session"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	agent2ID := switchboardtest.JSON(t, raw)["workerId"].(string)
	agent2Token := switchboardtest.JSON(t, raw)["token"].(string)
	resp, raw = agent2.do(t, "PUT", "/agent/presence"+nv, map[string]any{"status": "available"})
	wantStatus(t, resp, raw, http.StatusOK)
	resp, raw = agent.do(t, "POST", "/engagements/"+id+":transfer"+nv, map[string]any{"agentId": agent2ID})
	wantStatus(t, resp, raw, http.StatusOK)
	if st := switchboardtest.JSON(t, raw)["state"]; st != "queued" {
		t.Fatalf("a transferred conversation is %v", st)
	}
	if _, status := threadMessages(t, s, agentToken, v.thread); status != http.StatusForbidden {
		t.Fatalf("the transferring agent still reads the thread: %d", status)
	}
	offer := waitOffer(t, agent2, v.thread)
	if offer["labels"].(map[string]any)["handoffReason"] != "transfer" {
		t.Fatalf("the transferred offer: %v", offer)
	}
	resp, raw = agent2.do(t, "POST", "/agent/offers/"+offer["offerId"].(string)+":accept"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	waitForText(t, s, agent2Token, v.thread, "Is anyone there?")

	resp, raw = sup.do(t, "GET", "/wallboard"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	var wb struct {
		Queues []struct {
			QueueID                  string
			HandedOffToday, Answered int
			AnsweredToday            int `json:"answeredToday"`
			Agents                   map[string]int
			ServiceLevelToday        *float64
		}
	}
	_ = json.Unmarshal(raw, &wb)
	if len(wb.Queues) != 1 || wb.Queues[0].QueueID != "support" || wb.Queues[0].HandedOffToday != 1 || wb.Queues[0].AnsweredToday != 1 ||
		wb.Queues[0].Agents["busy"] != 1 || wb.Queues[0].ServiceLevelToday == nil {
		t.Fatalf("wallboard: %s", raw)
	}
}

func TestSupervisorRoutesRefuseAgents(t *testing.T) {
	s := switchboardtest.Start(t)
	agent := loginDemo(t, s, "agent1", "demo-agent-1")
	for _, r := range []struct{ method, path string }{
		{"GET", "/engagements"}, {"GET", "/wallboard"}, {"POST", "/engagements/x:monitor"}, {"POST", "/engagements/x:barge"},
		{"PUT", "/desk/settings"}, {"GET", "/bots"}, {"PATCH", "/bots/x"},
	} {
		resp, raw := agent.do(t, r.method, r.path+nv, map[string]any{})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s as an agent: %d %s", r.method, r.path, resp.StatusCode, raw)
		}
	}
}

func TestAdminSessionsConfigureTheRouter(t *testing.T) {
	s := switchboardtest.Start(t)
	rv := "?api-version=2023-11-01"
	patch := func(ss *session, path string, body any) (*http.Response, []byte) {
		return ss.do(t, "PATCH", path+rv, body, withHeader("Content-Type", "application/merge-patch+json"))
	}
	admin := loginDemo(t, s, "admin", "demo-admin-1")
	sup := loginDemo(t, s, "supervisor", "demo-supervisor-1")
	agent := loginDemo(t, s, "agent1", "demo-agent-1")
	resp, raw := patch(admin, "/routing/distributionPolicies/dp", map[string]any{"offerExpiresAfterSeconds": 30, "mode": map[string]any{"kind": "longestIdle"}})
	wantStatus(t, resp, raw, http.StatusCreated)
	resp, raw = patch(admin, "/routing/queues/sales", map[string]any{"name": "Sales", "distributionPolicyId": "dp"})
	wantStatus(t, resp, raw, http.StatusCreated)
	resp, raw = sup.do(t, "GET", "/routing/queues/sales"+rv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	resp, raw = patch(sup, "/routing/queues/sales", map[string]any{"name": "Taken over"})
	wantStatus(t, resp, raw, http.StatusForbidden)
	resp, raw = agent.do(t, "GET", "/routing/queues"+rv, nil)
	wantStatus(t, resp, raw, http.StatusForbidden)
	// Jobs stay the access key's.
	resp, raw = admin.do(t, "GET", "/routing/jobs"+rv, nil)
	wantStatus(t, resp, raw, http.StatusUnauthorized)
	resp, raw = s.Client(t).Do(t, "GET", "/routing/queues/sales"+rv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if switchboardtest.JSON(t, raw)["name"] != "Sales" {
		t.Fatalf("a supervisor's refused change landed: %s", raw)
	}
}

func TestAnOfferTheAgentLeavesUnansweredGoesToAnother(t *testing.T) {
	s := switchboardtest.Start(t)
	setupBot(t, s)
	c := s.Client(t)
	rv := "?api-version=2023-11-01"
	patch := func(path string, body any) {
		req := c.Request("PATCH", path+rv, body)
		req.Header.Set("Content-Type", "application/merge-patch+json")
		resp, raw := c.Send(t, req)
		wantStatus(t, resp, raw, http.StatusOK)
	}
	patch("/routing/distributionPolicies/demo-longest-idle", map[string]any{"offerExpiresAfterSeconds": 1})
	agent1 := loginDemo(t, s, "agent1", "demo-agent-1")
	resp, raw := agent1.do(t, "POST", "/agent/session"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	patch("/routing/workers/"+switchboardtest.JSON(t, raw)["workerId"].(string), map[string]any{"maxMissedOffers": 1})
	resp, raw = agent1.do(t, "PUT", "/agent/presence"+nv, map[string]any{"status": "available"})
	wantStatus(t, resp, raw, http.StatusOK)

	_, _, v := startSession(t, s, map[string]any{"displayName": "Rina", "locale": "en"})
	waitForText(t, s, v.token, v.thread, "Hello! I am the test bot.")
	sendChat(t, s, v.token, v.thread, "I want to talk to a person")
	first := waitOffer(t, agent1, v.thread)
	// Agent 1 closed the browser: the offer expires, agent 1 is paused.
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		resp, raw := agent1.do(t, "GET", "/agent/offers"+nv, nil)
		if strings.Contains(string(raw), first["offerId"].(string)) {
			return fmt.Errorf("%d still offered: %s", resp.StatusCode, raw)
		}
		return nil
	})
	agent2 := loginDemo(t, s, "agent2", "demo-agent-2")
	resp, raw = agent2.do(t, "POST", "/agent/session"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	resp, raw = agent2.do(t, "PUT", "/agent/presence"+nv, map[string]any{"status": "available"})
	wantStatus(t, resp, raw, http.StatusOK)
	patch("/routing/distributionPolicies/demo-longest-idle", map[string]any{"offerExpiresAfterSeconds": 60})
	second := waitOffer(t, agent2, v.thread)
	resp, raw = agent2.do(t, "POST", "/agent/offers/"+second["offerId"].(string)+":accept"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	resp, raw = agent1.do(t, "POST", "/agent/offers/"+first["offerId"].(string)+":accept"+nv, nil)
	if resp.StatusCode < 400 {
		t.Fatalf("the expired offer could still be accepted: %d %s", resp.StatusCode, raw)
	}
}

func TestAgentsSeeTheirOwnTenantsColleaguesAndQueues(t *testing.T) {
	s := switchboardtest.Start(t)
	s.DemoCenter(t)
	ctx := context.Background()
	other, _, err := s.App.Tenants.Create(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.People.Create(tenant.With(ctx, other.ID), identity.NewPerson{Username: "stranger", DisplayName: "Stranger Danger", Role: identity.RoleAgent, Password: "long-enough-1"}); err != nil {
		t.Fatal(err)
	}
	agent := loginDemo(t, s, "agent1", "demo-agent-1")
	resp, raw := agent.do(t, "PUT", "/agent/presence"+nv, map[string]any{"status": "available"})
	wantStatus(t, resp, raw, http.StatusOK)
	resp, raw = agent.do(t, "GET", "/agent/colleagues"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	body := string(raw)
	if !strings.Contains(body, `"displayName":"Budi Agent"`) || !strings.Contains(body, `"displayName":"Alex Agent","role":"agent","presence":"available"`) || strings.Contains(body, "Stranger") {
		t.Fatalf("colleagues: %s", raw)
	}
	resp, raw = agent.do(t, "GET", "/agent/queues"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if !strings.Contains(string(raw), `{"id":"support","name":"Support"}`) {
		t.Fatalf("queues: %s", raw)
	}
}

func TestTheCustomerLeaves(t *testing.T) {
	s := switchboardtest.Start(t)
	setupBot(t, s)
	sup := loginDemo(t, s, "supervisor", "demo-supervisor-1")

	// Waiting, nobody available: leaving abandons the job.
	_, _, w := startSession(t, s, map[string]any{"displayName": "Putri", "locale": "en"})
	waitForText(t, s, w.token, w.thread, "Hello! I am the test bot.")
	sendChat(t, s, w.token, w.thread, "I want to talk to a person")
	var waiting string
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		resp, raw := bearer(t, s, w.token, "GET", "/webchat/position"+nv+"&threadId="+w.thread, nil)
		if resp.StatusCode != http.StatusOK || switchboardtest.JSON(t, raw)["state"] != "queued" {
			return fmt.Errorf("%d %s", resp.StatusCode, raw)
		}
		waiting = switchboardtest.JSON(t, raw)["engagementId"].(string)
		return nil
	})
	resp, raw := bearer(t, s, w.token, "POST", "/engagements/"+waiting+":leave"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	resp, raw = s.Client(t).Do(t, "GET", "/routing/jobs/eng-"+waiting+"?api-version=2023-11-01", nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if j := switchboardtest.JSON(t, raw); j["status"] != "cancelled" || j["dispositionCode"] != "abandoned" {
		t.Fatalf("the abandoned job: %s", raw)
	}
	resp, raw = sup.do(t, "GET", "/wallboard"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if !strings.Contains(string(raw), `"abandonedToday":1`) {
		t.Fatalf("the wallboard does not count the abandoned customer: %s", raw)
	}
	resp, raw = bearer(t, s, w.token, "POST", "/engagements/"+waiting+":leave"+nv, nil)
	wantStatus(t, resp, raw, http.StatusConflict)

	// With an agent: the agent is told and wraps up; the customer may rate.
	v, agent, agentToken, id := handedToAgent(t, s, "Bayu")
	agentEvents := rtFrames(t, s, agentToken)
	resp, raw = bearer(t, s, v.token, "POST", "/engagements/"+id+":leave"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if m := switchboardtest.JSON(t, raw); m["state"] != "wrapUp" || m["rate"] != true {
		t.Fatalf("leaving a taken conversation: %s", raw)
	}
	agentEvents("engagementCustomerLeft", func(d map[string]any) bool { return d["engagementId"] == id })
	resp, raw = agent.do(t, "POST", "/engagements/"+id+":wrapUp"+nv, map[string]any{"dispositionCode": "noResponse"})
	wantStatus(t, resp, raw, http.StatusOK)
	resp, raw = bearer(t, s, v.token, "POST", "/engagements/"+id+":rate"+nv, map[string]any{"rating": 4})
	wantStatus(t, resp, raw, http.StatusOK)

	// Writing again starts a new conversation with the bot.
	sendChat(t, s, v.token, v.thread, "One more question")
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		msgs, _ := threadMessages(t, s, v.token, v.thread)
		greetings := 0
		for _, m := range msgs {
			if m.Content == "Hello! I am the test bot." {
				greetings++
			}
		}
		if greetings != 2 {
			return fmt.Errorf("%d greetings", greetings)
		}
		return nil
	})
}

func TestWebhooksDoNotReceiveRealtimeNotifications(t *testing.T) {
	s := switchboardtest.Start(t)
	setupBot(t, s)
	var mu sync.Mutex
	var types []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var evs []struct {
			EventType string `json:"eventType"`
			Data      struct {
				ValidationCode string `json:"validationCode"`
			} `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&evs)
		if len(evs) == 1 && evs[0].EventType == "Microsoft.EventGrid.SubscriptionValidationEvent" {
			_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": evs[0].Data.ValidationCode})
			return
		}
		mu.Lock()
		for _, e := range evs {
			types = append(types, e.EventType)
		}
		mu.Unlock()
	}))
	defer hook.Close()
	resp, raw := s.Client(t).Do(t, "PATCH", "/eventSubscriptions/all"+nv, map[string]any{"endpoint": hook.URL, "name": "everything"})
	wantStatus(t, resp, raw, http.StatusCreated)

	v, agent, _, id := handedToAgent(t, s, "Wati")
	resp, raw = agent.do(t, "POST", "/engagements/"+id+":wrapUp"+nv, map[string]any{"dispositionCode": "resolved"})
	wantStatus(t, resp, raw, http.StatusOK)
	_ = v
	// The job's closing comes after every notification of this
	// conversation in the stream.
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Contains(types, "Microsoft.Communication.RouterJobClosed") {
			return fmt.Errorf("delivered so far: %v", types)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for _, typ := range types {
		if strings.HasPrefix(typ, "Switchboard.Engagement") || strings.HasPrefix(typ, "Switchboard.Agent") {
			t.Fatalf("a real-time notification went to a webhook: %s (all: %v)", typ, types)
		}
	}
	if !slices.Contains(types, "Microsoft.Communication.ChatMessageReceivedInThread") {
		t.Fatalf("the webhook missed the conversation's chat events: %v", types)
	}
}
