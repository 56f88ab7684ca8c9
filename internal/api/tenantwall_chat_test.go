package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// callFunc is how a wall case calls the API as one of tenant B's callers.
type callFunc = func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte)

// offAddress is an HTTP client whose every request comes on a new
// connection from another loopback address, 127.0.n.x with x taking turns
// (any address of 127/8 reaches the server on 127.0.0.1). Requests turned
// away at authentication spend their client address's small budget of
// failures; spread over 250 addresses the probes never exhaust one, and
// leave the rest of the test its own. Where an address cannot be bound, it
// dials as usual.
func offAddress(n byte) *http.Client {
	var turn atomic.Uint32
	plain := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			x := byte(2 + turn.Add(1)%250)
			from := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, n, x)}}
			if c, err := from.DialContext(ctx, network, addr); err == nil {
				return c, nil
			}
			return plain.DialContext(ctx, network, addr)
		},
	}}
}

// wrongCredentials are the side's access key and admin session, each sent
// from an address of its own (see offAddress), for routes that take
// neither.
func wrongCredentials(sd *side) map[string]callFunc {
	hc := *sd.c
	hc.HTTP = offAddress(2)
	ss := *sd.admin
	ss.hc = offAddress(3)
	return map[string]callFunc{
		"hmac": func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
			req := hc.Request(method, path, body)
			for _, m := range mods {
				m(req)
			}
			return hc.Send(t, req)
		},
		"session": func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
			return ss.do(t, method, path, body, mods...)
		},
	}
}

// wantTurnedAway: the request is refused at authentication (401).
func wantTurnedAway(t *testing.T, do callFunc, method, path string, body any) {
	t.Helper()
	resp, got := do(t, method, path, body)
	wantError(t, resp, got, http.StatusUnauthorized, "")
}

// wantLikeUnused sends the same request at tenant A's resource (theirs) and
// at one nobody has (nobodys): both must be 404 NotFound with the same code
// and target, and the answer must not name tenant A.
func wantLikeUnused(t *testing.T, route string, do callFunc, method, theirs, nobodys string, body any, a *side) {
	t.Helper()
	r1, b1 := do(t, method, theirs, body)
	e1 := wantAnyError(t, route, r1, b1, http.StatusNotFound, "NotFound")
	r2, b2 := do(t, method, nobodys, body)
	e2 := wantAnyError(t, route, r2, b2, http.StatusNotFound, "NotFound")
	if e1.Error.Code != e2.Error.Code || e1.Error.Target != e2.Error.Target {
		t.Fatalf("A's id and an unused id are told apart:\n%s %s: %s\n%s %s: %s", method, theirs, b1, method, nobodys, b2)
	}
	if strings.Contains(string(b1), string(a.tenant)) && !strings.Contains(theirs, string(a.tenant)) {
		t.Fatalf("the answer names tenant A: %s", b1)
	}
}

// sideFile is the attachment a side uploads: a PNG of its own, so that a
// link serving the other side's bytes is told apart.
func sideFile(name string) []byte {
	return append(append([]byte{}, pngBytes...), name...)
}

// list GETs a page of a collection as the side: chat lists with its user
// token, the rest signed with its access key.
func (sd *side) list(t *testing.T, s *switchboardtest.Server, path string) (*http.Response, []byte) {
	t.Helper()
	if strings.HasPrefix(path, "/chat/") {
		return sd.bearer(t, s, "GET", path, nil)
	}
	return sd.c.Do(t, "GET", path, nil)
}

