package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// nv is the native API version (idv, the Identity API one, is in identity_test.go).
const nv = "?api-version=2026-11-01"

// ---------------------------------------------------------------------------
// Helpers shared by the api_test files.

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Target  string `json:"target"`
	} `json:"error"`
}

// wantError checks an ACS error answer: the status, a JSON body
// {"error":{"code","message"}} whose code is code (any code when empty), and
// the x-ms-error-code header agreeing with it.
func wantError(t testing.TB, resp *http.Response, body []byte, status int, code string) apiError {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q, want application/json: %s", ct, body)
	}
	var e apiError
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body is not the ACS shape: %v: %s", err, body)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body lacks code or message: %s", body)
	}
	if code != "" && e.Error.Code != code {
		t.Fatalf("error code %q, want %q: %s", e.Error.Code, code, body)
	}
	if h := resp.Header.Get("x-ms-error-code"); h != e.Error.Code {
		t.Fatalf("x-ms-error-code %q disagrees with body code %q", h, e.Error.Code)
	}
	return e
}

func wantStatus(t testing.TB, resp *http.Response, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, status, body)
	}
}

// count runs a COUNT(*) query straight against the node's database.
func count(t testing.TB, s *switchboardtest.Server, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.App.Store.DB().RawQueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func identityCount(t testing.TB, s *switchboardtest.Server) int {
	t.Helper()
	return count(t, s, `SELECT COUNT(*) FROM identities`)
}

func userCount(t testing.TB, s *switchboardtest.Server, tn tenant.ID) int {
	t.Helper()
	return count(t, s, `SELECT COUNT(*) FROM users WHERE tenant_id = $1`, string(tn))
}

// send does one unsigned request with hc and reads the body.
func send(t testing.TB, hc *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func newRequest(t testing.TB, method, url string, body any) *http.Request {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// session is a logged-in person: the cookie and CSRF token a browser holds.
type session struct {
	base   string
	hc     *http.Client
	cookie *http.Cookie
	csrf   string
	userID string
	login  *http.Response
}

func loginAt(t testing.TB, hc *http.Client, base, tenantName, username, password string) *session {
	t.Helper()
	resp, body := send(t, hc, newRequest(t, "POST", base+"/auth/login"+nv, map[string]string{"tenant": tenantName, "username": username, "password": password}))
	wantStatus(t, resp, body, http.StatusOK)
	var out struct {
		User      struct{ ID string }
		CSRFToken string `json:"csrfToken"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	ss := &session{base: base, hc: hc, csrf: out.CSRFToken, userID: out.User.ID, login: resp}
	for _, c := range resp.Cookies() {
		if c.Name == "sb_session" {
			ss.cookie = c
		}
	}
	if ss.cookie == nil || ss.cookie.Value == "" || ss.csrf == "" || ss.userID == "" {
		t.Fatalf("login answered without a session cookie, CSRF token or user: %v %s", resp.Header, body)
	}
	return ss
}

func loginDemo(t testing.TB, s *switchboardtest.Server, username, password string) *session {
	t.Helper()
	return loginAt(t, &http.Client{Timeout: 30 * time.Second}, s.HTTPURL, "demo", username, password)
}

// do sends a request with the session cookie and, for unsafe methods, the
// CSRF header; mods run last and may remove or change either.
func (ss *session) do(t testing.TB, method, pathAndQuery string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	req := newRequest(t, method, ss.base+pathAndQuery, body)
	req.AddCookie(ss.cookie)
	if method != "GET" && method != "HEAD" && method != "OPTIONS" {
		req.Header.Set("X-CSRF-Token", ss.csrf)
	}
	for _, m := range mods {
		m(req)
	}
	return send(t, ss.hc, req)
}

func withHeader(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

func withoutHeader(k string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Del(k) }
}

// pathOf turns an absolute nextLink into the path and query to sign.
func pathOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || !u.IsAbs() {
		t.Fatalf("nextLink %q is not an absolute URL", link)
	}
	return u.RequestURI()
}

func createUser(t testing.TB, c *switchboardtest.Client, username, role, password string) map[string]any {
	t.Helper()
	resp, body := c.Do(t, "POST", "/users"+nv, map[string]string{"username": username, "role": role, "password": password, "displayName": "User " + username})
	wantStatus(t, resp, body, http.StatusCreated)
	return switchboardtest.JSON(t, body)
}

func createIdentity(t testing.TB, c *switchboardtest.Client) (id, token string) {
	t.Helper()
	resp, body := c.Do(t, "POST", "/identities"+idv, map[string]any{"createTokenWithScopes": []string{"chat"}})
	wantStatus(t, resp, body, http.StatusCreated)
	m := switchboardtest.JSON(t, body)
	return m["identity"].(map[string]any)["id"].(string), m["accessToken"].(map[string]any)["token"].(string)
}

// ---------------------------------------------------------------------------

func TestAPIVersion(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	admin := loginDemo(t, s, "admin", "demo-admin-1")
	// Signed requests to ACS routes, session requests to native ones: the
	// version check comes first either way.
	for _, tc := range []struct {
		name, path string
		session    bool
		status     int
		code       string
	}{
		{"identities without api-version", "/identities", false, 400, "MissingApiVersionParameter"},
		{"identities with empty api-version", "/identities?api-version=", false, 400, "MissingApiVersionParameter"},
		{"identities with unknown version", "/identities?api-version=2099-01-01", false, 400, "UnsupportedApiVersion"},
		{"identities with the native version", "/identities?api-version=2026-11-01", false, 400, "UnsupportedApiVersion"},
		{"identities with a version of the wrong case", "/identities?api-version=2023-10-01-PREVIEW", false, 400, "UnsupportedApiVersion"},
		{"identities with a known version", "/identities?api-version=2023-10-01", false, 201, ""},
		{"identities with the oldest known version", "/identities?api-version=2021-03-07", false, 201, ""},
		{"users without api-version", "/users", true, 400, "MissingApiVersionParameter"},
		{"users with an Identity API version", "/users?api-version=2023-10-01", true, 400, "UnsupportedApiVersion"},
		{"users with the native version", "/users?api-version=2026-11-01", true, 200, ""},
		{"login without api-version", "/auth/login", true, 400, "MissingApiVersionParameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp *http.Response
			var body []byte
			switch {
			case tc.path == "/auth/login":
				resp, body = send(t, http.DefaultClient, newRequest(t, "POST", s.HTTPURL+tc.path, map[string]string{"tenant": "demo", "username": "admin", "password": "demo-admin-1"}))
			case tc.session:
				resp, body = admin.do(t, "GET", tc.path, nil)
			default:
				resp, body = c.Do(t, "POST", tc.path, nil)
			}
			if tc.code == "" {
				wantStatus(t, resp, body, tc.status)
			} else {
				e := wantError(t, resp, body, tc.status, tc.code)
				if e.Error.Target != "api-version" {
					t.Fatalf("target %q, want api-version", e.Error.Target)
				}
			}
			if resp.Header.Get("api-supported-versions") == "" {
				t.Fatal("no api-supported-versions header")
			}
		})
	}
	// A bad version is refused before anything is stored.
	before := identityCount(t, s)
	c.Do(t, "POST", "/identities?api-version=1999-01-01", map[string]any{"createTokenWithScopes": []string{"chat"}})
	if identityCount(t, s) != before {
		t.Fatal("a request with an unsupported api-version created an identity")
	}
}

func TestClientRequestIDEchoed(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	cid := uuid.NewString()
	for _, tc := range []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"success", func() *http.Request { return c.Request("POST", "/identities"+idv, nil) }, 201},
		{"validation error", func() *http.Request { return c.Request("POST", "/identities", nil) }, 400},
		{"auth failure", func() *http.Request { return newRequest(t, "POST", s.HTTPURL+"/identities"+idv, nil) }, 401},
		{"unknown path", func() *http.Request { return newRequest(t, "GET", s.HTTPURL+"/no/such/thing", nil) }, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req()
			req.Header.Set("x-ms-client-request-id", cid)
			resp, body := send(t, http.DefaultClient, req)
			wantStatus(t, resp, body, tc.status)
			if got := resp.Header.Get("x-ms-client-request-id"); got != cid {
				t.Fatalf("x-ms-client-request-id %q, want %q echoed", got, cid)
			}
			if _, err := uuid.Parse(resp.Header.Get("x-ms-request-id")); err != nil {
				t.Fatalf("x-ms-request-id %q is not a UUID", resp.Header.Get("x-ms-request-id"))
			}
		})
	}
	t.Run("overlong id not echoed", func(t *testing.T) {
		req := c.Request("POST", "/identities"+idv, nil)
		req.Header.Set("x-ms-client-request-id", strings.Repeat("x", 300))
		resp, body := send(t, http.DefaultClient, req)
		wantStatus(t, resp, body, 201)
		if got := resp.Header.Get("x-ms-client-request-id"); got != "" {
			t.Fatalf("a 300-character client request id was echoed")
		}
	})
	t.Run("distinct request ids", func(t *testing.T) {
		a, _ := c.Do(t, "POST", "/identities"+idv, nil)
		b, _ := c.Do(t, "POST", "/identities"+idv, nil)
		if a.Header.Get("x-ms-request-id") == b.Header.Get("x-ms-request-id") {
			t.Fatal("two requests got the same x-ms-request-id")
		}
	})
}

// repeatable signs a POST with the Repeatability headers.
func repeatable(c *switchboardtest.Client, path string, body any, id, firstSent string) *http.Request {
	raw, _ := json.Marshal(body)
	req := c.Request("POST", path, raw)
	req.Header.Set("Repeatability-Request-ID", id)
	if firstSent != "" {
		req.Header.Set("Repeatability-First-Sent", firstSent)
	}
	return req
}

func TestRepeatabilityIdentities(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	first := time.Now().UTC().Format(http.TimeFormat)
	body := map[string]any{"createTokenWithScopes": []string{"chat"}, "expiresInMinutes": 60}

	t.Run("retry replays the first answer", func(t *testing.T) {
		id := uuid.NewString()
		before := identityCount(t, s)
		r1, b1 := c.Send(t, repeatable(c, "/identities"+idv, body, id, first))
		wantStatus(t, r1, b1, http.StatusCreated)
		if r1.Header.Get("Repeatability-Result") != "accepted" {
			t.Fatalf("first answer Repeatability-Result %q", r1.Header.Get("Repeatability-Result"))
		}
		for i := range 3 {
			r2, b2 := c.Send(t, repeatable(c, "/identities"+idv, body, id, first))
			wantStatus(t, r2, b2, http.StatusCreated)
			if !bytes.Equal(b1, b2) {
				t.Fatalf("retry %d answered a different body:\n%s\n%s", i, b1, b2)
			}
			if r2.Header.Get("Repeatability-Result") != "accepted" || r2.Header.Get("Content-Type") != r1.Header.Get("Content-Type") {
				t.Fatalf("retry headers: %v", r2.Header)
			}
		}
		if got := identityCount(t, s) - before; got != 1 {
			t.Fatalf("%d identities created by one repeatable request and its retries", got)
		}
		// The replayed token is the one issued first and it works.
		tok := switchboardtest.JSON(t, b1)["accessToken"].(map[string]any)["token"].(string)
		req := newRequest(t, "GET", s.HTTPURL+"/me"+nv, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, b := send(t, http.DefaultClient, req)
		wantStatus(t, resp, b, http.StatusOK)
	})

	t.Run("retry without First-Sent also replays", func(t *testing.T) {
		id := uuid.NewString()
		r1, b1 := c.Send(t, repeatable(c, "/identities"+idv, body, id, ""))
		r2, b2 := c.Send(t, repeatable(c, "/identities"+idv, body, id, ""))
		wantStatus(t, r1, b1, 201)
		wantStatus(t, r2, b2, 201)
		if !bytes.Equal(b1, b2) {
			t.Fatal("retry answered a different body")
		}
	})

	t.Run("concurrent retries create one identity", func(t *testing.T) {
		id := uuid.NewString()
		before := identityCount(t, s)
		const n = 6
		type result struct {
			status int
			body   []byte
			err    error
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				resp, err := c.HTTP.Do(repeatable(c, "/identities"+idv, body, id, first))
				if err != nil {
					results[i].err = err
					return
				}
				defer resp.Body.Close()
				results[i].status = resp.StatusCode
				results[i].body, results[i].err = io.ReadAll(resp.Body)
			})
		}
		wg.Wait()
		var created [][]byte
		for _, r := range results {
			switch {
			case r.err != nil:
				t.Fatal(r.err)
			case r.status == 201:
				created = append(created, r.body)
			case r.status == 409 && strings.Contains(string(r.body), "RepeatableRequestInProgress"):
			default:
				t.Fatalf("concurrent retry answered %d %s", r.status, r.body)
			}
		}
		if len(created) == 0 {
			t.Fatal("no concurrent request succeeded")
		}
		for _, b := range created[1:] {
			if !bytes.Equal(b, created[0]) {
				t.Fatalf("concurrent retries answered different bodies:\n%s\n%s", created[0], b)
			}
		}
		if got := identityCount(t, s) - before; got != 1 {
			t.Fatalf("%d identities created by concurrent retries", got)
		}
	})

	for _, tc := range []struct {
		name      string
		firstSent string
		code      string
	}{
		{"First-Sent not a date", "yesterday", "InvalidRepeatabilityFirstSent"},
		{"First-Sent in ISO format", time.Now().UTC().Format(time.RFC3339), "InvalidRepeatabilityFirstSent"},
		{"First-Sent older than the window", time.Now().Add(-25 * time.Hour).UTC().Format(http.TimeFormat), "RepeatabilityExpired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := identityCount(t, s)
			resp, b := c.Send(t, repeatable(c, "/identities"+idv, body, uuid.NewString(), tc.firstSent))
			e := wantError(t, resp, b, http.StatusBadRequest, tc.code)
			if e.Error.Target != "Repeatability-First-Sent" {
				t.Fatalf("target %q", e.Error.Target)
			}
			if identityCount(t, s) != before {
				t.Fatal("an identity was created")
			}
		})
	}

	t.Run("overlong request id", func(t *testing.T) {
		before := identityCount(t, s)
		resp, b := c.Send(t, repeatable(c, "/identities"+idv, body, strings.Repeat("a", 129), first))
		wantError(t, resp, b, http.StatusBadRequest, "InvalidRepeatabilityRequestId")
		if identityCount(t, s) != before {
			t.Fatal("an identity was created")
		}
	})

	t.Run("same id with a different body", func(t *testing.T) {
		id := uuid.NewString()
		r1, b1 := c.Send(t, repeatable(c, "/identities"+idv, body, id, first))
		wantStatus(t, r1, b1, 201)
		before := identityCount(t, s)
		other := map[string]any{"createTokenWithScopes": []string{"voip"}, "expiresInMinutes": 60}
		r2, b2 := c.Send(t, repeatable(c, "/identities"+idv, other, id, first))
		wantError(t, r2, b2, http.StatusConflict, "RepeatabilityRequestIdReused")
		if identityCount(t, s) != before {
			t.Fatal("a conflicting repeat created an identity")
		}
		// The first answer is still the one replayed.
		r3, b3 := c.Send(t, repeatable(c, "/identities"+idv, body, id, first))
		wantStatus(t, r3, b3, 201)
		if !bytes.Equal(b1, b3) {
			t.Fatal("after a conflict the original answer is no longer replayed")
		}
	})

	t.Run("same id on another route", func(t *testing.T) {
		id := uuid.NewString()
		r1, b1 := c.Send(t, repeatable(c, "/identities"+idv, map[string]any{}, id, first))
		wantStatus(t, r1, b1, 201)
		r2, b2 := c.Send(t, repeatable(c, "/users"+nv, map[string]any{}, id, first))
		wantError(t, r2, b2, http.StatusConflict, "RepeatabilityRequestIdReused")
	})

	t.Run("failed request is not remembered", func(t *testing.T) {
		id := uuid.NewString()
		bad := map[string]any{"createTokenWithScopes": []string{"chat"}, "expiresInMinutes": 30}
		r1, b1 := c.Send(t, repeatable(c, "/identities"+idv, bad, id, first))
		wantError(t, r1, b1, http.StatusBadRequest, "InvalidExpiresInMinutes")
		// The same id may be retried with the request fixed.
		r2, b2 := c.Send(t, repeatable(c, "/identities"+idv, body, id, first))
		wantStatus(t, r2, b2, http.StatusCreated)
	})
}

func TestRepeatabilityUsers(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	first := time.Now().UTC().Format(http.TimeFormat)
	id := uuid.NewString()
	body := map[string]string{"username": "repeat-me", "role": "agent", "password": "long-enough-1"}
	before := userCount(t, s, s.Demo.Tenant.ID)
	r1, b1 := c.Send(t, repeatable(c, "/users"+nv, body, id, first))
	wantStatus(t, r1, b1, http.StatusCreated)
	r2, b2 := c.Send(t, repeatable(c, "/users"+nv, body, id, first))
	wantStatus(t, r2, b2, http.StatusCreated)
	if !bytes.Equal(b1, b2) {
		t.Fatalf("retry answered a different body:\n%s\n%s", b1, b2)
	}
	for _, h := range []string{"ETag", "Location", "Content-Type"} {
		if r1.Header.Get(h) == "" || r1.Header.Get(h) != r2.Header.Get(h) {
			t.Fatalf("%s: first %q, retry %q", h, r1.Header.Get(h), r2.Header.Get(h))
		}
	}
	if got := userCount(t, s, s.Demo.Tenant.ID) - before; got != 1 {
		t.Fatalf("%d users created by one repeatable request and its retry", got)
	}
	// Without the header a second identical POST is a new request: the
	// username is taken.
	r3, b3 := c.Do(t, "POST", "/users"+nv, body)
	wantError(t, r3, b3, http.StatusConflict, "UsernameTaken")

	// Same id, different body.
	other := map[string]string{"username": "repeat-other", "role": "agent", "password": "long-enough-1"}
	r4, b4 := c.Send(t, repeatable(c, "/users"+nv, other, id, first))
	wantError(t, r4, b4, http.StatusConflict, "RepeatabilityRequestIdReused")
	if n := count(t, s, `SELECT COUNT(*) FROM users WHERE username = 'repeat-other'`); n != 0 {
		t.Fatal("a conflicting repeat created a user")
	}
	r5, b5 := c.Send(t, repeatable(c, "/users"+nv, other, uuid.NewString(), "not a date"))
	wantError(t, r5, b5, http.StatusBadRequest, "InvalidRepeatabilityFirstSent")
	if n := count(t, s, `SELECT COUNT(*) FROM users WHERE username = 'repeat-other'`); n != 0 {
		t.Fatal("a request with a bad Repeatability-First-Sent created a user")
	}

	// A session request is repeatable too, and keyed in the same tenant.
	admin := loginDemo(t, s, "admin", "demo-admin-1")
	sbody := map[string]string{"username": "repeat-session", "role": "agent", "password": "long-enough-1"}
	sid := uuid.NewString()
	s1, sb1 := admin.do(t, "POST", "/users"+nv, sbody, withHeader("Repeatability-Request-ID", sid))
	s2, sb2 := admin.do(t, "POST", "/users"+nv, sbody, withHeader("Repeatability-Request-ID", sid))
	wantStatus(t, s1, sb1, 201)
	wantStatus(t, s2, sb2, 201)
	if !bytes.Equal(sb1, sb2) {
		t.Fatal("session retry answered a different body")
	}
}

func TestPagingUsers(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	for i := range 5 {
		createUser(t, c, fmt.Sprintf("pager-%d", i), "agent", "long-enough-1")
	}
	total := userCount(t, s, s.Demo.Tenant.ID)
	if total != 9 {
		t.Fatalf("expected the 4 demo users and 5 more, found %d", total)
	}
	type page struct {
		Value    []map[string]any `json:"value"`
		NextLink *string          `json:"nextLink"`
	}
	getPage := func(t *testing.T, path string) page {
		t.Helper()
		resp, body := c.Do(t, "GET", path, nil)
		wantStatus(t, resp, body, http.StatusOK)
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), `"nextLink"`) {
			t.Fatalf("page lacks nextLink (null on the last page): %s", body)
		}
		return p
	}
	all := getPage(t, "/users"+nv+"&maxpagesize=1000")
	if len(all.Value) != total || all.NextLink != nil {
		t.Fatalf("one big page: %d users, nextLink %v", len(all.Value), all.NextLink)
	}
	var want []string
	for _, u := range all.Value {
		want = append(want, u["id"].(string))
	}

	for _, param := range []string{"maxpagesize", "maxPageSize"} {
		t.Run(param, func(t *testing.T) {
			path := "/users" + nv + "&" + param + "=2"
			var got []string
			pages := 0
			for {
				p := getPage(t, path)
				pages++
				if len(p.Value) == 0 || len(p.Value) > 2 {
					t.Fatalf("page %d has %d items", pages, len(p.Value))
				}
				for _, u := range p.Value {
					id := u["id"].(string)
					if slices.Contains(got, id) {
						t.Fatalf("user %s appears twice", id)
					}
					got = append(got, id)
				}
				if p.NextLink == nil {
					break
				}
				u, _ := url.Parse(*p.NextLink)
				if u.Scheme != "http" || u.Host != strings.TrimPrefix(s.HTTPURL, "http://") || u.Path != "/users" {
					t.Fatalf("nextLink %q does not point back at this listener", *p.NextLink)
				}
				if u.Query().Get("api-version") != "2026-11-01" || u.Query().Get("maxpagesize") != "2" {
					t.Fatalf("nextLink %q lost api-version or the page size", *p.NextLink)
				}
				path = pathOf(t, *p.NextLink)
				if pages > total {
					t.Fatal("paging does not end")
				}
			}
			if pages != 5 {
				t.Fatalf("%d pages of 2 for %d users", pages, total)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("paged ids %v, want %v", got, want)
			}
		})
	}

	t.Run("nextLink over HTTPS", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: s.TLSConfig(t)}}
		tc := &switchboardtest.Client{Base: s.HTTPSURL, Key: c.Key, HTTP: hc}
		resp, body := tc.Do(t, "GET", "/users"+nv+"&maxpagesize=3", nil)
		wantStatus(t, resp, body, 200)
		var p page
		_ = json.Unmarshal(body, &p)
		if p.NextLink == nil || !strings.HasPrefix(*p.NextLink, s.HTTPSURL+"/users?") {
			t.Fatalf("nextLink over HTTPS: %v", p.NextLink)
		}
		resp, body = tc.Do(t, "GET", pathOf(t, *p.NextLink), nil)
		wantStatus(t, resp, body, 200)
	})

	first := getPage(t, "/users"+nv+"&maxpagesize=2")
	tok, _ := url.Parse(*first.NextLink)
	good := tok.Query().Get("continuationToken")
	for _, tc := range []struct{ name, query, code string }{
		{"page size zero", "&maxpagesize=0", "InvalidPageSize"},
		{"page size negative", "&maxpagesize=-1", "InvalidPageSize"},
		{"page size too large", "&maxpagesize=1001", "InvalidPageSize"},
		{"page size not a number", "&maxpagesize=two", "InvalidPageSize"},
		{"token not base64", "&continuationToken=%21%21%21", "InvalidContinuationToken"},
		{"token truncated", "&continuationToken=" + good[:len(good)-4], "InvalidContinuationToken"},
		{"token with garbage appended", "&continuationToken=" + good + "%24%24", "InvalidContinuationToken"},
		{"token of plain text", "&continuationToken=" + base64.RawURLEncoding.EncodeToString([]byte("page 2")), "InvalidContinuationToken"},
		{"token of a JSON array", "&continuationToken=" + base64.RawURLEncoding.EncodeToString([]byte(`["x"]`)), "InvalidContinuationToken"},
		{"token with a number cursor", "&continuationToken=" + base64.RawURLEncoding.EncodeToString([]byte(`{"a":5}`)), "InvalidContinuationToken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.Do(t, "GET", "/users"+nv+tc.query, nil)
			wantError(t, resp, body, http.StatusBadRequest, tc.code)
		})
	}
}

func TestETagAndMergePatch(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	u := createUser(t, c, "patchme", "agent", "long-enough-1")
	id := u["id"].(string)
	path := "/users/" + id + nv
	if u["etag"] != `"1"` {
		t.Fatalf("new user etag %v", u["etag"])
	}
	get := func(t *testing.T) (map[string]any, string) {
		t.Helper()
		resp, body := c.Do(t, "GET", path, nil)
		wantStatus(t, resp, body, 200)
		m := switchboardtest.JSON(t, body)
		if resp.Header.Get("ETag") != m["etag"] {
			t.Fatalf("ETag header %q disagrees with body etag %v", resp.Header.Get("ETag"), m["etag"])
		}
		return m, resp.Header.Get("ETag")
	}
	patch := func(t *testing.T, body any, ifMatch string, ct string) (*http.Response, []byte) {
		t.Helper()
		var raw []byte
		if b, ok := body.(string); ok {
			raw = []byte(b)
		} else {
			raw, _ = json.Marshal(body)
		}
		req, _ := http.NewRequest("PATCH", c.Base+path, bytes.NewReader(raw))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		c.Sign(req, raw)
		return c.Send(t, req)
	}
	const mp = "application/merge-patch+json"

	_, e1 := get(t)
	resp, body := patch(t, map[string]any{"displayName": "First"}, e1, mp)
	wantStatus(t, resp, body, 200)
	e2 := resp.Header.Get("ETag")
	if e2 == e1 || e2 != `"2"` {
		t.Fatalf("ETag after update %q (was %q)", e2, e1)
	}

	t.Run("stale ETag", func(t *testing.T) {
		resp, body := patch(t, map[string]any{"displayName": "Lost update"}, e1, mp)
		wantError(t, resp, body, http.StatusPreconditionFailed, "PreconditionFailed")
		m, etag := get(t)
		if m["displayName"] != "First" || etag != e2 {
			t.Fatalf("a stale If-Match changed the user: %v %s", m["displayName"], etag)
		}
	})
	t.Run("If-Match not one of ours", func(t *testing.T) {
		for _, im := range []string{`"abc"`, `"0"`, `"-1"`, `garbage`} {
			resp, body := patch(t, map[string]any{"displayName": "Nope"}, im, mp)
			wantError(t, resp, body, http.StatusPreconditionFailed, "PreconditionFailed")
		}
		if m, _ := get(t); m["displayName"] != "First" {
			t.Fatal("a failed precondition changed the user")
		}
	})
	t.Run("wildcard and weak If-Match", func(t *testing.T) {
		resp, body := patch(t, map[string]any{"displayName": "Second"}, "*", mp)
		wantStatus(t, resp, body, 200)
		resp, body = patch(t, map[string]any{"displayName": "Third"}, `W/"3"`, mp)
		wantStatus(t, resp, body, 200)
		if resp.Header.Get("ETag") != `"4"` {
			t.Fatalf("ETag %q after two more updates", resp.Header.Get("ETag"))
		}
	})
	t.Run("no If-Match is unconditional", func(t *testing.T) {
		resp, body := patch(t, map[string]any{"displayName": "Fourth"}, "", "application/json")
		wantStatus(t, resp, body, 200)
	})

	t.Run("null leaves a required field alone", func(t *testing.T) {
		before, _ := get(t)
		resp, body := patch(t, `{"displayName": null, "password": null}`, "", mp)
		wantStatus(t, resp, body, 200)
		after, _ := get(t)
		if after["displayName"] != before["displayName"] || after["displayName"] == "" {
			t.Fatalf("displayName %v after a null patch, was %v", after["displayName"], before["displayName"])
		}
		// The password is unchanged: the old one still logs in.
		loginDemo(t, s, "patchme", "long-enough-1")
	})

	for _, tc := range []struct {
		name, body, ct string
		status         int
		code, target   string
	}{
		{"unknown field", `{"displayName":"X","favouriteColour":"blue"}`, mp, 400, "ReadOnlyField", "favouriteColour"},
		{"read-only id", `{"id":"other"}`, mp, 400, "ReadOnlyField", "id"},
		{"read-only username", `{"username":"renamed"}`, mp, 400, "ReadOnlyField", "username"},
		{"null for an unknown field", `{"etag":null}`, mp, 400, "ReadOnlyField", "etag"},
		{"wrong type", `{"displayName":5}`, mp, 400, "InvalidRequestBody", "displayName"},
		{"invalid role", `{"role":"overlord"}`, mp, 400, "InvalidRole", "role"},
		{"short password", `{"password":"short"}`, mp, 400, "PasswordTooShort", "password"},
		{"array body", `[{"displayName":"X"}]`, mp, 400, "InvalidRequestBody", ""},
		{"null body", `null`, mp, 400, "InvalidRequestBody", ""},
		{"empty body", ``, mp, 400, "InvalidRequestBody", ""},
		{"malformed JSON", `{"displayName":`, mp, 400, "InvalidRequestBody", ""},
		{"trailing data", `{"displayName":"X"} {}`, mp, 400, "InvalidRequestBody", ""},
		{"not JSON content", `{"displayName":"X"}`, "text/plain", 400, "UnsupportedMediaType", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, etag := get(t)
			resp, body := patch(t, tc.body, "", tc.ct)
			e := wantError(t, resp, body, tc.status, tc.code)
			if tc.target != "" && e.Error.Target != tc.target {
				t.Fatalf("target %q, want %q", e.Error.Target, tc.target)
			}
			after, etag2 := get(t)
			if etag2 != etag || after["displayName"] != before["displayName"] || after["role"] != before["role"] {
				t.Fatalf("a rejected patch changed the user: %v -> %v", before, after)
			}
		})
	}
}

func TestMalformedBodiesStoreNothing(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	admin := loginDemo(t, s, "admin", "demo-admin-1")
	bodies := []struct{ name, body string }{
		{"truncated", `{"createTokenWithScopes": ["chat"`},
		{"not JSON", `createTokenWithScopes=chat`},
		{"trailing data", `{} {}`},
		{"trailing brace", `{"createTokenWithScopes": ["chat"]}}`},
		{"trailing bracket", `{"createTokenWithScopes": ["chat"]}]`},
		{"wrong type", `{"createTokenWithScopes": "chat"}`},
		{"wrong number type", `{"createTokenWithScopes": ["chat"], "expiresInMinutes": "60"}`},
		{"binary", "\x00\xff\xfe"},
	}
	for _, b := range bodies {
		t.Run("identities/"+b.name, func(t *testing.T) {
			before := identityCount(t, s)
			resp, body := c.Do(t, "POST", "/identities"+idv, b.body)
			wantError(t, resp, body, http.StatusBadRequest, "InvalidRequestBody")
			if identityCount(t, s) != before {
				t.Fatal("a malformed body created an identity")
			}
		})
	}
	userBodies := []struct{ name, body string }{
		{"truncated", `{"username": "x1", "role": "agent", "password": "long-enough-1"`},
		{"wrong type", `{"username": 7, "role": "agent", "password": "long-enough-1"}`},
		{"empty", ``},
		{"trailing data", `{"username": "x2", "role": "agent", "password": "long-enough-1"}]`},
	}
	for _, b := range userBodies {
		t.Run("users/hmac/"+b.name, func(t *testing.T) {
			before := userCount(t, s, s.Demo.Tenant.ID)
			resp, body := c.Do(t, "POST", "/users"+nv, b.body)
			wantError(t, resp, body, http.StatusBadRequest, "InvalidRequestBody")
			if userCount(t, s, s.Demo.Tenant.ID) != before {
				t.Fatal("a malformed body created a user")
			}
		})
		t.Run("users/session/"+b.name, func(t *testing.T) {
			before := userCount(t, s, s.Demo.Tenant.ID)
			resp, body := admin.do(t, "POST", "/users"+nv, b.body)
			wantError(t, resp, body, http.StatusBadRequest, "InvalidRequestBody")
			if userCount(t, s, s.Demo.Tenant.ID) != before {
				t.Fatal("a malformed body created a user")
			}
		})
	}
	t.Run("issueAccessToken", func(t *testing.T) {
		id, _ := createIdentity(t, c)
		resp, body := c.Do(t, "POST", "/identities/"+escape(id)+"/:issueAccessToken"+idv, `{"scopes":`)
		wantError(t, resp, body, http.StatusBadRequest, "InvalidRequestBody")
		if n := count(t, s, `SELECT COUNT(*) FROM identities WHERE id = $1 AND last_token_issued_at = created_at`, id); n != 1 {
			t.Fatal("a malformed issueAccessToken request recorded a token")
		}
	})
}

func TestBodyLimit(t *testing.T) {
	const limit = 1024
	s := switchboardtest.Start(t, switchboardtest.WithConfig(func(c *config.Config) { c.API.MaxBodyBytes = limit }))
	c := s.Client(t)
	admin := loginDemo(t, s, "admin", "demo-admin-1")
	padded := func(n int) []byte {
		b := []byte(`{"createTokenWithScopes":["chat"]}`)
		return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
	}
	t.Run("exactly the limit", func(t *testing.T) {
		resp, body := c.Do(t, "POST", "/identities"+idv, padded(limit))
		wantStatus(t, resp, body, http.StatusCreated)
	})
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("one byte over, chunked=%v", chunked), func(t *testing.T) {
			before := identityCount(t, s)
			raw := padded(limit + 1)
			req := c.Request("POST", "/identities"+idv, raw)
			if chunked {
				req.ContentLength = -1
				req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(raw)))
				req.GetBody = nil
			}
			resp, body := c.Send(t, req)
			wantError(t, resp, body, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
			if identityCount(t, s) != before {
				t.Fatal("an oversized request created an identity")
			}
		})
	}
	t.Run("session request", func(t *testing.T) {
		before := userCount(t, s, s.Demo.Tenant.ID)
		big := map[string]string{"username": "big", "role": "agent", "password": "long-enough-1", "displayName": strings.Repeat("x", 2*limit)}
		resp, body := admin.do(t, "POST", "/users"+nv, big)
		wantError(t, resp, body, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
		if userCount(t, s, s.Demo.Tenant.ID) != before {
			t.Fatal("an oversized request created a user")
		}
	})
	t.Run("unauthenticated", func(t *testing.T) {
		resp, body := send(t, http.DefaultClient, newRequest(t, "POST", s.HTTPURL+"/auth/login"+nv, padded(4*limit)))
		wantError(t, resp, body, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
	})
}

func TestTenantRateLimit(t *testing.T) {
	s := switchboardtest.Start(t, switchboardtest.WithConfig(func(c *config.Config) { c.API.TenantRate = 1 }))
	c := s.Client(t)
	// With one request a second and a burst of one, a quick series must be
	// refused before long.
	var limited *http.Response
	var limitedBody []byte
	ok := 0
	for range 10 {
		resp, body := c.Do(t, "POST", "/identities"+idv, nil)
		if resp.StatusCode == http.StatusTooManyRequests {
			limited, limitedBody = resp, body
			break
		}
		wantStatus(t, resp, body, http.StatusCreated)
		ok++
	}
	if limited == nil {
		t.Fatal("ten quick requests at one per second were never limited")
	}
	if ok == 0 {
		t.Fatal("the very first request was refused")
	}
	wantError(t, limited, limitedBody, http.StatusTooManyRequests, "TooManyRequests")
	ra, err := strconv.Atoi(limited.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 2 {
		t.Fatalf("Retry-After %q, want 1 or 2 seconds", limited.Header.Get("Retry-After"))
	}
	// Limits are per tenant: another tenant is not slowed down.
	_, key, err := s.App.Tenants.Create(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	other := s.ClientFor(t, app.ConnectionString(s.App.Endpoint(), key))
	resp, body := other.Do(t, "POST", "/identities"+idv, nil)
	wantStatus(t, resp, body, http.StatusCreated)
	// And the limited tenant is served again once the bucket refills.
	switchboardtest.Eventually(t, 5*time.Second, func() error {
		resp, body := c.Do(t, "GET", "/users"+nv, nil)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%d %s", resp.StatusCode, body)
		}
		return nil
	})
}

func TestSlowTenantRateRetryAfter(t *testing.T) {
	// A rate below one request a second still allows a first request, and
	// Retry-After stays a sane number of seconds.
	s := switchboardtest.Start(t, switchboardtest.WithConfig(func(c *config.Config) { c.API.TenantRate = 0.5 }))
	c := s.Client(t)
	resp, body := c.Do(t, "POST", "/identities"+idv, nil)
	wantStatus(t, resp, body, http.StatusCreated)
	resp, body = c.Do(t, "POST", "/identities"+idv, nil)
	wantError(t, resp, body, http.StatusTooManyRequests, "TooManyRequests")
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 2 {
		t.Fatalf("Retry-After %q, want 1 or 2 seconds", resp.Header.Get("Retry-After"))
	}
}

func TestUnknownRoutes(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/no/such/thing"},
		{"GET", "/identitiesx" + idv},
		{"POST", "/identities/some-id:frobnicate" + idv},
		{"POST", "/identities/some-id/:frobnicate" + idv},
		{"POST", "/deadLetters/some-id:frobnicate" + nv},
		{"POST", "/deadLetters/some-id" + nv},
		{"PUT", "/users" + nv},
		{"DELETE", "/users" + nv},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, body := c.Do(t, tc.method, tc.path, nil)
			status := http.StatusNotFound
			if resp.StatusCode == http.StatusMethodNotAllowed {
				status = http.StatusMethodNotAllowed
			}
			wantError(t, resp, body, status, "")
		})
	}
	t.Run("unsigned", func(t *testing.T) {
		resp, body := send(t, http.DefaultClient, newRequest(t, "GET", s.HTTPURL+"/nothing/here", nil))
		wantError(t, resp, body, http.StatusNotFound, "NotFound")
	})
	t.Run("known path, other method", func(t *testing.T) {
		for _, tc := range []struct{ method, path, allow string }{
			{"PUT", "/users" + nv, "GET, POST"},
			{"GET", "/auth/login" + nv, "POST"},
			{"PUT", "/identities/x" + idv, "GET, DELETE"},
		} {
			resp, body := c.Do(t, tc.method, tc.path, nil)
			wantError(t, resp, body, http.StatusMethodNotAllowed, "MethodNotAllowed")
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
			}
		}
	})
}

func TestTokenLifetimeAtTheAPI(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	id, _ := createIdentity(t, c)
	issuePath := "/identities/" + escape(id) + "/:issueAccessToken" + idv
	lastIssued := func() string {
		resp, body := c.Do(t, "GET", "/identities/"+escape(id)+idv, nil)
		wantStatus(t, resp, body, 200)
		v, _ := switchboardtest.JSON(t, body)["lastTokenIssuedAt"].(string)
		return v
	}
	checkExpiry := func(t *testing.T, tok map[string]any, minutes int) {
		t.Helper()
		exp, err := time.Parse(time.RFC3339, tok["expiresOn"].(string))
		if err != nil {
			t.Fatalf("expiresOn %v: %v", tok["expiresOn"], err)
		}
		want := time.Now().Add(time.Duration(minutes) * time.Minute)
		if d := exp.Sub(want); d < -time.Minute || d > time.Minute {
			t.Fatalf("expiresOn %s, want about %s", exp, want)
		}
		if tok["token"].(string) == "" {
			t.Fatal("no token")
		}
	}
	for _, tc := range []struct {
		name    string
		minutes any // nil: omitted
		want    int // 0: refused
		code    string
	}{
		{"omitted", nil, 1440, ""},
		{"59", 59, 0, "InvalidExpiresInMinutes"},
		{"60", 60, 60, ""},
		{"1440", 1440, 1440, ""},
		{"1441", 1441, 0, "InvalidExpiresInMinutes"},
		{"0", 0, 0, "InvalidExpiresInMinutes"},
		{"negative", -60, 0, "InvalidExpiresInMinutes"},
		{"fraction", 60.5, 0, "InvalidRequestBody"},
		{"string", "60", 0, "InvalidRequestBody"},
	} {
		t.Run("create/"+tc.name, func(t *testing.T) {
			body := map[string]any{"createTokenWithScopes": []string{"chat"}}
			if tc.minutes != nil {
				body["expiresInMinutes"] = tc.minutes
			}
			before := identityCount(t, s)
			resp, b := c.Do(t, "POST", "/identities"+idv, body)
			if tc.want == 0 {
				e := wantError(t, resp, b, http.StatusBadRequest, tc.code)
				if e.Error.Target != "expiresInMinutes" {
					t.Fatalf("target %q", e.Error.Target)
				}
				if identityCount(t, s) != before {
					t.Fatal("a refused lifetime created an identity")
				}
				return
			}
			wantStatus(t, resp, b, http.StatusCreated)
			checkExpiry(t, switchboardtest.JSON(t, b)["accessToken"].(map[string]any), tc.want)
		})
		t.Run("issue/"+tc.name, func(t *testing.T) {
			body := map[string]any{"scopes": []string{"voip"}}
			if tc.minutes != nil {
				body["expiresInMinutes"] = tc.minutes
			}
			before := lastIssued()
			resp, b := c.Do(t, "POST", issuePath, body)
			if tc.want == 0 {
				e := wantError(t, resp, b, http.StatusBadRequest, tc.code)
				if e.Error.Target != "expiresInMinutes" {
					t.Fatalf("target %q", e.Error.Target)
				}
				if lastIssued() != before {
					t.Fatal("a refused lifetime recorded a token issue")
				}
				return
			}
			wantStatus(t, resp, b, http.StatusOK)
			checkExpiry(t, switchboardtest.JSON(t, b), tc.want)
		})
	}
	for _, tc := range []struct {
		name, path string
		body       any
		code       string
	}{
		{"lifetime without scopes", "/identities" + idv, map[string]any{"expiresInMinutes": 60}, "InvalidRequestBody"},
		{"unknown scope", "/identities" + idv, map[string]any{"createTokenWithScopes": []string{"admin"}}, "InvalidScopes"},
		{"issue without scopes", issuePath, map[string]any{"expiresInMinutes": 60}, "InvalidScopes"},
		{"issue with an unknown scope", issuePath, map[string]any{"scopes": []string{"chat", "root"}}, "InvalidScopes"},
		{"issue with an empty body", issuePath, nil, "InvalidRequestBody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := identityCount(t, s)
			resp, b := c.Do(t, "POST", tc.path, tc.body)
			wantError(t, resp, b, http.StatusBadRequest, tc.code)
			if identityCount(t, s) != before {
				t.Fatal("an identity was created")
			}
		})
	}
	t.Run("join scopes", func(t *testing.T) {
		resp, b := c.Do(t, "POST", issuePath, map[string]any{"scopes": []string{"chat.join", "voip.join"}})
		wantStatus(t, resp, b, http.StatusOK)
		req := newRequest(t, "GET", s.HTTPURL+"/me"+nv, nil)
		req.Header.Set("Authorization", "Bearer "+switchboardtest.JSON(t, b)["token"].(string))
		resp, b = send(t, http.DefaultClient, req)
		wantStatus(t, resp, b, http.StatusOK)
		m := switchboardtest.JSON(t, b)
		if sc := fmt.Sprint(m["scopes"]); sc != "[chat.join voip.join]" {
			t.Fatalf("scopes %s", sc)
		}
		if m["identity"].(map[string]any)["rawId"] != id {
			t.Fatalf("/me identity %v", m["identity"])
		}
	})
}
