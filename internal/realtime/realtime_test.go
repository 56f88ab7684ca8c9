package realtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

const chatVersion = "?api-version=2025-03-15"

// user is a communication identity with a chat token.
type user struct {
	id, token string
}

func newUser(t *testing.T, c *switchboardtest.Client) user {
	t.Helper()
	u := c.NewUser(t)
	return user{id: u.ID, token: u.Token}
}

// rest calls the chat API as u over plain HTTP.
func rest(t *testing.T, base string, u user, method, path string, body any) (int, map[string]any) {
	t.Helper()
	resp, raw := switchboardtest.User{ID: u.id, Token: u.token, Base: base}.Do(t, method, path, body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func createThread(t *testing.T, base string, owner user, others ...user) string {
	t.Helper()
	var ps []map[string]any
	for _, o := range others {
		ps = append(ps, map[string]any{"communicationIdentifier": map[string]any{"rawId": o.id, "communicationUser": map[string]any{"id": o.id}}})
	}
	code, out := rest(t, base, owner, "POST", "/chat/threads"+chatVersion, map[string]any{"topic": "rt", "participants": ps})
	if code != http.StatusCreated {
		t.Fatalf("create thread: %d %v", code, out)
	}
	return out["chatThread"].(map[string]any)["id"].(string)
}

func send(t *testing.T, base string, u user, thread, text string) string {
	t.Helper()
	code, out := rest(t, base, u, "POST", "/chat/threads/"+url.PathEscape(thread)+"/messages"+chatVersion, map[string]any{"content": text})
	if code != http.StatusCreated {
		t.Fatalf("send: %d %v", code, out)
	}
	return out["id"].(string)
}

type frame struct {
	Type     string          `json:"type"`
	Name     string          `json:"name"`
	Position string          `json:"position"`
	Data     json.RawMessage `json:"data"`
	raw      []byte
}

func (f frame) field(t *testing.T, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.Data, &m); err != nil {
		t.Fatalf("frame data %s: %v", f.Data, err)
	}
	return m[name]
}

type client struct {
	ws      *websocket.Conn
	ready   frame
	replay  []frame
	resync  bool
	frames  chan frame
	closed  chan websocket.StatusCode
	lastPos string
}

func wsURL(httpBase string) string { return "ws" + strings.TrimPrefix(httpBase, "http") + "/realtime" }

// dial connects, says hello, and reads up to ready (collecting the replay).
func dial(t *testing.T, base, token, resume string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, wsURL(base), &websocket.DialOptions{Subprotocols: []string{"switchboard.v1"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	hello := map[string]any{"type": "hello", "token": token}
	if resume != "" {
		hello["resume"] = resume
	}
	raw, _ := json.Marshal(hello)
	if err := ws.Write(ctx, websocket.MessageText, raw); err != nil {
		t.Fatal(err)
	}
	c := &client{ws: ws, frames: make(chan frame, 1024), closed: make(chan websocket.StatusCode, 1)}
	for {
		f, err := readFrame(ctx, ws)
		if err != nil {
			t.Fatalf("before ready: %v", err)
		}
		switch f.Type {
		case "ready":
			c.ready = f
			go c.pump()
			return c
		case "resyncRequired":
			c.resync = true
		case "event":
			c.replay = append(c.replay, f)
		default:
			t.Fatalf("unexpected frame before ready: %s", f.raw)
		}
	}
}

func readFrame(ctx context.Context, ws *websocket.Conn) (frame, error) {
	_, data, err := ws.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("frame %q: %w", data, err)
	}
	f.raw = data
	return f, nil
}

func (c *client) pump() {
	for {
		f, err := readFrame(context.Background(), c.ws)
		if err != nil {
			c.closed <- websocket.CloseStatus(err)
			close(c.frames)
			return
		}
		c.frames <- f
	}
}

// next returns the next event frame (skipping heartbeats).
func (c *client) next(t *testing.T) frame {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatalf("connection closed (%v) while waiting for an event", <-c.closed)
			}
			if f.Type == "event" {
				if f.Position != "" {
					c.lastPos = f.Position
				}
				return f
			}
		case <-timeout:
			t.Fatal("no event within 10s")
		}
	}
}

