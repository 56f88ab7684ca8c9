package identity_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/store"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

type serviceFixture struct {
	st      *store.Store
	svc     *identity.Service
	clk     *clock
	tenants *identity.Tenants
	a, b    tenant.Tenant
	aCtx    context.Context
	bCtx    context.Context
}

func newService(t *testing.T) *serviceFixture {
	t.Helper()
	st := openStore(t)
	ctx := context.Background()
	f := &serviceFixture{st: st, tenants: identity.NewTenants(st, st), clk: &clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}}
	var err error
	if f.a, _, err = f.tenants.Create(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if f.b, _, err = f.tenants.Create(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	f.aCtx, f.bCtx = tenant.With(ctx, f.a.ID), tenant.With(ctx, f.b.ID)
	f.svc = identity.NewService(st, st, st, identity.NewTokenIssuer([]byte("0123456789abcdef0123456789abcdef"), "test"))
	identity.SetServiceClock(f.svc, f.clk.Now)
	return f
}

func (f *serviceFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.st.DB().RawQueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *serviceFixture) authenticates(token string) error {
	_, err := f.svc.AuthenticateToken(context.Background(), token)
	return err
}

func TestServiceTokenLifecycle(t *testing.T) {
	f := newService(t)
	id, tok, err := f.svc.CreateIdentity(f.aCtx, "", &identity.TokenRequest{Scopes: []string{"chat", "voip"}, ExpiresInMinutes: 60})
	if err != nil {
		t.Fatal(err)
	}
	if tn, ok := identity.TenantOf(id.ID); !ok || tn != f.a.ID {
		t.Fatalf("identity %s is not in tenant a", id.ID)
	}
	if !tok.ExpiresOn.Equal(f.clk.Now().Add(time.Hour)) {
		t.Fatalf("expiresOn %s", tok.ExpiresOn)
	}
	c, err := f.svc.AuthenticateToken(context.Background(), tok.Token)
	if err != nil || c.User != id.ID || c.Tenant != f.a.ID || !c.Has(identity.ScopeVoIP) {
		t.Fatalf("AuthenticateToken: %+v %v", c, err)
	}

	// Expiry follows the service's clock.
	f.clk.Add(59 * time.Minute)
	if err := f.authenticates(tok.Token); err != nil {
		t.Fatalf("a minute before expiry: %v", err)
	}
	f.clk.Add(time.Minute)
	wantCode(t, f.authenticates(tok.Token), errs.KindUnauthenticated, "InvalidAccessToken")

	// Revocation ends every token issued so far, not later ones.
	t1, err := f.svc.IssueToken(f.aCtx, id.ID, identity.TokenRequest{Scopes: []string{"chat"}})
	if err != nil {
		t.Fatal(err)
	}
	if !t1.ExpiresOn.Equal(f.clk.Now().Add(24 * time.Hour)) {
		t.Fatalf("default lifetime: expires %s", t1.ExpiresOn)
	}
	got, err := f.svc.Identity(f.aCtx, id.ID)
	if err != nil || got.LastTokenIssuedAt == nil || !got.LastTokenIssuedAt.Equal(f.clk.Now()) {
		t.Fatalf("lastTokenIssuedAt %v (%v)", got.LastTokenIssuedAt, err)
	}
	// Another tenant can neither revoke nor issue.
	wantCode(t, f.svc.RevokeTokens(f.bCtx, id.ID), errs.KindNotFound, "NotFound")
	_, err = f.svc.IssueToken(f.bCtx, id.ID, identity.TokenRequest{Scopes: []string{"chat"}})
	wantCode(t, err, errs.KindNotFound, "NotFound")
	wantCode(t, f.svc.DeleteIdentity(f.bCtx, id.ID), errs.KindNotFound, "NotFound")
	_, err = f.svc.Identity(f.bCtx, id.ID)
	wantCode(t, err, errs.KindNotFound, "NotFound")
	if err := f.authenticates(t1.Token); err != nil {
		t.Fatalf("another tenant's calls ended the token: %v", err)
	}

	if err := f.svc.RevokeTokens(f.aCtx, id.ID); err != nil {
		t.Fatal(err)
	}
	err = f.authenticates(t1.Token)
	wantCode(t, err, errs.KindUnauthenticated, "InvalidAccessToken")
	if !strings.Contains(errs.As(err).Message, "revoked") {
		t.Fatalf("message %q", errs.As(err).Message)
	}
	t2, err := f.svc.IssueToken(f.aCtx, id.ID, identity.TokenRequest{Scopes: []string{"chat"}, ExpiresInMinutes: 60})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.authenticates(t2.Token); err != nil {
		t.Fatalf("a token issued after the revocation: %v", err)
	}

	// Deletion ends tokens too, and the id is gone for good.
	if err := f.svc.DeleteIdentity(f.aCtx, id.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.authenticates(t2.Token), errs.KindUnauthenticated, "InvalidAccessToken")
	_, err = f.svc.Identity(f.aCtx, id.ID)
	wantCode(t, err, errs.KindNotFound, "NotFound")
	_, err = f.svc.IssueToken(f.aCtx, id.ID, identity.TokenRequest{Scopes: []string{"chat"}})
	wantCode(t, err, errs.KindNotFound, "NotFound")
	wantCode(t, f.svc.DeleteIdentity(f.aCtx, id.ID), errs.KindNotFound, "NotFound")
	wantCode(t, f.svc.RevokeTokens(f.aCtx, id.ID), errs.KindNotFound, "NotFound")

	// Each change recorded its event in the outbox.
	for typ, want := range map[string]int{identity.EventIdentityCreated: 1, identity.EventTokensRevoked: 1, identity.EventIdentityDeleted: 1} {
		if n := f.count(t, `SELECT COUNT(*) FROM outbox WHERE type = $1 AND tenant_id = $2`, typ, string(f.a.ID)); n != want {
			t.Errorf("%d %s events", n, typ)
		}
	}
	if n := f.count(t, `SELECT COUNT(*) FROM outbox WHERE tenant_id = $1`, string(f.b.ID)); n != 0 {
		t.Errorf("tenant b's failed calls wrote %d events", n)
	}
}

func TestServiceTokenBounds(t *testing.T) {
	f := newService(t)
	id, _, err := f.svc.CreateIdentity(f.aCtx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		minutes int
		ok      bool
	}{{59, false}, {60, true}, {1440, true}, {1441, false}, {-60, false}} {
		before := f.count(t, `SELECT COUNT(*) FROM identities`)
		_, created, err := f.svc.CreateIdentity(f.aCtx, "", &identity.TokenRequest{Scopes: []string{"chat"}, ExpiresInMinutes: tc.minutes})
		issued, ierr := f.svc.IssueToken(f.aCtx, id.ID, identity.TokenRequest{Scopes: []string{"chat"}, ExpiresInMinutes: tc.minutes})
		if tc.ok {
			if err != nil || ierr != nil {
				t.Fatalf("%d minutes: %v / %v", tc.minutes, err, ierr)
			}
			want := f.clk.Now().Add(time.Duration(tc.minutes) * time.Minute)
			if !created.ExpiresOn.Equal(want) || !issued.ExpiresOn.Equal(want) {
				t.Fatalf("%d minutes: expires %s / %s, want %s", tc.minutes, created.ExpiresOn, issued.ExpiresOn, want)
			}
			continue
		}
		wantCode(t, err, errs.KindInvalid, "InvalidExpiresInMinutes")
		wantCode(t, ierr, errs.KindInvalid, "InvalidExpiresInMinutes")
		if f.count(t, `SELECT COUNT(*) FROM identities`) != before {
			t.Fatalf("%d minutes: an identity was created", tc.minutes)
		}
	}
	// Bad scopes create nothing either.
	before := f.count(t, `SELECT COUNT(*) FROM identities`)
	_, _, err = f.svc.CreateIdentity(f.aCtx, "", &identity.TokenRequest{Scopes: []string{"root"}})
	wantCode(t, err, errs.KindInvalid, "InvalidScopes")
	_, _, err = f.svc.CreateIdentity(f.aCtx, "", &identity.TokenRequest{})
	wantCode(t, err, errs.KindInvalid, "InvalidScopes")
	if f.count(t, `SELECT COUNT(*) FROM identities`) != before {
		t.Fatal("an identity was created with bad scopes")
	}
}

func TestServiceCustomIDs(t *testing.T) {
	f := newService(t)
	a1, _, err := f.svc.CreateIdentity(f.aCtx, "customer-42", nil)
	if err != nil {
		t.Fatal(err)
	}
	// As ACS does: a customId already in use returns its identity, with a
	// token when one is asked for.
	again, tok, err := f.svc.CreateIdentity(f.aCtx, "customer-42", &identity.TokenRequest{Scopes: []string{"chat"}})
	if err != nil || again.ID != a1.ID || tok == nil {
		t.Fatalf("customId reuse: %v %v %v", again.ID, tok, err)
	}
	if _, _, err := f.svc.CreateIdentity(f.bCtx, "customer-42", nil); err != nil {
		t.Fatalf("the same customId in another tenant: %v", err)
	}
	if err := f.svc.DeleteIdentity(f.aCtx, a1.ID); err != nil {
		t.Fatal(err)
	}
	a2, _, err := f.svc.CreateIdentity(f.aCtx, "customer-42", nil)
	if err != nil {
		t.Fatalf("customId reuse after deletion: %v", err)
	}
	if a2.ID == a1.ID {
		t.Fatal("an identity id was reused")
	}
}

func TestTenantsAndKeys(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	ts := identity.NewTenants(st, st)
	for _, name := range []string{"", "Upper", "-dash", "has space", "under_score", strings.Repeat("a", 64)} {
		if _, _, err := ts.Create(ctx, name); errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("tenant name %q: %v", name, err)
		}
	}
	tn, k1, err := ts.Create(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(k1.Secret) != 32 || k1.Tenant != tn.ID {
		t.Fatalf("first key %+v", k1)
	}
	_, _, err = ts.Create(ctx, "acme")
	wantCode(t, err, errs.KindConflict, "TenantExists")

	// The last active key cannot be revoked.
	wantCode(t, ts.RevokeKey(ctx, "acme", k1.ID), errs.KindConflict, "LastAccessKey")
	k2, err := ts.RotateKey(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(k1.Secret, k2.Secret) {
		t.Fatal("rotation reused the secret")
	}
	if err := ts.RevokeKey(ctx, "acme", k1.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ts.RevokeKey(ctx, "acme", k1.ID), errs.KindConflict, "LastAccessKey")
	if _, err := ts.RotateKey(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ts.RevokeKey(ctx, "acme", k1.ID), errs.KindNotFound, "NotFound")
	wantCode(t, ts.RevokeKey(ctx, "acme", "no-such-key"), errs.KindNotFound, "NotFound")
	_, err = ts.RotateKey(ctx, "nope")
	wantCode(t, err, errs.KindNotFound, "NotFound")

	keys, err := ts.Keys(ctx, "acme")
	if err != nil || len(keys) != 3 {
		t.Fatalf("keys %+v %v", keys, err)
	}
	for _, k := range keys {
		if (k.RevokedAt != nil) != (k.ID == k1.ID) {
			t.Fatalf("key %s revoked at %v", k.ID, k.RevokedAt)
		}
	}
	// A key of another tenant cannot be revoked through this one.
	_, ok, err := ts.Create(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.RotateKey(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ts.RevokeKey(ctx, "acme", ok.ID), errs.KindNotFound, "NotFound")

	// Ensure is idempotent and hands back an active key.
	et, ek, created, err := ts.Ensure(ctx, "acme")
	if err != nil || created || et.ID != tn.ID || ek.RevokedAt != nil {
		t.Fatalf("Ensure existing: %+v %+v %v %v", et, ek, created, err)
	}
	if bytes.Equal(ek.Secret, k1.Secret) {
		t.Fatal("Ensure returned the revoked key")
	}
	nt, _, created, err := ts.Ensure(ctx, "fresh")
	if err != nil || !created || nt.Name != "fresh" {
		t.Fatalf("Ensure new: %v %v", created, err)
	}
	// The ring over the real store sees exactly the active keys.
	active, err := st.ActiveAccessKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range active {
		if k.ID == k1.ID {
			t.Fatal("a revoked key is active")
		}
	}
	kr := identity.NewKeyRing(st, time.Minute)
	if _, ok := kr.Match(ctx, "", sts, identity.Sign(k1.Secret, sts)); ok {
		t.Fatal("the revoked key matches")
	}
	if got, ok := kr.Match(ctx, "", sts, identity.Sign(k2.Secret, sts)); !ok || got != tn.ID {
		t.Fatal("the rotated key does not match")
	}
}
