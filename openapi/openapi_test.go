package openapi_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard-cc/switchboard/internal/api"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/openapi"
)

// opsRoutes are served by the API but not listed by Routes(): they take no
// api-version and no authentication.
var opsRoutes = []api.RouteInfo{
	{Method: "GET", Path: "/healthz"},
	{Method: "GET", Path: "/readyz"},
	{Method: "GET", Path: "/metrics"},
	{Method: "GET", Path: "/openapi.json"},
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// ---------------------------------------------------------------------------
// The document on its own.

func TestDocumentIsOpenAPI31(t *testing.T) {
	if dups := duplicateKeys(openapi.Document); len(dups) > 0 {
		t.Fatalf("duplicate keys (encoding/json would silently keep the last):\n%s", strings.Join(dups, "\n"))
	}
	d := load(t)
	if v, _ := d["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("openapi is %q, want 3.1.x", v)
	}
	info, _ := d["info"].(map[string]any)
	for _, k := range []string{"title", "version", "description"} {
		if s, _ := info[k].(string); s == "" {
			t.Errorf("info.%s is missing", k)
		}
	}
	if _, ok := d["paths"].(map[string]any); !ok {
		t.Fatal("paths is missing")
	}
}

func TestRefsResolve(t *testing.T) {
	d := load(t)
	n := 0
	walk(d, "#", func(at string, m map[string]any) {
		var refs []string
		if ref, ok := m["$ref"].(string); ok {
			refs = append(refs, ref)
		}
		if disc, ok := m["discriminator"].(map[string]any); ok {
			mapping, _ := disc["mapping"].(map[string]any)
			for _, ref := range mapping {
				s, _ := ref.(string)
				refs = append(refs, s)
			}
		}
		for _, ref := range refs {
			n++
			if _, err := resolvePointer(d, ref); err != nil {
				t.Errorf("%s: $ref %q: %v", at, ref, err)
			}
		}
	})
	if n == 0 {
		t.Fatal("found no $ref at all; the walk is broken")
	}
}

func TestOperationsAreWellFormed(t *testing.T) {
	d := load(t)
	schemes, _ := dig(d, "components", "securitySchemes").(map[string]any)
	ids := map[string]string{}
	for _, op := range operations(d) {
		where := op.section + " " + op.method + " " + op.key
		id, _ := op.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", where)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q is also used by %s", where, id, prev)
		}
		ids[id] = where

		responses, _ := op.op["responses"].(map[string]any)
		ok := false
		for code := range responses {
			ok = ok || strings.HasPrefix(code, "2")
		}
		if !ok {
			t.Errorf("%s: no 2xx response", where)
		}

		reqs, hasSecurity := op.op["security"].([]any)
		if op.section == "paths" && !hasSecurity {
			t.Errorf("%s: no security requirement (use [] for none)", where)
		}
		for _, r := range reqs {
			req, _ := r.(map[string]any)
			for name := range req {
				if _, ok := schemes[name]; !ok {
					t.Errorf("%s: security scheme %q is not in components.securitySchemes", where, name)
				}
			}
		}

		if op.section != "paths" {
			continue
		}
		declared := map[string]bool{}
		for _, p := range parameters(t, d, op) {
			if p["in"] == "path" {
				name, _ := p["name"].(string)
				declared[name] = true
				if p["required"] != true {
					t.Errorf("%s: path parameter %q must be required", where, name)
				}
			}
		}
		inPath := map[string]bool{}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(op.key, -1) {
			inPath[m[1]] = true
		}
		if !maps.Equal(declared, inPath) {
			t.Errorf("%s: path parameters declared %v, path template has %v", where, slices.Sorted(maps.Keys(declared)), slices.Sorted(maps.Keys(inPath)))
		}
	}
}

func TestExamplesMatchSchemas(t *testing.T) {
	d := load(t)
	v := &validator{root: d}
	n := 0
	walk(d, "#", func(at string, m map[string]any) {
		// A schema's examples are an array of values; a media type's are a
		// map of Example Objects, next to its schema.
		if ex, ok := m["examples"].([]any); ok {
			for i, x := range ex {
				n++
				for _, e := range v.check(m, x, fmt.Sprintf("%s/examples/%d", at, i), true) {
					t.Error(e)
				}
			}
		}
		schema, ok := m["schema"]
		if !ok {
			return
		}
		if x, ok := m["example"]; ok {
			n++
			for _, e := range v.check(schema, x, at+"/example", true) {
				t.Error(e)
			}
		}
		if ex, ok := m["examples"].(map[string]any); ok {
			for name, x := range ex {
				n++
				value := x.(map[string]any)["value"]
				for _, e := range v.check(schema, value, at+"/examples/"+name, true) {
					t.Error(e)
				}
			}
		}
	})
	if n == 0 {
		t.Fatal("found no examples; the walk is broken")
	}
}

// ---------------------------------------------------------------------------
// The document against the server.

// TestPathsMatchRoutes fails when a route is registered without being
// documented, or documented without being registered, and checks that each
// operation's api-version parameter lists exactly the versions the route
// accepts (as the route itself reports them in api-supported-versions).
func TestPathsMatchRoutes(t *testing.T) {
	s := switchboardtest.Start(t)
	d := load(t)

	served := map[string]api.RouteInfo{}
	for _, r := range append(s.App.API.Routes(), opsRoutes...) {
		key := r.Method + " " + docPath(r.Path)
		if _, dup := served[key]; dup {
			t.Errorf("route %s is registered twice", key)
		}
		served[key] = r
	}
	documented := map[string]operation{}
	for _, op := range operations(d) {
		if op.section == "paths" {
			documented[strings.ToUpper(op.method)+" "+op.key] = op
		}
	}
	for _, k := range slices.Sorted(maps.Keys(served)) {
		if _, ok := documented[k]; !ok {
			t.Errorf("route %s is served but not documented in openapi.json", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(documented)) {
		if _, ok := served[k]; !ok {
			t.Errorf("operation %s is documented but the server has no such route", k)
		}
	}

	h := s.App.API.Handler()
	for _, k := range slices.Sorted(maps.Keys(served)) {
		op, ok := documented[k]
		if !ok {
			continue
		}
		r := served[k]
		t.Run(k, func(t *testing.T) {
			// Without api-version a versioned route answers 400 before it
			// authenticates or does anything, naming its versions. A route
			// without versions (the ops ones) runs for real, unauthenticated
			// and without a body.
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(r.Method, samplePath(r.Path), nil))
			if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
				t.Fatalf("probe answered %d: the route does not exist", rec.Code)
			}
			var versions []string
			if hv := rec.Header().Get("api-supported-versions"); hv != "" {
				versions = strings.Split(hv, ", ")
				if code := rec.Header().Get("x-ms-error-code"); rec.Code != http.StatusBadRequest || code != "MissingApiVersionParameter" {
					t.Fatalf("versioned route without api-version answered %d %s", rec.Code, code)
				}
			}
			var param map[string]any
			for _, p := range parameters(t, d, op) {
				if p["in"] == "query" && p["name"] == "api-version" {
					param = p
				}
			}
			switch {
			case versions == nil && param != nil:
				t.Fatal("documents an api-version parameter, but the route takes none")
			case versions == nil:
				return
			case param == nil:
				t.Fatalf("route accepts api-version %v, but the operation declares no api-version query parameter", versions)
			}
			if param["required"] != true {
				t.Error("api-version must be required")
			}
			var enum []string
			for _, v := range asSlice(dig(param, "schema", "enum")) {
				s, _ := v.(string)
				enum = append(enum, s)
			}
			slices.Sort(enum)
			slices.Sort(versions)
			if !slices.Equal(enum, versions) {
				t.Errorf("api-version enum %v, route accepts %v", enum, versions)
			}
		})
	}
}

func TestServedDocumentIsEmbeddedFile(t *testing.T) {
	s := switchboardtest.Start(t)
	resp, err := http.Get(s.HTTPURL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", resp.StatusCode)
	}
	if mt := mediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		t.Errorf("Content-Type %q, want application/json", mt)
	}
	if !bytes.Equal(body, openapi.Document) {
		t.Fatal("GET /openapi.json differs from the embedded openapi.json")
	}
}