// closeCode waits for the server to close the socket.
func (c *client) closeCode(t *testing.T) websocket.StatusCode {
	t.Helper()
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				return <-c.closed
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not close the socket")
		}
	}
}

func thread(t *testing.T, f frame) string {
	t.Helper()
	v, _ := f.field(t, "threadId").(string)
	return v
}

func recipient(t *testing.T, f frame) string {
	t.Helper()
	r, _ := f.field(t, "recipient").(map[string]any)
	v, _ := r["rawId"].(string)
	return v
}

// messages returns the ids of the first n chatMessageReceived events, from
// the replay and then live, with their positions. Which side of ready an
// event lands on depends on when the relay published it; together they
// must be exact.
func (c *client) messages(t *testing.T, n int) (ids, positions []string) {
	t.Helper()
	for _, f := range c.replay {
		if f.Name == "chatMessageReceived" {
			ids, positions = append(ids, f.field(t, "id").(string)), append(positions, f.Position)
		}
	}
	for len(ids) < n {
		f := c.next(t)
		if f.Name == "chatMessageReceived" {
			ids, positions = append(ids, f.field(t, "id").(string)), append(positions, f.Position)
		}
	}
	return ids, positions
}

// expect reads the next event and checks its name and thread.
func (c *client) expect(t *testing.T, name, threadID string) frame {
	t.Helper()
	f := c.next(t)
	if f.Name != name || thread(t, f) != threadID {
		t.Fatalf("want %s in %s, got %s", name, threadID, f.raw)
	}
	return f
}

