package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
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
