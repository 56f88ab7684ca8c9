package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

type crashUser struct{ id, token string }

func jsonBody(v any) *bytes.Reader {
	raw, _ := json.Marshal(v)
	return bytes.NewReader(raw)
}

func (u crashUser) do(hc *http.Client, base, method, path string, body any) (int, []byte, error) {
	resp, raw, err := switchboardtest.User{ID: u.id, Token: u.token, Base: base, HTTP: hc}.Call(method, path, body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, raw, nil
}

// rtDial opens a real-time connection resuming from resume and returns it
// with the ready position.
func rtDial(t *testing.T, base, token, resume string) (*websocket.Conn, []map[string]any, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/realtime", &websocket.DialOptions{Subprotocols: []string{"switchboard.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	hello, _ := json.Marshal(map[string]string{"type": "hello", "token": token, "resume": resume})
	if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f map[string]any
		_ = json.Unmarshal(data, &f)
		switch f["type"] {
		case "ready":
			return ws, events, f["position"].(string)
		case "event":
			events = append(events, f)
		}
	}
}

// TestKill9KeepsAcknowledgedMessages kills the server during a burst of
// chat messages: after the restart every message the API acknowledged is in
// the thread, and a client resuming from before the burst receives each of
// them exactly once.
func TestKill9KeepsAcknowledgedMessages(t *testing.T) {
	bin := buildSwitchboard(t)
	dataDir := t.TempDir()
	httpAddr, httpsAddr := crashFreeAddr(t), crashFreeAddr(t)
	start := func() *crashServer {
		return startCrashServer(t, bin, "serve", "--demo", "--data", dataDir, "--http-addr", httpAddr, "--https-addr", httpsAddr, "--log-level", "warn")
	}
	srv := start()
	c := srv.client(t)
	base := "http://" + httpAddr
	var users []crashUser
	for range 2 {
		resp, raw := c.Do(t, "POST", "/identities?api-version=2023-10-01", map[string]any{"createTokenWithScopes": []string{"chat"}})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("identity: %d %s", resp.StatusCode, raw)
		}
		m := switchboardtest.JSON(t, raw)
		users = append(users, crashUser{m["identity"].(map[string]any)["id"].(string), m["accessToken"].(map[string]any)["token"].(string)})
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	code, raw, err := users[0].do(hc, base, "POST", "/chat/threads?api-version=2025-03-15", map[string]any{"topic": "crash",
		"participants": []any{map[string]any{"communicationIdentifier": map[string]any{"rawId": users[1].id}}}})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("thread: %d %s %v", code, raw, err)
	}
	thread := switchboardtest.JSON(t, raw)["chatThread"].(map[string]any)["id"].(string)
	msgs := "/chat/threads/" + url.PathEscape(thread) + "/messages?api-version=2025-03-15"
	ws, _, before := rtDial(t, base, users[1].token, "")
	_ = ws.CloseNow()

	const workers, killAfter = 6, 120
	var (
		mu       sync.Mutex
		acked    = map[string]bool{}
		killOnce sync.Once
		killed   atomic.Bool
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := 0; !killed.Load(); i++ {
				code, raw, err := users[0].do(hc, base, "POST", msgs, map[string]string{"content": fmt.Sprintf("w%d-%d", w, i)})
				if err != nil || code == 0 {
					return
				}
				if code != http.StatusCreated {
					if !killed.Load() {
						t.Errorf("send: %d %s", code, raw)
					}
					return
				}
				var out struct{ ID string }
				if json.Unmarshal(raw, &out) != nil || out.ID == "" {
					return // the body was cut by the kill: fate unknown
				}
				mu.Lock()
				acked[out.ID] = true
				n := len(acked)
				mu.Unlock()
				if n >= killAfter {
					killOnce.Do(func() {
						if err := srv.cmd.Process.Kill(); err != nil {
							t.Errorf("kill: %v", err)
						}
						killed.Store(true)
					})
				}
			}
		})
	}
	wg.Wait()
	hc.CloseIdleConnections()
	if !killed.Load() {
		t.Fatal("the burst ended before the kill")
	}
	<-srv.exited

	srv = start()
	// Every acknowledged message is stored.
	stored := map[string]bool{}
	next := msgs + "&maxPageSize=200"
	for next != "" {
		code, raw, err := users[1].do(hc, base, "GET", next, nil)
		if err != nil || code != 200 {
			t.Fatalf("list: %d %s %v", code, raw, err)
		}
		var page struct {
			Value []struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"value"`
			NextLink *string `json:"nextLink"`
		}
		_ = json.Unmarshal(raw, &page)
		for _, m := range page.Value {
			if m.Type == "text" {
				stored[m.ID] = true
			}
		}
		next = ""
		if page.NextLink != nil {
			u, _ := url.Parse(*page.NextLink)
			next = u.RequestURI()
		}
	}
	for id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged message %s was lost", id)
		}
	}
	// And a client resuming from before the burst gets each one once.
	ws, replay, _ := rtDial(t, base, users[1].token, before)
	defer ws.CloseNow()
	seen := map[string]int{}
	for _, f := range replay {
		// Only messages count: the thread's own events (participants
		// added) may be relayed after the position taken before the burst,
		// and so be replayed too.
		if f["name"] != "chatMessageReceived" {
			continue
		}
		data, _ := f["data"].(map[string]any)
		id, _ := data["id"].(string)
		seen[id]++
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for len(seen) < len(stored) {
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(seen), len(stored), err)
		}
		var f struct {
			Type, Name string
			Data       struct{ ID string }
		}
		_ = json.Unmarshal(data, &f)
		if f.Name == "chatMessageReceived" {
			seen[f.Data.ID]++
		}
	}
	for id, n := range seen {
		if n != 1 || !stored[id] {
			t.Errorf("message %s delivered %d times (stored: %v)", id, n, stored[id])
		}
	}
	t.Logf("%d acknowledged, %d stored, all delivered once after the restart", len(acked), len(stored))
}