// TestResponsesConformToDocument drives every operation through a realistic
// flow and checks each answer (status, documented headers, body schema)
// against the document, and each webhook request the server sends against
// the webhooks section. Objects may not carry undocumented properties.
func TestResponsesConformToDocument(t *testing.T) {
	s := switchboardtest.Start(t)
	l := &live{t: t, s: s, c: s.Client(t), conf: newConformance(load(t))}
	const idv, nv = "?api-version=2025-06-30", "?api-version=2026-11-01"

	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		l.send(p, l.plain("GET", p, nil), 200)
	}

	// Subscriptions first, so the identity events below reach them.
	eg := l.receiver(http.StatusOK)
	ce := l.receiver(http.StatusOK)
	failing := l.receiver(http.StatusInternalServerError)

	_, body := l.send("/eventSubscriptions", l.c.Request("POST", "/eventSubscriptions"+nv, map[string]any{
		"name": "crm", "endpoint": eg.srv.URL + "/hook", "eventDeliverySchema": "EventGridSchema",
	}), 201)
	egSub := decode(t, body)
	eg.setSecret(t, egSub["signingSecret"])

	req := l.c.Request("PATCH", "/eventSubscriptions/ce-sub"+nv, map[string]any{
		"endpoint": ce.srv.URL + "/hook", "eventDeliverySchema": "CloudEventSchemaV1_0",
		"includedEventTypes": []string{"switchboard.identitycreated", "Switchboard.IdentityDeleted", "Switchboard.IdentityTokensRevoked"},
	})
	req.Header.Set("Content-Type", "application/merge-patch+json")
	_, body = l.send("/eventSubscriptions/{id}", req, 201)
	ce.setSecret(t, decode(t, body)["signingSecret"])

	_, body = l.send("/eventSubscriptions", l.c.Request("POST", "/eventSubscriptions"+nv, map[string]any{
		"endpoint": failing.srv.URL + "/hook", "includedEventTypes": []string{"Switchboard.IdentityCreated"}, "maxDeliveryAttempts": 1,
	}), 201)
	failingSub := decode(t, body)
	failing.setSecret(t, failingSub["signingSecret"])
	failingID := failingSub["id"].(string)

	_, body = l.send("/eventSubscriptions", l.c.Request("GET", "/eventSubscriptions"+nv+"&maxpagesize=2", nil), 200)
	next, _ := decode(t, body)["nextLink"].(string)
	if next == "" {
		t.Fatal("three subscriptions in pages of two gave no nextLink")
	}
	u, _ := url.Parse(next)
	l.send("/eventSubscriptions", l.c.Request("GET", u.RequestURI(), nil), 200)

	subPath := "/eventSubscriptions/" + egSub["id"].(string) + nv
	resp, _ := l.send("/eventSubscriptions/{id}", l.c.Request("GET", subPath, nil), 200)
	req = l.c.Request("PATCH", subPath, map[string]any{"name": "crm-renamed"})
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	l.send("/eventSubscriptions/{id}", req, 200)
	req = l.c.Request("PATCH", subPath, map[string]any{"name": "stale"})
	req.Header.Set("If-Match", `"999"`)
	l.send("/eventSubscriptions/{id}", req, 412)
	l.send("/eventSubscriptions/{id}", l.c.Request("PATCH", subPath, map[string]any{"signingSecret": "x"}), 400)

	// ACS Identity API.
	req = l.c.Request("POST", "/identities"+idv, map[string]any{"createTokenWithScopes": []string{"chat", "voip"}, "customId": "crm-42"})
	req.Header.Set("Repeatability-Request-ID", "openapi-create-1")
	req.Header.Set("Repeatability-First-Sent", time.Now().UTC().Format(http.TimeFormat))
	_, body = l.send("/identities", req, 201)
	created := decode(t, body)
	req = l.c.Request("POST", "/identities"+idv, map[string]any{"createTokenWithScopes": []string{"chat", "voip"}, "customId": "crm-42"})
	req.Header.Set("Repeatability-Request-ID", "openapi-create-1")
	if resp, _ := l.send("/identities", req, 201); resp.Header.Get("Repeatability-Result") != "accepted" {
		t.Error("a replayed repeatable request has no Repeatability-Result")
	}
	// ACS: a customId already in use answers with the user that has it.
	if _, body := l.send("/identities", l.c.Request("POST", "/identities"+idv, map[string]any{"customId": "crm-42"}), 201); decode(t, body)["identity"].(map[string]any)["id"] != created["identity"].(map[string]any)["id"] {
		t.Error("a taken customId must return the identity that has it")
	}
	l.send("/identities", l.c.Request("POST", "/identities"+idv, nil), 201)
	l.send("/identities", l.c.Request("POST", "/identities", nil), 400)
	l.send("/identities", l.plain("POST", "/identities"+idv, nil), 401)

	id := created["identity"].(map[string]any)["id"].(string)
	idPath := "/identities/" + strings.ReplaceAll(id, ":", "%3A")
	_, body = l.send("/identities/{id}/:issueAccessToken", l.c.Request("POST", idPath+"/:issueAccessToken"+idv, map[string]any{"scopes": []string{"chat"}, "expiresInMinutes": 60}), 200)
	token := decode(t, body)["token"].(string)
	l.send("/identities/{id}/:issueAccessToken", l.c.Request("POST", idPath+"/:issueAccessToken"+idv, map[string]any{"scopes": []string{"fax"}}), 400)
	l.send("/identities/{id}", l.c.Request("GET", idPath+idv, nil), 200)
	me := func(want int) {
		req := l.plain("GET", "/me"+nv, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		l.send("/me", req, want)
	}
	me(200)
	l.send("/identities/{id}/:revokeAccessTokens", l.c.Request("POST", idPath+"/:revokeAccessTokens"+idv, nil), 204)
	me(401)
	l.send("/identities/{id}", l.c.Request("DELETE", idPath+idv, nil), 204)
	l.send("/identities/{id}", l.c.Request("GET", idPath+idv, nil), 404)
	l.send("/identities/{id}/:revokeAccessTokens", l.c.Request("POST", idPath+"/:revokeAccessTokens"+idv, nil), 404)

	// People.
	admin := l.login("admin", "demo-admin-1")
	l.send("/auth/login", l.plain("POST", "/auth/login"+nv, map[string]string{"tenant": "demo", "username": "admin", "password": "wrong-password"}), 401)
	l.send("/auth/session", admin.request("GET", "/auth/session"+nv, nil), 200)
	_, body = l.send("/users", admin.request("GET", "/users"+nv+"&maxpagesize=2", nil), 200)
	if next, _ := decode(t, body)["nextLink"].(string); next == "" {
		t.Error("four demo users in pages of two gave no nextLink")
	}
	newUser := map[string]string{"username": "Agent7", "displayName": "Ari Agent", "role": "agent", "password": "correct-horse"}
	req = admin.request("POST", "/users"+nv, newUser)
	req.Header.Del("X-CSRF-Token")
	l.send("/users", req, 403)
	resp, body = l.send("/users", admin.request("POST", "/users"+nv, newUser), 201)
	userPath := resp.Header.Get("Location")
	if userPath != "/users/"+decode(t, body)["id"].(string) {
		t.Errorf("Location %q does not name the user created", userPath)
	}
	l.send("/users", admin.request("POST", "/users"+nv, newUser), 409)
	resp, _ = l.send("/users/{id}", admin.request("GET", userPath+nv, nil), 200)
	req = admin.request("PATCH", userPath+nv, map[string]any{"displayName": "Ari A."})
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	l.send("/users/{id}", req, 200)
	req = admin.request("PATCH", userPath+nv, map[string]any{"displayName": "stale"})
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	l.send("/users/{id}", req, 412)
	l.send("/users/{id}", admin.request("PATCH", userPath+nv, map[string]any{"username": "renamed"}), 400)
	agent := l.login("agent1", "demo-agent-1")
	l.send("/users", agent.request("GET", "/users"+nv, nil), 403)
	l.send("/users/{id}", agent.request("GET", userPath+nv, nil), 403)
	l.send("/users/{id}", l.c.Request("DELETE", userPath+nv, nil), 204)
	l.send("/users/{id}", l.c.Request("GET", userPath+nv, nil), 404)
	l.send("/auth/logout", agent.request("POST", "/auth/logout"+nv, nil), 204)
	l.send("/auth/session", agent.request("GET", "/auth/session"+nv, nil), 401)

	// Dead letters: the failing subscription gives up after one attempt.
	var dl map[string]any
	switchboardtest.Eventually(t, 15*time.Second, func() error {
		_, body := l.send("/deadLetters", l.c.Request("GET", "/deadLetters"+nv, nil), 200)
		for _, v := range asSlice(decode(t, body)["value"]) {
			if m := v.(map[string]any); m["subscriptionId"] == failingID {
				dl = m
				return nil
			}
		}
		return fmt.Errorf("no dead letter yet")
	})
	replay := "/deadLetters/" + dl["id"].(string) + ":replay" + nv
	l.send("/deadLetters/{id}:replay", l.c.Request("POST", replay, nil), 202)
	l.send("/eventSubscriptions/{id}", l.c.Request("DELETE", "/eventSubscriptions/"+failingID+nv, nil), 204)
	l.send("/eventSubscriptions/{id}", l.c.Request("GET", "/eventSubscriptions/"+failingID+nv, nil), 404)
	l.send("/deadLetters/{id}:replay", l.c.Request("POST", replay, nil), 409)
	l.send("/deadLetters/{id}:replay", l.c.Request("POST", "/deadLetters/no-such-letter:replay"+nv, nil), 404)

	chatAndContacts(l, admin)
	routerConfig(l)

	// Webhook deliveries: every event type today, in both envelopes (the
	// CloudEvents subscription takes identity events only).
	want := []string{"Switchboard.IdentityCreated", "Switchboard.IdentityTokensRevoked", "Switchboard.IdentityDeleted"}
	chatWant := []string{"Microsoft.Communication.ChatThreadCreated", "Microsoft.Communication.ChatThreadCreatedWithUser",
		"Microsoft.Communication.ChatMessageReceivedInThread", "Microsoft.Communication.ChatMessageReceived",
		"Microsoft.Communication.ChatMessageEditedInThread", "Microsoft.Communication.ChatMessageDeletedInThread",
		"Microsoft.Communication.ChatThreadParticipantAdded", "Microsoft.Communication.ChatParticipantRemovedFromThreadWithUser",
		"Microsoft.Communication.ChatThreadPropertiesUpdatedPerUser", "Microsoft.Communication.ChatThreadDeleted",
		"Switchboard.ChatReadReceiptReceived", "Switchboard.ContactCreated", "Switchboard.ContactMerged", "Switchboard.ContactErased"}
	switchboardtest.Eventually(t, 15*time.Second, func() error {
		got := eg.eventTypes()
		for _, w := range chatWant {
			if !got[w] {
				return fmt.Errorf("Event Grid receiver has %v, waiting for %s", got, w)
			}
		}
		return nil
	})
	for _, r := range []*receiver{eg, ce} {
		switchboardtest.Eventually(t, 15*time.Second, func() error {
			got := r.eventTypes()
			for _, w := range want {
				if !got[w] {
					return fmt.Errorf("receiver has %v, waiting for %s", got, w)
				}
			}
			return nil
		})
	}
	for _, r := range []*receiver{eg, ce, failing} {
		r.check(t, l.conf)
	}
	if n := eg.count("eventGridSubscriptionValidation"); n != 1 {
		t.Errorf("Event Grid endpoint got %d validation requests, want 1", n)
	}
	if n := ce.count("cloudEventsAbuseProtection"); n != 1 {
		t.Errorf("CloudEvents endpoint got %d abuse-protection requests, want 1", n)
	}

	for _, op := range operations(l.conf.v.root) {
		if op.section == "paths" && !l.conf.succeeded[op.method+" "+op.key] {
			t.Logf("not exercised with a 2xx answer: %s %s", op.method, op.key)
		}
	}
}