func TestDeliveryToParticipants(t *testing.T) {
	s := switchboardtest.Start(t)
	hc := s.Client(t)
	alice, bob, eve := newUser(t, hc), newUser(t, hc), newUser(t, hc)
	ca := dial(t, s.HTTPURL, alice.token, "")
	cb := dial(t, s.HTTPURL, bob.token, "")
	ce := dial(t, s.HTTPURL, eve.token, "")
	th := createThread(t, s.HTTPURL, alice, bob)
	for _, c := range []*client{ca, cb} {
		f := c.expect(t, "chatThreadCreated", th)
		if ps, _ := f.field(t, "participants").([]any); len(ps) != 2 {
			t.Fatalf("participants in %s", f.raw)
		}
	}

	id := send(t, s.HTTPURL, alice, th, "hi bob")
	for _, pair := range []struct {
		c  *client
		to user
	}{{cb, bob}, {ca, alice}} {
		f := pair.c.expect(t, "chatMessageReceived", th)
		if f.field(t, "id") != id || f.field(t, "message") != "hi bob" || f.Position == "" || recipient(t, f) != pair.to.id {
			t.Fatalf("got %s", f.raw)
		}
		sender, _ := f.field(t, "sender").(map[string]any)
		if sender["rawId"] != alice.id {
			t.Fatalf("sender in %s", f.raw)
		}
	}

	// Typing and receipts reach the others, never their sender.
	if code, out := rest(t, s.HTTPURL, bob, "POST", "/chat/threads/"+url.PathEscape(th)+"/typing"+chatVersion, map[string]any{"senderDisplayName": "Bob"}); code != 200 {
		t.Fatalf("typing: %d %v", code, out)
	}
	f := ca.expect(t, "typingIndicatorReceived", th)
	if f.Position != "" || f.field(t, "senderDisplayName") != "Bob" {
		t.Fatalf("typing is ephemeral and named: %s", f.raw)
	}
	if code, out := rest(t, s.HTTPURL, bob, "POST", "/chat/threads/"+url.PathEscape(th)+"/readReceipts"+chatVersion, map[string]any{"chatMessageId": id}); code != 200 {
		t.Fatalf("receipt: %d %v", code, out)
	}
	if f := ca.expect(t, "readReceiptReceived", th); f.field(t, "chatMessageId") != id {
		t.Fatalf("receipt: %s", f.raw)
	}

	// Edit, delete, topic change, participants: everyone in the thread hears.
	msgPath := "/chat/threads/" + url.PathEscape(th) + "/messages/" + id + chatVersion
	if code, _ := rest(t, s.HTTPURL, alice, "PATCH", msgPath, map[string]any{"content": "hi Bob"}); code != 204 {
		t.Fatalf("edit: %d", code)
	}
	if code, _ := rest(t, s.HTTPURL, alice, "DELETE", msgPath, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := rest(t, s.HTTPURL, alice, "PATCH", "/chat/threads/"+url.PathEscape(th)+chatVersion, map[string]any{"topic": "renamed"}); code != 204 {
		t.Fatalf("topic: %d", code)
	}
	for _, c := range []*client{ca, cb} {
		if f := c.expect(t, "chatMessageEdited", th); f.field(t, "message") != "hi Bob" || f.field(t, "editedOn") == nil {
			t.Fatalf("edited: %s", f.raw)
		}
		c.expect(t, "chatMessageDeleted", th)
		if f := c.expect(t, "chatThreadPropertiesUpdated", th); f.field(t, "properties").(map[string]any)["topic"] != "renamed" {
			t.Fatalf("updated: %s", f.raw)
		}
	}

	// A removed participant hears of the removal and nothing after it.
	rm := map[string]any{"rawId": bob.id, "communicationUser": map[string]any{"id": bob.id}}
	if code, _ := rest(t, s.HTTPURL, alice, "POST", "/chat/threads/"+url.PathEscape(th)+"/participants/:remove"+chatVersion, rm); code != 204 {
		t.Fatalf("remove: %d", code)
	}
	send(t, s.HTTPURL, alice, th, "bob is gone")
	cb.expect(t, "participantsRemoved", th)
	ca.expect(t, "participantsRemoved", th)
	ca.expect(t, "chatMessageReceived", th)
	// Events arrive in commit order, so if Bob (or Eve, never a member) had
	// been sent anything more, it would come before their own new thread.
	own := createThread(t, s.HTTPURL, bob)
	cb.expect(t, "chatThreadCreated", own)
	eves := createThread(t, s.HTTPURL, eve)
	ce.expect(t, "chatThreadCreated", eves)

	// Joining and deletion reach everyone in the thread, the newcomer too.
	add := map[string]any{"participants": []any{map[string]any{"communicationIdentifier": map[string]any{"rawId": eve.id}, "displayName": "Eve"}}}
	if code, out := rest(t, s.HTTPURL, alice, "POST", "/chat/threads/"+url.PathEscape(th)+"/participants/:add"+chatVersion, add); code != 201 {
		t.Fatalf("add: %d %v", code, out)
	}
	for _, c := range []*client{ca, ce} {
		f := c.expect(t, "participantsAdded", th)
		if ps, _ := f.field(t, "participantsAdded").([]any); len(ps) != 1 || ps[0].(map[string]any)["displayName"] != "Eve" {
			t.Fatalf("participantsAdded: %s", f.raw)
		}
	}
	if code, _ := rest(t, s.HTTPURL, alice, "DELETE", "/chat/threads/"+url.PathEscape(th)+chatVersion, nil); code != 204 {
		t.Fatalf("delete thread: %d", code)
	}
	for _, c := range []*client{ca, ce} {
		if f := c.expect(t, "chatThreadDeleted", th); f.field(t, "deletedOn") == nil {
			t.Fatalf("deleted: %s", f.raw)
		}
	}
}

func TestHeartbeat(t *testing.T) {
	s := switchboardtest.Start(t, switchboardtest.WithConfig(func(c *config.Config) { c.Realtime.Heartbeat = 200 * time.Millisecond }))
	c := dial(t, s.HTTPURL, newUser(t, s.Client(t)).token, "")
	var ready map[string]any
	_ = json.Unmarshal(c.ready.raw, &ready)
	if ready["heartbeatSeconds"] == nil {
		t.Fatalf("ready without heartbeatSeconds: %s", c.ready.raw)
	}
	// An idle connection hears pings (two, so it is periodic), and stays open.
	for pings := 0; pings < 2; {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatalf("closed while idle: %v", <-c.closed)
			}
			if f.Type == "ping" {
				pings++
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no heartbeat")
		}
	}
}

