package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/blob"
	"github.com/switchboard-cc/switchboard/internal/blob/blobtest"
	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

const chatv = "?api-version=2025-03-15"

// visitor is a web chat session as the widget holds it.
type visitor struct {
	token, identity, thread, resumeKey, contact string
}

func startSession(t *testing.T, s *switchboardtest.Server, body any) (*http.Response, []byte, visitor) {
	t.Helper()
	resp, raw := send(t, http.DefaultClient, newRequest(t, "POST", s.HTTPURL+"/webchat/demo/sessions"+nv, body))
	var v visitor
	if resp.StatusCode == http.StatusCreated {
		m := switchboardtest.JSON(t, raw)
		v = visitor{token: m["token"].(string), identity: m["identity"].(map[string]any)["rawId"].(string),
			thread: m["threadId"].(string), resumeKey: m["resumeKey"].(string), contact: m["contactId"].(string)}
	}
	return resp, raw, v
}

// bearer calls the API with a user token.
func bearer(t *testing.T, s *switchboardtest.Server, token, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	req := newRequest(t, method, s.HTTPURL+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	return send(t, http.DefaultClient, req)
}

func TestWebchatSettings(t *testing.T) {
	s := switchboardtest.Start(t)
	sup := loginDemo(t, s, "supervisor", "demo-supervisor-1")
	resp, body := sup.do(t, "GET", "/webchat/settings"+nv, nil)
	wantStatus(t, resp, body, 200)
	st := switchboardtest.JSON(t, body)
	if st["name"] != "demo" || st["greeting"].(map[string]any)["id"] == "" {
		t.Fatalf("defaults: %s", body)
	}
	// Invalid settings are refused and change nothing.
	for _, bad := range []map[string]any{
		{"colors": map[string]any{"primary": "red", "background": "#ffffff", "text": "#000000"}},
		{"uploads": map[string]any{"maxBytes": 10, "types": []string{"text/html"}}},
		{"businessHours": map[string]any{"timezone": "Mars/Olympus"}},
		{"preChatFields": []map[string]any{{"name": "1bad", "type": "text"}}},
	} {
		next := map[string]any{}
		for k, v := range st {
			next[k] = v
		}
		for k, v := range bad {
			next[k] = v
		}
		resp, body := sup.do(t, "PUT", "/webchat/settings"+nv, next)
		wantError(t, resp, body, 400, "InvalidSettings")
	}
	st["name"] = "Warung Demo"
	st["businessHours"] = map[string]any{"timezone": "Asia/Jakarta", "weekly": map[string]any{}, "closedMessage": map[string]any{"en": "Closed", "id": "Tutup"}}
	resp, body = sup.do(t, "PUT", "/webchat/settings"+nv, st)
	wantStatus(t, resp, body, 200)
	resp, body = send(t, http.DefaultClient, newRequest(t, "GET", s.HTTPURL+"/webchat/demo/config"+nv, nil))
	wantStatus(t, resp, body, 200)
	cfg := switchboardtest.JSON(t, body)
	if cfg["name"] != "Warung Demo" || cfg["open"] != true || cfg["tenant"] != "demo" {
		t.Fatalf("config: %s", body)
	}
	resp, body = send(t, http.DefaultClient, newRequest(t, "GET", s.HTTPURL+"/webchat/nobody/config"+nv, nil))
	wantError(t, resp, body, 404, "NotFound")
	// Agents may not change the widget.
	agent := loginDemo(t, s, "agent1", "demo-agent-1")
	resp, body = agent.do(t, "PUT", "/webchat/settings"+nv, st)
	wantError(t, resp, body, 403, "")
}

func TestWebchatSessions(t *testing.T) {
	s := switchboardtest.Start(t)
	contacts := func() int { return count(t, s, `SELECT COUNT(*) FROM contacts`) }
	before := contacts()

	resp, body, _ := startSession(t, s, map[string]any{"fields": map[string]string{"email": "budi@example.com"}})
	wantError(t, resp, body, 400, "MissingField")
	resp, body, _ = startSession(t, s, map[string]any{"displayName": "Budi", "fields": map[string]string{"email": "not an address"}})
	wantError(t, resp, body, 400, "InvalidField")
	resp, body, _ = startSession(t, s, map[string]any{"displayName": "Budi", "fields": map[string]string{"favourite": "x"}})
	wantError(t, resp, body, 400, "UnknownField")
	if contacts() != before || count(t, s, `SELECT COUNT(*) FROM chat_threads`) != 0 {
		t.Fatal("a refused session stored something")
	}

	resp, body, v := startSession(t, s, map[string]any{"displayName": "Budi", "locale": "id-ID", "fields": map[string]string{"email": "budi@example.com"}})
	wantStatus(t, resp, body, 201)
	resp, body = bearer(t, s, v.token, "GET", "/chat/threads/"+url.PathEscape(v.thread)+chatv, nil)
	wantStatus(t, resp, body, 200)
	if th := switchboardtest.JSON(t, body); th["metadata"].(map[string]any)["locale"] != "id" || th["metadata"].(map[string]any)["contactId"] != v.contact {
		t.Fatalf("thread: %s", body)
	}
	resp, body = bearer(t, s, v.token, "POST", "/chat/threads/"+url.PathEscape(v.thread)+"/messages"+chatv, map[string]string{"content": "halo"})
	wantStatus(t, resp, body, 201)

	c := s.Client(t)
	resp, body = c.Do(t, "GET", "/contacts/"+v.contact+nv, nil)
	wantStatus(t, resp, body, 200)
	ct := switchboardtest.JSON(t, body)
	if ct["displayName"] != "Budi" || !strings.Contains(string(body), `"kind":"email","value":"budi@example.com"`) || !strings.Contains(string(body), v.identity) {
		t.Fatalf("contact: %s", body)
	}

	// The resume key brings back the same visitor and thread, with a new token.
	resp, body, again := startSession(t, s, map[string]any{"resumeKey": v.resumeKey})
	wantStatus(t, resp, body, 201)
	if again.identity != v.identity || again.thread != v.thread || again.contact != v.contact {
		t.Fatalf("resumed as %+v, was %+v", again, v)
	}
	resp, body, _ = startSession(t, s, map[string]any{"resumeKey": "forged"})
	wantError(t, resp, body, 401, "InvalidResumeKey")

	// A known customer: the business mints a visitor token; two devices share
	// one conversation.
	resp, body = c.Do(t, "POST", "/webchat/visitors"+nv, map[string]string{"externalId": "crm-42", "displayName": "Siti", "email": "siti@example.com"})
	wantStatus(t, resp, body, 201)
	vt := switchboardtest.JSON(t, body)
	resp, body, d1 := startSession(t, s, map[string]any{"visitorToken": vt["visitorToken"]})
	wantStatus(t, resp, body, 201)
	resp, body, d2 := startSession(t, s, map[string]any{"visitorToken": vt["visitorToken"]})
	wantStatus(t, resp, body, 201)
	if d1.contact != vt["contactId"] || d2.thread != d1.thread || d2.identity != d1.identity {
		t.Fatalf("identified sessions %+v and %+v for contact %v", d1, d2, vt["contactId"])
	}
	resp, body, _ = startSession(t, s, map[string]any{"visitorToken": vt["visitorToken"].(string) + "x"})
	wantError(t, resp, body, 401, "InvalidVisitorToken")
	// Another tenant's visitor token is worthless here.
	_, otherKey, err := s.App.Tenants.Create(t.Context(), "other")
	if err != nil {
		t.Fatal(err)
	}
	oc := s.ClientFor(t, app.ConnectionString(s.App.Endpoint(), otherKey))
	resp, body = oc.Do(t, "POST", "/webchat/visitors"+nv, map[string]string{"externalId": "crm-42"})
	wantStatus(t, resp, body, 201)
	resp, body, _ = startSession(t, s, map[string]any{"visitorToken": switchboardtest.JSON(t, body)["visitorToken"]})
	wantError(t, resp, body, 401, "InvalidVisitorToken")
}

func TestWidgetCORS(t *testing.T) {
	s := switchboardtest.Start(t)
	pre := newRequest(t, "OPTIONS", s.HTTPURL+"/webchat/demo/sessions"+nv, nil)
	pre.Header.Set("Origin", "https://shop.example")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	pre.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, body := send(t, http.DefaultClient, pre)
	wantStatus(t, resp, body, 204)
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight headers: %v", resp.Header)
	}
	// Admin routes are not open to other sites.
	pre = newRequest(t, "OPTIONS", s.HTTPURL+"/webchat/settings"+nv, nil)
	pre.Header.Set("Origin", "https://shop.example")
	pre.Header.Set("Access-Control-Request-Method", "PUT")
	resp, _ = send(t, http.DefaultClient, pre)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("settings answered a cross-site preflight")
	}
}

