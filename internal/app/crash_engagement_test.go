package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/bot/flow"
	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// engVersion is the contact center's API version.
const engVersion = "?api-version=2026-11-01"

// TestKill9KeepsEngagements kills the server (SIGKILL) while the contact
// center is at work: visitors talk to the demo bot in a burst, some of them
// asking for a person as the process dies, others waiting in the queue
// and one talking to an agent. After the restart on the same data every
// engagement acknowledged before the kill stands, the assigned one with its
// agent, the queued ones are offered again and taken with their whole
// history, each thread has one engagement, and the bot has answered every
// customer message the flow gives an answer to exactly once.
func TestKill9KeepsEngagements(t *testing.T) {
	bin := buildSwitchboard(t)
	dataDir := t.TempDir()
	httpAddr, httpsAddr := crashFreeAddr(t), crashFreeAddr(t)
	start := func() *crashServer {
		return startCrashServer(t, bin, "serve", "--demo", "--data", dataDir, "--http-addr", httpAddr, "--https-addr", httpsAddr, "--log-level", "warn")
	}
	srv := start()
	base := "http://" + httpAddr
	hc := &http.Client{Timeout: 20 * time.Second}
	bot := engDemoBot(t, hc, base)

	// Eight web chat sessions: well within the anonymous budget of an
	// address (a burst of 40, internal/api/limits.go and server.go).
	assignedV := engNewVisitor(t, hc, base, "Ana")
	queuedV := []engVisitor{engNewVisitor(t, hc, base, "Bima"), engNewVisitor(t, hc, base, "Citra")}
	var burstV []engVisitor
	for _, name := range []string{"Dewi", "Eko", "Fajar", "Gita", "Hadi"} {
		burstV = append(burstV, engNewVisitor(t, hc, base, name))
	}
	all := append(append([]engVisitor{assignedV}, queuedV...), burstV...)
	for _, v := range all {
		engConverse(t, hc, base, bot, v, nil) // the greeting
	}
	toPerson := func(v engVisitor) []string {
		return []string{"I want to talk to an agent", strings.ToLower(v.name) + "@example.com"}
	}

	// One customer gets an agent, who then steps away so the next ones wait.
	engConverse(t, hc, base, bot, assignedV, toPerson(assignedV))
	assignedID := engWaitState(t, hc, base, assignedV, "queued", 10*time.Second)
	agent1 := engLogin(t, hc, base, "agent1")
	agent1Token := engJSON(t, agent1.must(t, "POST", "/agent/session"+engVersion, nil, http.StatusOK))["token"].(string)
	agent1.must(t, "PUT", "/agent/presence"+engVersion, map[string]any{"status": "available"}, http.StatusOK)
	offer := engWaitOffer(t, agent1, assignedV, 10*time.Second)
	accepted := engJSON(t, agent1.must(t, "POST", "/agent/offers/"+offer["offerId"].(string)+":accept"+engVersion, nil, http.StatusOK))
	if accepted["id"] != assignedID || accepted["state"] != "assigned" || accepted["agentId"] != agent1.userID {
		t.Fatalf("accepting %s's offer answered %v", assignedV.name, accepted)
	}
	agent1.must(t, "PUT", "/agent/presence"+engVersion, map[string]any{"status": "away"}, http.StatusOK)

	// Two more are handed off and wait.
	ackQueued := map[string]string{} // engagement → thread, seen queued before the kill
	for _, v := range queuedV {
		engConverse(t, hc, base, bot, v, toPerson(v))
		ackQueued[engWaitState(t, hc, base, v, "queued", 10*time.Second)] = v.thread
	}

	// The burst: the five still with the bot ask questions, and each asks
	// for a person (and gives an e-mail) at a different point of it; the
	// waiting customers write, and so does the agent. The process dies the
	// moment the last of the five gets the 201 for the e-mail that hands
	// them off: that handoff, and bot turns of the others, are in flight.
	var (
		mu       sync.Mutex
		acked    = map[string][]string{} // thread → messages answered 201
		total    int
		killed   atomic.Bool
		killOnce sync.Once
		wg       sync.WaitGroup
	)
	burst := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	kill := func() {
		killOnce.Do(func() {
			if err := srv.cmd.Process.Kill(); err != nil {
				t.Errorf("kill: %v", err)
			}
			killed.Store(true)
		})
	}
	send := func(token, thread, text string) bool {
		code, raw, err := crashUser{token: token}.do(burst, base, "POST", engMessagesPath(thread), map[string]string{"content": text})
		if err != nil || code == 0 {
			return false // cut off by the kill: its fate is unknown
		}
		if code != http.StatusCreated {
			if !killed.Load() {
				t.Errorf("send in %s: %d %s", thread, code, raw)
			}
			return false
		}
		var out struct{ ID string }
		if json.Unmarshal(raw, &out) != nil || out.ID == "" {
			return false
		}
		mu.Lock()
		acked[thread] = append(acked[thread], out.ID)
		total++
		mu.Unlock()
		return true
	}
	questions := []string{"What are your opening hours?", "How long does delivery take?", "Can I return something?"}
	for i, v := range burstV {
		wg.Go(func() {
			for k := 0; !killed.Load(); k++ {
				text := questions[k%len(questions)]
				switch k {
				case i + 1:
					text = toPerson(v)[0]
				case i + 2:
					text = toPerson(v)[1]
				}
				if !send(v.token, v.thread, text) {
					return
				}
				if i == len(burstV)-1 && k == i+2 {
					kill()
				}
			}
		})
	}
	for _, v := range append([]engVisitor{assignedV}, queuedV...) {
		wg.Go(func() {
			for k := 0; !killed.Load(); k++ {
				if !send(v.token, v.thread, fmt.Sprintf("Are you still there? (%d)", k)) {
					return
				}
			}
		})
	}
	wg.Go(func() {
		for k := 0; !killed.Load(); k++ {
			if !send(agent1Token, assignedV.thread, fmt.Sprintf("Still looking into it, %s (%d)", assignedV.name, k)) {
				return
			}
		}
	})
	// What the burst's customers were told before the kill: a handoff seen
	// queued is acknowledged.
	var ackMu sync.Mutex
	wg.Go(func() {
		for !killed.Load() {
			for _, v := range burstV {
				code, raw, err := crashUser{token: v.token}.do(burst, base, "GET", "/webchat/position"+engVersion+"&threadId="+url.QueryEscape(v.thread), nil)
				if err != nil || code != http.StatusOK {
					continue
				}
				var p struct{ EngagementID, State string }
				if json.Unmarshal(raw, &p) == nil && p.State == "queued" {
					ackMu.Lock()
					ackQueued[p.EngagementID] = v.thread
					ackMu.Unlock()
				}
			}
		}
	})
	wg.Wait()
	burst.CloseIdleConnections()
	if !killed.Load() {
		t.Fatal("the burst ended before the kill")
	}
	<-srv.exited
	crash := engAtCrash(t, dataDir, all)
	t.Logf("killed after %d acknowledged messages; %d engagements were seen queued and 1 assigned; at the crash %d events were in the outbox and the bot had not yet taken %d of the burst customers' messages",
		total, len(ackQueued), crash.outbox, crash.behind)

	srv = start()
	restarted := time.Now()

	// Every acknowledged message is in its thread.
	for _, v := range all {
		msgs, err := engThread(hc, base, v.token, v.thread)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, m := range msgs {
			have[m.ID] = true
		}
		for _, id := range acked[v.thread] {
			if !have[id] {
				t.Errorf("message %s, acknowledged in %s's thread before the kill, was lost", id, v.name)
			}
		}
	}

	// The bot catches up with what the customers wrote before the kill:
	// every message the flow answers is answered, once, in order; a
	// customer whose messages lead to a person ends up queued.
	handedOff := map[string]bool{}
	switchboardtest.Eventually(t, 90*time.Second, func() error {
		for _, v := range all {
			msgs, err := engThread(hc, base, v.token, v.thread)
			if err != nil {
				return err
			}
			want, got, off := bot.compare(v, msgs)
			if !slices.Equal(want, got) {
				if len(got) < len(want) && slices.Equal(got, want[:len(got)]) {
					return fmt.Errorf("the bot has said %d of the %d messages it owes %s:\n%s", len(got), len(want), v.name, engTranscript(v, bot, msgs, crash.note(v.thread)))
				}
				t.Fatalf("the bot's answers to %s are not the flow's, each once:\n%s", v.name, engTranscript(v, bot, msgs, crash.note(v.thread)))
			}
			if off {
				handedOff[v.thread] = true
				if p, err := engPosition(hc, base, v); err != nil || p.State == "bot" {
					return fmt.Errorf("%s was handed off by the flow but is %+v (%v)", v.name, p, err)
				}
			}
		}
		return nil
	})
	interrupted := 0
	for _, v := range burstV {
		if handedOff[v.thread] && crash.state[v.thread] == "bot" {
			interrupted++
		}
	}
	t.Logf("the bot caught up %s after the restart; %d of %d burst customers were handed off, %d of them after the restart",
		time.Since(restarted).Round(time.Millisecond), len(handedOff)-3, len(burstV), interrupted)

	// Every engagement acknowledged before the kill stands, in the same
	// state or later, and no thread has two.
	sup := engLogin(t, hc, base, "supervisor")
	byThread := engEngagements(t, sup)
	for _, v := range all {
		if n := len(byThread[v.thread]); n != 1 {
			t.Errorf("%s's thread has %d engagements: %v", v.name, n, byThread[v.thread])
		}
	}
	find := func(id string) map[string]any {
		for _, es := range byThread {
			for _, e := range es {
				if e["id"] == id {
					return e
				}
			}
		}
		return nil
	}
	if e := find(assignedID); e == nil || e["state"] != "assigned" || e["agentId"] != agent1.userID || e["threadId"] != assignedV.thread {
		t.Errorf("the engagement assigned to agent1 before the kill is now %v", e)
	}
	for id, thread := range ackQueued {
		if e := find(id); e == nil || e["state"] != "queued" || e["threadId"] != thread {
			t.Errorf("engagement %s, queued before the kill, is now %v", id, e)
		}
	}

	// The assigned agent still has the conversation and can write in it.
	agent1 = engLogin(t, hc, base, "agent1")
	agent1Token = engJSON(t, agent1.must(t, "POST", "/agent/session"+engVersion, nil, http.StatusOK))["token"].(string)
	if raw := agent1.must(t, "GET", "/agent/engagements"+engVersion, nil, http.StatusOK); !strings.Contains(string(raw), assignedID) {
		t.Errorf("agent1's engagements after the restart lack %s: %s", assignedID, raw)
	}
	code, raw, err := crashUser{token: agent1Token}.do(hc, base, "POST", engMessagesPath(assignedV.thread), map[string]string{"content": "Back again, Ana: your order is on its way."})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("agent1 writing in the assigned thread after the restart: %d %s %v", code, raw, err)
	}
	engWaitText(t, hc, base, assignedV, "Back again, Ana")

	// agent2 comes in and is offered every waiting customer again; each is
	// taken with the whole conversation so far. (The demo worker takes five
	// chats; up to seven wait here.)
	agent2 := engLogin(t, hc, base, "agent2")
	agent2Sess := engJSON(t, agent2.must(t, "POST", "/agent/session"+engVersion, nil, http.StatusOK))
	agent2Token := agent2Sess["token"].(string)
	routerClient{srv.client(t)}.must(t, "PATCH", "/routing/workers/"+url.PathEscape(agent2Sess["workerId"].(string))+routerVersion, map[string]any{"capacity": 1000}, http.StatusOK)
	agent2.must(t, "PUT", "/agent/presence"+engVersion, map[string]any{"status": "available"}, http.StatusOK)
	for _, v := range all[1:] {
		if !handedOff[v.thread] {
			continue
		}
		offer := engWaitOffer(t, agent2, v, 20*time.Second)
		e := engJSON(t, agent2.must(t, "POST", "/agent/offers/"+offer["offerId"].(string)+":accept"+engVersion, nil, http.StatusOK))
		if e["state"] != "assigned" || e["threadId"] != v.thread || e["agentId"] != agent2.userID {
			t.Errorf("accepting %s's offer answered %v", v.name, e)
		}
		seen, err := engThread(hc, base, v.token, v.thread)
		if err != nil {
			t.Fatal(err)
		}
		agentView, err := engThread(hc, base, agent2Token, v.thread)
		if err != nil {
			t.Fatalf("agent2 reading %s's thread: %v", v.name, err)
		}
		ids := map[string]bool{}
		for _, m := range agentView {
			ids[m.ID] = true
		}
		for _, m := range seen {
			if !ids[m.ID] {
				t.Errorf("agent2 does not see %q (%s) in %s's thread", m.Text, m.Role, v.name)
			}
		}
	}

	// One router job per handoff: a handoff repeated after the crash found
	// its job, and agent2 holds no offer of a second one.
	if raw := agent2.must(t, "GET", "/agent/offers"+engVersion, nil, http.StatusOK); strings.Contains(string(raw), "offerId") {
		t.Errorf("agent2 is offered more after taking every waiting customer: %s", raw)
	}
	jobs := engJobs(t, routerClient{srv.client(t)})
	byThread = engEngagements(t, sup)
	for _, v := range all {
		for _, e := range byThread[v.thread] {
			id, _ := e["id"].(string)
			if want := handedOff[v.thread]; (len(jobs[id]) == 1) != want || (want && jobs[id][0] != "assigned") {
				t.Errorf("%s's engagement %s (handed off: %v) has router jobs %v", v.name, id, want, jobs[id])
			}
		}
	}

	// In the end: one engagement per thread, each where it should be, and
	// still no answer twice.
	for _, v := range all {
		es := byThread[v.thread]
		if len(es) != 1 {
			t.Errorf("%s's thread has %d engagements: %v", v.name, len(es), es)
			continue
		}
		e := es[0]
		switch {
		case v.thread == assignedV.thread:
			if e["state"] != "assigned" || e["agentId"] != agent1.userID {
				t.Errorf("%s's engagement: %v", v.name, e)
			}
		case handedOff[v.thread]:
			if e["state"] != "assigned" || e["agentId"] != agent2.userID {
				t.Errorf("%s's engagement: %v", v.name, e)
			}
		default:
			if e["state"] != "bot" {
				t.Errorf("%s's engagement: %v", v.name, e)
			}
		}
		msgs, err := engThread(hc, base, v.token, v.thread)
		if err != nil {
			t.Fatal(err)
		}
		if want, got, _ := bot.compare(v, msgs); !slices.Equal(want, got) {
			t.Errorf("the bot's answers to %s changed later:\n%s", v.name, engTranscript(v, bot, msgs, crash.note(v.thread)))
		}
	}
}

