package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// The contact center behind the tenant wall. Each side connects a flow bot
// to its queue, its admin works as an agent of that queue, and three web
// chat customers ask for a person: one conversation is over (and not yet
// rated), one is with the agent, one waits as an offer nobody answered.
// Tenant B then aims the bot, engagement and offer routes at A's.

const wallRouterVersion = "?api-version=2023-11-01"

// wallFlow is the flow each side's bot runs: it greets, and the flow's
// built-in words hand a customer who asks for a person to the side's queue.
const wallFlow = `version: 1
locale: en
start: welcome
handoff: {queue: %s}
steps:
  welcome:
    say: "Hello from %s's bot."
    next: help
  help:
    intents:
      hours: {keywords: [opening hours], say: "We are open 9 to 5."}
`

// wallFlowJSON is a valid flow sent as JSON (a flow document may be JSON):
// what tenant B puts on A's bot id.
var wallFlowJSON = map[string]any{
	"version": 1, "locale": "en", "start": "welcome", "handoff": map[string]any{"queue": "support"},
	"steps": map[string]any{
		"welcome": map[string]any{"say": "Taken over by B.", "next": "help"},
		"help":    map[string]any{"intents": map[string]any{"hours": map[string]any{"keywords": []string{"opening hours"}, "say": "Never."}}},
	},
}

// botBody is what B sends to connect a bot of its own under A's bot id.
func botBody(b *side, _ string) any {
	return map[string]any{"name": "B's own", "kind": "flow", "handoffQueueId": b.ids["queue"], "locale": "en"}
}

// sessionOnly routes take a logged-in person only (the agent desktop and
// the supervisors' engagement views), never an access key.
func sessionOnly(path string) bool {
	return strings.HasPrefix(path, "/engagements") || strings.HasPrefix(path, "/agent/")
}

// page GETs a page of a collection as the side: session-only lists through
// its admin's session, the rest as list does.
func (sd *side) page(t *testing.T, s *switchboardtest.Server, path string) (*http.Response, []byte) {
	t.Helper()
	if sessionOnly(path) {
		return sd.admin.do(t, "GET", path, nil)
	}
	return sd.list(t, s, path)
}

// visitorCall calls the API with the user token of one of the side's web
// chat customers.
func (sd *side) visitorCall(s *switchboardtest.Server, who string) callFunc {
	return func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
		t.Helper()
		req := newRequest(t, method, s.HTTPURL+path, body)
		req.Header.Set("Authorization", "Bearer "+sd.visitors[who].token)
		for _, m := range mods {
			m(req)
		}
		return send(t, http.DefaultClient, req)
	}
}