// ---------------------------------------------------------------------------
// Driving the live server.

type live struct {
	t    *testing.T
	s    *switchboardtest.Server
	c    *switchboardtest.Client
	conf *conformance
}

// plain builds an unauthenticated request.
func (l *live) plain(method, path string, body any) *http.Request {
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, l.s.HTTPURL+path, r)
	if err != nil {
		l.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// send sends req, wants status want, and checks the answer against the
// operation route documents.
func (l *live) send(route string, req *http.Request, want int) (*http.Response, []byte) {
	l.t.Helper()
	req.Header.Set("x-ms-client-request-id", "openapi-conformance")
	resp, body := l.c.Send(l.t, req)
	if resp.StatusCode != want {
		l.t.Fatalf("%s %s: %d, want %d: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, want, body)
	}
	if got := resp.Header.Get("x-ms-client-request-id"); got != "openapi-conformance" {
		l.t.Errorf("%s %s: x-ms-client-request-id %q not echoed", req.Method, route, got)
	}
	for _, e := range l.conf.response(req.Method, route, resp, body) {
		l.t.Error(e)
	}
	return resp, body
}

type session struct {
	l      *live
	cookie *http.Cookie
	csrf   string
}

func (l *live) login(username, password string) *session {
	l.t.Helper()
	resp, body := l.send("/auth/login", l.plain("POST", "/auth/login?api-version=2026-11-01",
		map[string]string{"tenant": "demo", "username": username, "password": password}), 200)
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie {
			csrf, _ := decode(l.t, body)["csrfToken"].(string)
			return &session{l: l, cookie: c, csrf: csrf}
		}
	}
	l.t.Fatal("login set no session cookie")
	return nil
}

func (s *session) request(method, path string, body any) *http.Request {
	req := s.l.plain(method, path, body)
	req.AddCookie(&http.Cookie{Name: s.cookie.Name, Value: s.cookie.Value})
	req.Header.Set(api.CSRFHeader, s.csrf)
	return req
}

// receiver is a webhook endpoint that passes either validation handshake,
// answers notifications with status, and records every request.
type receiver struct {
	srv    *httptest.Server
	status int
	mu     sync.Mutex
	secret []byte
	got    []received
}

type received struct {
	webhook string
	method  string
	header  http.Header
	body    []byte
}

func (l *live) receiver(status int) *receiver {
	r := &receiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rec := received{method: req.Method, header: req.Header.Clone(), body: body}
		switch {
		case req.Method == http.MethodOptions:
			rec.webhook = "cloudEventsAbuseProtection"
			w.Header().Set("WebHook-Allowed-Origin", "*")
		case req.Header.Get("aeg-event-type") == "SubscriptionValidation":
			rec.webhook = "eventGridSubscriptionValidation"
			var evs []struct {
				Data struct {
					ValidationCode string `json:"validationCode"`
				} `json:"data"`
			}
			_ = json.Unmarshal(body, &evs)
			if len(evs) == 1 {
				_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": evs[0].Data.ValidationCode})
			}
		case strings.HasPrefix(req.Header.Get("Content-Type"), "application/cloudevents+json"):
			rec.webhook = "cloudEventNotification"
			w.WriteHeader(r.status)
		default:
			rec.webhook = "eventGridNotification"
			w.WriteHeader(r.status)
		}
		r.mu.Lock()
		r.got = append(r.got, rec)
		r.mu.Unlock()
	}))
	l.t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setSecret(t *testing.T, v any) {
	t.Helper()
	s, _ := v.(string)
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) == 0 {
		t.Fatalf("signingSecret %q is not base64", s)
	}
	r.mu.Lock()
	r.secret = key
	r.mu.Unlock()
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *receiver) count(webhook string) int {
	n := 0
	for _, g := range r.requests() {
		if g.webhook == webhook {
			n++
		}
	}
	return n
}

func (r *receiver) eventTypes() map[string]bool {
	out := map[string]bool{}
	for _, g := range r.requests() {
		var evs []map[string]any
		switch g.webhook {
		case "eventGridNotification":
			_ = json.Unmarshal(g.body, &evs)
		case "cloudEventNotification":
			var ev map[string]any
			if json.Unmarshal(g.body, &ev) == nil {
				evs = append(evs, map[string]any{"eventType": ev["type"]})
			}
		}
		for _, ev := range evs {
			s, _ := ev["eventType"].(string)
			out[s] = true
		}
	}
	return out
}