// engCrash is what the dead process left in its database.
type engCrash struct {
	outbox int               // events not yet published
	behind int               // customer messages the bot had not taken
	state  map[string]string // thread → its live engagement's state
	last   map[string]string // thread → the last customer message the bot took
	// unpublished are the chat messages whose events were still in the
	// outbox.
	unpublished map[string]bool
}

// note marks a message with what the crash left of it, for failures.
func (c engCrash) note(thread string) func(engMsg) string {
	return func(m engMsg) string {
		var n []string
		if c.unpublished[m.ID] {
			n = append(n, "its event was in the outbox at the crash")
		}
		if c.last[thread] == m.ID {
			n = append(n, "the last message the bot had taken at the crash")
		}
		return strings.Join(n, "; ")
	}
}

var engMessageIDs = regexp.MustCompile(`"messageId":"([0-9]+)"`)

// engAtCrash reads the stopped node's database in dataDir (nothing holds
// it now): how much work the kill left half done.
func engAtCrash(t *testing.T, dataDir string, vs []engVisitor) engCrash {
	t.Helper()
	ctx := context.Background()
	st, err := app.OpenStore(ctx, config.Config{DataDir: dataDir})
	if err != nil {
		t.Fatalf("open the crashed node's store: %v", err)
	}
	defer st.DB().Close()
	c := engCrash{state: map[string]string{}, last: map[string]string{}, unpublished: map[string]bool{}}
	var data sql.NullString
	if err := st.DB().RawQueryRow(ctx, `SELECT group_concat(CAST(data AS TEXT), ' ') FROM outbox WHERE type = $1`,
		"Microsoft.Communication.ChatMessageReceivedInThread").Scan(&data); err != nil {
		t.Fatal(err)
	}
	for _, m := range engMessageIDs.FindAllStringSubmatch(data.String, -1) {
		c.unpublished[m[1]] = true
	}
	if err := st.DB().RawQueryRow(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&c.outbox); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		var state, doc string
		if err := st.DB().RawQueryRow(ctx, `SELECT state, doc FROM engagements WHERE thread_id = $1 AND state <> 'ended'`, v.thread).Scan(&state, &doc); err != nil {
			t.Fatalf("%s's engagement at the crash: %v", v.name, err)
		}
		c.state[v.thread] = state
		var e struct {
			LastMessage string `json:"lastMessage"`
		}
		if err := json.Unmarshal([]byte(doc), &e); err != nil {
			t.Fatal(err)
		}
		c.last[v.thread] = e.LastMessage
		if state != "bot" {
			continue
		}
		var n int
		if err := st.DB().RawQueryRow(ctx, `SELECT COUNT(*) FROM chat_messages WHERE thread_id = $1 AND sender = $2 AND type = 'text' AND id > $3`,
			v.thread, v.identity, e.LastMessage).Scan(&n); err != nil {
			t.Fatal(err)
		}
		c.behind += n
	}
	return c
}