// openContactCenter gives the side a bot, an agent and three engagements:
//   - ids["bot"]: the flow bot answering web chat, handing off to ids["queue"];
//   - ids["agentWorker"]: the admin's router worker (its person id);
//   - ids["endedEngagement"]: ended and wrapped up, not rated;
//   - ids["assignedEngagement"]: accepted by the admin;
//   - ids["engagement"] and ids["agentOffer"]: queued, offered to the admin
//     and not answered.
//
// visitors holds the three customers by those states ("ended", "assigned",
// "pending"); agent is the side's plain agent, logged in.
func (sd *side) openContactCenter(t *testing.T, s *switchboardtest.Server) {
	t.Helper()
	sd.ids["bot"] = sd.name + "-bot"
	resp, body := sd.c.Do(t, "PATCH", "/bots/"+sd.ids["bot"]+nv, map[string]any{"name": sd.name + " bot", "kind": "flow",
		"handoffQueueId": sd.ids["queue"], "locale": "en"})
	wantStatus(t, resp, body, http.StatusCreated)
	req := sd.c.Request("PUT", "/bots/"+sd.ids["bot"]+"/flow"+nv, fmt.Sprintf(wallFlow, sd.ids["queue"], sd.name))
	req.Header.Set("Content-Type", "application/yaml")
	resp, body = sd.c.Send(t, req)
	wantStatus(t, resp, body, http.StatusOK)

	// The admin works as an agent of the side's queue.
	resp, body = sd.admin.do(t, "POST", "/agent/session"+nv, nil)
	wantStatus(t, resp, body, http.StatusOK)
	sd.ids["agentWorker"] = switchboardtest.JSON(t, body)["workerId"].(string)
	req = sd.c.Request("PATCH", "/routing/workers/"+url.PathEscape(sd.ids["agentWorker"])+wallRouterVersion, map[string]any{"queues": []string{sd.ids["queue"]}})
	req.Header.Set("Content-Type", "application/merge-patch+json")
	resp, body = sd.c.Send(t, req)
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = sd.admin.do(t, "PUT", "/agent/presence"+nv, map[string]any{"status": "available"})
	wantStatus(t, resp, body, http.StatusOK)
	sd.agent = loginAt(t, &http.Client{Timeout: 30 * time.Second}, s.HTTPURL, sd.name, sd.name+"-agent", "long-enough-1")

	// One customer after the other, so that only the last offer is left
	// pending.
	sd.visitors = map[string]visitor{}
	for _, state := range []string{"ended", "assigned", "pending"} {
		v := sd.customerAsksForPerson(t, s, state)
		sd.visitors[state] = v
		offer := sd.offerFor(t, v.thread)
		engagement := offer["engagementId"].(string)
		if state == "pending" {
			sd.ids["engagement"], sd.ids["agentOffer"] = engagement, offer["offerId"].(string)
			break
		}
		resp, body := sd.admin.do(t, "POST", "/agent/offers/"+url.PathEscape(offer["offerId"].(string))+":accept"+nv, nil)
		wantStatus(t, resp, body, http.StatusOK)
		if e := switchboardtest.JSON(t, body); e["id"] != engagement || e["state"] != "assigned" {
			t.Fatalf("%s: accepting the offer answered %s", sd.name, body)
		}
		if state == "assigned" {
			sd.ids["assignedEngagement"] = engagement
			continue
		}
		resp, body = sd.admin.do(t, "POST", "/engagements/"+engagement+":end"+nv, nil)
		wantStatus(t, resp, body, http.StatusOK)
		resp, body = sd.admin.do(t, "POST", "/engagements/"+engagement+":wrapUp"+nv, map[string]any{"dispositionCode": "resolved", "notes": sd.name})
		wantStatus(t, resp, body, http.StatusOK)
		if e := switchboardtest.JSON(t, body); e["state"] != "ended" {
			t.Fatalf("%s: wrapping up answered %s", sd.name, body)
		}
		sd.ids["endedEngagement"] = engagement
	}
}

// customerAsksForPerson opens a web chat session at the side's widget,
// waits for its bot's greeting and asks for a person.
func (sd *side) customerAsksForPerson(t *testing.T, s *switchboardtest.Server, name string) visitor {
	t.Helper()
	resp, raw := send(t, http.DefaultClient, newRequest(t, "POST", s.HTTPURL+"/webchat/"+sd.name+"/sessions"+nv,
		map[string]any{"displayName": sd.name + " " + name + " customer", "locale": "en"}))
	wantStatus(t, resp, raw, http.StatusCreated)
	m := switchboardtest.JSON(t, raw)
	v := visitor{token: m["token"].(string), identity: m["identity"].(map[string]any)["rawId"].(string), thread: m["threadId"].(string)}
	waitForText(t, s, v.token, v.thread, "Hello from "+sd.name+"'s bot.")
	sendChat(t, s, v.token, v.thread, "I want to talk to an agent")
	return v
}

