package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/store"
	"github.com/switchboard-cc/switchboard/internal/store/storetest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

func openStore(t *testing.T) *store.Store { return storetest.SQLite(t) }

func wantCode(t *testing.T, err error, kind errs.Kind, code string) {
	t.Helper()
	e := errs.As(err)
	if err == nil || e.Kind != kind || e.Code != code {
		t.Fatalf("got %v, want %s %s", err, kind, code)
	}
}

type peopleFixture struct {
	st      *store.Store
	people  *identity.People
	clk     *clock
	acme    tenant.Tenant
	other   tenant.Tenant
	acmeCtx context.Context
	ttl     time.Duration
}

func newPeople(t *testing.T) *peopleFixture {
	t.Helper()
	st := openStore(t)
	ctx := context.Background()
	ts := identity.NewTenants(st, st)
	acme, _, err := ts.Create(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := ts.Create(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	f := &peopleFixture{st: st, acme: acme, other: other, acmeCtx: tenant.With(ctx, acme.ID), ttl: 10 * time.Minute,
		clk: &clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}}
	f.people = identity.NewPeople(st, st, f.ttl)
	identity.SetPeopleClock(f.people, f.clk.Now)
	return f
}

func (f *peopleFixture) create(t *testing.T, username string, role identity.Role) identity.Person {
	t.Helper()
	p, err := f.people.Create(f.acmeCtx, identity.NewPerson{Username: username, Role: role, Password: "password-" + username})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *peopleFixture) login(t *testing.T, username string) (identity.Session, string) {
	t.Helper()
	_, s, tok, err := f.people.Login(context.Background(), "acme", username, "password-"+username)
	if err != nil {
		t.Fatal(err)
	}
	return s, tok
}

func (f *peopleFixture) alive(token string) bool {
	_, _, err := f.people.Authenticate(context.Background(), token)
	return err == nil
}

func TestSessionExpiry(t *testing.T) {
	f := newPeople(t)
	p := f.create(t, "ayu", identity.RoleAgent)
	start := f.clk.Now()
	sess, tok := f.login(t, "ayu")
	if !sess.ExpiresAt.Equal(start.Add(f.ttl)) || !sess.CreatedAt.Equal(start) {
		t.Fatalf("session %s..%s, want %s..%s", sess.CreatedAt, sess.ExpiresAt, start, start.Add(f.ttl))
	}
	if sess.TokenHash != identity.HashToken(tok) || strings.Contains(sess.TokenHash, tok) || sess.CSRF == "" || sess.CSRF == tok {
		t.Fatalf("session secrets: %+v", sess)
	}
	got, s2, err := f.people.Authenticate(context.Background(), tok)
	if err != nil || got.ID != p.ID || s2.CSRF != sess.CSRF || got.Tenant != f.acme.ID {
		t.Fatalf("Authenticate: %+v %v", got, err)
	}
	f.clk.Add(f.ttl - time.Second)
	if !f.alive(tok) {
		t.Fatal("the session ended a second early")
	}
	f.clk.Add(time.Second)
	_, _, err = f.people.Authenticate(context.Background(), tok)
	wantCode(t, err, errs.KindUnauthenticated, "SessionExpired")
	f.clk.Add(time.Hour)
	if f.alive(tok) {
		t.Fatal("an expired session came back")
	}
	// A new login starts a new full-length session.
	_, tok2 := f.login(t, "ayu")
	f.clk.Add(f.ttl - time.Second)
	if !f.alive(tok2) {
		t.Fatal("a new session is shorter than the TTL")
	}
	// The session clean-up removes only expired sessions.
	f.clk.Add(2 * time.Second)
	n, err := f.st.DeleteExpiredSessions(context.Background(), f.clk.Now())
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredSessions removed %d: %v", n, err)
	}
}