// TestTwoProcessesHandOffOnce runs two real server processes on the local
// PostgreSQL and NATS. Visitors talk to the bot through node A until it
// hands them off; agent1, working through node B, is offered each of them
// there (listed, and notified on B's socket), accepts through B and
// answers, and the visitor hears the answer through A. The shared durable
// consumer gives each event to one node: each thread has one engagement, one
// greeting and each bot answer once, and each offer is announced once.
func TestTwoProcessesHandOffOnce(t *testing.T) {
	bin := buildSwitchboard(t)
	natsURL := switchboardtest.NATSURL()
	common := []string{"--database", switchboardtest.FreshPostgres(t), "--nats", natsURL,
		"--nats-namespace", switchboardtest.FreshNATSNamespace(t, natsURL), "--master-key", switchboardtest.NewMasterKey(), "--log-level", "warn"}
	start := func() string {
		addr := crashFreeAddr(t)
		args := append([]string{"serve", "--demo", "--data", t.TempDir(), "--http-addr", addr, "--https-addr", crashFreeAddr(t)}, common...)
		startCrashServer(t, bin, args...)
		return "http://" + addr
	}
	baseA := start()
	baseB := start()
	hc := &http.Client{Timeout: 20 * time.Second}
	bot := engDemoBot(t, hc, baseA)
	sup := engLogin(t, hc, baseA, "supervisor")

	// Four customers, so that both nodes take part of the work; each
	// writes after reading the bot's answer, as people do.
	var vs []engVisitor
	for _, name := range []string{"Intan", "Joko", "Kartika", "Lukas"} {
		vs = append(vs, engNewVisitor(t, hc, baseA, name))
	}
	engagementOf := map[string]string{}
	for _, v := range vs {
		engConverse(t, hc, baseA, bot, v, nil)
		engConverse(t, hc, baseA, bot, v, []string{"Can I talk to a human?", strings.ToLower(v.name) + "@example.com"})
		switchboardtest.Eventually(t, 20*time.Second, func() error {
			es := engEngagements(t, sup)[v.thread]
			if len(es) != 1 || es[0]["state"] != "queued" {
				return fmt.Errorf("%s's engagements: %v", v.name, es)
			}
			engagementOf[v.thread] = es[0]["id"].(string)
			return nil
		})
	}
	// Handled once: one engagement per thread, one greeting, each answer
	// of the bot once.
	handledOnce := func(state, agent string) {
		t.Helper()
		byThread := engEngagements(t, sup)
		for _, v := range vs {
			if es := byThread[v.thread]; len(es) != 1 || es[0]["id"] != engagementOf[v.thread] || es[0]["state"] != state || engAgent(es[0]) != agent {
				t.Errorf("%s's thread has engagements %v, want only %s, %s by %q", v.name, es, engagementOf[v.thread], state, agent)
			}
			msgs, err := engThread(hc, baseA, v.token, v.thread)
			if err != nil {
				t.Fatal(err)
			}
			if want, got, _ := bot.compare(v, msgs); !slices.Equal(want, got) {
				t.Errorf("the bot's answers to %s are not the flow's, each once:\n%s", v.name, engTranscript(v, bot, msgs))
			}
			greetings := 0
			for _, m := range msgs {
				if m.Role == "bot" && strings.HasPrefix(m.Text, "Hi "+v.name+"!") {
					greetings++
				}
			}
			if greetings != 1 {
				t.Errorf("%s was greeted %d times", v.name, greetings)
			}
		}
	}
	handledOnce("queued", "")

	// The waiting customer's place, asked through either node.
	for _, v := range vs {
		for _, node := range []struct{ name, base string }{{"A", baseA}, {"B", baseB}} {
			err := engWithin(10*time.Second, func() error {
				p, err := engPosition(hc, node.base, v)
				if err != nil {
					return err
				}
				if p.State != "queued" || p.Position < 1 || p.EngagementID != engagementOf[v.thread] {
					return fmt.Errorf("%+v", p)
				}
				return nil
			})
			if err != nil {
				t.Errorf("%s, queued, asks for their place through node %s: %v", v.name, node.name, err)
			}
		}
	}

	// agent1 works through node B.
	agent := engLogin(t, hc, baseB, "agent1")
	token := engJSON(t, agent.must(t, "POST", "/agent/session"+engVersion, nil, http.StatusOK))["token"].(string)
	desk := engListen(t, baseB, token)
	agent.must(t, "PUT", "/agent/presence"+engVersion, map[string]any{"status": "available"}, http.StatusOK)
	offered := map[string]string{} // thread → offer
	for i, v := range vs {
		offer := engWaitOffer(t, agent, v, 20*time.Second)
		id := offer["offerId"].(string)
		if offer["engagementId"] != engagementOf[v.thread] {
			t.Fatalf("%s's offer on B is for engagement %v, want %s", v.name, offer["engagementId"], engagementOf[v.thread])
		}
		offered[v.thread] = id
		desk.wait(t, "agentOfferIssued", func(d map[string]any) bool { return d["offerId"] == id })
		var heard *engSocket
		if i == 0 {
			heard = engListen(t, baseA, v.token)
		}
		e := engJSON(t, agent.must(t, "POST", "/agent/offers/"+url.PathEscape(id)+":accept"+engVersion, nil, http.StatusOK))
		if e["state"] != "assigned" || e["threadId"] != v.thread || e["agentId"] != agent.userID {
			t.Fatalf("accepting %s's offer through B answered %v", v.name, e)
		}
		desk.wait(t, "agentOfferEnded", func(d map[string]any) bool { return d["offerId"] == id && d["reason"] == "Accepted" })
		reply := "Hi " + v.name + ", Alex here. How can I help?"
		code, raw, err := crashUser{token: token}.do(hc, baseB, "POST", engMessagesPath(v.thread), map[string]string{"content": reply})
		if err != nil || code != http.StatusCreated {
			t.Fatalf("the agent answering %s through B: %d %s %v", v.name, code, raw, err)
		}
		if heard != nil {
			heard.wait(t, "chatMessageReceived", func(d map[string]any) bool { return d["message"] == reply })
		}
		engWaitText(t, hc, baseA, v, reply)
	}

	handledOnce("assigned", agent.userID)
	desk.mu.Lock()
	defer desk.mu.Unlock()
	issued := map[string]int{}
	for _, f := range desk.frames {
		if f["name"] == "agentOfferIssued" {
			d, _ := f["data"].(map[string]any)
			th, _ := d["labels"].(map[string]any)["threadId"].(string)
			issued[th]++
			if d["offerId"] != offered[th] {
				t.Errorf("an offer %v for %s that is not the one accepted (%s)", d["offerId"], th, offered[th])
			}
		}
	}
	for _, v := range vs {
		if issued[v.thread] != 1 {
			t.Errorf("%s's offer was announced %d times on the desk's socket", v.name, issued[v.thread])
		}
	}
}