// check validates each recorded request against the webhooks section and
// verifies each notification's signature as the document describes it.
func (r *receiver) check(t *testing.T, c *conformance) {
	t.Helper()
	r.mu.Lock()
	secret := r.secret
	r.mu.Unlock()
	for _, g := range r.requests() {
		for _, e := range c.webhook(g) {
			t.Error(e)
		}
		if !strings.HasSuffix(g.webhook, "Notification") {
			continue
		}
		sig := g.header.Get("Switchboard-Signature")
		parts := map[string]string{}
		for p := range strings.SplitSeq(sig, ",") {
			k, v, _ := strings.Cut(p, "=")
			parts[k] = v
		}
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(parts["t"] + "."))
		m.Write(g.body)
		if want := hex.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(parts["v1"]), []byte(want)) {
			t.Errorf("%s: Switchboard-Signature %q does not verify as documented", g.webhook, sig)
		}
		if ts, err := strconv.ParseInt(parts["t"], 10, 64); err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Errorf("%s: Switchboard-Signature timestamp %q is not the time of sending", g.webhook, parts["t"])
		}
	}
}

// ---------------------------------------------------------------------------
// Checking messages against the document.

type conformance struct {
	v         *validator
	succeeded map[string]bool // "method path" answered with 2xx
}

func newConformance(doc map[string]any) *conformance {
	return &conformance{v: &validator{root: doc}, succeeded: map[string]bool{}}
}

// contractHeaders must be documented on a response whenever it carries them.
var contractHeaders = []string{
	"x-ms-request-id", "x-ms-client-request-id", "api-supported-versions", "x-ms-error-code",
	"WWW-Authenticate", "Retry-After", "ETag", "Location", "Repeatability-Result", "Set-Cookie",
}

// response checks one answer of the operation method route.
func (c *conformance) response(method, route string, resp *http.Response, body []byte) []string {
	where := fmt.Sprintf("%s %s → %d", method, route, resp.StatusCode)
	op, _ := dig(c.v.root, "paths", route, strings.ToLower(method)).(map[string]any)
	if op == nil {
		return []string{where + ": operation not documented"}
	}
	responses, _ := op["responses"].(map[string]any)
	code := strconv.Itoa(resp.StatusCode)
	r, ok := responses[code]
	if !ok {
		r, ok = responses[code[:1]+"XX"]
	}
	if !ok && resp.StatusCode >= 400 {
		r, ok = responses["default"]
	}
	if !ok {
		return []string{where + ": status not documented"}
	}
	if resp.StatusCode < 300 {
		c.succeeded[strings.ToLower(method)+" "+route] = true
	}
	rm := c.v.deref(r)
	var errs []string
	documented := map[string]bool{}
	headers, _ := rm["headers"].(map[string]any)
	for name, h := range headers {
		documented[http.CanonicalHeaderKey(name)] = true
		errs = append(errs, c.v.header(where+": header "+name, c.v.deref(h), resp.Header.Values(name))...)
	}
	for _, name := range contractHeaders {
		if resp.Header.Get(name) != "" && !documented[http.CanonicalHeaderKey(name)] {
			errs = append(errs, fmt.Sprintf("%s: header %s is sent but not documented", where, name))
		}
	}
	content, _ := rm["content"].(map[string]any)
	return append(errs, c.v.body(where, content, resp.Header.Get("Content-Type"), body)...)
}

// webhook checks one request the server sent to a webhook endpoint.
func (c *conformance) webhook(g received) []string {
	where := "webhook " + g.webhook
	op, _ := dig(c.v.root, "webhooks", g.webhook, strings.ToLower(g.method)).(map[string]any)
	if op == nil {
		return []string{fmt.Sprintf("%s: %s is not documented", where, g.method)}
	}
	var errs []string
	for _, p := range asSlice(op["parameters"]) {
		pm := c.v.deref(p)
		if pm["in"] != "header" {
			continue
		}
		name, _ := pm["name"].(string)
		errs = append(errs, c.v.header(where+": header "+name, pm, g.header.Values(name))...)
	}
	content, _ := dig(op, "requestBody", "content").(map[string]any)
	return append(errs, c.v.body(where, content, g.header.Get("Content-Type"), g.body)...)
}

// header checks the values of one header against its parameter or header
// object.
func (v *validator) header(where string, h map[string]any, values []string) []string {
	if len(values) == 0 {
		if h["required"] == true {
			return []string{where + ": required but missing"}
		}
		return nil
	}
	schema, _ := h["schema"].(map[string]any)
	var errs []string
	for _, s := range values {
		var x any = s
		if schema["type"] == "integer" {
			n, err := strconv.Atoi(s)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not an integer", where, s))
				continue
			}
			x = float64(n)
		}
		errs = append(errs, v.check(schema, x, where, true)...)
	}
	return errs
}

// body checks a message body against a content map: a media type of the
// Content-Type sent, and a JSON body valid under its schema.
func (v *validator) body(where string, content map[string]any, contentType string, body []byte) []string {
	if len(content) == 0 {
		if len(bytes.TrimSpace(body)) > 0 {
			return []string{where + ": sends a body, none is documented"}
		}
		return nil
	}
	mt := mediaType(contentType)
	media, ok := content[mt].(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: Content-Type %q is not documented (documented: %v)", where, contentType, slices.Sorted(maps.Keys(content)))}
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil
	}
	var x any
	if err := json.Unmarshal(body, &x); err != nil {
		return []string{fmt.Sprintf("%s: body is not JSON: %v", where, err)}
	}
	return v.check(media["schema"], x, where+": body", true)
}

func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return mt
}

// ---------------------------------------------------------------------------
// A JSON Schema validator for the subset the document uses. It is strict:
// an object may not carry a property its schema does not declare, unless the
// schema says additionalProperties.

type validator struct {
	root     map[string]any
	patterns map[string]*regexp.Regexp
}

// deref follows $ref chains of parameter, header and response objects.
func (v *validator) deref(x any) map[string]any {
	m, _ := x.(map[string]any)
	for range 10 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		target, err := resolvePointer(v.root, ref)
		if err != nil {
			return nil
		}
		m, _ = target.(map[string]any)
	}
	return m
}

func (v *validator) check(schema, x any, at string, strict bool) []string {
	switch s := schema.(type) {
	case nil:
		return nil
	case bool:
		if !s {
			return []string{at + ": no value is allowed here"}
		}
		return nil
	case map[string]any:
		return v.checkSchema(s, x, at, strict)
	}
	return []string{fmt.Sprintf("%s: schema is a %T", at, schema)}
}