func TestLoginFailuresAreOneError(t *testing.T) {
	f := newPeople(t)
	f.create(t, "ayu", identity.RoleAdmin)
	if _, err := f.people.Create(tenant.With(context.Background(), f.other.ID), identity.NewPerson{Username: "budi", Role: identity.RoleAdmin, Password: "password-budi"}); err != nil {
		t.Fatal(err)
	}
	var first error
	for _, tc := range []struct{ name, tenant, user, pass string }{
		{"wrong password", "acme", "ayu", "password-AYU"},
		{"unknown user", "acme", "nobody", "password-ayu"},
		{"unknown tenant", "nope", "ayu", "password-ayu"},
		{"user of another tenant", "acme", "budi", "password-budi"},
		{"empty", "", "", ""},
	} {
		_, _, tok, err := f.people.Login(context.Background(), tc.tenant, tc.user, tc.pass)
		if !errors.Is(err, identity.ErrBadLogin) || tok != "" {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if first == nil {
			first = err
		} else if err.Error() != first.Error() {
			t.Fatalf("%s: %q differs from %q", tc.name, err, first)
		}
	}
	// Tenant and username are normalised, the password is not.
	if _, _, _, err := f.people.Login(context.Background(), " acme ", " AYU ", "password-ayu"); err != nil {
		t.Fatalf("normalised login: %v", err)
	}
}

func TestSessionsEnd(t *testing.T) {
	f := newPeople(t)
	p := f.create(t, "ayu", identity.RoleAdmin)
	q := f.create(t, "budi", identity.RoleAgent)
	strp := func(s string) *string { return &s }
	rolep := func(r identity.Role) *identity.Role { return &r }

	t.Run("logout ends one session", func(t *testing.T) {
		_, a := f.login(t, "ayu")
		_, b := f.login(t, "ayu")
		if err := f.people.Logout(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if f.alive(a) || !f.alive(b) {
			t.Fatal("logout ended the wrong sessions")
		}
	})
	pw := "password-ayu" // the current password
	for _, tc := range []struct {
		name  string
		patch identity.PersonPatch
		ends  bool
	}{
		{"display name", identity.PersonPatch{DisplayName: strp("Ayu")}, false},
		{"same role", identity.PersonPatch{Role: rolep(identity.RoleAdmin)}, false},
		{"password", identity.PersonPatch{Password: strp("a-new-password")}, true},
		{"role", identity.PersonPatch{Role: rolep(identity.RoleSupervisor)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, err := f.people.Get(f.acmeCtx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, _, a, err := f.people.Login(context.Background(), "acme", "ayu", pw)
			if err != nil {
				t.Fatal(err)
			}
			_, other := f.login(t, "budi")
			upd, err := f.people.Update(f.acmeCtx, p.ID, tc.patch, cur.Version)
			if err != nil {
				t.Fatal(err)
			}
			if tc.patch.Password != nil {
				pw = *tc.patch.Password
			}
			if upd.Version != cur.Version+1 || !upd.UpdatedAt.Equal(f.clk.Now()) {
				t.Fatalf("version %d -> %d", cur.Version, upd.Version)
			}
			if f.alive(a) == tc.ends {
				t.Fatalf("session alive=%v after a %s change", f.alive(a), tc.name)
			}
			if !f.alive(other) {
				t.Fatal("another person's session ended")
			}
		})
	}
	t.Run("delete", func(t *testing.T) {
		_, b := f.login(t, "budi")
		if err := f.people.Delete(f.acmeCtx, q.ID); err != nil {
			t.Fatal(err)
		}
		if f.alive(b) {
			t.Fatal("a deleted person's session survives")
		}
		_, err := f.people.Get(f.acmeCtx, q.ID)
		wantCode(t, err, errs.KindNotFound, "NotFound")
	})
}

func TestPeopleUpdateChecks(t *testing.T) {
	f := newPeople(t)
	p := f.create(t, "ayu", identity.RoleAgent)
	strp := func(s string) *string { return &s }
	_, err := f.people.Update(f.acmeCtx, p.ID, identity.PersonPatch{DisplayName: strp("x")}, p.Version+1)
	wantCode(t, err, errs.KindPreconditionFailed, "PreconditionFailed")
	bad := identity.Role("root")
	for name, patch := range map[string]identity.PersonPatch{
		"role":         {Role: &bad},
		"short pw":     {Password: strp("short")},
		"long name":    {DisplayName: strp(strings.Repeat("é", 257))},
		"invalid utf8": {DisplayName: strp("\xff\xfe")},
	} {
		_, err := f.people.Update(f.acmeCtx, p.ID, patch, 0)
		if errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	got, _ := f.people.Get(f.acmeCtx, p.ID)
	if got.Version != p.Version || got.DisplayName != p.DisplayName || got.Role != p.Role || got.PasswordHash != p.PasswordHash {
		t.Fatalf("refused updates changed the person: %+v", got)
	}
	// Another tenant cannot update or delete.
	otherCtx := tenant.With(context.Background(), f.other.ID)
	_, err = f.people.Update(otherCtx, p.ID, identity.PersonPatch{DisplayName: strp("x")}, 0)
	wantCode(t, err, errs.KindNotFound, "NotFound")
	wantCode(t, f.people.Delete(otherCtx, p.ID), errs.KindNotFound, "NotFound")
	if _, err := f.people.Get(f.acmeCtx, p.ID); err != nil {
		t.Fatal("the person was deleted through another tenant")
	}
}

func TestPeopleCreate(t *testing.T) {
	f := newPeople(t)
	p, err := f.people.Create(f.acmeCtx, identity.NewPerson{Username: "  Ayu.Admin ", Role: identity.RoleAdmin, Password: "long-enough"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Username != "ayu.admin" || p.DisplayName != "ayu.admin" || p.Version != 1 || p.Tenant != f.acme.ID || p.ID == "" {
		t.Fatalf("created %+v", p)
	}
	if !identity.CheckPassword(p.PasswordHash, "long-enough") {
		t.Fatal("the stored hash does not check")
	}
	for name, in := range map[string]identity.NewPerson{
		"empty username":     {Username: "", Role: identity.RoleAgent, Password: "long-enough"},
		"username spaces":    {Username: "a b", Role: identity.RoleAgent, Password: "long-enough"},
		"username slash":     {Username: "a/b", Role: identity.RoleAgent, Password: "long-enough"},
		"username too long":  {Username: strings.Repeat("a", 65), Role: identity.RoleAgent, Password: "long-enough"},
		"no role":            {Username: "x", Password: "long-enough"},
		"unknown role":       {Username: "x", Role: "owner", Password: "long-enough"},
		"short password":     {Username: "x", Role: identity.RoleAgent, Password: "short"},
		"display name long":  {Username: "x", Role: identity.RoleAgent, Password: "long-enough", DisplayName: strings.Repeat("a", 257)},
		"display name utf-8": {Username: "x", Role: identity.RoleAgent, Password: "long-enough", DisplayName: "\xc3"},
	} {
		_, err := f.people.Create(f.acmeCtx, in)
		if errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err = f.people.Create(f.acmeCtx, identity.NewPerson{Username: "AYU.ADMIN", Role: identity.RoleAgent, Password: "long-enough"})
	wantCode(t, err, errs.KindConflict, "UsernameTaken")
	// Usernames are per tenant.
	otherCtx := tenant.With(context.Background(), f.other.ID)
	q, err := f.people.Create(otherCtx, identity.NewPerson{Username: "ayu.admin", Role: identity.RoleAgent, Password: "long-enough"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.people.Get(f.acmeCtx, q.ID)
	wantCode(t, err, errs.KindNotFound, "NotFound")
	list, err := f.people.List(f.acmeCtx, "", 100)
	if err != nil || len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("acme's list: %v %v", list, err)
	}
}

func TestAuthenticateRefusesUnknownTokens(t *testing.T) {
	f := newPeople(t)
	f.create(t, "ayu", identity.RoleAgent)
	sess, tok := f.login(t, "ayu")
	for _, bad := range []string{"", "x", sess.TokenHash, sess.CSRF, tok + "x", strings.ToUpper(tok)} {
		if bad != tok && f.alive(bad) {
			t.Fatalf("token %q authenticates", bad)
		}
	}
}