// engBot is the oracle for the demo's English bot: its flow, run on its own
// over a thread's customer messages, says what the bot must have said.
type engBot struct {
	flow *flow.Flow
	open bool
}

// engDemoBot reads whether the demo's web chat is open now (the flow says
// different things when closed) and loads the English demo flow.
func engDemoBot(t *testing.T, hc *http.Client, base string) engBot {
	t.Helper()
	f, err := flow.Parse(flow.Demo("en"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(base + "/webchat/demo/config" + engVersion)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cfg struct{ Open *bool }
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil || cfg.Open == nil {
		t.Fatalf("web chat config: %d %v", resp.StatusCode, err)
	}
	return engBot{flow: f, open: *cfg.Open}
}

// replies is what the bot says to a customer named name who wrote texts:
// the greeting, then each answer once, until it hands off (handedOff) or
// the flow ends.
func (b engBot) replies(name string, texts []string) (say []string, handedOff bool) {
	contact := map[string]string{"name": name}
	st, out := b.flow.Step(flow.State{}, flow.Input{Kind: flow.Start, Open: b.open, Contact: contact})
	say = append(say, out.Say...)
	for _, text := range texts {
		if st.Done() {
			break
		}
		st, out = b.flow.Step(st, flow.Input{Kind: flow.Message, Text: text, Open: b.open, Contact: contact})
		say = append(say, out.Say...)
	}
	return say, st.Status == flow.HandedOff
}

// compare returns what the bot must have said in v's thread, given the
// customer's messages in it, and what it did say.
func (b engBot) compare(v engVisitor, msgs []engMsg) (want, got []string, handedOff bool) {
	var texts []string
	for _, m := range msgs {
		switch {
		case m.Sender == v.identity:
			texts = append(texts, m.Text)
		case m.Role == "bot":
			got = append(got, m.Text)
		}
	}
	want, handedOff = b.replies(v.name, texts)
	return want, got, handedOff
}

// engTranscript shows a thread with what the flow expects, for failures;
// notes (when given) add what is known of a message.
func engTranscript(v engVisitor, b engBot, msgs []engMsg, notes ...func(engMsg) string) string {
	var sb strings.Builder
	for _, m := range msgs {
		who := m.Role
		if m.Sender == v.identity {
			who = "customer"
		}
		fmt.Fprintf(&sb, "  #%d %s %s: %q", m.Seq, m.ID, who, m.Text)
		for _, n := range notes {
			if s := n(m); s != "" {
				fmt.Fprintf(&sb, "  [%s]", s)
			}
		}
		sb.WriteString("\n")
	}
	want, _, _ := b.compare(v, msgs)
	fmt.Fprintf(&sb, "the flow's answers, once each:\n")
	for _, s := range want {
		fmt.Fprintf(&sb, "  %q\n", s)
	}
	return sb.String()
}

// engVisitor is a web chat customer as the widget holds them.
type engVisitor struct {
	name, token, identity, thread string
}

func engNewVisitor(t *testing.T, hc *http.Client, base, name string) engVisitor {
	t.Helper()
	resp, err := hc.Post(base+"/webchat/demo/sessions"+engVersion, "application/json", jsonBody(map[string]any{"displayName": name, "locale": "en"}))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sess struct {
		Token    string `json:"token"`
		ThreadID string `json:"threadId"`
		Identity struct {
			RawID string `json:"rawId"`
		} `json:"identity"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&sess); err != nil || resp.StatusCode != http.StatusCreated || sess.Token == "" {
		t.Fatalf("web chat session for %s: %d %v", name, resp.StatusCode, err)
	}
	return engVisitor{name: name, token: sess.Token, identity: sess.Identity.RawID, thread: sess.ThreadID}
}

func engMessagesPath(thread string) string {
	return "/chat/threads/" + url.PathEscape(thread) + "/messages?api-version=2025-03-15"
}

// engConverse has v write texts one at a time, each after the bot has
// answered everything before it, as a person reading the answers does.
func engConverse(t *testing.T, hc *http.Client, base string, b engBot, v engVisitor, texts []string) {
	t.Helper()
	settle := func() {
		t.Helper()
		switchboardtest.Eventually(t, 20*time.Second, func() error {
			msgs, err := engThread(hc, base, v.token, v.thread)
			if err != nil {
				return err
			}
			want, got, _ := b.compare(v, msgs)
			if slices.Equal(want, got) {
				return nil
			}
			if len(got) < len(want) && slices.Equal(got, want[:len(got)]) {
				return fmt.Errorf("the bot has said %d of the %d messages it owes %s:\n%s", len(got), len(want), v.name, engTranscript(v, b, msgs))
			}
			t.Fatalf("the bot's answers to %s are not the flow's, each once:\n%s", v.name, engTranscript(v, b, msgs))
			return nil
		})
	}
	settle()
	for _, text := range texts {
		code, raw, err := crashUser{token: v.token}.do(hc, base, "POST", engMessagesPath(v.thread), map[string]string{"content": text})
		if err != nil || code != http.StatusCreated {
			t.Fatalf("%s writing %q: %d %s %v", v.name, text, code, raw, err)
		}
		settle()
	}
}

// engMsg is a text message of a thread.
type engMsg struct {
	ID, Sender, Text, Role string
	Seq                    int
}

// engThread lists a thread's text messages, oldest first, as the holder of
// token sees them.
func engThread(hc *http.Client, base, token, thread string) ([]engMsg, error) {
	var out []engMsg
	next := engMessagesPath(thread) + "&maxPageSize=200"
	for next != "" {
		code, raw, err := crashUser{token: token}.do(hc, base, "GET", next, nil)
		if err != nil || code != http.StatusOK {
			return nil, fmt.Errorf("list %s: %d %s %v", thread, code, raw, err)
		}
		var page struct {
			Value []struct {
				ID         string `json:"id"`
				Type       string `json:"type"`
				SequenceID string `json:"sequenceId"`
				Content    struct {
					Message string `json:"message"`
				} `json:"content"`
				Sender struct {
					RawID string `json:"rawId"`
				} `json:"senderCommunicationIdentifier"`
				Metadata map[string]string `json:"metadata"`
			} `json:"value"`
			NextLink *string `json:"nextLink"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return nil, err
		}
		for _, m := range page.Value {
			if m.Type != "text" && m.Type != "html" {
				continue
			}
			seq, err := strconv.Atoi(m.SequenceID)
			if err != nil {
				return nil, fmt.Errorf("message %s has sequenceId %q", m.ID, m.SequenceID)
			}
			out = append(out, engMsg{ID: m.ID, Sender: m.Sender.RawID, Text: m.Content.Message, Role: m.Metadata["role"], Seq: seq})
		}
		next = ""
		if page.NextLink != nil {
			u, err := url.Parse(*page.NextLink)
			if err != nil {
				return nil, err
			}
			next = u.RequestURI()
		}
	}
	slices.SortFunc(out, func(a, b engMsg) int { return a.Seq - b.Seq })
	return out, nil
}

// engWaitText waits until v sees a message containing text.
func engWaitText(t *testing.T, hc *http.Client, base string, v engVisitor, text string) {
	t.Helper()
	switchboardtest.Eventually(t, 20*time.Second, func() error {
		msgs, err := engThread(hc, base, v.token, v.thread)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if strings.Contains(m.Text, text) {
				return nil
			}
		}
		return fmt.Errorf("%s does not see %q", v.name, text)
	})
}