func (v *validator) checkSchema(s map[string]any, x any, at string, strict bool) (errs []string) {
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if ref, ok := s["$ref"].(string); ok {
		target, err := resolvePointer(v.root, ref)
		if err != nil {
			fail("$ref %q: %v", ref, err)
			return
		}
		errs = append(errs, v.check(target, x, at, strict)...)
		strict = false // the target checked the properties
	}
	for _, b := range asSlice(s["allOf"]) {
		errs = append(errs, v.check(b, x, at, false)...)
	}
	if one, ok := s["oneOf"].([]any); ok {
		errs = append(errs, v.oneOf(s, one, x, at)...)
	}
	if c, ok := s["const"]; ok && !reflect.DeepEqual(c, x) {
		fail("%s, want %s", show(x), show(c))
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(c any) bool { return reflect.DeepEqual(c, x) }) {
		fail("%s is not one of %s", show(x), show(e))
	}
	if ty, ok := s["type"]; ok && !typeMatches(ty, x) {
		fail("%s is not of type %v", show(x), ty)
		return
	}
	switch x := x.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(props)) {
			if val, ok := x[k]; ok {
				errs = append(errs, v.check(props[k], val, at+"."+k, true)...)
			}
		}
		for _, r := range asSlice(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				fail("required property %q is missing", r)
			}
		}
		if ap, ok := s["additionalProperties"]; ok && ap != true {
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if _, declared := props[k]; !declared {
					errs = append(errs, v.check(ap, x[k], at+"."+k, true)...)
				}
			}
		} else if strict {
			known := map[string]bool{}
			if declared, open := v.properties(s, known); declared && !open {
				for _, k := range slices.Sorted(maps.Keys(x)) {
					if !known[k] {
						fail("property %q is not documented", k)
					}
				}
			}
		}
	case []any:
		if n, ok := s["minItems"].(float64); ok && float64(len(x)) < n {
			fail("%d items, want at least %v", len(x), n)
		}
		if n, ok := s["maxItems"].(float64); ok && float64(len(x)) > n {
			fail("%d items, want at most %v", len(x), n)
		}
		if items, ok := s["items"]; ok {
			for i, it := range x {
				errs = append(errs, v.check(items, it, fmt.Sprintf("%s[%d]", at, i), true)...)
			}
		}
	case string:
		n := float64(utf8.RuneCountInString(x))
		if m, ok := s["minLength"].(float64); ok && n < m {
			fail("%q is shorter than %v", x, m)
		}
		if m, ok := s["maxLength"].(float64); ok && n > m {
			fail("%q is longer than %v", x, m)
		}
		if p, ok := s["pattern"].(string); ok {
			re, err := v.pattern(p)
			if err != nil {
				fail("pattern %q: %v", p, err)
			} else if !re.MatchString(x) {
				fail("%q does not match %s", x, p)
			}
		}
		if f, ok := s["format"].(string); ok {
			if err := checkFormat(f, x); err != nil {
				fail("%q is not a %s: %v", x, f, err)
			}
		}
	case float64:
		if m, ok := s["minimum"].(float64); ok && x < m {
			fail("%v is below %v", x, m)
		}
		if m, ok := s["maximum"].(float64); ok && x > m {
			fail("%v is above %v", x, m)
		}
	}
	return errs
}

// oneOf picks the branch by discriminator when there is one.
func (v *validator) oneOf(s map[string]any, branches []any, x any, at string) []string {
	if disc, ok := s["discriminator"].(map[string]any); ok {
		if obj, ok := x.(map[string]any); ok {
			name, _ := disc["propertyName"].(string)
			val, _ := obj[name].(string)
			mapping, _ := disc["mapping"].(map[string]any)
			ref, ok := mapping[val].(string)
			if !ok {
				return []string{fmt.Sprintf("%s: %s %q has no schema in the discriminator mapping", at, name, val)}
			}
			return v.check(map[string]any{"$ref": ref}, x, at, true)
		}
	}
	matched := 0
	var errs []string
	for _, b := range branches {
		if e := v.check(b, x, at, true); len(e) == 0 {
			matched++
		} else {
			errs = append(errs, e...)
		}
	}
	if matched != 1 {
		return append([]string{fmt.Sprintf("%s: matches %d of the oneOf schemas", at, matched)}, errs...)
	}
	return nil
}

// properties collects the property names s declares, through $ref and
// allOf; open reports that s allows others.
func (v *validator) properties(s map[string]any, known map[string]bool) (declared, open bool) {
	if ref, ok := s["$ref"].(string); ok {
		if t, err := resolvePointer(v.root, ref); err == nil {
			if tm, ok := t.(map[string]any); ok {
				d, o := v.properties(tm, known)
				declared, open = declared || d, open || o
			}
		}
	}
	if p, ok := s["properties"].(map[string]any); ok {
		declared = true
		for k := range p {
			known[k] = true
		}
	}
	if ap, ok := s["additionalProperties"]; ok && ap != false {
		open = true
	}
	if _, ok := s["oneOf"]; ok {
		open = true
	}
	if _, ok := s["anyOf"]; ok {
		open = true
	}
	for _, b := range asSlice(s["allOf"]) {
		if bm, ok := b.(map[string]any); ok {
			d, o := v.properties(bm, known)
			declared, open = declared || d, open || o
		}
	}
	return declared, open
}

func (v *validator) pattern(p string) (*regexp.Regexp, error) {
	if re, ok := v.patterns[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	if v.patterns == nil {
		v.patterns = map[string]*regexp.Regexp{}
	}
	v.patterns[p] = re
	return re, nil
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func checkFormat(format, s string) error {
	switch format {
	case "date-time":
		_, err := time.Parse(time.RFC3339Nano, s)
		return err
	case "uri":
		u, err := url.Parse(s)
		if err == nil && !u.IsAbs() {
			err = fmt.Errorf("not absolute")
		}
		return err
	case "uri-reference":
		_, err := url.Parse(s)
		return err
	case "uuid":
		if !uuidPattern.MatchString(s) {
			return fmt.Errorf("not a UUID")
		}
	}
	return nil
}

func typeMatches(ty, x any) bool {
	var types []string
	switch t := ty.(type) {
	case string:
		types = []string{t}
	case []any:
		for _, e := range t {
			s, _ := e.(string)
			types = append(types, s)
		}
	}
	for _, t := range types {
		switch x := x.(type) {
		case nil:
			if t == "null" {
				return true
			}
		case bool:
			if t == "boolean" {
				return true
			}
		case float64:
			if t == "number" || (t == "integer" && x == float64(int64(x))) {
				return true
			}
		case string:
			if t == "string" {
				return true
			}
		case []any:
			if t == "array" {
				return true
			}
		case map[string]any:
			if t == "object" {
				return true
			}
		}
	}
	return false
}

func show(x any) string {
	b, _ := json.Marshal(x)
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// Reading the document.

func load(t testing.TB) map[string]any {
	t.Helper()
	var d map[string]any
	dec := json.NewDecoder(bytes.NewReader(openapi.Document))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatal("openapi.json has data after the document")
	}
	return d
}

func decode(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, body)
	}
	return m
}

type operation struct {
	section string // "paths" or "webhooks"
	key     string // the path, or the webhook's name
	method  string // lower case
	item    map[string]any
	op      map[string]any
}

func operations(d map[string]any) []operation {
	var out []operation
	for _, section := range []string{"paths", "webhooks"} {
		items, _ := d[section].(map[string]any)
		for _, key := range slices.Sorted(maps.Keys(items)) {
			item, _ := items[key].(map[string]any)
			for _, m := range httpMethods {
				if op, ok := item[m].(map[string]any); ok {
					out = append(out, operation{section: section, key: key, method: m, item: item, op: op})
				}
			}
		}
	}
	return out
}

// parameters are an operation's parameters after resolving references,
// path-item ones included unless the operation overrides them.
func parameters(t testing.TB, d map[string]any, op operation) []map[string]any {
	t.Helper()
	v := &validator{root: d}
	byKey := map[string]map[string]any{}
	var order []string
	for _, list := range []any{op.item["parameters"], op.op["parameters"]} {
		for _, p := range asSlice(list) {
			pm := v.deref(p)
			if pm == nil {
				t.Fatalf("%s %s: unresolvable parameter %v", op.method, op.key, p)
			}
			k := fmt.Sprint(pm["in"], " ", pm["name"])
			if _, seen := byKey[k]; !seen {
				order = append(order, k)
			}
			byKey[k] = pm
		}
	}
	out := make([]map[string]any, 0, len(order))
	for _, k := range order {
		out = append(out, byKey[k])
	}
	return out
}

// docPath turns a ServeMux pattern path into an OpenAPI path key: "{x...}"
// becomes "{x}" and a trailing "{$}" goes.
func docPath(p string) string {
	p = strings.TrimSuffix(p, "{$}")
	return regexp.MustCompile(`\{([^}.]+)\.\.\.\}`).ReplaceAllString(p, "{$1}")
}

// samplePath fills every wildcard of a route with a placeholder.
func samplePath(p string) string {
	return regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(strings.TrimSuffix(p, "{$}"), "x")
}

// walk calls fn for every object in the document, skipping literal values
// (examples, defaults, consts, enums) that are data rather than document.
func walk(x any, at string, fn func(at string, m map[string]any)) {
	walkIn(x, at, "", fn)
}