// offerFor waits until the side's admin holds the offer of the thread's
// engagement.
func (sd *side) offerFor(t *testing.T, thread string) map[string]any {
	t.Helper()
	var offer map[string]any
	switchboardtest.Eventually(t, 15*time.Second, func() error {
		resp, raw := sd.admin.do(t, "GET", "/agent/offers"+nv, nil)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%d %s", resp.StatusCode, raw)
		}
		var page struct{ Value []map[string]any }
		if err := json.Unmarshal(raw, &page); err != nil {
			return err
		}
		for _, o := range page.Value {
			if labels, _ := o["labels"].(map[string]any); labels["threadId"] == thread {
				offer = o
				return nil
			}
		}
		return fmt.Errorf("%s's agent holds no offer for %s: %s", sd.name, thread, raw)
	})
	return offer
}

// centerSnapshot is the side's contact center as it sees it: its bots and
// running flow, its agent's worker, offers and engagements, and every
// engagement.
func (sd *side) centerSnapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/bots" + nv, "/bots/" + sd.ids["bot"] + nv, "/bots/" + sd.ids["bot"] + "/flow" + nv,
		"/routing/workers/" + url.PathEscape(sd.ids["agentWorker"]) + wallRouterVersion} {
		resp, body := sd.c.Do(t, "GET", p, nil)
		wantStatus(t, resp, body, http.StatusOK)
		b.WriteString(resp.Header.Get("Flow-Version"))
		b.Write(body)
	}
	for _, p := range []string{"/engagements" + nv, "/agent/offers" + nv, "/agent/engagements" + nv,
		"/engagements/" + sd.ids["engagement"] + nv, "/engagements/" + sd.ids["assignedEngagement"] + nv, "/engagements/" + sd.ids["endedEngagement"] + nv} {
		resp, body := sd.admin.do(t, "GET", p, nil)
		wantStatus(t, resp, body, http.StatusOK)
		b.Write(body)
	}
	return b.String()
}

// agentDesktopWall: an agent's desktop lists the offers and engagements of
// its own tenant only, whichever side asks.
func agentDesktopWall(t *testing.T, a, b *side) {
	for _, sd := range []*side{a, b} {
		other := b
		if sd == b {
			other = a
		}
		theirs := []string{other.ids["agentOffer"], other.ids["engagement"], other.ids["assignedEngagement"], other.ids["endedEngagement"],
			other.visitors["pending"].thread, other.visitors["assigned"].thread, other.visitors["ended"].thread, string(other.tenant)}
		for _, who := range []struct {
			name string
			ss   *session
		}{{"admin", sd.admin}, {"agent", sd.agent}} {
			for _, p := range []string{"/agent/offers", "/agent/engagements"} {
				resp, body := who.ss.do(t, "GET", p+nv, nil)
				wantStatus(t, resp, body, http.StatusOK)
				for _, id := range theirs {
					if strings.Contains(string(body), id) {
						t.Fatalf("%s's %s sees %s's %s at %s: %s", sd.name, who.name, other.name, id, p, body)
					}
				}
				// The admin, the side's worker, sees its own work there.
				own := map[string]string{"/agent/offers": sd.ids["agentOffer"], "/agent/engagements": sd.ids["assignedEngagement"]}[p]
				if who.name == "admin" && !strings.Contains(string(body), own) {
					t.Fatalf("%s's agent does not see its own %s at %s: %s", sd.name, own, p, body)
				}
			}
		}
	}
}