type engPos struct {
	EngagementID string `json:"engagementId"`
	State        string `json:"state"`
	Position     int    `json:"position"`
}

// engPosition is GET /webchat/position as v's widget asks it.
func engPosition(hc *http.Client, base string, v engVisitor) (engPos, error) {
	var p engPos
	code, raw, err := crashUser{token: v.token}.do(hc, base, "GET", "/webchat/position"+engVersion+"&threadId="+url.QueryEscape(v.thread), nil)
	if err != nil || code != http.StatusOK {
		return p, fmt.Errorf("position: %d %s %v", code, raw, err)
	}
	return p, json.Unmarshal(raw, &p)
}

// engWaitState waits until v's engagement is in state and returns its id.
func engWaitState(t *testing.T, hc *http.Client, base string, v engVisitor, state string, timeout time.Duration) string {
	t.Helper()
	var p engPos
	switchboardtest.Eventually(t, timeout, func() error {
		var err error
		if p, err = engPosition(hc, base, v); err != nil {
			return err
		}
		if p.State != state || p.EngagementID == "" {
			return fmt.Errorf("%s is %+v, want %s", v.name, p, state)
		}
		return nil
	})
	return p.EngagementID
}

// engWithin polls cond until it returns nil or timeout passes, and returns
// its last error: for checks that should not stop the test.
func engWithin(timeout time.Duration, cond func() error) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-deadline:
			return err
		case <-tick.C:
		}
	}
}