// theirCursor is a continuation token that names the other side's item in
// the form the list's own cursors take.
func theirCursor(res string, other *side) string {
	after := other.ids[res]
	if res == "thread" {
		// Thread lists page by "activity micros:thread id"; this one starts
		// after A's thread, an hour from now (so before everything).
		after = strconv.FormatInt(time.Now().Add(time.Hour).UnixMicro(), 10) + ":" + after
	}
	raw, _ := json.Marshal(map[string]string{"a": after})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// chatParticipantWall: one tenant's identity cannot be made a participant
// of another tenant's thread, neither when the thread is created nor
// added later, and so cannot read it.
func chatParticipantWall(t *testing.T, s *switchboardtest.Server, a, b *side) {
	aRef := []any{map[string]any{"communicationIdentifier": map[string]any{"rawId": a.ids["identity"]}}}
	wantRefused := func(body []byte) {
		t.Helper()
		var out struct {
			InvalidParticipants []struct {
				Code, Message, Target string
			} `json:"invalidParticipants"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.InvalidParticipants) != 1 || out.InvalidParticipants[0].Target != a.ids["identity"] {
			t.Fatalf("A's identity was not refused as a participant of B's thread: %s", body)
		}
	}
	participants := func(sd *side, thread string) string {
		t.Helper()
		resp, body := sd.bearer(t, s, "GET", "/chat/threads/"+url.PathEscape(thread)+"/participants"+chatv, nil)
		wantStatus(t, resp, body, http.StatusOK)
		return string(body)
	}

	resp, body := b.bearer(t, s, "POST", "/chat/threads"+chatv, map[string]any{"topic": "lure", "participants": aRef})
	wantStatus(t, resp, body, http.StatusCreated)
	wantRefused(body)
	lure := switchboardtest.JSON(t, body)["chatThread"].(map[string]any)["id"].(string)
	if got := participants(b, lure); strings.Contains(got, a.ids["identity"]) {
		t.Fatalf("B's thread lists A's identity: %s", got)
	}

	// Adding A's identity to B's thread later is refused the same way.
	resp, body = b.bearer(t, s, "POST", "/chat/threads/"+url.PathEscape(b.ids["thread"])+"/participants/:add"+chatv, map[string]any{"participants": aRef})
	wantStatus(t, resp, body, http.StatusCreated)
	wantRefused(body)
	if got := participants(b, b.ids["thread"]); strings.Contains(got, a.ids["identity"]) {
		t.Fatalf("B's thread lists A's identity: %s", got)
	}

	// A's user finds neither thread: each answers as a thread nobody has.
	for _, th := range []string{lure, b.ids["thread"]} {
		wantLikeUnused(t, "/chat/threads/{thread}", func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
			return a.bearer(t, s, method, path, body, mods...)
		}, "GET", "/chat/threads/"+url.PathEscape(th)+chatv, "/chat/threads/"+url.PathEscape(unusedID("thread", a.tenant))+chatv, nil, b)
		resp, body := a.bearer(t, s, "GET", "/chat/threads/"+url.PathEscape(th)+"/messages"+chatv, nil)
		wantError(t, resp, body, http.StatusNotFound, "NotFound")
	}
	resp, body = a.bearer(t, s, "GET", "/chat/threads"+chatv, nil)
	wantStatus(t, resp, body, http.StatusOK)
	if strings.Contains(string(body), lure) || strings.Contains(string(body), b.ids["thread"]) {
		t.Fatalf("A's thread list shows B's threads: %s", body)
	}
}

// fileLinkWall: a signed link opens exactly its own tenant's file; any
// rewrite of its tenant, file or signature is refused, never serving A's
// bytes.
func fileLinkWall(t *testing.T, s *switchboardtest.Server, a, b *side) {
	get := func(t *testing.T, link string, mods ...func(*http.Request)) (*http.Response, []byte) {
		t.Helper()
		req := newRequest(t, "GET", link, nil)
		for _, m := range mods {
			m(req)
		}
		return send(t, http.DefaultClient, req)
	}
	// Each side's own link serves its own bytes (so a refusal below is the
	// signature's, not a missing file's).
	for _, sd := range []*side{a, b} {
		resp, got := get(t, sd.ids["fileURL"])
		wantStatus(t, resp, got, http.StatusOK)
		if !bytes.Equal(got, sideFile(sd.name)) || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("%s's link serves %q (%s)", sd.name, got, resp.Header.Get("Content-Type"))
		}
	}
	aLink, _ := url.Parse(a.ids["fileURL"])
	bLink, _ := url.Parse(b.ids["fileURL"])
	aParts, bParts := strings.Split(aLink.Path, "/"), strings.Split(bLink.Path, "/") // "", "files", tenant, file
	if len(aParts) != 4 || aParts[2] != string(a.tenant) || bParts[2] != string(b.tenant) {
		t.Fatalf("links do not name their tenants: %s %s", aLink, bLink)
	}
	aExp, _ := strconv.ParseInt(aLink.Query().Get("exp"), 10, 64)
	later := url.Values{"exp": {strconv.FormatInt(aExp+3600, 10)}, "sig": {aLink.Query().Get("sig")}}
	for name, link := range map[string]string{
		"A's file under B's tenant":      "/files/" + bParts[2] + "/" + aParts[3] + "?" + aLink.RawQuery,
		"B's file under A's tenant":      "/files/" + aParts[2] + "/" + bParts[3] + "?" + aLink.RawQuery,
		"A's signature on B's path":      bLink.Path + "?" + aLink.RawQuery,
		"B's signature on A's path":      aLink.Path + "?" + bLink.RawQuery,
		"A's link with a later expiry":   aLink.Path + "?" + later.Encode(),
		"A's link without its signature": aLink.Path + "?exp=" + aLink.Query().Get("exp"),
	} {
		t.Run(name, func(t *testing.T) {
			// Neither an anonymous caller nor B's user gets past the
			// signature.
			for _, mods := range [][]func(*http.Request){nil, {withHeader("Authorization", "Bearer "+b.token)}} {
				resp, body := get(t, s.HTTPURL+link, mods...)
				if bytes.Contains(body, sideFile(a.name)) || bytes.Contains(body, sideFile(b.name)) {
					t.Fatalf("GET %s served a file: %d", link, resp.StatusCode)
				}
				wantError(t, resp, body, http.StatusForbidden, "InvalidSignature")
			}
		})
	}
}
