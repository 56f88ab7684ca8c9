package api_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/webhook"
)

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
	typed := make(chan string, 1)
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
		if act.Type == "typing" && ok {
			select {
			case typed <- act.Conversation.ID:
			default:
			}
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
	// The bot hears the customer typing (once the conversation is its).
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		resp, raw := bearer(t, s, v.token, "POST", "/chat/threads/"+url.PathEscape(v.thread)+"/typing"+chatv, map[string]any{})
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("typing: %d %s", resp.StatusCode, raw)
		}
		select {
		case th := <-typed:
			if th != v.thread {
				t.Fatalf("typing for %s", th)
			}
			return nil
		default:
			return fmt.Errorf("no typing activity yet")
		}
	})
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
