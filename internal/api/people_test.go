package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

func TestLoginFailuresLookAlike(t *testing.T) {
	s := switchboardtest.Start(t)
	ctx := context.Background()
	other, _, err := s.App.Tenants.Create(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.People.Create(tenant.With(ctx, other.ID), identity.NewPerson{Username: "admin", Role: identity.RoleAdmin, Password: "other-admin-1"}); err != nil {
		t.Fatal(err)
	}
	var first []byte
	for _, tc := range []struct{ name, tenant, user, pass string }{
		{"wrong password", "demo", "admin", "demo-admin-2"},
		{"unknown user", "demo", "nobody", "demo-admin-1"},
		{"unknown tenant", "nosuchtenant", "admin", "demo-admin-1"},
		{"another tenant's password", "other", "admin", "demo-admin-1"},
		{"user of another tenant", "demo", "admin", "other-admin-1"},
		{"empty password", "demo", "admin", ""},
		{"empty everything", "", "", ""},
		{"password with a different case", "demo", "admin", "DEMO-ADMIN-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := send(t, http.DefaultClient, newRequest(t, "POST", s.HTTPURL+"/auth/login"+nv, map[string]string{"tenant": tc.tenant, "username": tc.user, "password": tc.pass}))
			wantError(t, resp, body, http.StatusUnauthorized, "InvalidCredentials")
			if len(resp.Cookies()) != 0 {
				t.Fatalf("a failed login set cookies: %v", resp.Cookies())
			}
			if first == nil {
				first = body
			} else if string(body) != string(first) {
				t.Fatalf("failed logins are distinguishable:\n%s\n%s", first, body)
			}
		})
	}
	if n := count(t, s, `SELECT COUNT(*) FROM sessions`); n != 0 {
		t.Fatalf("failed logins stored %d sessions", n)
	}
	t.Run("username is case- and space-insensitive", func(t *testing.T) {
		loginAt(t, http.DefaultClient, s.HTTPURL, " demo ", " Admin ", "demo-admin-1")
	})
	t.Run("the other tenant's admin logs into the other tenant", func(t *testing.T) {
		ss := loginAt(t, http.DefaultClient, s.HTTPURL, "other", "admin", "other-admin-1")
		resp, body := ss.do(t, "GET", "/users"+nv, nil)
		wantStatus(t, resp, body, 200)
		if strings.Contains(string(body), "supervisor") {
			t.Fatal("the other tenant's admin sees the demo tenant's people")
		}
	})
}

func TestSessionCookie(t *testing.T) {
	s := switchboardtest.Start(t)
	t.Run("plain HTTP", func(t *testing.T) {
		start := time.Now()
		ss := loginDemo(t, s, "agent1", "demo-agent-1")
		c := ss.cookie
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Fatalf("cookie attributes: %+v", c)
		}
		if c.Secure {
			t.Fatal("cookie marked Secure over plain HTTP (the browser would drop it)")
		}
		// The harness configures one-hour sessions.
		if d := c.Expires.Sub(start); d < 59*time.Minute || d > 61*time.Minute {
			t.Fatalf("cookie expires in %s, want the configured hour", d)
		}
		raw := ss.login.Header.Get("Set-Cookie")
		for _, want := range []string{"sb_session=", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(raw, want) {
				t.Fatalf("Set-Cookie %q lacks %s", raw, want)
			}
		}
		// Only a hash of the token is stored.
		if n := count(t, s, `SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, c.Value); n != 0 {
			t.Fatal("the session token is stored in clear")
		}
		if n := count(t, s, `SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, identity.HashToken(c.Value)); n != 1 {
			t.Fatal("the session is not stored under its token's hash")
		}
		resp, body := ss.do(t, "GET", "/auth/session"+nv, nil)
		wantStatus(t, resp, body, 200)
		m := switchboardtest.JSON(t, body)
		if m["csrfToken"] != ss.csrf || m["user"].(map[string]any)["username"] != "agent1" {
			t.Fatalf("session: %s", body)
		}
		if strings.Contains(string(body), "password") || strings.Contains(string(body), "argon2") {
			t.Fatalf("the session answer shows password material: %s", body)
		}
	})
	t.Run("HTTPS", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: s.TLSConfig(t)}, Timeout: 30 * time.Second}
		ss := loginAt(t, hc, s.HTTPSURL, "demo", "agent1", "demo-agent-1")
		if !ss.cookie.Secure || !ss.cookie.HttpOnly || ss.cookie.SameSite != http.SameSiteLaxMode {
			t.Fatalf("cookie over HTTPS: %+v", ss.cookie)
		}
		if raw := ss.login.Header.Get("Set-Cookie"); !strings.Contains(raw, "Secure") {
			t.Fatalf("Set-Cookie over HTTPS lacks Secure: %q", raw)
		}
		resp, body := ss.do(t, "GET", "/auth/session"+nv, nil)
		wantStatus(t, resp, body, 200)
		// Same-origin unsafe request over HTTPS.
		resp, body = ss.do(t, "PATCH", "/users/"+ss.userID+nv, map[string]string{"displayName": "Over TLS"}, withHeader("Origin", s.HTTPSURL))
		wantStatus(t, resp, body, 200)
	})
	t.Run("garbage cookies", func(t *testing.T) {
		for _, v := range []string{"x", strings.Repeat("A", 43), ""} {
			req := newRequest(t, "GET", s.HTTPURL+"/auth/session"+nv, nil)
			req.AddCookie(&http.Cookie{Name: "sb_session", Value: v})
			resp, body := send(t, http.DefaultClient, req)
			wantError(t, resp, body, http.StatusUnauthorized, "")
		}
	})
}