// namedMaps hold names chosen by the author, not keywords.
var namedMaps = map[string]bool{
	"paths": true, "webhooks": true, "responses": true, "properties": true, "headers": true, "schemas": true,
	"parameters": true, "securitySchemes": true, "content": true, "variables": true, "mapping": true,
}

func walkIn(x any, at, parent string, fn func(at string, m map[string]any)) {
	switch x := x.(type) {
	case map[string]any:
		fn(at, x)
		for _, k := range slices.Sorted(maps.Keys(x)) {
			literal := false
			switch k {
			case "example", "default", "const", "enum":
				literal = !namedMaps[parent]
			case "examples":
				_, literal = x[k].([]any) // a schema's examples; a media type's are Example Objects
			}
			if !literal {
				walkIn(x[k], at+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"), k, fn)
			}
		}
	case []any:
		for i, e := range x {
			walkIn(e, fmt.Sprintf("%s/%d", at, i), parent, fn)
		}
	}
}

// resolvePointer resolves a local reference "#/a/b" in the document.
func resolvePointer(root any, ref string) (any, error) {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("only references within the document are allowed")
	}
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return nil, err
	}
	if frag == "" {
		return root, nil
	}
	if !strings.HasPrefix(frag, "/") {
		return nil, fmt.Errorf("not a JSON pointer")
	}
	cur := root
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("no %q", tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("no index %q", tok)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("%q is inside a %T", tok, cur)
		}
	}
	return cur, nil
}

func dig(x any, keys ...string) any {
	for _, k := range keys {
		m, ok := x.(map[string]any)
		if !ok {
			return nil
		}
		x = m[k]
	}
	return x
}

func asSlice(x any) []any {
	s, _ := x.([]any)
	return s
}

// duplicateKeys lists keys that occur twice in one JSON object.
func duplicateKeys(data []byte) []string {
	type frame struct {
		object  bool
		wantKey bool
		key     string
		keys    map[string]bool
		path    string
	}
	var stack []*frame
	var dups []string
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return dups
		}
		if err != nil {
			return append(dups, err.Error())
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, ok := tok.(string); ok && top != nil && top.object && top.wantKey {
			if top.keys[s] {
				dups = append(dups, top.path+"/"+s)
			}
			top.keys[s], top.key, top.wantKey = true, s, false
			continue
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			path := ""
			if top != nil {
				path = top.path + "/" + top.key
			}
			stack = append(stack, &frame{object: tok == json.Delim('{'), wantKey: true, keys: map[string]bool{}, path: path, key: "[]"})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
		default:
			if top != nil && top.object {
				top.wantKey = true
			}
		}
	}
}

// chatAndContacts exercises the chat, attachment, contact, web chat and
// retention routes, each answer checked against the document.
func chatAndContacts(l *live, admin *session) {
	t := l.t
	const cv, nv = "?api-version=2025-03-15", "?api-version=2026-11-01"
	alice, bob, carol := l.c.NewUser(t), l.c.NewUser(t), l.c.NewUser(t)
	as := func(u switchboardtest.User, method, path string, body any) *http.Request {
		req := l.plain(method, path, body)
		req.Header.Set("Authorization", "Bearer "+u.Token)
		return req
	}
	_, body := l.send("/chat/threads", as(alice, "POST", "/chat/threads"+cv, map[string]any{"topic": "Docs",
		"participants": []any{map[string]any{"communicationIdentifier": bob.Identifier(), "displayName": "Bob"}}, "metadata": map[string]string{"k": "v"}}), 201)
	th := decode(t, body)["chatThread"].(map[string]any)["id"].(string)
	base := "/chat/threads/" + url.PathEscape(th)
	l.send("/chat/threads", as(alice, "POST", "/chat/threads"+cv, map[string]any{"topic": ""}), 400)
	l.send("/chat/threads", as(alice, "GET", "/chat/threads"+cv, nil), 200)
	l.send("/chat/threads/{thread}", as(bob, "GET", base+cv, nil), 200)
	l.send("/chat/threads/{thread}", as(carol, "GET", base+cv, nil), 403)
	l.send("/chat/threads/{thread}", as(alice, "GET", "/chat/threads/"+url.PathEscape("19:00000000000000000000000000000000@thread.v2")+cv, nil), 404)
	_, body = l.send("/chat/threads/{thread}/messages", as(alice, "POST", base+"/messages"+cv, map[string]any{"content": "hello", "senderDisplayName": "Alice", "metadata": map[string]string{"a": "b"}}), 201)
	msg := decode(t, body)["id"].(string)
	l.send("/chat/threads/{thread}/messages", as(alice, "POST", base+"/messages"+cv, map[string]any{"content": strings.Repeat("x", 30000)}), 413)
	req := as(alice, "POST", base+"/attachments"+nv+"&name=a.png", nil)
	req.Body = io.NopCloser(bytes.NewReader([]byte("\x89PNG\r\n\x1a\n0000")))
	req.ContentLength = 12
	req.Header.Set("Content-Type", "image/png")
	_, body = l.send("/chat/threads/{thread}/attachments", req, 201)
	att := decode(t, body)
	l.send("/files/{tenant}/{file}", l.plain("GET", strings.TrimPrefix(att["url"].(string), l.s.HTTPURL), nil), 200)
	l.send("/chat/threads/{thread}/messages", as(alice, "POST", base+"/messages"+cv, map[string]any{"attachments": []any{map[string]any{"id": att["id"]}}}), 201)
	l.send("/chat/threads/{thread}/messages", as(bob, "GET", base+"/messages"+cv+"&maxPageSize=2", nil), 200)
	l.send("/chat/threads/{thread}/messages/{message}", as(bob, "GET", base+"/messages/"+msg+cv, nil), 200)
	req = as(alice, "PATCH", base+"/messages/"+msg+cv, map[string]any{"content": "hello!"})
	req.Header.Set("Content-Type", "application/merge-patch+json")
	l.send("/chat/threads/{thread}/messages/{message}", req, 204)
	l.send("/chat/threads/{thread}/messages/{message}", as(bob, "PATCH", base+"/messages/"+msg+cv, map[string]any{"content": "no"}), 403)
	l.send("/chat/threads/{thread}/typing", as(bob, "POST", base+"/typing"+cv, map[string]any{"senderDisplayName": "Bob"}), 200)
	l.send("/chat/threads/{thread}/readReceipts", as(bob, "POST", base+"/readReceipts"+cv, map[string]any{"chatMessageId": msg}), 200)
	l.send("/chat/threads/{thread}/readReceipts", as(alice, "GET", base+"/readReceipts"+cv, nil), 200)
	l.send("/chat/threads/{thread}/participants/:add", as(alice, "POST", base+"/participants/:add"+cv,
		map[string]any{"participants": []any{map[string]any{"communicationIdentifier": carol.Identifier(), "displayName": "Carol"}}}), 201)
	l.send("/chat/threads/{thread}/participants", as(alice, "GET", base+"/participants"+cv+"&maxPageSize=2", nil), 200)
	l.send("/chat/threads/{thread}/participants/:remove", as(alice, "POST", base+"/participants/:remove"+cv, carol.Identifier()), 204)
	l.send("/chat/threads/{thread}/messages/{message}", as(alice, "DELETE", base+"/messages/"+msg+cv, nil), 204)
	req = as(alice, "PATCH", base+cv, map[string]any{"topic": "Docs (renamed)"})
	req.Header.Set("Content-Type", "application/merge-patch+json")
	l.send("/chat/threads/{thread}", req, 204)
	l.send("/chat/threads/{thread}", as(alice, "DELETE", base+cv, nil), 204)

	// Contacts.
	_, body = l.send("/contacts", l.c.Request("POST", "/contacts"+nv, map[string]any{"displayName": "Ani", "fields": map[string]string{"tier": "gold"},
		"handles": []map[string]string{{"kind": "phone", "value": "+6281234567890"}}}), 201)
	ani := decode(t, body)["id"].(string)
	_, body = l.send("/contacts", l.c.Request("POST", "/contacts"+nv, map[string]any{"displayName": "Ani (web)"}), 201)
	dup := decode(t, body)["id"].(string)
	l.send("/contacts", l.c.Request("POST", "/contacts"+nv, map[string]any{"handles": []map[string]string{{"kind": "phone", "value": "+6281234567890"}}}), 409)
	l.send("/contacts", l.c.Request("GET", "/contacts"+nv+"&q=ani&maxpagesize=1", nil), 200)
	resp, _ := l.send("/contacts/{id}", l.c.Request("GET", "/contacts/"+ani+nv, nil), 200)
	req = l.c.Request("PATCH", "/contacts/"+ani+nv, map[string]any{"fields": map[string]string{"city": "Bandung"}})
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	l.send("/contacts/{id}", req, 200)
	l.send("/contacts/{id}/handles", l.c.Request("POST", "/contacts/"+ani+"/handles"+nv, map[string]string{"kind": "email", "value": "ani@example.com"}), 200)
	l.send("/contacts/{id}/conversations", l.c.Request("GET", "/contacts/"+ani+"/conversations"+nv, nil), 200)
	l.send("/contacts/{id}:merge", l.c.Request("POST", "/contacts/"+ani+":merge"+nv, map[string]string{"sourceId": dup}), 200)
	l.send("/contacts/{id}", l.c.Request("DELETE", "/contacts/"+ani+nv, nil), 204)
	l.send("/contacts/{id}", l.c.Request("GET", "/contacts/"+ani+nv, nil), 404)

	// Web chat and retention.
	_, body = l.send("/webchat/settings", admin.request("GET", "/webchat/settings"+nv, nil), 200)
	var st map[string]any
	_ = json.Unmarshal(body, &st)
	l.send("/webchat/settings", admin.request("PUT", "/webchat/settings"+nv, st), 200)
	st["name"] = ""
	l.send("/webchat/settings", admin.request("PUT", "/webchat/settings"+nv, st), 400)
	l.send("/webchat/{tenant}/config", l.plain("GET", "/webchat/demo/config"+nv, nil), 200)
	l.send("/webchat/{tenant}/config", l.plain("GET", "/webchat/nobody/config"+nv, nil), 404)
	l.send("/webchat/{tenant}/sessions", l.plain("POST", "/webchat/demo/sessions"+nv, map[string]any{"displayName": "Budi"}), 201)
	l.send("/webchat/{tenant}/sessions", l.plain("POST", "/webchat/demo/sessions"+nv, map[string]any{"resumeKey": "nope"}), 401)
	_, body = l.send("/webchat/visitors", l.c.Request("POST", "/webchat/visitors"+nv, map[string]any{"externalId": "crm-7"}), 201)
	l.send("/webchat/{tenant}/sessions", l.plain("POST", "/webchat/demo/sessions"+nv, map[string]any{"visitorToken": decode(t, body)["visitorToken"]}), 201)
	l.send("/retentionPolicy", l.c.Request("PUT", "/retentionPolicy"+nv, map[string]int{"retentionDays": 30}), 200)
	l.send("/retentionPolicy", l.c.Request("GET", "/retentionPolicy"+nv, nil), 200)
	l.send("/retentionPolicy", l.c.Request("PUT", "/retentionPolicy"+nv, map[string]int{"retentionDays": -1}), 400)
}

