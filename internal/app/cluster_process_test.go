package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// TestTwoProcessesOneConversation runs two real server processes on the
// local PostgreSQL and NATS: a visitor's widget session opened through one,
// a real-time client connected to the other, and a message sent through the
// first arrives at the second; the position it carries resumes on the
// first.
func TestTwoProcessesOneConversation(t *testing.T) {
	bin := buildSwitchboard(t)
	natsURL := switchboardtest.NATSURL()
	common := []string{"--database", switchboardtest.FreshPostgres(t), "--nats", natsURL,
		"--nats-namespace", switchboardtest.FreshNATSNamespace(t, natsURL), "--master-key", switchboardtest.NewMasterKey(), "--log-level", "warn"}
	start := func() (*crashServer, string) {
		addr := crashFreeAddr(t)
		args := append([]string{"serve", "--demo", "--data", t.TempDir(), "--http-addr", addr, "--https-addr", crashFreeAddr(t)}, common...)
		return startCrashServer(t, bin, args...), "http://" + addr
	}
	_, baseA := start()
	_, baseB := start()

	// A web chat visitor, through node A.
	resp, err := http.Post(baseA+"/webchat/demo/sessions?api-version=2026-11-01", "application/json", jsonBody(map[string]any{"displayName": "Budi"}))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct {
		Token    string `json:"token"`
		ThreadID string `json:"threadId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&sess); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("session through A: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	visitor := crashUser{token: sess.Token}

	// Connected to node B, the visitor hears what is sent through node A.
	ws, _, _ := rtDial(t, baseB, visitor.token, "")
	defer ws.CloseNow()
	msgs := "/chat/threads/" + url.PathEscape(sess.ThreadID) + "/messages?api-version=2025-03-15"
	hc := &http.Client{Timeout: 10 * time.Second}
	code, raw, err := visitor.do(hc, baseA, "POST", msgs, map[string]string{"content": "through A"})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("send through A: %d %s %v", code, raw, err)
	}
	var sent struct{ ID string }
	_ = json.Unmarshal(raw, &sent)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var position string
	for position == "" {
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("waiting on B for the message sent through A: %v", err)
		}
		var f struct {
			Name, Position string
			Data           struct{ ID string }
		}
		_ = json.Unmarshal(data, &f)
		if f.Name == "chatMessageReceived" && f.Data.ID == sent.ID {
			position = f.Position
		}
	}
	_ = ws.Close(websocket.StatusNormalClosure, "")

	// A position from B means the same on A.
	code, raw, err = visitor.do(hc, baseB, "POST", msgs, map[string]string{"content": "through B while away"})
	if err != nil || code != http.StatusCreated {
		t.Fatalf("send through B: %d %s %v", code, raw, err)
	}
	_ = json.Unmarshal(raw, &sent)
	wsA, replay, _ := rtDial(t, baseA, visitor.token, position)
	defer wsA.CloseNow()
	// The demo's bot answers the visitor too (and, as nodes share the
	// work, may join after the position taken); only the visitor's own
	// messages are counted.
	replay = slices.DeleteFunc(replay, notVisitorMessage)
	for len(replay) == 0 {
		_, data, err := wsA.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f map[string]any
		_ = json.Unmarshal(data, &f)
		if f["type"] == "event" && !notVisitorMessage(f) {
			replay = append(replay, f)
		}
	}
	if got := replay[0]["data"].(map[string]any)["id"]; got != sent.ID || len(replay) != 1 {
		t.Fatalf("resumed on A with %v, want only %s", replay, sent.ID)
	}
}

// notVisitorMessage tells a real-time frame that is not a message the
// visitor wrote: the bot's messages, participants joining.
func notVisitorMessage(f map[string]any) bool {
	d, _ := f["data"].(map[string]any)
	m, _ := d["metadata"].(map[string]any)
	return f["name"] != "chatMessageReceived" || m["role"] == "bot"
}