func TestCSRFAndOrigin(t *testing.T) {
	s := switchboardtest.Start(t)
	admin := loginDemo(t, s, "admin", "demo-admin-1")
	admin2 := loginDemo(t, s, "admin", "demo-admin-1")
	newUser := func(name string) map[string]string {
		return map[string]string{"username": name, "role": "agent", "password": "long-enough-1"}
	}
	agent := loginDemo(t, s, "agent1", "demo-agent-1")
	agentPath := "/users/" + agent.userID + nv
	self := strings.TrimPrefix(s.HTTPURL, "http://")

	for _, tc := range []struct {
		name string
		mods []func(*http.Request)
		code string
	}{
		{"missing CSRF token", []func(*http.Request){withoutHeader("X-CSRF-Token")}, "InvalidCSRFToken"},
		{"wrong CSRF token", []func(*http.Request){withHeader("X-CSRF-Token", "not-the-token")}, "InvalidCSRFToken"},
		{"another session's CSRF token", []func(*http.Request){withHeader("X-CSRF-Token", admin2.csrf)}, "InvalidCSRFToken"},
		{"CSRF token as a query parameter only", []func(*http.Request){withoutHeader("X-CSRF-Token"), func(r *http.Request) {
			r.URL.RawQuery += "&X-CSRF-Token=" + admin.csrf
		}}, "InvalidCSRFToken"},
		{"cross-origin", []func(*http.Request){withHeader("Origin", "http://evil.example")}, "Forbidden"},
		{"cross-origin on the same host name, other port", []func(*http.Request){withHeader("Origin", "http://127.0.0.1:1")}, "Forbidden"},
		{"null origin", []func(*http.Request){withHeader("Origin", "null")}, "Forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			users := userCount(t, s, s.Demo.Tenant.ID)
			resp, body := admin.do(t, "POST", "/users"+nv, newUser("csrf-victim"), tc.mods...)
			wantError(t, resp, body, http.StatusForbidden, tc.code)
			if userCount(t, s, s.Demo.Tenant.ID) != users {
				t.Fatal("a refused request created a user")
			}
			resp, body = admin.do(t, "PATCH", agentPath, map[string]string{"displayName": "Pwned"}, tc.mods...)
			wantError(t, resp, body, http.StatusForbidden, tc.code)
			resp, body = admin.do(t, "DELETE", agentPath, nil, tc.mods...)
			wantError(t, resp, body, http.StatusForbidden, tc.code)
			resp, body = admin.do(t, "POST", "/auth/logout"+nv, nil, tc.mods...)
			wantError(t, resp, body, http.StatusForbidden, tc.code)
			// Safe methods need neither.
			resp, body = admin.do(t, "GET", agentPath, nil, tc.mods...)
			wantStatus(t, resp, body, 200)
			if m := switchboardtest.JSON(t, body); m["displayName"] != "Alex Agent" {
				t.Fatalf("a refused PATCH changed the user: %v", m["displayName"])
			}
			resp, body = admin.do(t, "GET", "/auth/session"+nv, nil)
			wantStatus(t, resp, body, 200)
		})
	}
	t.Run("same origin with the token", func(t *testing.T) {
		resp, body := admin.do(t, "POST", "/users"+nv, newUser("csrf-ok"), withHeader("Origin", "http://"+self))
		wantStatus(t, resp, body, http.StatusCreated)
		resp, body = admin.do(t, "POST", "/users"+nv, newUser("csrf-ok-2"))
		wantStatus(t, resp, body, http.StatusCreated)
	})
	t.Run("an agent's own patch needs the token too", func(t *testing.T) {
		resp, body := agent.do(t, "PATCH", agentPath, map[string]string{"displayName": "Pwned"}, withoutHeader("X-CSRF-Token"))
		wantError(t, resp, body, http.StatusForbidden, "InvalidCSRFToken")
	})
	t.Run("HMAC requests need no CSRF token", func(t *testing.T) {
		resp, body := s.Client(t).Do(t, "POST", "/users"+nv, newUser("csrf-hmac"))
		wantStatus(t, resp, body, http.StatusCreated)
	})
}