func TestAttachments(t *testing.T) {
	s := switchboardtest.Start(t)
	_, _, v := startSession(t, s, map[string]any{"displayName": "Budi"})
	base := "/chat/threads/" + url.PathEscape(v.thread) + "/attachments" + nv
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)
	upload := func(name, ct string, data []byte) (*http.Response, []byte) {
		req := newRequest(t, "POST", s.HTTPURL+base+"&name="+url.QueryEscape(name), data)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+v.token)
		return send(t, http.DefaultClient, req)
	}
	resp, body := upload("x.html", "text/html", []byte("<script>alert(1)</script>"))
	wantError(t, resp, body, 415, "UnsupportedMediaType")
	sup := loginDemo(t, s, "supervisor", "demo-supervisor-1")
	resp, body = sup.do(t, "GET", "/webchat/settings"+nv, nil)
	st := switchboardtest.JSON(t, body)
	st["uploads"] = map[string]any{"maxBytes": 1000, "types": []string{"image/png"}}
	resp, body = sup.do(t, "PUT", "/webchat/settings"+nv, st)
	wantStatus(t, resp, body, 200)
	resp, body = upload("big.png", "image/png", bytes.Repeat([]byte{1}, 1001))
	wantError(t, resp, body, 413, "FileTooLarge")
	if count(t, s, `SELECT COUNT(*) FROM chat_files`) != 0 {
		t.Fatal("a refused upload was recorded")
	}
	resp, body = upload("../../etc/cat.png", "image/png", png)
	wantStatus(t, resp, body, 201)
	att := switchboardtest.JSON(t, body)
	if att["name"] != "cat.png" || att["attachmentType"] != "image" {
		t.Fatalf("attachment: %s", body)
	}
	// Sent with a message, it comes back with a working link.
	resp, body = bearer(t, s, v.token, "POST", "/chat/threads/"+url.PathEscape(v.thread)+"/messages"+chatv,
		map[string]any{"content": "", "attachments": []map[string]any{{"id": att["id"]}}})
	wantStatus(t, resp, body, 201)
	link := att["url"].(string)
	// Listed messages carry working absolute links too.
	resp, body = bearer(t, s, v.token, "GET", "/chat/threads/"+url.PathEscape(v.thread)+"/messages"+chatv, nil)
	wantStatus(t, resp, body, 200)
	if !strings.Contains(string(body), `"url":"`+s.HTTPURL+"/files/") {
		t.Fatalf("listed attachments lack absolute links: %s", body)
	}
	resp, got := send(t, http.DefaultClient, newRequest(t, "GET", link, nil))
	wantStatus(t, resp, got, 200)
	if !bytes.Equal(got, png) || resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("download: %v", resp.Header)
	}
	resp, body = send(t, http.DefaultClient, newRequest(t, "GET", strings.Replace(link, "sig=", "sig=0", 1), nil))
	wantError(t, resp, body, 403, "InvalidSignature")
	// Another thread's file cannot be attached.
	_, _, w := startSession(t, s, map[string]any{"displayName": "Wati"})
	resp, body = bearer(t, s, w.token, "POST", "/chat/threads/"+url.PathEscape(w.thread)+"/messages"+chatv,
		map[string]any{"content": "mine?", "attachments": []map[string]any{{"id": att["id"]}}})
	wantError(t, resp, body, 400, "InvalidAttachment")
}