// positionWall: a customer asking for the place of another tenant's
// thread is answered exactly as for a thread nobody has, and learns
// nothing of it.
func positionWall(t *testing.T, s *switchboardtest.Server, a, b *side) {
	ask := func(sd *side, who, thread string) (*http.Response, []byte) {
		return sd.visitorCall(s, who)(t, "GET", "/webchat/position"+nv+"&threadId="+url.QueryEscape(thread), nil)
	}
	// Each customer sees its own place.
	for _, sd := range []*side{a, b} {
		resp, body := ask(sd, "pending", sd.visitors["pending"].thread)
		wantStatus(t, resp, body, http.StatusOK)
		if got := switchboardtest.JSON(t, body)["engagementId"]; got != sd.ids["engagement"] {
			t.Fatalf("%s's waiting customer is told of engagement %v, not %s: %s", sd.name, got, sd.ids["engagement"], body)
		}
	}
	unused := unusedID("thread", b.tenant)
	for _, who := range []string{"pending", "assigned", "ended"} {
		r2, b2 := ask(b, who, unused)
		for _, theirs := range []string{a.visitors["pending"].thread, a.visitors["assigned"].thread} {
			r1, b1 := ask(b, who, theirs)
			if r1.StatusCode < 400 || r1.StatusCode != r2.StatusCode {
				t.Fatalf("B's %s customer asking for A's thread: %d %s; for an unused thread: %d %s", who, r1.StatusCode, b1, r2.StatusCode, b2)
			}
			e1 := wantError(t, r1, b1, r1.StatusCode, "")
			e2 := wantError(t, r2, b2, r2.StatusCode, "")
			if e1.Error.Code != e2.Error.Code || e1.Error.Target != e2.Error.Target {
				t.Fatalf("A's thread and an unused one are told apart: %s / %s", b1, b2)
			}
			for _, id := range []string{a.ids["engagement"], a.ids["assignedEngagement"], string(a.tenant)} {
				if strings.Contains(string(b1), id) {
					t.Fatalf("B's customer learns %s of A's thread: %s", id, b1)
				}
			}
		}
	}
}

// listed are the side's items a list of res must not show the other
// side: for engagements, all three of them.
func (sd *side) listed(res string) []string {
	if res == "engagement" {
		return []string{sd.ids["engagement"], sd.ids["assignedEngagement"], sd.ids["endedEngagement"]}
	}
	return []string{sd.ids[res]}
}

// botAPIWall: a bot's secret opens only its own tenant's conversations. B's
// bot aimed at A's conversation, through A's tenant or its own, answers as
// for a conversation nobody has, and A sees nothing of it.
func botAPIWall(t *testing.T, s *switchboardtest.Server, a, b *side, aBefore string) {
	t.Helper()
	secretOf := func(sd *side) string {
		resp, body := sd.c.Do(t, "GET", "/bots/"+sd.ids["bot"]+nv, nil)
		wantStatus(t, resp, body, http.StatusOK)
		return switchboardtest.JSON(t, body)["secret"].(string)
	}
	bSecret := secretOf(b)
	post := func(tn tenant.ID, bot, thread string) (*http.Response, []byte) {
		req := newRequest(t, "POST", s.HTTPURL+"/botapi/"+string(tn)+"/"+bot+"/v3/conversations/"+url.PathEscape(thread)+"/activities"+nv,
			map[string]any{"type": "message", "text": "injected by B's bot"})
		req.Header.Set("Authorization", "Bearer "+bSecret)
		return send(t, http.DefaultClient, req)
	}
	aThread := a.visitors["pending"].thread
	resp, body := post(a.tenant, a.ids["bot"], aThread)
	wantStatus(t, resp, body, http.StatusUnauthorized)
	resp, body = post(a.tenant, b.ids["bot"], aThread)
	wantStatus(t, resp, body, http.StatusUnauthorized)
	r1, b1 := post(b.tenant, b.ids["bot"], aThread)
	r2, b2 := post(b.tenant, b.ids["bot"], unusedID("thread", b.tenant))
	if r1.StatusCode != http.StatusNotFound || r2.StatusCode != r1.StatusCode || string(stripVolatile(b1)) != string(stripVolatile(b2)) {
		t.Fatalf("B's bot at A's conversation answered %d %s; at an unused one %d %s", r1.StatusCode, b1, r2.StatusCode, b2)
	}
	if got := a.snapshot(t, s); got != aBefore {
		t.Fatalf("B's bot changed tenant A's resources:\nbefore %s\nafter  %s", aBefore, got)
	}
	for _, v := range a.visitors {
		msgs, _ := threadMessages(t, s, v.token, v.thread)
		for _, m := range msgs {
			if strings.Contains(m.Content, "injected") {
				t.Fatalf("B's bot wrote in A's conversation: %+v", m)
			}
		}
	}
}
