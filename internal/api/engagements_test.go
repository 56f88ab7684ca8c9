package api_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
	"github.com/switchboard-cc/switchboard/internal/webhook"
)

const testFlow = `version: 1
locale: en
start: welcome
handoff: {queue: support}
steps:
  welcome:
    say: "Hello! I am the test bot."
    next: help
  help:
    intents:
      hours: {keywords: [opening hours], say: "We are open 9 to 5."}
      order: {keywords: [order], next: ask_email}
  ask_email:
    ask: email
    type: email
    say: "Your e-mail, please?"
    next: agent
  agent:
    handoff: {queue: support, labels: {topic: orders}}
`

type chatMessage struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Sender   string
	Content  string
	Metadata map[string]string `json:"metadata"`
}

// threadMessages lists a thread's text messages oldest first, as caller.
func threadMessages(t *testing.T, s *switchboardtest.Server, token, thread string) ([]chatMessage, int) {
	t.Helper()
	resp, raw := bearer(t, s, token, "GET", "/chat/threads/"+thread+"/messages"+chatv+"&maxPageSize=200", nil)
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	var page struct {
		Value []struct {
			ID       string                   `json:"id"`
			Type     string                   `json:"type"`
			Content  struct{ Message string } `json:"content"`
			Sender   struct{ RawID string }   `json:"senderCommunicationIdentifier"`
			Metadata map[string]string        `json:"metadata"`
		} `json:"value"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		t.Fatal(err)
	}
	var out []chatMessage
	for i := len(page.Value) - 1; i >= 0; i-- {
		m := page.Value[i]
		if m.Type == "text" || m.Type == "html" {
			out = append(out, chatMessage{ID: m.ID, Type: m.Type, Sender: m.Sender.RawID, Content: m.Content.Message, Metadata: m.Metadata})
		}
	}
	return out, resp.StatusCode
}

// waitForText waits until the thread holds a message containing text.
func waitForText(t *testing.T, s *switchboardtest.Server, token, thread, text string) chatMessage {
	t.Helper()
	var found chatMessage
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		msgs, status := threadMessages(t, s, token, thread)
		for _, m := range msgs {
			if strings.Contains(m.Content, text) {
				found = m
				return nil
			}
		}
		return fmt.Errorf("no message with %q (status %d): %+v", text, status, msgs)
	})
	return found
}

func sendChat(t *testing.T, s *switchboardtest.Server, token, thread, text string) {
	t.Helper()
	resp, raw := bearer(t, s, token, "POST", "/chat/threads/"+thread+"/messages"+chatv, map[string]any{"content": text})
	wantStatus(t, resp, raw, http.StatusCreated)
}

// setupBot switches the demo bots off and connects a flow bot running
// testFlow.
func setupBot(t *testing.T, s *switchboardtest.Server) {
	t.Helper()
	s.DemoCenter(t)
	c := s.Client(t)
	for _, id := range []string{"assistant", "asisten"} {
		resp, raw := c.Do(t, "PATCH", "/bots/"+id+nv, map[string]any{"enabled": false})
		wantStatus(t, resp, raw, http.StatusOK)
	}
	resp, raw := c.Do(t, "PATCH", "/bots/tb"+nv, map[string]any{"name": "Test bot", "kind": "flow", "locale": "en", "handoffQueueId": "support"})
	wantStatus(t, resp, raw, http.StatusCreated)
	if m := switchboardtest.JSON(t, raw); m["secret"] == "" || m["identity"] == "" {
		t.Fatalf("a new bot has no secret or identity: %s", raw)
	}
	putFlow(t, c, testFlow, http.StatusOK)
}

func putFlow(t *testing.T, c *switchboardtest.Client, src string, want int) []byte {
	t.Helper()
	req, err := http.NewRequest("PUT", c.Base+"/bots/tb/flow"+nv, bytes.NewReader([]byte(src)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/yaml")
	c.Sign(req, []byte(src))
	resp, raw := c.Send(t, req)
	wantStatus(t, resp, raw, want)
	return raw
}

func TestFlowDocumentWithMistakesIsRefusedAndTheRunningFlowStays(t *testing.T) {
	s := switchboardtest.Start(t)
	setupBot(t, s)
	c := s.Client(t)
	bad := strings.Replace(testFlow, "next: ask_email", "next: ask_emial", 1)
	bad = strings.Replace(bad, "type: email", "type: mail", 1)
	raw := putFlow(t, c, bad, http.StatusBadRequest)
	var body struct {
		Error struct {
			Code    string
			Details []struct{ Message, Target string }
		}
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Code != "InvalidFlow" || len(body.Error.Details) < 2 {
		t.Fatalf("want InvalidFlow with both mistakes: %s", raw)
	}
	var lines []string
	for _, d := range body.Error.Details {
		lines = append(lines, d.Target)
	}
	joined := strings.Join(lines, "; ")
	if !strings.Contains(joined, "line 12, column 40") || !strings.Contains(joined, "line 15, column 11") {
		t.Fatalf("the mistakes' lines (12: ask_emial, 15: mail) are not named: %s", raw)
	}
	resp, got := c.Do(t, "GET", "/bots/tb"+nv, nil)
	wantStatus(t, resp, got, http.StatusOK)
	if v := switchboardtest.JSON(t, got)["flowVersion"]; v != 1.0 {
		t.Fatalf("the refused flow changed the running version: %v", v)
	}
	req, _ := http.NewRequest("GET", c.Base+"/bots/tb/flow"+nv, nil)
	c.Sign(req, nil)
	resp, src := c.Send(t, req)
	wantStatus(t, resp, src, http.StatusOK)
	if string(src) != testFlow {
		t.Fatalf("the running flow is not the one set before:\n%s", src)
	}
}

func TestBotFirstChatHandsOffToAnAgentWhoSeesEverything(t *testing.T) {
	s := switchboardtest.Start(t)
	setupBot(t, s)
	_, _, v := startSession(t, s, map[string]any{"displayName": "Citra", "locale": "en"})
	greeting := waitForText(t, s, v.token, v.thread, "Hello! I am the test bot.")
	if greeting.Sender == v.identity || greeting.Metadata["role"] != "bot" {
		t.Fatalf("the greeting is not the bot's: %+v", greeting)
	}

	sendChat(t, s, v.token, v.thread, "What are your opening hours?")
	waitForText(t, s, v.token, v.thread, "We are open 9 to 5.")
	sendChat(t, s, v.token, v.thread, "I have a question about my order")
	waitForText(t, s, v.token, v.thread, "Your e-mail, please?")
	sendChat(t, s, v.token, v.thread, "citra@example.com")

	var pos map[string]any
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		resp, raw := bearer(t, s, v.token, "GET", "/webchat/position"+nv+"&threadId="+v.thread, nil)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%d %s", resp.StatusCode, raw)
		}
		pos = switchboardtest.JSON(t, raw)
		if pos["state"] != "queued" || pos["position"] != 1.0 {
			return fmt.Errorf("not queued first: %s", raw)
		}
		return nil
	})
	engagementID := pos["engagementId"].(string)

	agent := loginDemo(t, s, "agent1", "demo-agent-1")
	resp, raw := agent.do(t, "POST", "/agent/session"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	sess := switchboardtest.JSON(t, raw)
	agentToken := sess["token"].(string)
	resp, raw = agent.do(t, "PUT", "/agent/presence"+nv, map[string]any{"status": "available"})
	wantStatus(t, resp, raw, http.StatusOK)

	var offer map[string]any
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		resp, raw := agent.do(t, "GET", "/agent/offers"+nv, nil)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%d %s", resp.StatusCode, raw)
		}
		var page struct{ Value []map[string]any }
		_ = json.Unmarshal(raw, &page)
		if len(page.Value) != 1 {
			return fmt.Errorf("offers: %s", raw)
		}
		offer = page.Value[0]
		return nil
	})
	labels := offer["labels"].(map[string]any)
	if offer["engagementId"] != engagementID || labels["email"] != "citra@example.com" || labels["topic"] != "orders" ||
		labels["handoffReason"] != "flow" || labels["threadId"] != v.thread {
		t.Fatalf("the offer does not carry the engagement and what the bot collected: %v", offer)
	}

	// While the offer is out the job is still queued (as in ACS) and the
	// customer still reads their place.
	resp, raw = bearer(t, s, v.token, "GET", "/webchat/position"+nv+"&threadId="+v.thread, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if p := switchboardtest.JSON(t, raw); p["state"] != "queued" {
		t.Fatalf("position while offered: %s", raw)
	}

	// The bot left the conversation at the handoff.
	resp, raw = bearer(t, s, v.token, "GET", "/chat/threads/"+v.thread+"/participants"+chatv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if strings.Contains(string(raw), "Test bot") {
		t.Fatalf("the bot is still in the thread: %s", raw)
	}

	resp, raw = agent.do(t, "POST", "/agent/offers/"+offer["offerId"].(string)+":accept"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	eng := switchboardtest.JSON(t, raw)
	if eng["state"] != "assigned" || eng["threadId"] != v.thread {
		t.Fatalf("accepting did not assign the engagement: %s", raw)
	}
	// The agent sees everything said before, at once.
	history, status := threadMessages(t, s, agentToken, v.thread)
	var said []string
	for _, m := range history {
		said = append(said, m.Content)
	}
	want := []string{"Hello! I am the test bot.", "What are your opening hours?", "We are open 9 to 5.",
		"I have a question about my order", "Your e-mail, please?", "citra@example.com"}
	joined := strings.Join(said, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Fatalf("the agent's view (status %d) lacks %q:\n%s", status, w, joined)
		}
	}

	sendChat(t, s, agentToken, v.thread, "Hi Citra, I'm Alex. Let me check your order.")
	waitForText(t, s, v.token, v.thread, "Let me check your order.")
	sendChat(t, s, v.token, v.thread, "Thank you!")
	waitForText(t, s, agentToken, v.thread, "Thank you!")

	// A message during the agent's part is not the bot's to answer.
	resp, raw = agent.do(t, "POST", "/engagements/"+engagementID+":end"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if st := switchboardtest.JSON(t, raw)["state"]; st != "wrapUp" {
		t.Fatalf("ending left the engagement %v", st)
	}
	resp, raw = bearer(t, s, v.token, "POST", "/engagements/"+engagementID+":rate"+nv, map[string]any{"rating": 5, "comment": "Quick and kind"})
	wantStatus(t, resp, raw, http.StatusOK)
	resp, raw = bearer(t, s, v.token, "POST", "/engagements/"+engagementID+":rate"+nv, map[string]any{"rating": 1})
	wantStatus(t, resp, raw, http.StatusConflict)

	resp, raw = agent.do(t, "POST", "/engagements/"+engagementID+":wrapUp"+nv, map[string]any{"dispositionCode": "resolved", "notes": "order found"})
	wantStatus(t, resp, raw, http.StatusOK)

	sup := loginDemo(t, s, "supervisor", "demo-supervisor-1")
	resp, raw = sup.do(t, "GET", "/engagements/"+engagementID+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	final := switchboardtest.JSON(t, raw)
	if final["state"] != "ended" || final["rating"] != 5.0 || final["ratingComment"] != "Quick and kind" || final["dispositionCode"] != "resolved" {
		t.Fatalf("the ended engagement does not keep its rating and wrap-up: %s", raw)
	}
	resp, raw = s.Client(t).Do(t, "GET", "/routing/jobs/"+offer["jobId"].(string)+"?api-version=2023-11-01", nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if job := switchboardtest.JSON(t, raw); job["status"] != "closed" || job["dispositionCode"] != "resolved" {
		t.Fatalf("the router job is not closed with the disposition: %s", raw)
	}
}

func TestFailingWebhookBotHandsOffAndLosesNothing(t *testing.T) {
	s := switchboardtest.Start(t)
	s.DemoCenter(t)
	c := s.Client(t)
	for _, id := range []string{"assistant", "asisten"} {
		resp, raw := c.Do(t, "PATCH", "/bots/"+id+nv, map[string]any{"enabled": false})
		wantStatus(t, resp, raw, http.StatusOK)
	}
	// Each way a bot fails, on the customer's first message after the
	// greeting.
	for _, tc := range []struct {
		name string
		fail func(w http.ResponseWriter, r *http.Request)
	}{
		{"error", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }},
		{"malformed", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`[{"type":"message","text":`))
		}},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := make(chan string, 10)
			bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var act struct{ Type, Text string }
				_ = json.NewDecoder(r.Body).Decode(&act)
				calls <- act.Type
				if act.Type == "conversationUpdate" {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write([]byte(`[{"type":"message","text":"Webhook bot here."}]`))
					return
				}
				tc.fail(w, r)
			}))
			defer bot.Close()
			resp, raw := c.Do(t, "PATCH", "/bots/wb"+nv, map[string]any{"name": "Webhook bot", "kind": "webhook", "handoffQueueId": "support",
				"webhook": map[string]any{"url": bot.URL, "timeoutSeconds": 1}})
			if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, raw)
			}

			_, _, v := startSession(t, s, map[string]any{"displayName": "Dewi", "locale": "en"})
			waitForText(t, s, v.token, v.thread, "Webhook bot here.")
			sendChat(t, s, v.token, v.thread, "My parcel never arrived, order 7781")
			var pos map[string]any
			switchboardtest.Eventually(t, 10*time.Second, func() error {
				resp, raw := bearer(t, s, v.token, "GET", "/webchat/position"+nv+"&threadId="+v.thread, nil)
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("%d %s", resp.StatusCode, raw)
				}
				if pos = switchboardtest.JSON(t, raw); pos["state"] != "queued" {
					return fmt.Errorf("%s", raw)
				}
				return nil
			})
			if got := <-calls; got != "conversationUpdate" {
				t.Fatalf("first activity %q", got)
			}
			if got := <-calls; got != "message" {
				t.Fatalf("second activity %q", got)
			}
			// What the customer wrote is still there for the agent.
			waitForText(t, s, v.token, v.thread, "My parcel never arrived, order 7781")
			sup := loginDemo(t, s, "supervisor", "demo-supervisor-1")
			resp, raw = sup.do(t, "GET", "/engagements/"+pos["engagementId"].(string)+nv, nil)
			wantStatus(t, resp, raw, http.StatusOK)
			if e := switchboardtest.JSON(t, raw); e["handoffReason"] != "botFailed" || e["queueId"] != "support" {
				t.Fatalf("the queued engagement does not say the bot failed: %s", raw)
			}
		})
	}
}

func TestErasingACustomerErasesTheirContactCenterConversations(t *testing.T) {
	s := switchboardtest.Start(t)
	setupBot(t, s)
	c := s.Client(t)
	_, _, v := startSession(t, s, map[string]any{"displayName": "Budi", "locale": "en"})
	waitForText(t, s, v.token, v.thread, "Hello! I am the test bot.")
	sendChat(t, s, v.token, v.thread, "I have a question about my order")
	waitForText(t, s, v.token, v.thread, "Your e-mail, please?")
	sendChat(t, s, v.token, v.thread, "budi@example.com")
	sup := loginDemo(t, s, "supervisor", "demo-supervisor-1")
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		resp, raw := sup.do(t, "GET", "/engagements"+nv+"&state=queued", nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(raw), "budi@example.com") {
			return fmt.Errorf("%d %s", resp.StatusCode, raw)
		}
		return nil
	})

	resp, raw := c.Do(t, "DELETE", "/contacts/"+v.contact+nv, nil)
	wantStatus(t, resp, raw, http.StatusNoContent)
	resp, raw = sup.do(t, "GET", "/engagements"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	if strings.Contains(string(raw), "budi@example.com") || strings.Contains(string(raw), v.thread) {
		t.Fatalf("the erased customer's engagements remain: %s", raw)
	}
	msgs, err := s.App.Store.Messages(t.Context(), s.Demo.Tenant.ID, conversation.ThreadID(v.thread), conversation.MessageQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if text := m.Content.Message; strings.Contains(strings.ToLower(text), "budi") || strings.Contains(text, "e-mail") {
			t.Fatalf("the erased customer's conversation keeps %q", text)
		}
	}
}

// rtFrames connects to /realtime with token and returns a function that
// waits for the next event frame with the given name and returns its data.
func rtFrames(t *testing.T, s *switchboardtest.Server, token string) func(name string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.HTTPURL, "http")+"/realtime", &websocket.DialOptions{Subprotocols: []string{"switchboard.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	hello, _ := json.Marshal(map[string]any{"type": "hello", "token": token})
	if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	frames := make(chan map[string]any, 256)
	go func() {
		defer close(frames)
		for {
			_, raw, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var f map[string]any
			if json.Unmarshal(raw, &f) == nil {
				frames <- f
			}
		}
	}()
	for f := range frames {
		if f["type"] == "ready" {
			break
		}
	}
	return func(name string, match func(map[string]any) bool) map[string]any {
		t.Helper()
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatalf("the socket closed before %s", name)
				}
				if d, _ := f["data"].(map[string]any); f["type"] == "event" && f["name"] == name && (match == nil || match(d)) {
					return d
				}
			case <-ctx.Done():
				t.Fatalf("no %s frame", name)
			}
		}
	}
}

// handedToAgent takes a fresh visitor through the test bot to agent1.
func handedToAgent(t *testing.T, s *switchboardtest.Server, name string) (v visitor, agent *session, agentToken, engagementID string) {
	t.Helper()
	_, _, v = startSession(t, s, map[string]any{"displayName": name, "locale": "en"})
	waitForText(t, s, v.token, v.thread, "Hello! I am the test bot.")
	sendChat(t, s, v.token, v.thread, "I want to talk to a person")
	agent = loginDemo(t, s, "agent1", "demo-agent-1")
	resp, raw := agent.do(t, "POST", "/agent/session"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	agentToken = switchboardtest.JSON(t, raw)["token"].(string)
	resp, raw = agent.do(t, "PUT", "/agent/presence"+nv, map[string]any{"status": "available"})
	wantStatus(t, resp, raw, http.StatusOK)
	offer := waitOffer(t, agent, v.thread)
	resp, raw = agent.do(t, "POST", "/agent/offers/"+offer["offerId"].(string)+":accept"+nv, nil)
	wantStatus(t, resp, raw, http.StatusOK)
	return v, agent, agentToken, offer["engagementId"].(string)
}

// waitOffer waits until the agent holds an offer for the thread.
func waitOffer(t *testing.T, agent *session, thread string) map[string]any {
	t.Helper()
	var offer map[string]any
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		resp, raw := agent.do(t, "GET", "/agent/offers"+nv, nil)
		var page struct{ Value []map[string]any }
		_ = json.Unmarshal(raw, &page)
		for _, o := range page.Value {
			if o["labels"].(map[string]any)["threadId"] == thread {
				offer = o
				return nil
			}
		}
		return fmt.Errorf("%d %s", resp.StatusCode, raw)
	})
	return offer
}

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

func TestWebhookBotAnswersLaterThroughTheAPI(t *testing.T) {
	s := switchboardtest.Start(t)
	s.DemoCenter(t)
	c := s.Client(t)
	for _, id := range []string{"assistant", "asisten"} {
		resp, raw := c.Do(t, "PATCH", "/bots/"+id+nv, map[string]any{"enabled": false})
		wantStatus(t, resp, raw, http.StatusOK)
	}
	type delivery struct {
		serviceURL, conversation string
		verified                 bool
	}
	got := make(chan delivery, 10)
	var secret atomic.Pointer[[]byte]
	secret.Store(&[]byte{})
	botSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var act struct {
			Type         string
			ServiceURL   string `json:"serviceUrl"`
			Conversation struct{ ID string }
		}
		_ = json.Unmarshal(body, &act)
		ok := webhook.Verify(*secret.Load(), body, r.Header.Get(webhook.SignatureHeader), time.Now(), time.Minute)
		if act.Type == "message" || act.Type == "event" {
			got <- delivery{act.ServiceURL, act.Conversation.ID, ok}
		}
		w.WriteHeader(http.StatusAccepted) // answers later, through the API
	}))
	defer botSrv.Close()
	resp, raw := c.Do(t, "PATCH", "/bots/later"+nv, map[string]any{"name": "Later bot", "kind": "webhook", "handoffQueueId": "support",
		"webhook": map[string]any{"url": botSrv.URL}})
	wantStatus(t, resp, raw, http.StatusCreated)
	hexSecret := switchboardtest.JSON(t, raw)["secret"].(string)
	key, _ := hex.DecodeString(hexSecret)
	secret.Store(&key)

	_, _, v := startSession(t, s, map[string]any{"displayName": "Joko", "locale": "en"})
	sendChat(t, s, v.token, v.thread, "Where is my parcel?")
	d := <-got
	if !d.verified || d.conversation != v.thread || !strings.Contains(d.serviceURL, "/botapi/") {
		t.Fatalf("delivery %+v", d)
	}
	path := d.serviceURL[strings.Index(d.serviceURL, "/botapi/"):] + "/v3/conversations/" + url.PathEscape(v.thread) + "/activities" + nv
	post := func(token string, body any) (*http.Response, []byte) {
		req := newRequest(t, "POST", s.HTTPURL+path, body)
		req.Header.Set("Authorization", "Bearer "+token)
		return send(t, http.DefaultClient, req)
	}
	// A wrong secret posts nothing.
	resp, raw = post(strings.Repeat("0", len(hexSecret)), map[string]any{"type": "message", "text": "forged"})
	wantStatus(t, resp, raw, http.StatusUnauthorized)
	resp, raw = post(hexSecret, map[string]any{"type": "message", "text": "It left our warehouse today."})
	wantStatus(t, resp, raw, http.StatusOK)
	waitForText(t, s, v.token, v.thread, "It left our warehouse today.")
	resp, raw = post(hexSecret, map[string]any{"type": "event", "name": "handoff.initiate", "value": map[string]any{"labels": map[string]string{"topic": "parcel"}}})
	wantStatus(t, resp, raw, http.StatusOK)
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		resp, raw := bearer(t, s, v.token, "GET", "/webchat/position"+nv+"&threadId="+v.thread, nil)
		if resp.StatusCode != http.StatusOK || switchboardtest.JSON(t, raw)["state"] != "queued" {
			return fmt.Errorf("%d %s", resp.StatusCode, raw)
		}
		return nil
	})
	// The bot is told it is out of the conversation.
	if d := <-got; !d.verified || d.conversation != v.thread {
		t.Fatalf("handoff.completed delivery %+v", d)
	}
	// The bot has left: a later post is refused and shows nowhere.
	resp, raw = post(hexSecret, map[string]any{"type": "message", "text": "still here?"})
	wantStatus(t, resp, raw, http.StatusConflict)
	msgs, _ := threadMessages(t, s, v.token, v.thread)
	for _, m := range msgs {
		if strings.Contains(m.Content, "forged") || strings.Contains(m.Content, "still here?") {
			t.Fatalf("a refused post reached the customer: %+v", m)
		}
	}
}

func TestFlowLooksTheCustomerUp(t *testing.T) {
	s := switchboardtest.Start(t)
	setupBot(t, s)
	c := s.Client(t)
	asked := make(chan map[string]string, 4)
	lookup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q struct{ Fields map[string]string }
		_ = json.NewDecoder(r.Body).Decode(&q)
		asked <- q.Fields
		if q.Fields["email"] == "vip@example.com" {
			_, _ = w.Write([]byte(`{"found":true,"contact":{"tier":"gold"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"found":false}`))
	}))
	defer lookup.Close()
	resp, raw := c.Do(t, "PATCH", "/bots/tb"+nv, map[string]any{"lookup": map[string]any{"url": lookup.URL}})
	wantStatus(t, resp, raw, http.StatusOK)
	putFlow(t, c, `version: 1
locale: en
start: ask
handoff: {queue: support}
steps:
  ask:
    ask: email
    type: email
    say: "Your e-mail?"
    next: find
  find:
    lookup: [email]
    returns: [tier]
    found: known
    notFound: unknown
  known:
    say: "Welcome back, {{tier}} member!"
    next: agent
  unknown:
    say: "I could not find you."
    next: agent
  agent:
    handoff: {queue: support}
`, http.StatusOK)
	for _, tc := range []struct{ email, want string }{{"vip@example.com", "Welcome back, gold member!"}, {"new@example.com", "I could not find you."}} {
		_, _, v := startSession(t, s, map[string]any{"displayName": "Lia", "locale": "en"})
		waitForText(t, s, v.token, v.thread, "Your e-mail?")
		sendChat(t, s, v.token, v.thread, tc.email)
		waitForText(t, s, v.token, v.thread, tc.want)
		if q := <-asked; q["email"] != tc.email {
			t.Fatalf("the lookup was asked %v", q)
		}
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