func TestResumeLosesNothingAndRepeatsNothing(t *testing.T) {
	s := switchboardtest.Start(t)
	hc := s.Client(t)
	alice, bob := newUser(t, hc), newUser(t, hc)
	th := createThread(t, s.HTTPURL, alice, bob)
	first := dial(t, s.HTTPURL, bob.token, "")
	start := first.ready.Position
	if start == "" {
		t.Fatal("ready carries a position")
	}
	_ = first.ws.Close(websocket.StatusNormalClosure, "")

	var sent []string
	for i := range 3 {
		sent = append(sent, send(t, s.HTTPURL, alice, th, fmt.Sprintf("m%d", i)))
	}
	again := dial(t, s.HTTPURL, bob.token, start)
	got, positions := again.messages(t, 3)
	if strings.Join(got, ",") != strings.Join(sent, ",") {
		t.Fatalf("received %v, sent %v", got, sent)
	}
	// Live delivery continues after ready with no repeats.
	live := send(t, s.HTTPURL, alice, th, "live")
	if f := again.expect(t, "chatMessageReceived", th); f.field(t, "id") != live {
		t.Fatalf("after ready got %s (a replayed event again?)", f.raw)
	}
	// Resuming from the middle gives exactly what came after it.
	_ = again.ws.Close(websocket.StatusNormalClosure, "")
	mid := dial(t, s.HTTPURL, bob.token, positions[1])
	rest, _ := mid.messages(t, 2)
	if strings.Join(rest, ",") != sent[2]+","+live {
		t.Fatalf("from the middle got %v, want [%s %s]", rest, sent[2], live)
	}
	marker := send(t, s.HTTPURL, alice, th, "marker")
	if f := mid.expect(t, "chatMessageReceived", th); f.field(t, "id") != marker {
		t.Fatalf("a repeat after the resume: %s", f.raw)
	}
}