func TestContacts(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	create := func(body any) map[string]any {
		resp, raw := c.Do(t, "POST", "/contacts"+nv, body)
		wantStatus(t, resp, raw, 201)
		return switchboardtest.JSON(t, raw)
	}
	ani := create(map[string]any{"displayName": "Ani Wijaya", "handles": []map[string]string{{"kind": "phone", "value": "+62 812-3456-7890"}}})
	if !strings.Contains(toJSON(ani), `"+6281234567890"`) {
		t.Fatalf("phone not normalised: %v", ani)
	}
	resp, body := c.Do(t, "POST", "/contacts"+nv, map[string]any{"handles": []map[string]string{{"kind": "phone", "value": "+6281234567890"}}})
	wantError(t, resp, body, 409, "HandleTaken")
	resp, body = c.Do(t, "POST", "/contacts"+nv, map[string]any{"handles": []map[string]string{{"kind": "fax", "value": "1"}}})
	wantError(t, resp, body, 400, "InvalidHandleKind")

	// Search by name, phone, e-mail; the % of LIKE is a literal.
	_, _, v := startSession(t, s, map[string]any{"displayName": "Budi Santoso", "fields": map[string]string{"email": "budi@example.com"}})
	for q, want := range map[string]string{"wijaya": ani["id"].(string), "812345": ani["id"].(string), "BUDI@": v.contact} {
		resp, body := c.Do(t, "GET", "/contacts"+nv+"&q="+url.QueryEscape(q), nil)
		wantStatus(t, resp, body, 200)
		var page struct{ Value []map[string]any }
		_ = json.Unmarshal(body, &page)
		if len(page.Value) != 1 || page.Value[0]["id"] != want {
			t.Fatalf("search %q: %s", q, body)
		}
	}
	resp, body = c.Do(t, "GET", "/contacts"+nv+"&q=%25", nil)
	wantStatus(t, resp, body, 200)
	if strings.Contains(string(body), `"id"`) {
		t.Fatalf("%% matched everything: %s", body)
	}

	// Conditional update.
	resp, body = c.Do(t, "GET", "/contacts/"+ani["id"].(string)+nv, nil)
	tag := resp.Header.Get("ETag")
	req := c.Request("PATCH", "/contacts/"+ani["id"].(string)+nv, map[string]any{"fields": map[string]string{"tier": "gold"}})
	req.Header.Set("If-Match", `"999"`)
	resp, body = c.Send(t, req)
	wantError(t, resp, body, 412, "PreconditionFailed")
	req = c.Request("PATCH", "/contacts/"+ani["id"].(string)+nv, map[string]any{"fields": map[string]string{"tier": "gold"}})
	req.Header.Set("If-Match", tag)
	resp, body = c.Send(t, req)
	wantStatus(t, resp, body, 200)

	// Merge Budi (the web visitor) into Ani: handles and conversations move.
	resp, body = c.Do(t, "POST", "/contacts/"+ani["id"].(string)+":merge"+nv, map[string]string{"sourceId": v.contact})
	wantStatus(t, resp, body, 200)
	if !strings.Contains(string(body), "budi@example.com") || !strings.Contains(string(body), v.identity) {
		t.Fatalf("merged: %s", body)
	}
	resp, body = c.Do(t, "GET", "/contacts/"+v.contact+nv, nil)
	wantError(t, resp, body, 404, "NotFound")
	resp, body = c.Do(t, "GET", "/contacts/"+ani["id"].(string)+"/conversations"+nv, nil)
	wantStatus(t, resp, body, 200)
	if !strings.Contains(string(body), v.thread) {
		t.Fatalf("conversations: %s", body)
	}
	// Agents cannot merge or erase.
	agent := loginDemo(t, s, "agent1", "demo-agent-1")
	resp, body = agent.do(t, "DELETE", "/contacts/"+ani["id"].(string)+nv, nil)
	wantError(t, resp, body, 403, "")
}

