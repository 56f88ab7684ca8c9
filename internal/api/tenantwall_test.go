package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/store/storetest"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
	"github.com/switchboard-cc/switchboard/internal/webhook"
)

// wallCase says how to aim a route that names a resource at another
// tenant's resource. Every route of the API with a path id must have one:
// TestTenantWall fails for a route it does not know.
type wallCase struct {
	resource string // identity, user, subscription, deadLetter
	body     any
	// upsert routes create the resource when the caller has none by that id;
	// for them the wall means: the other tenant's resource is untouched and
	// the answer is the same as for an id nobody uses.
	upsert bool
}

var wallCases = map[string]wallCase{
	"GET /identities/{id}":                      {resource: "identity"},
	"DELETE /identities/{id}":                   {resource: "identity"},
	"POST /identities/{id}/:revokeAccessTokens": {resource: "identity"},
	"POST /identities/{id}/:issueAccessToken":   {resource: "identity", body: map[string]any{"scopes": []string{"chat"}}},
	"GET /users/{id}":                           {resource: "user"},
	"PATCH /users/{id}":                         {resource: "user", body: map[string]any{"displayName": "Taken over", "role": "agent"}},
	"DELETE /users/{id}":                        {resource: "user"},
	"GET /eventSubscriptions/{id}":              {resource: "subscription"},
	"PATCH /eventSubscriptions/{id}":            {resource: "subscription", upsert: true},
	"DELETE /eventSubscriptions/{id}":           {resource: "subscription"},
	"POST /deadLetters/{id}:replay":             {resource: "deadLetter"},
}

// listCases are the collection routes; each must show a tenant only its own
// items. GET routes without an id must be here or in notLists.
var listCases = map[string]string{
	"GET /users":              "user",
	"GET /eventSubscriptions": "subscription",
	"GET /deadLetters":        "deadLetter",
}

var notLists = map[string]string{
	"GET /me":           "describes the caller's own token",
	"GET /auth/session": "describes the caller's own session",
}