func TestResyncWhenPositionIsGone(t *testing.T) {
	s := switchboardtest.Start(t)
	hc := s.Client(t)
	alice, bob := newUser(t, hc), newUser(t, hc)
	c := dial(t, s.HTTPURL, bob.token, "")
	old := c.ready.Position
	th := createThread(t, s.HTTPURL, alice, bob)
	c.expect(t, "chatThreadCreated", th)
	send(t, s.HTTPURL, alice, th, "before the purge")
	c.expect(t, "chatMessageReceived", th)
	stream, err := s.App.Bus.JetStream().Stream(context.Background(), s.App.Bus.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	again := dial(t, s.HTTPURL, bob.token, old)
	if !again.resync || len(again.replay) != 0 {
		t.Fatalf("resync %v, replayed %d", again.resync, len(again.replay))
	}
	send(t, s.HTTPURL, alice, th, "after")
	again.expect(t, "chatMessageReceived", th)
}

func TestSlowConsumerIsCutOffAlone(t *testing.T) {
	s := switchboardtest.Start(t, switchboardtest.WithConfig(func(c *config.Config) { c.Realtime.QueueLength = 32 }))
	hc := s.Client(t)
	alice, bob := newUser(t, hc), newUser(t, hc)
	reader := dial(t, s.HTTPURL, alice.token, "")
	th := createThread(t, s.HTTPURL, alice, bob)
	reader.expect(t, "chatThreadCreated", th)

	// Bob's socket is never read, so once the kernel buffers are full the
	// server cannot write to it and his queue overflows.
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, wsURL(s.HTTPURL), &websocket.DialOptions{Subprotocols: []string{"switchboard.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	hello, _ := json.Marshal(map[string]string{"type": "hello", "token": bob.token})
	if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		if n := s.App.Hub.Connections(); n != 2 {
			return fmt.Errorf("%d connections", n)
		}
		return nil
	})
	big := strings.Repeat("x", 27000)
	var sent []string
	// Lock-step with Alice: each message is sent once she has the previous
	// one, so her queue never holds more than one; she is never slow.
	for i := 0; s.App.Hub.Connections() == 2; i++ {
		if i == 5000 {
			t.Fatal("bob was never cut off")
		}
		sent = append(sent, send(t, s.HTTPURL, alice, th, fmt.Sprintf("%d %s", i, big)))
		if f := reader.expect(t, "chatMessageReceived", th); f.field(t, "id") != sent[i] {
			t.Fatalf("alice got %s", f.field(t, "id"))
		}
	}
	t.Logf("bob was cut off after %d messages of 27 kB", len(sent))
	after := send(t, s.HTTPURL, alice, th, "after bob left")
	reader.expect(t, "chatMessageReceived", th)
	sent = append(sent, after)

	// Bob reconnects from the start and gets every message, once, in order.
	again := dial(t, s.HTTPURL, bob.token, "1")
	got, _ := again.messages(t, len(sent))
	if strings.Join(got, ",") != strings.Join(sent, ",") {
		t.Fatalf("bob resumed with %d messages, %d were sent", len(got), len(sent))
	}
}

func TestProtocolErrors(t *testing.T) {
	s := switchboardtest.Start(t, switchboardtest.WithConfig(func(c *config.Config) { c.Realtime.HelloTimeout = 300 * time.Millisecond }))
	alice := newUser(t, s.Client(t))
	ctx := context.Background()

	t.Run("no subprotocol", func(t *testing.T) {
		_, resp, err := websocket.Dial(ctx, wsURL(s.HTTPURL), nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("want HTTP 400, got %v %v", resp, err)
		}
	})
	cases := []struct {
		name   string
		frames []func(ws *websocket.Conn) error
		want   websocket.StatusCode
	}{
		{"bad token", []func(*websocket.Conn) error{text(`{"type":"hello","token":"nope"}`)}, 4401},
		{"not json", []func(*websocket.Conn) error{text(`hello`)}, 4400},
		{"binary", []func(*websocket.Conn) error{func(ws *websocket.Conn) error {
			return ws.Write(ctx, websocket.MessageBinary, []byte(`{"type":"hello"}`))
		}}, 4400},
		{"unknown type", []func(*websocket.Conn) error{text(`{"type":"hello","token":"` + alice.token + `"}`), text(`{"type":"subscribe"}`)}, 4400},
		{"bad resume", []func(*websocket.Conn) error{text(`{"type":"hello","token":"` + alice.token + `","resume":"x"}`)}, 4400},
		{"oversized frame", []func(*websocket.Conn) error{text(`{"type":"hello","token":"` + alice.token + `"}`), text(`{"type":"ping","pad":"` + strings.Repeat("a", 20000) + `"}`)}, websocket.StatusMessageTooBig},
		{"no hello", nil, 4408},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, _, err := websocket.Dial(ctx, wsURL(s.HTTPURL), &websocket.DialOptions{Subprotocols: []string{"switchboard.v1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			for _, f := range tc.frames {
				if err := f(ws); err != nil {
					t.Fatal(err)
				}
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			for {
				_, _, err := ws.Read(rctx)
				if err != nil {
					if got := websocket.CloseStatus(err); got != tc.want {
						t.Fatalf("closed with %d (%v), want %d", got, err, tc.want)
					}
					return
				}
			}
		})
	}

	t.Run("ping pong", func(t *testing.T) {
		c := dial(t, s.HTTPURL, alice.token, "")
		if err := text(`{"type":"ping"}`)(c.ws); err != nil {
			t.Fatal(err)
		}
		select {
		case f := <-c.frames:
			if f.Type != "pong" {
				t.Fatalf("got %s", f.raw)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no pong")
		}
	})

	t.Run("token refresh", func(t *testing.T) {
		c := dial(t, s.HTTPURL, alice.token, "")
		resp, body := s.Client(t).Do(t, "POST", "/identities/"+url.PathEscape(alice.id)+"/:issueAccessToken?api-version=2023-10-01", map[string]any{"scopes": []string{"chat"}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("new token: %d %s", resp.StatusCode, body)
		}
		fresh := switchboardtest.JSON(t, body)["token"].(string)
		if err := text(`{"type":"token","token":"` + fresh + `"}`)(c.ws); err != nil {
			t.Fatal(err)
		}
		if err := text(`{"type":"ping"}`)(c.ws); err != nil {
			t.Fatal(err)
		}
		for f := range c.frames {
			if f.Type == "pong" {
				break // still open after the refresh
			}
		}
		// Another identity's token is refused.
		other := newUser(t, s.Client(t))
		if err := text(`{"type":"token","token":"` + other.token + `"}`)(c.ws); err != nil {
			t.Fatal(err)
		}
		if code := c.closeCode(t); code != 4401 {
			t.Fatalf("close code %d, want 4401", code)
		}
	})

	t.Run("revoked token closes the socket", func(t *testing.T) {
		c := dial(t, s.HTTPURL, alice.token, "")
		resp, body := s.Client(t).Do(t, "POST", "/identities/"+url.PathEscape(alice.id)+"/:revokeAccessTokens?api-version=2023-10-01", nil)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", resp.StatusCode, body)
		}
		if code := c.closeCode(t); code != 4401 {
			t.Fatalf("close code %d, want 4401", code)
		}
	})
}

func text(s string) func(*websocket.Conn) error {
	return func(ws *websocket.Conn) error {
		return ws.Write(context.Background(), websocket.MessageText, []byte(s))
	}
}

func TestAcrossNodes(t *testing.T) {
	opts := switchboardtest.ClusterOptions(t)
	a := switchboardtest.Start(t, opts...)
	b := switchboardtest.Start(t, opts...)
	alice, bob := newUser(t, a.Client(t)), newUser(t, a.Client(t))
	th := createThread(t, a.HTTPURL, alice, bob)
	onA := dial(t, a.HTTPURL, bob.token, "")
	id := send(t, b.HTTPURL, alice, th, "sent through B")
	for {
		f := onA.next(t)
		if f.Name == "chatMessageReceived" {
			if f.field(t, "id") != id {
				t.Fatalf("got %s", f.raw)
			}
			break
		}
	}
	// A position from node A resumes on node B.
	pos := onA.lastPos
	_ = onA.ws.Close(websocket.StatusNormalClosure, "")
	next := send(t, a.HTTPURL, alice, th, "while away")
	onB := dial(t, b.HTTPURL, bob.token, pos)
	if got, _ := onB.messages(t, 1); got[0] != next {
		t.Fatalf("resumed on B with %v, want %s", got, next)
	}
}

func TestTenantWall(t *testing.T) {
	s := switchboardtest.Start(t)
	_, key, err := s.App.Tenants.Create(t.Context(), "other")
	if err != nil {
		t.Fatal(err)
	}
	other := s.ClientFor(t, app.ConnectionString(s.App.Endpoint(), key))
	hc := s.Client(t)
	alice, bob := newUser(t, hc), newUser(t, hc)
	mallory := newUser(t, other)
	cm := dial(t, s.HTTPURL, mallory.token, "")
	cb := dial(t, s.HTTPURL, bob.token, "")
	th := createThread(t, s.HTTPURL, alice, bob)
	send(t, s.HTTPURL, alice, th, "for bob only")
	cb.expect(t, "chatThreadCreated", th)
	cb.expect(t, "chatMessageReceived", th)
	// Mallory's first event is her own thread's: nothing of tenant demo's
	// came before it (events arrive in commit order).
	own := createThread(t, s.HTTPURL, mallory)
	cm.expect(t, "chatThreadCreated", own)
	// Nor does a resume from the start of the stream replay them.
	again := dial(t, s.HTTPURL, mallory.token, "1")
	for _, f := range again.replay {
		if thread(t, f) != own {
			t.Fatalf("a resume replayed another tenant's event: %s", f.raw)
		}
	}
}