// routerConfig exercises the Job Router configuration routes.
func routerConfig(l *live) {
	const rv = "?api-version=2023-11-01"
	patch := func(path string, body any) *http.Request {
		req := l.c.Request("PATCH", path+rv, body)
		req.Header.Set("Content-Type", "application/merge-patch+json")
		return req
	}
	l.send("/routing/distributionPolicies/{id}", patch("/routing/distributionPolicies/dp1", map[string]any{"name": "d", "offerExpiresAfterSeconds": 60, "mode": map[string]any{"kind": "longest-idle", "maxConcurrentOffers": 3}}), 201)
	l.send("/routing/distributionPolicies/{id}", patch("/routing/distributionPolicies/dp1", map[string]any{"name": nil}), 200)
	l.send("/routing/distributionPolicies/{id}", patch("/routing/distributionPolicies/dp2", map[string]any{"mode": map[string]any{"kind": "fastest"}}), 400)
	l.send("/routing/exceptionPolicies/{id}", patch("/routing/exceptionPolicies/ep1", map[string]any{"exceptionRules": []any{map[string]any{"id": "r1",
		"trigger": map[string]any{"kind": "queueLength", "threshold": 10}, "actions": []any{map[string]any{"kind": "cancel", "note": "full"}}}}}), 201)
	l.send("/routing/queues/{id}", patch("/routing/queues/q1", map[string]any{"distributionPolicyId": "dp1", "exceptionPolicyId": "ep1", "labels": map[string]any{"lang": "id"}}), 201)
	l.send("/routing/queues/{id}", patch("/routing/queues/q2", map[string]any{"distributionPolicyId": "nope"}), 400)
	l.send("/routing/classificationPolicies/{id}", patch("/routing/classificationPolicies/cp1", map[string]any{"fallbackQueueId": "q1"}), 201)
	l.send("/routing/workers/{id}", patch("/routing/workers/w1", map[string]any{"capacity": 100, "availableForOffers": true, "queues": []string{"q1"},
		"channels": []any{map[string]any{"channelId": "voice", "capacityCostPerJob": 100}, map[string]any{"channelId": "chat", "capacityCostPerJob": 20, "maxNumberOfJobs": 5}}}), 201)
	l.send("/routing/workers", l.c.Request("GET", "/routing/workers"+rv+"&state=active&channelId=chat", nil), 200)
	l.send("/routing/workers/{id}", l.c.Request("GET", "/routing/workers/w1"+rv, nil), 200)
	l.send("/routing/queues/{id}", l.c.Request("DELETE", "/routing/queues/q1"+rv, nil), 409)
	l.send("/routing/workers/{id}", l.c.Request("DELETE", "/routing/workers/w1"+rv, nil), 204)
	for _, p := range []string{"distributionPolicies", "exceptionPolicies", "queues", "classificationPolicies"} {
		l.send("/routing/"+p, l.c.Request("GET", "/routing/"+p+rv, nil), 200)
	}
	l.send("/routing/queues/{id}", l.c.Request("GET", "/routing/queues/q1"+rv, nil), 200)
	l.send("/routing/queues/{id}", l.c.Request("GET", "/routing/queues/none"+rv, nil), 404)
	l.send("/routing/distributionPolicies/{id}", l.c.Request("DELETE", "/routing/distributionPolicies/dp1"+rv, nil), 400)
	l.send("/routing/queues/{id}", l.c.Request("DELETE", "/routing/queues/q1"+rv, nil), 409)
	l.send("/routing/classificationPolicies/{id}", l.c.Request("DELETE", "/routing/classificationPolicies/cp1"+rv, nil), 204)
	l.send("/routing/queues/{id}", l.c.Request("DELETE", "/routing/queues/q1"+rv, nil), 204)
	l.send("/routing/exceptionPolicies/{id}", l.c.Request("DELETE", "/routing/exceptionPolicies/ep1"+rv, nil), 204)
	l.send("/routing/distributionPolicies/{id}", l.c.Request("GET", "/routing/distributionPolicies/dp1"+rv, nil), 200)
	routerJobs(l, patch)
}