func TestLogout(t *testing.T) {
	s := switchboardtest.Start(t)
	a := loginDemo(t, s, "supervisor", "demo-supervisor-1")
	b := loginDemo(t, s, "supervisor", "demo-supervisor-1")
	resp, body := a.do(t, "POST", "/auth/logout"+nv, nil)
	wantStatus(t, resp, body, http.StatusNoContent)
	var cleared *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "sb_session" {
			cleared = c
		}
	}
	if cleared == nil || cleared.Value != "" || cleared.MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %+v", cleared)
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/auth/session" + nv},
		{"GET", "/users" + nv},
		{"POST", "/auth/logout" + nv},
	} {
		resp, body := a.do(t, tc.method, tc.path, nil)
		wantError(t, resp, body, http.StatusUnauthorized, "SessionExpired")
	}
	if n := count(t, s, `SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, identity.HashToken(a.cookie.Value)); n != 0 {
		t.Fatal("the session row survives logout")
	}
	// Only that session ended.
	resp, body = b.do(t, "GET", "/auth/session"+nv, nil)
	wantStatus(t, resp, body, 200)
}

func TestCredentialChangesEndSessions(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	alive := func(t *testing.T, ss *session) bool {
		t.Helper()
		resp, body := ss.do(t, "GET", "/auth/session"+nv, nil)
		switch resp.StatusCode {
		case 200:
			return true
		case 401:
			wantError(t, resp, body, 401, "SessionExpired")
			return false
		}
		t.Fatalf("session check: %d %s", resp.StatusCode, body)
		return false
	}
	admin := loginDemo(t, s, "admin", "demo-admin-1")

	t.Run("admin changes a password", func(t *testing.T) {
		createUser(t, c, "pw-a", "agent", "first-password-1")
		a1 := loginDemo(t, s, "pw-a", "first-password-1")
		a2 := loginDemo(t, s, "pw-a", "first-password-1")
		resp, body := admin.do(t, "PATCH", "/users/"+a1.userID+nv, map[string]string{"password": "second-password-2"})
		wantStatus(t, resp, body, 200)
		if alive(t, a1) || alive(t, a2) {
			t.Fatal("sessions survive a password change")
		}
		if !alive(t, admin) {
			t.Fatal("the admin's own session ended")
		}
		resp, body = send(t, http.DefaultClient, newRequest(t, "POST", s.HTTPURL+"/auth/login"+nv, map[string]string{"tenant": "demo", "username": "pw-a", "password": "first-password-1"}))
		wantError(t, resp, body, 401, "InvalidCredentials")
		loginDemo(t, s, "pw-a", "second-password-2")
	})
	t.Run("own password change", func(t *testing.T) {
		createUser(t, c, "pw-b", "agent", "first-password-1")
		b := loginDemo(t, s, "pw-b", "first-password-1")
		resp, body := b.do(t, "PATCH", "/users/"+b.userID+nv, map[string]string{"password": "second-password-2"})
		wantStatus(t, resp, body, 200)
		if alive(t, b) {
			t.Fatal("the session that changed its password survives")
		}
	})
	t.Run("role change", func(t *testing.T) {
		createUser(t, c, "pw-c", "admin", "first-password-1")
		cs := loginDemo(t, s, "pw-c", "first-password-1")
		resp, body := c.Do(t, "PATCH", "/users/"+cs.userID+nv, map[string]string{"role": "agent"})
		wantStatus(t, resp, body, 200)
		if alive(t, cs) {
			t.Fatal("an admin session survives demotion")
		}
		cs = loginDemo(t, s, "pw-c", "first-password-1")
		resp, body = cs.do(t, "GET", "/users"+nv, nil)
		wantError(t, resp, body, http.StatusForbidden, "Forbidden")
	})
	t.Run("display name change keeps sessions", func(t *testing.T) {
		createUser(t, c, "pw-d", "agent", "first-password-1")
		d := loginDemo(t, s, "pw-d", "first-password-1")
		resp, body := d.do(t, "PATCH", "/users/"+d.userID+nv, map[string]string{"displayName": "Dee"})
		wantStatus(t, resp, body, 200)
		if !alive(t, d) {
			t.Fatal("a display name change ended the session")
		}
	})
	t.Run("deleted user", func(t *testing.T) {
		createUser(t, c, "pw-e", "agent", "first-password-1")
		e := loginDemo(t, s, "pw-e", "first-password-1")
		resp, body := c.Do(t, "DELETE", "/users/"+e.userID+nv, nil)
		wantStatus(t, resp, body, http.StatusNoContent)
		if alive(t, e) {
			t.Fatal("a deleted user's session survives")
		}
	})
}

func TestRoles(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	admin := loginDemo(t, s, "admin", "demo-admin-1")
	sup := loginDemo(t, s, "supervisor", "demo-supervisor-1")
	agent := loginDemo(t, s, "agent1", "demo-agent-1")
	target := createUser(t, c, "role-target", "agent", "long-enough-1")["id"].(string)
	user := func(id string) string { return "/users/" + id + nv }
	byRole := map[string]*session{"agent": agent, "supervisor": sup, "admin": admin}

	type call struct {
		method, path string
		body         any
	}
	newUser := func(name string) any {
		return map[string]string{"username": name, "role": "agent", "password": "long-enough-1"}
	}
	// Expected status per caller; 403s must also leave everything unchanged,
	// which the checks after the table confirm.
	for _, tc := range []struct {
		name   string
		call   func(who string) call
		status map[string]int
	}{
		{"list users", func(string) call { return call{"GET", "/users" + nv, nil} },
			map[string]int{"agent": 403, "supervisor": 200, "admin": 200}},
		{"create user", func(who string) call { return call{"POST", "/users" + nv, newUser("by-" + who)} },
			map[string]int{"agent": 403, "supervisor": 403, "admin": 201}},
		{"read own record", func(who string) call { return call{"GET", user(byRole[who].userID), nil} },
			map[string]int{"agent": 200, "supervisor": 200, "admin": 200}},
		{"read another's record", func(string) call { return call{"GET", user(target), nil} },
			map[string]int{"agent": 403, "supervisor": 200, "admin": 200}},
		{"patch own display name", func(who string) call {
			return call{"PATCH", user(byRole[who].userID), map[string]string{"displayName": "Renamed " + who}}
		}, map[string]int{"agent": 200, "supervisor": 200, "admin": 200}},
		{"patch own role", func(who string) call {
			return call{"PATCH", user(byRole[who].userID), map[string]string{"role": "admin"}}
		}, map[string]int{"agent": 403, "supervisor": 403, "admin": 200}},
		{"patch own role to the same role", func(who string) call {
			return call{"PATCH", user(byRole[who].userID), map[string]string{"role": who}}
		}, map[string]int{"agent": 403, "supervisor": 403}},
		{"patch own role with a display name", func(who string) call {
			return call{"PATCH", user(byRole[who].userID), map[string]string{"displayName": "Sneaky", "role": "admin"}}
		}, map[string]int{"agent": 403, "supervisor": 403}},
		{"patch another's display name", func(string) call {
			return call{"PATCH", user(target), map[string]string{"displayName": "Hijacked"}}
		}, map[string]int{"agent": 403, "supervisor": 403, "admin": 200}},
		{"patch another's password", func(string) call {
			return call{"PATCH", user(target), map[string]string{"password": "hijacked-password"}}
		}, map[string]int{"agent": 403, "supervisor": 403}},
		{"delete own record", func(who string) call { return call{"DELETE", user(byRole[who].userID), nil} },
			map[string]int{"agent": 403, "supervisor": 403}},
		{"delete another", func(string) call { return call{"DELETE", user(target), nil} },
			map[string]int{"agent": 403, "supervisor": 403}},
		{"list event subscriptions", func(string) call { return call{"GET", "/eventSubscriptions" + nv, nil} },
			map[string]int{"agent": 403, "supervisor": 403, "admin": 200}},
		{"list dead letters", func(string) call { return call{"GET", "/deadLetters" + nv, nil} },
			map[string]int{"agent": 403, "supervisor": 403, "admin": 200}},
		{"create event subscription", func(string) call {
			return call{"POST", "/eventSubscriptions" + nv, map[string]string{"endpoint": "http://127.0.0.1:1/hook"}}
		}, map[string]int{"agent": 403, "supervisor": 403}},
	} {
		for _, who := range []string{"agent", "supervisor", "admin"} {
			want, ok := tc.status[who]
			if !ok {
				continue
			}
			t.Run(tc.name+"/"+who, func(t *testing.T) {
				users := userCount(t, s, s.Demo.Tenant.ID)
				cl := tc.call(who)
				resp, body := byRole[who].do(t, cl.method, cl.path, cl.body)
				if want == 403 {
					wantError(t, resp, body, 403, "Forbidden")
					if userCount(t, s, s.Demo.Tenant.ID) != users {
						t.Fatal("a forbidden request changed the number of users")
					}
					return
				}
				wantStatus(t, resp, body, want)
			})
		}
	}
	// Nothing the forbidden calls tried took effect.
	roles := map[string]string{}
	resp, body := c.Do(t, "GET", "/users"+nv, nil)
	wantStatus(t, resp, body, 200)
	for _, u := range switchboardtest.JSON(t, body)["value"].([]any) {
		m := u.(map[string]any)
		roles[m["username"].(string)] = m["role"].(string)
		if m["username"] == "role-target" && m["displayName"] != "Hijacked" {
			// Only the admin's patch renamed it.
			t.Fatalf("role-target display name %v", m["displayName"])
		}
		if m["username"] == "agent1" && m["displayName"] != "Renamed agent" {
			t.Fatalf("agent1 display name %v", m["displayName"])
		}
	}
	if roles["agent1"] != "agent" || roles["supervisor"] != "supervisor" || roles["role-target"] != "agent" {
		t.Fatalf("roles changed: %v", roles)
	}
	for _, name := range []string{"by-agent", "by-supervisor"} {
		if _, ok := roles[name]; ok {
			t.Fatalf("%s was created", name)
		}
	}
	if _, ok := roles["by-admin"]; !ok {
		t.Fatal("the admin's user was not created")
	}
	// The target's password is unchanged.
	loginDemo(t, s, "role-target", "long-enough-1")

	t.Run("HMAC acts as admin", func(t *testing.T) {
		u := createUser(t, c, "hmac-made", "supervisor", "long-enough-1")
		id := u["id"].(string)
		resp, body := c.Do(t, "PATCH", user(id), map[string]string{"role": "admin", "displayName": "Promoted"})
		wantStatus(t, resp, body, 200)
		if m := switchboardtest.JSON(t, body); m["role"] != "admin" {
			t.Fatalf("role after HMAC patch: %v", m["role"])
		}
		resp, body = c.Do(t, "GET", "/eventSubscriptions"+nv, nil)
		wantStatus(t, resp, body, 200)
		resp, body = c.Do(t, "DELETE", user(id), nil)
		wantStatus(t, resp, body, http.StatusNoContent)
		resp, body = c.Do(t, "GET", user(id), nil)
		wantError(t, resp, body, 404, "NotFound")
	})
	t.Run("user tokens and cookies do not cross over", func(t *testing.T) {
		_, token := createIdentity(t, c)
		req := newRequest(t, "GET", s.HTTPURL+"/users"+nv, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, body := send(t, http.DefaultClient, req)
		wantError(t, resp, body, 401, "")
		// An admin session does not open the HMAC-only Identity API.
		resp, body = admin.do(t, "POST", "/identities"+idv, nil)
		wantError(t, resp, body, 401, "")
		// Nor /me, which needs a user token.
		resp, body = admin.do(t, "GET", "/me"+nv, nil)
		wantError(t, resp, body, 401, "")
	})
}