// hookServer answers Event Grid and CloudEvents validation and accepts
// every delivery.
func hookServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			w.Header().Set("WebHook-Allowed-Origin", "*")
			return
		}
		var evs []struct {
			EventType string `json:"eventType"`
			Data      struct {
				ValidationCode string `json:"validationCode"`
			} `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&evs)
		if len(evs) == 1 && evs[0].EventType == "Microsoft.EventGrid.SubscriptionValidationEvent" {
			_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": evs[0].Data.ValidationCode})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// side is one tenant's view: its signed client, an admin session, and one
// resource of each kind.
type side struct {
	name   string
	tenant tenant.ID
	c      *switchboardtest.Client
	admin  *session
	ids    map[string]string
	token  string
}

func makeSide(t *testing.T, s *switchboardtest.Server, name string, c *switchboardtest.Client, tn tenant.ID, adminPassword, hookURL string) *side {
	t.Helper()
	ctx := context.Background()
	sd := &side{name: name, tenant: tn, c: c, ids: map[string]string{}}
	if name != "demo" {
		if _, err := s.App.People.Create(tenant.With(ctx, tn), identity.NewPerson{Username: "admin", Role: identity.RoleAdmin, Password: adminPassword}); err != nil {
			t.Fatal(err)
		}
	}
	sd.admin = loginAt(t, &http.Client{Timeout: 30 * time.Second}, s.HTTPURL, name, "admin", adminPassword)
	sd.ids["identity"], sd.token = createIdentity(t, c)
	sd.ids["user"] = createUser(t, c, name+"-agent", "agent", "long-enough-1")["id"].(string)
	subID := name + "-sub-" + uuid.NewString()[:8]
	resp, body := c.Do(t, "PATCH", "/eventSubscriptions/"+subID+nv, map[string]any{"endpoint": hookURL, "name": name + " hook", "includedEventTypes": []string{"Switchboard.Nothing"}})
	wantStatus(t, resp, body, http.StatusCreated)
	sd.ids["subscription"] = subID
	dl := webhook.DeadLetter{ID: webhook.DeadLetterID(uuid.NewString()), Tenant: tn, Subscription: webhook.SubscriptionID(subID),
		Event:    event.Event{ID: uuid.NewString(), Tenant: tn, Type: "Switchboard.Test", Subject: "wall", Time: time.Now().UTC(), DataVersion: "1.0", Data: json.RawMessage(`{"n":1}`)},
		Attempts: 1, LastError: "test", CreatedAt: time.Now().UTC()}
	if err := s.App.Store.AddDeadLetter(ctx, dl); err != nil {
		t.Fatal(err)
	}
	sd.ids["deadLetter"] = string(dl.ID)
	return sd
}

// snapshot is what a tenant sees of its own resources; a cross-tenant call
// must not change it.
func (sd *side) snapshot(t *testing.T, s *switchboardtest.Server) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{
		"/identities/" + escape(sd.ids["identity"]) + idv,
		"/users/" + sd.ids["user"] + nv,
		"/eventSubscriptions/" + sd.ids["subscription"] + nv,
		"/deadLetters" + nv,
	} {
		resp, body := sd.c.Do(t, "GET", p, nil)
		wantStatus(t, resp, body, 200)
		b.Write(body)
	}
	// The identity's token still works: it was neither revoked nor deleted.
	req := newRequest(t, "GET", s.HTTPURL+"/me"+nv, nil)
	req.Header.Set("Authorization", "Bearer "+sd.token)
	resp, body := send(t, http.DefaultClient, req)
	wantStatus(t, resp, body, 200)
	b.Write(body)
	return b.String()
}

func pathFor(route, id string) string {
	return strings.Replace(route, "{id}", escape(id), 1)
}

func versionFor(path string) string {
	if strings.HasPrefix(path, "/identities") {
		return idv
	}
	return nv
}

func TestTenantWall(t *testing.T) { testTenantWall(t) }

// The same wall on PostgreSQL, whose schema and migrations are separate.
func TestTenantWallPostgres(t *testing.T) {
	testTenantWall(t, switchboardtest.WithPostgres(storetest.FreshPostgres(t)))
}

func testTenantWall(t *testing.T, opts ...switchboardtest.Option) {
	s := switchboardtest.Start(t, opts...)
	ctx := context.Background()
	hook := hookServer(t)

	// Every route with a path id, and every list, is covered.
	routes := map[string]bool{}
	for _, rt := range s.App.API.Routes() {
		key := rt.Method + " " + rt.Path
		routes[key] = true
		if strings.Contains(rt.Path, "{") {
			if _, ok := wallCases[key]; !ok {
				t.Errorf("route %s takes an id but has no tenant-wall case: add it to wallCases", key)
			}
		} else if rt.Method == "GET" {
			_, list := listCases[key]
			_, other := notLists[key]
			if !list && !other {
				t.Errorf("GET route %s has no tenant-wall list case: add it to listCases or notLists", key)
			}
		}
	}
	for key := range wallCases {
		if !routes[key] {
			t.Errorf("wallCases names %s, which is not a route", key)
		}
	}
	for key := range listCases {
		if !routes[key] {
			t.Errorf("listCases names %s, which is not a route", key)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	a := makeSide(t, s, "demo", s.Client(t), s.Demo.Tenant.ID, "demo-admin-1", hook.URL)
	bt, bk, err := s.App.Tenants.Create(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	b := makeSide(t, s, "other", s.ClientFor(t, app.ConnectionString(s.App.Endpoint(), bk)), bt.ID, "other-admin-1", hook.URL)
	aBefore := a.snapshot(t, s)

	// Tenant B aims every id route at tenant A's resources, signed with its
	// key and through its admin session. The answer must be the one for an
	// id nobody has, and never touch A's resource.
	type caller struct {
		name string
		do   func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte)
	}
	callers := []caller{
		{"hmac", func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
			var raw []byte
			if body != nil {
				raw, _ = json.Marshal(body)
			}
			req, _ := http.NewRequest(method, b.c.Base+path, bytes.NewReader(raw))
			if raw != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			for _, m := range mods {
				m(req)
			}
			b.c.Sign(req, raw)
			return b.c.Send(t, req)
		}},
		{"session", func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
			return b.admin.do(t, method, path, body, mods...)
		}},
	}
	keys := make([]string, 0, len(wallCases))
	for k := range wallCases {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		wc := wallCases[key]
		method, route, _ := strings.Cut(key, " ")
		for _, cl := range callers {
			if cl.name == "session" && strings.HasPrefix(route, "/identities") {
				continue // the Identity API takes only access keys
			}
			t.Run(key+"/"+cl.name, func(t *testing.T) {
				body := wc.body
				if wc.upsert {
					body = map[string]any{"endpoint": hook.URL, "name": "B's own"}
				}
				theirs := pathFor(route, a.ids[wc.resource]) + versionFor(route)
				nobodys := pathFor(route, unusedID(wc.resource, b.tenant)) + versionFor(route)
				if wc.upsert {
					// A conditional update of A's subscription fails exactly as
					// for an id nobody has.
					r1, b1 := cl.do(t, method, theirs, body, withHeader("If-Match", `"1"`))
					r2, b2 := cl.do(t, method, nobodys, body, withHeader("If-Match", `"1"`))
					e1 := wantError(t, r1, b1, http.StatusPreconditionFailed, "")
					e2 := wantError(t, r2, b2, http.StatusPreconditionFailed, "")
					if e1.Error.Code != e2.Error.Code {
						t.Fatalf("A's id answers %s, an unused id %s", e1.Error.Code, e2.Error.Code)
					}
					// An unconditional upsert creates B's own subscription.
					r1, b1 = cl.do(t, method, theirs, body)
					wantStatus(t, r1, b1, http.StatusCreated)
					if m := switchboardtest.JSON(t, b1); m["name"] != "B's own" {
						t.Fatalf("B's upsert answered %s", b1)
					}
					resp, got := b.c.Do(t, "DELETE", theirs, nil)
					wantStatus(t, resp, got, http.StatusNoContent)
				} else {
					r1, b1 := cl.do(t, method, theirs, body)
					e1 := wantError(t, r1, b1, http.StatusNotFound, "NotFound")
					r2, b2 := cl.do(t, method, nobodys, body)
					e2 := wantError(t, r2, b2, http.StatusNotFound, "NotFound")
					if e1.Error.Code != e2.Error.Code || e1.Error.Target != e2.Error.Target {
						t.Fatalf("A's id and an unused id are told apart:\n%s\n%s", b1, b2)
					}
					if strings.Contains(string(b1), string(a.tenant)) && !strings.Contains(theirs, string(a.tenant)) {
						t.Fatalf("the answer names tenant A: %s", b1)
					}
				}
				if got := a.snapshot(t, s); got != aBefore {
					t.Fatalf("tenant B changed tenant A's resources:\nbefore %s\nafter  %s", aBefore, got)
				}
			})
		}
	}

	// Lists show each tenant its own items only, on every page, whichever
	// cursor is presented.
	for route, res := range listCases {
		path := strings.TrimPrefix(route, "GET ")
		for _, sd := range []*side{a, b} {
			other := a
			if sd == a {
				other = b
			}
			t.Run("list "+path+"/"+sd.name, func(t *testing.T) {
				// A cursor naming the other tenant's item only moves the
				// start within this tenant's own items.
				cursor, _ := json.Marshal(map[string]string{"a": other.ids[res]})
				fromTheirs := "&continuationToken=" + base64.RawURLEncoding.EncodeToString(cursor)
				for _, q := range []string{"", "&maxpagesize=1", fromTheirs} {
					next := path + nv + q
					var seen []string
					for next != "" {
						resp, body := sd.c.Do(t, "GET", next, nil)
						wantStatus(t, resp, body, 200)
						if strings.Contains(string(body), other.ids[res]) || strings.Contains(string(body), string(other.tenant)) {
							t.Fatalf("%s's list shows %s's items: %s", sd.name, other.name, body)
						}
						var page struct {
							Value    []map[string]any `json:"value"`
							NextLink *string          `json:"nextLink"`
						}
						_ = json.Unmarshal(body, &page)
						for _, v := range page.Value {
							seen = append(seen, v["id"].(string))
						}
						next = ""
						if page.NextLink != nil {
							next = pathOf(t, *page.NextLink)
						}
					}
					if q != fromTheirs && !slices.Contains(seen, sd.ids[res]) {
						t.Fatalf("%s's list lacks its own %s %s (saw %v)", sd.name, res, sd.ids[res], seen)
					}
				}
				// The session view agrees.
				resp, body := sd.admin.do(t, "GET", path+nv, nil)
				wantStatus(t, resp, body, 200)
				if strings.Contains(string(body), other.ids[res]) {
					t.Fatalf("%s's session list shows %s's items", sd.name, other.name)
				}
			})
		}
	}

	t.Run("user tokens stay in their tenant", func(t *testing.T) {
		me := func(token string) (*http.Response, []byte) {
			req := newRequest(t, "GET", s.HTTPURL+"/me"+nv, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			return send(t, http.DefaultClient, req)
		}
		resp, body := me(a.token)
		wantStatus(t, resp, body, 200)
		if got := switchboardtest.JSON(t, body)["identity"].(map[string]any)["rawId"]; got != a.ids["identity"] {
			t.Fatalf("A's token is %v", got)
		}
		// Rewriting the token's tenant (resourceId) to B breaks its signature.
		parts := strings.Split(a.token, ".")
		claims, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		forged := strings.ReplaceAll(string(claims), string(a.tenant), string(b.tenant))
		if forged == string(claims) {
			t.Fatal("A's token does not name its tenant")
		}
		token := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
		resp, body = me(token)
		wantError(t, resp, body, http.StatusUnauthorized, "InvalidAccessToken")
		// A user token opens none of B's (or A's) admin routes.
		for _, p := range []string{"/users" + nv, "/eventSubscriptions" + nv, "/deadLetters" + nv, "/users/" + b.ids["user"] + nv} {
			req := newRequest(t, "GET", s.HTTPURL+p, nil)
			req.Header.Set("Authorization", "Bearer "+a.token)
			resp, body := send(t, http.DefaultClient, req)
			wantError(t, resp, body, http.StatusUnauthorized, "")
		}
		// A session of A cannot be used with B's resources either.
		resp, body = a.admin.do(t, "GET", "/users/"+b.ids["user"]+nv, nil)
		wantError(t, resp, body, http.StatusNotFound, "NotFound")
	})

	t.Run("logins are per tenant", func(t *testing.T) {
		resp, body := send(t, http.DefaultClient, newRequest(t, "POST", s.HTTPURL+"/auth/login"+nv,
			map[string]string{"tenant": "other", "username": "demo-agent", "password": "long-enough-1"}))
		wantError(t, resp, body, http.StatusUnauthorized, "InvalidCredentials")
	})

	t.Run("repeatability ids are per tenant", func(t *testing.T) {
		key := uuid.NewString()
		first := time.Now().UTC().Format(http.TimeFormat)
		body := map[string]any{"createTokenWithScopes": []string{"chat"}}
		r1, b1 := a.c.Send(t, repeatable(a.c, "/identities"+idv, body, key, first))
		wantStatus(t, r1, b1, http.StatusCreated)
		r2, b2 := b.c.Send(t, repeatable(b.c, "/identities"+idv, body, key, first))
		wantStatus(t, r2, b2, http.StatusCreated)
		if bytes.Equal(b1, b2) {
			t.Fatal("tenant B was replayed tenant A's answer")
		}
		id := switchboardtest.JSON(t, b2)["identity"].(map[string]any)["id"].(string)
		if tn, _ := identity.TenantOf(identity.UserID(id)); tn != b.tenant {
			t.Fatalf("B's repeatable create made %s", id)
		}
	})

	if got := a.snapshot(t, s); got != aBefore {
		t.Fatalf("tenant A's resources changed:\nbefore %s\nafter  %s", aBefore, got)
	}
	if got := userCount(t, s, a.tenant); got != 5 {
		t.Fatalf("tenant A has %d users, want the 4 demo users and its agent", got)
	}
}

// unusedID is an id of the resource's form that nobody has.
func unusedID(resource string, tn tenant.ID) string {
	switch resource {
	case "identity":
		return string(identity.NewUserID(tn, uuid.NewString()))
	case "subscription":
		return "unused-" + uuid.NewString()[:8]
	}
	return uuid.NewString()
}