// engStaff is a person logged in through a node, with the session cookie
// and CSRF token a browser holds.
type engStaff struct {
	base, userID, csrf string
	cookie             *http.Cookie
	hc                 *http.Client
}

// engLogin logs a demo person in (passwords from app.DemoLogins).
func engLogin(t *testing.T, hc *http.Client, base, username string) *engStaff {
	t.Helper()
	password := ""
	for _, l := range app.DemoLogins {
		if l.Username == username {
			password = l.Password
		}
	}
	resp, err := hc.Post(base+"/auth/login"+engVersion, "application/json", jsonBody(map[string]string{"tenant": app.DemoTenant, "username": username, "password": password}))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		User      struct{ ID string }
		CSRFToken string `json:"csrfToken"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %v", username, resp.StatusCode, err)
	}
	s := &engStaff{base: base, userID: out.User.ID, csrf: out.CSRFToken, hc: hc}
	for _, c := range resp.Cookies() {
		if c.Name == "sb_session" {
			s.cookie = c
		}
	}
	if s.cookie == nil || s.csrf == "" || s.userID == "" {
		t.Fatalf("login %s answered without a session", username)
	}
	return s
}

func (s *engStaff) call(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = jsonBody(body)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.AddCookie(s.cookie)
	if method != http.MethodGet {
		req.Header.Set("X-CSRF-Token", s.csrf)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

func (s *engStaff) must(t *testing.T, method, path string, body any, want int) []byte {
	t.Helper()
	code, raw, err := s.call(method, path, body)
	if err != nil || code != want {
		t.Fatalf("%s %s: %d %s %v, want %d", method, path, code, raw, err, want)
	}
	return raw
}

func engJSON(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	return switchboardtest.JSON(t, raw)
}

// engWaitOffer waits until the agent holds an offer for v's thread.
func engWaitOffer(t *testing.T, agent *engStaff, v engVisitor, timeout time.Duration) map[string]any {
	t.Helper()
	var offer map[string]any
	switchboardtest.Eventually(t, timeout, func() error {
		code, raw, err := agent.call("GET", "/agent/offers"+engVersion, nil)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("offers: %d %s %v", code, raw, err)
		}
		var page struct{ Value []map[string]any }
		if err := json.Unmarshal(raw, &page); err != nil {
			return err
		}
		for _, o := range page.Value {
			if labels, _ := o["labels"].(map[string]any); labels["threadId"] == v.thread {
				offer = o
				return nil
			}
		}
		return fmt.Errorf("no offer for %s's thread %s; the offers: %s", v.name, v.thread, raw)
	})
	return offer
}

// engEngagements lists the tenant's engagements by thread, as a supervisor.
func engEngagements(t *testing.T, sup *engStaff) map[string][]map[string]any {
	t.Helper()
	var page struct{ Value []map[string]any }
	if err := json.Unmarshal(sup.must(t, "GET", "/engagements"+engVersion, nil, http.StatusOK), &page); err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	for _, e := range page.Value {
		th, _ := e["threadId"].(string)
		out[th] = append(out[th], e)
	}
	return out
}

// engAgent is the agent an engagement is with ("" for none).
func engAgent(e map[string]any) string {
	a, _ := e["agentId"].(string)
	return a
}

// engJobs lists the tenant's router jobs' statuses by engagement.
func engJobs(t *testing.T, c routerClient) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	next := "/routing/jobs" + routerVersion + "&maxPageSize=100"
	for next != "" {
		var page struct {
			Value []struct {
				Status string         `json:"status"`
				Labels map[string]any `json:"labels"`
			} `json:"value"`
			NextLink *string `json:"nextLink"`
		}
		if err := json.Unmarshal(c.must(t, "GET", next, nil, http.StatusOK), &page); err != nil {
			t.Fatal(err)
		}
		for _, j := range page.Value {
			id, _ := j.Labels["engagementId"].(string)
			out[id] = append(out[id], j.Status)
		}
		next = ""
		if page.NextLink != nil {
			u, err := url.Parse(*page.NextLink)
			if err != nil {
				t.Fatal(err)
			}
			next = u.RequestURI()
		}
	}
	return out
}

// engSocket is a /realtime connection whose event frames are kept as they
// arrive.
type engSocket struct {
	mu     sync.Mutex
	frames []map[string]any
	closed error
}

func engListen(t *testing.T, base, token string) *engSocket {
	t.Helper()
	ws, replay, _ := rtDial(t, base, token, "")
	s := &engSocket{frames: replay}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		_ = ws.CloseNow()
		<-done
	})
	go func() {
		defer close(done)
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				s.mu.Lock()
				s.closed = err
				s.mu.Unlock()
				return
			}
			var f map[string]any
			if json.Unmarshal(data, &f) == nil && f["type"] == "event" {
				s.mu.Lock()
				s.frames = append(s.frames, f)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// wait waits for an event frame named name whose data match accepts.
func (s *engSocket) wait(t *testing.T, name string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	var found map[string]any
	switchboardtest.Eventually(t, 20*time.Second, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, f := range s.frames {
			if d, _ := f["data"].(map[string]any); f["name"] == name && match(d) {
				found = d
				return nil
			}
		}
		if s.closed != nil {
			t.Fatalf("the socket closed before %s: %v", name, s.closed)
		}
		return fmt.Errorf("no %s frame among %d", name, len(s.frames))
	})
	return found
}