// routerJobs drives jobs through their lives: offers, accept (and the
// second accept's 409), decline, complete, close, unassign, cancel,
// reclassify, position, statistics, lists and deletion.
func routerJobs(l *live, patch func(string, any) *http.Request) {
	t := l.t
	const rv = "?api-version=2023-11-01"
	l.send("/routing/distributionPolicies/{id}", patch("/routing/distributionPolicies/ring", map[string]any{"offerExpiresAfterSeconds": 300, "mode": map[string]any{"kind": "longestIdle", "maxConcurrentOffers": 2}}), 201)
	l.send("/routing/distributionPolicies/{id}", patch("/routing/distributionPolicies/serial", map[string]any{"mode": map[string]any{"kind": "serial", "workerOrder": []string{"ana", "budi"}}}), 201)
	l.send("/routing/queues/{id}", patch("/routing/queues/sales", map[string]any{"distributionPolicyId": "ring"}), 201)
	l.send("/routing/classificationPolicies/{id}", patch("/routing/classificationPolicies/vip", map[string]any{"fallbackQueueId": "sales",
		"prioritizationRule": map[string]any{"kind": "expression", "expression": "If(job.vip = true, 10, 1)"}}), 201)
	for _, w := range []string{"ana", "budi"} {
		l.send("/routing/workers/{id}", patch("/routing/workers/"+w, map[string]any{"capacity": 100, "queues": []string{"sales"}, "presence": map[string]any{"status": "available"},
			"wrapUpSeconds": 0, "maxMissedOffers": 3, "channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 50}}}), 201)
	}
	_, body := l.send("/routing/jobs/{job}", patch("/routing/jobs/j1", map[string]any{"channelId": "chat", "classificationPolicyId": "vip", "labels": map[string]any{"vip": true},
		"requestedWorkerSelectors": []any{map[string]any{"key": "Id", "labelOperator": "notEqual", "value": "nobody", "expiresAfterSeconds": 60}}}), 201)
	if decode(t, body)["status"] != "pendingClassification" {
		t.Errorf("a new job with a classification policy is answered pendingClassification: %s", body)
	}
	l.send("/routing/jobs/{job}", patch("/routing/jobs/bad", map[string]any{"queueId": "sales"}), 400)
	l.send("/routing/jobs/{job}", patch("/routing/jobs/bad", map[string]any{"channelId": "chat", "queueId": "nowhere"}), 400)
	_, body = l.send("/routing/jobs/{job}", l.c.Request("GET", "/routing/jobs/j1"+rv, nil), 200)
	var job struct {
		Decisions []struct{ Kind, WorkerID, OfferID string }
	}
	_ = json.Unmarshal(body, &job)
	if len(job.Decisions) != 2 {
		t.Fatalf("j1 was offered to both workers at once: %s", body)
	}
	first, second := job.Decisions[0], job.Decisions[1]
	offer := func(d struct{ Kind, WorkerID, OfferID string }, action string) *http.Request {
		return l.c.Request("POST", "/routing/workers/"+d.WorkerID+"/offers/"+d.OfferID+":"+action+rv, nil)
	}
	l.send("/routing/workers/{id}", l.c.Request("GET", "/routing/workers/"+first.WorkerID+rv, nil), 200)
	_, body = l.send("/routing/workers/{worker}/offers/{offer}:accept", offer(first, "accept"), 200)
	aid := decode(t, body)["assignmentId"].(string)
	l.send("/routing/workers/{worker}/offers/{offer}:accept", offer(second, "accept"), 409)
	l.send("/routing/workers/{worker}/offers/{offer}:decline", offer(second, "decline"), 404)
	l.send("/routing/workers/{id}", l.c.Request("GET", "/routing/workers/"+first.WorkerID+rv, nil), 200)
	asg := "/routing/jobs/j1/assignments/" + aid
	_, body = l.send("/routing/jobs/{job}/assignments/{assignment}:unassign", l.c.Request("POST", asg+":unassign"+rv, map[string]any{"suspendMatching": true}), 200)
	if decode(t, body)["unassignmentCount"] != 1.0 {
		t.Errorf("unassign: %s", body)
	}
	l.send("/routing/jobs/{job}/assignments/{assignment}:complete", l.c.Request("POST", asg+":complete"+rv, nil), 404)
	l.send("/routing/jobs/{job}", patch("/routing/jobs/j1", map[string]any{"matchingMode": map[string]any{"kind": "queueAndMatch"}}), 200)
	_, body = l.send("/routing/jobs/{job}", l.c.Request("GET", "/routing/jobs/j1"+rv, nil), 200)
	_ = json.Unmarshal(body, &job)
	last := job.Decisions[len(job.Decisions)-1]
	_, body = l.send("/routing/workers/{worker}/offers/{offer}:accept", offer(last, "accept"), 200)
	asg = "/routing/jobs/j1/assignments/" + decode(t, body)["assignmentId"].(string)
	l.send("/routing/jobs/{job}/assignments/{assignment}:complete", l.c.Request("POST", asg+":complete"+rv, map[string]any{"note": "sorted"}), 200)
	l.send("/routing/jobs/{job}/assignments/{assignment}:complete", l.c.Request("POST", asg+":complete"+rv, nil), 400)
	l.send("/routing/jobs/{job}/assignments/{assignment}:close", l.c.Request("POST", asg+":close"+rv, map[string]any{"dispositionCode": "Resolved"}), 200)
	l.send("/routing/jobs/{job}", l.c.Request("GET", "/routing/jobs/j1"+rv, nil), 200)
	_, body = l.send("/routing/jobs/{job}", patch("/routing/jobs/d1", map[string]any{"channelId": "chat", "queueId": "sales"}), 201)
	_, body = l.send("/routing/jobs/{job}", l.c.Request("GET", "/routing/jobs/d1"+rv, nil), 200)
	_ = json.Unmarshal(body, &job)
	retry := map[string]any{"retryOfferAt": time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}
	d := job.Decisions[0]
	l.send("/routing/workers/{worker}/offers/{offer}:decline", l.c.Request("POST", "/routing/workers/"+d.WorkerID+"/offers/"+d.OfferID+":decline"+rv, retry), 200)

	// Waiting jobs: no worker takes voice.
	for _, id := range []string{"w1", "w2"} {
		l.send("/routing/jobs/{job}", patch("/routing/jobs/"+id, map[string]any{"channelId": "voice", "queueId": "sales", "priority": 5}), 201)
	}
	l.send("/routing/jobs/{job}/position", l.c.Request("GET", "/routing/jobs/w2/position"+rv, nil), 200)
	l.send("/routing/jobs/{job}/position", l.c.Request("GET", "/routing/jobs/j1/position"+rv, nil), 400)
	l.send("/routing/jobs/{job}/position", l.c.Request("GET", "/routing/jobs/none/position"+rv, nil), 404)
	l.send("/routing/queues/{queue}/statistics", l.c.Request("GET", "/routing/queues/sales/statistics"+rv, nil), 200)
	l.send("/routing/queues/{queue}/statistics", l.c.Request("GET", "/routing/queues/none/statistics"+rv, nil), 404)
	l.send("/routing/jobs/{job}:reclassify", l.c.Request("POST", "/routing/jobs/w1:reclassify"+rv, map[string]any{}), 200)
	l.send("/routing/jobs/{job}:cancel", l.c.Request("POST", "/routing/jobs/w1:cancel"+rv, map[string]any{"note": "hung up", "dispositionCode": "Abandoned"}), 200)
	l.send("/routing/jobs/{job}:cancel", l.c.Request("POST", "/routing/jobs/w1:cancel"+rv, nil), 400)
	l.send("/routing/jobs/{job}", patch("/routing/jobs/later", map[string]any{"channelId": "voice", "queueId": "sales",
		"matchingMode": map[string]any{"kind": "scheduleAndSuspend", "scheduleAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}), 201)
	// d1 (declined by one worker, still offered to the other) and w2 wait.
	_, body = l.send("/routing/jobs", l.c.Request("GET", "/routing/jobs"+rv+"&status=queued&queueId=sales&maxpagesize=1", nil), 200)
	next, _ := decode(t, body)["nextLink"].(string)
	if next == "" {
		t.Fatalf("two queued jobs in pages of one gave no nextLink: %s", body)
	}
	u, _ := url.Parse(next)
	if _, body = l.send("/routing/jobs", l.c.Request("GET", u.RequestURI(), nil), 200); decode(t, body)["nextLink"] != nil {
		t.Errorf("the second page of two is the last: %s", body)
	}
	l.send("/routing/jobs", l.c.Request("GET", "/routing/jobs"+rv+"&scheduledBefore="+url.QueryEscape(time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339)), nil), 200)
	l.send("/routing/jobs", l.c.Request("GET", "/routing/jobs"+rv+"&status=sleeping", nil), 400)
	l.send("/routing/jobs/{job}", l.c.Request("DELETE", "/routing/jobs/w1"+rv, nil), 204)
	l.send("/routing/jobs/{job}", l.c.Request("DELETE", "/routing/jobs/w1"+rv, nil), 404)
	l.send("/routing/queues/{id}", l.c.Request("DELETE", "/routing/queues/sales"+rv, nil), 409)
}