func TestEraseContact(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	_, _, v := startSession(t, s, map[string]any{"displayName": "Budi"})
	agentID, agentToken := createIdentity(t, c)
	resp, body := bearer(t, s, v.token, "POST", "/chat/threads/"+url.PathEscape(v.thread)+"/participants/:add"+chatv,
		map[string]any{"participants": []map[string]any{{"communicationIdentifier": map[string]any{"rawId": agentID}, "displayName": "Agent"}}})
	wantStatus(t, resp, body, 201)
	for _, m := range []struct{ token, text string }{{v.token, "my secret address"}, {agentToken, "thanks, noted"}} {
		resp, body := bearer(t, s, m.token, "POST", "/chat/threads/"+url.PathEscape(v.thread)+"/messages"+chatv, map[string]string{"content": m.text})
		wantStatus(t, resp, body, 201)
	}
	req := newRequest(t, "POST", s.HTTPURL+"/chat/threads/"+url.PathEscape(v.thread)+"/attachments"+nv+"&name=id.png", append([]byte("\x89PNG"), 1, 2, 3))
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("Authorization", "Bearer "+v.token)
	resp, body = send(t, http.DefaultClient, req)
	wantStatus(t, resp, body, 201)
	fileID := switchboardtest.JSON(t, body)["id"].(string)
	blob := filepath.Join(s.Config.DataDir, "files", string(s.Demo.Tenant.ID), fileID[:2], fileID)
	if _, err := os.Stat(blob); err != nil {
		t.Fatalf("the upload is not on disk: %v", err)
	}

	resp, body = c.Do(t, "DELETE", "/contacts/"+v.contact+nv, nil)
	wantStatus(t, resp, body, 204)
	// The visitor's words and file are gone; the agent's message stays.
	resp, body = bearer(t, s, agentToken, "GET", "/chat/threads/"+url.PathEscape(v.thread)+"/messages"+chatv, nil)
	wantStatus(t, resp, body, 200)
	if strings.Contains(string(body), "secret address") || !strings.Contains(string(body), "thanks, noted") {
		t.Fatalf("after erasure: %s", body)
	}
	// Nor do system messages name the visitor any more.
	if strings.Contains(string(body), "Budi") || strings.Contains(string(body), v.identity) {
		t.Fatalf("system messages still name the erased visitor: %s", body)
	}
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Fatalf("the visitor's file is still on disk: %v", err)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM chat_files`); n != 0 {
		t.Fatalf("%d file records left", n)
	}
	// Its identity is gone: the visitor's token no longer works.
	resp, body = bearer(t, s, v.token, "GET", "/chat/threads"+chatv, nil)
	wantError(t, resp, body, 401, "")
	resp, body = c.Do(t, "GET", "/contacts/"+v.contact+nv, nil)
	wantError(t, resp, body, 404, "NotFound")
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestRetention(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	resp, body := c.Do(t, "PUT", "/retentionPolicy"+nv, map[string]int{"retentionDays": -1})
	wantError(t, resp, body, 400, "InvalidRetentionDays")
	resp, body = c.Do(t, "PUT", "/retentionPolicy"+nv, map[string]int{"retentionDays": 1})
	wantStatus(t, resp, body, 200)

	_, _, v := startSession(t, s, map[string]any{"displayName": "Budi"})
	req := newRequest(t, "POST", s.HTTPURL+"/chat/threads/"+url.PathEscape(v.thread)+"/attachments"+nv+"&name=a.png", append([]byte("\x89PNG"), 1))
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("Authorization", "Bearer "+v.token)
	resp, body = send(t, http.DefaultClient, req)
	wantStatus(t, resp, body, 201)
	fileID := switchboardtest.JSON(t, body)["id"].(string)
	blob := filepath.Join(s.Config.DataDir, "files", string(s.Demo.Tenant.ID), fileID[:2], fileID)

	// Another tenant keeps everything, except a thread whose own ACS policy
	// says 30 days.
	_, otherKey, err := s.App.Tenants.Create(t.Context(), "other")
	if err != nil {
		t.Fatal(err)
	}
	oc := s.ClientFor(t, app.ConnectionString(s.App.Endpoint(), otherKey))
	_, otherToken := createIdentity(t, oc)
	mk := func(body any) string {
		resp, raw := bearer(t, s, otherToken, "POST", "/chat/threads"+chatv, body)
		wantStatus(t, resp, raw, 201)
		return switchboardtest.JSON(t, raw)["chatThread"].(map[string]any)["id"].(string)
	}
	kept := mk(map[string]any{"topic": "kept"})
	own := mk(map[string]any{"topic": "own policy", "retentionPolicy": map[string]any{"kind": "threadCreationDate", "deleteThreadAfterDays": 30}})

	ctx := t.Context()
	if n, err := conversation.Sweep(ctx, s.App.Store, s.App.Blobs, s.App.Metrics, time.Now()); err != nil || n != 0 {
		t.Fatalf("a sweep now purged %d (%v)", n, err)
	}
	if n, err := conversation.Sweep(ctx, s.App.Store, s.App.Blobs, s.App.Metrics, time.Now().AddDate(0, 0, 2)); err != nil || n != 1 {
		t.Fatalf("two days on, purged %d (%v), want the demo visitor's thread", n, err)
	}
	if count(t, s, `SELECT COUNT(*) FROM chat_messages WHERE thread_id = $1`, v.thread) != 0 || count(t, s, `SELECT COUNT(*) FROM chat_threads WHERE id = $1`, v.thread) != 0 {
		t.Fatal("the expired thread is still stored")
	}
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Fatalf("the expired thread's file is still on disk: %v", err)
	}
	if n, err := conversation.Sweep(ctx, s.App.Store, s.App.Blobs, s.App.Metrics, time.Now().AddDate(0, 0, 31)); err != nil || n != 1 {
		t.Fatalf("31 days on, purged %d (%v), want the thread with its own policy", n, err)
	}
	if count(t, s, `SELECT COUNT(*) FROM chat_threads WHERE id = $1`, own) != 0 || count(t, s, `SELECT COUNT(*) FROM chat_threads WHERE id = $1`, kept) != 1 {
		t.Fatal("the sweep took the wrong threads of the tenant without a policy")
	}
	resp, body = send(t, http.DefaultClient, newRequest(t, "GET", s.HTTPURL+"/metrics", nil))
	if !strings.Contains(string(body), `switchboard_retention_deleted_total{kind="threads"} 2`) {
		t.Fatal("the retention metric does not count the purged threads")
	}
	// The visitor comes back to a fresh thread.
	resp, body, again := startSession(t, s, map[string]any{"resumeKey": v.resumeKey})
	wantStatus(t, resp, body, 201)
	if again.thread == v.thread || again.identity != v.identity {
		t.Fatalf("after retention: %+v", again)
	}
}

// TestAttachmentsOnS3: with an S3-compatible store configured, attachments
// go to the bucket, come back through signed links, and erasure removes
// them there.
func TestAttachmentsOnS3(t *testing.T) {
	s3cfg := blobtest.FakeS3(t, "attachments")
	s := switchboardtest.Start(t, switchboardtest.WithConfig(func(c *config.Config) {
		c.Files = config.Files{S3Endpoint: s3cfg.Endpoint, S3Bucket: s3cfg.Bucket, S3AccessKey: s3cfg.AccessKey, S3SecretKey: s3cfg.SecretKey,
			S3Region: s3cfg.Region, S3Insecure: true, S3Prefix: "sb/"}
	}))
	_, _, v := startSession(t, s, map[string]any{"displayName": "Budi"})
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 500)...)
	req := newRequest(t, "POST", s.HTTPURL+"/chat/threads/"+url.PathEscape(v.thread)+"/attachments"+nv+"&name=a.png", png)
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("Authorization", "Bearer "+v.token)
	resp, body := send(t, http.DefaultClient, req)
	wantStatus(t, resp, body, 201)
	att := switchboardtest.JSON(t, body)
	if _, err := os.Stat(filepath.Join(s.Config.DataDir, "files")); !os.IsNotExist(err) {
		t.Fatal("with S3 configured, files still went to the data directory")
	}
	store, err := blob.NewS3(t.Context(), blob.S3Config{Endpoint: s3cfg.Endpoint, Bucket: s3cfg.Bucket, AccessKey: s3cfg.AccessKey,
		SecretKey: s3cfg.SecretKey, Region: s3cfg.Region, Insecure: true, Prefix: "sb/", SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	key := conversation.BlobKey(s.Demo.Tenant.ID, att["id"].(string))
	if r, err := store.Open(t.Context(), key); err != nil {
		t.Fatalf("the attachment is not in the bucket: %v", err)
	} else {
		r.Close()
	}
	resp, got := send(t, http.DefaultClient, newRequest(t, "GET", att["url"].(string), nil))
	wantStatus(t, resp, got, 200)
	if !bytes.Equal(got, png) {
		t.Fatal("the signed link does not serve the bytes from the bucket")
	}
	resp, body = s.Client(t).Do(t, "DELETE", "/contacts/"+v.contact+nv, nil)
	wantStatus(t, resp, body, 204)
	if _, err := store.Open(t.Context(), key); err == nil {
		t.Fatal("erasure left the file in the bucket")
	}
}
