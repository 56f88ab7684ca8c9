package identity_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

var (
	tokenKey = []byte("0123456789abcdef0123456789abcdef")
	tokenT   = tenant.ID("11111111-2222-3333-4444-555555555555")
	tokenNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
)

func tokenIdentity(epoch int64) identity.Identity {
	return identity.Identity{ID: identity.NewUserID(tokenT, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"), Tenant: tokenT, TokenEpoch: epoch}
}

func issue(t *testing.T, ti *identity.TokenIssuer, scopes []identity.Scope, ttl time.Duration) (string, time.Time) {
	t.Helper()
	tok, exp, err := ti.Issue(tokenIdentity(3), scopes, tokenNow, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok, exp
}

// wantInvalidToken checks err is the one unauthenticated answer for bad tokens.
func wantInvalidToken(t *testing.T, err error, why string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: accepted", why)
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindUnauthenticated || e.Code != "InvalidAccessToken" {
		t.Fatalf("%s: %v, want an unauthenticated InvalidAccessToken", why, err)
	}
}

func segments(t *testing.T, tok string) (header, claims map[string]any, parts []string) {
	t.Helper()
	parts = strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWS compact serialisation", tok)
	}
	dec := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	return dec(parts[0]), dec(parts[1]), parts
}

func encode(m map[string]any) string {
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hs256(key []byte, signingInput string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signingInput))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestTokenRoundTrip(t *testing.T) {
	ti := identity.NewTokenIssuer(tokenKey, "switchboard")
	scopes := []identity.Scope{identity.ScopeChat, identity.ScopeVoIP}
	tok, exp := issue(t, ti, scopes, 90*time.Minute)
	if !exp.Equal(tokenNow.Add(90 * time.Minute)) {
		t.Fatalf("expiry %s", exp)
	}
	c, err := ti.Parse(tok, tokenNow.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	id := tokenIdentity(3)
	if c.User != id.ID || c.Tenant != tokenT || c.Epoch != 3 || !slices.Equal(c.Scopes, scopes) {
		t.Fatalf("claims %+v", c)
	}
	if !c.IssuedAt.Equal(tokenNow) || !c.ExpiresAt.Equal(exp) {
		t.Fatalf("times %s %s", c.IssuedAt, c.ExpiresAt)
	}
	if !c.Has(identity.ScopeChat) || !c.Has(identity.ScopeVoIP) || c.Has(identity.ScopeChatJoin) {
		t.Fatal("Has disagrees with the scopes")
	}
	// What the ACS SDKs decode on the client.
	h, claims, _ := segments(t, tok)
	if h["alg"] != "HS256" || h["typ"] != "JWT" {
		t.Fatalf("header %v", h)
	}
	want := map[string]any{
		"skypeid": "acs:" + string(tokenT) + "_aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "sub": string(id.ID), "resourceId": string(tokenT),
		"acsScope": "chat,voip", "resourceLocation": "switchboard", "exp": float64(exp.Unix()), "iat": float64(tokenNow.Unix()),
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
}

func TestTokenExpiryTruncatedToSeconds(t *testing.T) {
	ti := identity.NewTokenIssuer(tokenKey, "x")
	now := tokenNow.Add(700 * time.Millisecond)
	_, exp, err := ti.Issue(tokenIdentity(0), []identity.Scope{identity.ScopeChat}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Nanosecond() != 0 || exp.After(now.Add(time.Hour)) || exp.Before(now.Add(time.Hour-time.Second)) {
		t.Fatalf("expiry %s for issue at %s", exp, now)
	}
}

func TestTokenExpiry(t *testing.T) {
	ti := identity.NewTokenIssuer(tokenKey, "x")
	tok, exp := issue(t, ti, []identity.Scope{identity.ScopeChat}, time.Hour)
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"at issue", tokenNow, true},
		{"a second before expiry", exp.Add(-time.Second), true},
		{"at expiry", exp, false},
		{"a second after expiry", exp.Add(time.Second), false},
		{"a day later", exp.Add(24 * time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ti.Parse(tok, tc.at)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantInvalidToken(t, err, tc.name)
			if !strings.Contains(errs.As(err).Message, "expired") {
				t.Fatalf("message %q does not say the token expired", errs.As(err).Message)
			}
		})
	}
}

func TestTokenTampering(t *testing.T) {
	ti := identity.NewTokenIssuer(tokenKey, "x")
	tok, _ := issue(t, ti, []identity.Scope{identity.ScopeChat}, time.Hour)
	h, claims, parts := segments(t, tok)
	at := tokenNow.Add(time.Minute)

	withClaim := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range claims {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	resign := func(header, claims map[string]any, key []byte) string {
		in := encode(header) + "." + encode(claims)
		return in + "." + hs256(key, in)
	}
	flip := func(s string) string {
		b := []byte(s)
		i := len(b) / 2
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, tc := range []struct{ name, token string }{
		{"empty", ""},
		{"garbage", "not-a-token"},
		{"two segments", parts[0] + "." + parts[1]},
		{"signature flipped", parts[0] + "." + parts[1] + "." + flip(parts[2])},
		{"signature removed", parts[0] + "." + parts[1] + "."},
		{"scopes widened", parts[0] + "." + encode(withClaim("acsScope", "chat,voip")) + "." + parts[2]},
		{"tenant changed", parts[0] + "." + encode(withClaim("resourceId", "other-tenant")) + "." + parts[2]},
		{"epoch changed", parts[0] + "." + encode(withClaim("sbv", 4)) + "." + parts[2]},
		{"expiry extended", parts[0] + "." + encode(withClaim("exp", claims["exp"].(float64)+86400)) + "." + parts[2]},
		{"signed with another key", resign(h, claims, []byte("another key, another key, 32 b!"))},
		{"alg none", encode(map[string]any{"alg": "none", "typ": "JWT"}) + "." + parts[1] + "."},
		{"alg HS512 with the right key", func() string {
			in := encode(map[string]any{"alg": "HS512", "typ": "JWT"}) + "." + parts[1]
			m := hmac.New(sha512.New, tokenKey) // a valid HS512 signature: only the algorithm is wrong
			m.Write([]byte(in))
			return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
		}()},
		{"no expiry", resign(h, withClaim("exp", nil), tokenKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ti.Parse(tc.token, at)
			wantInvalidToken(t, err, tc.name)
		})
	}
	t.Run("another issuer's key", func(t *testing.T) {
		other := identity.NewTokenIssuer([]byte("ffffffffffffffffffffffffffffffff"), "x")
		_, err := other.Parse(tok, at)
		wantInvalidToken(t, err, "another key")
	})
	t.Run("re-signed with the right key is accepted", func(t *testing.T) {
		// The checks above fail for the tampering, not for the re-encoding.
		c, err := ti.Parse(resign(h, withClaim("acsScope", "chat,voip"), tokenKey), at)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Has(identity.ScopeVoIP) {
			t.Fatalf("scopes %v", c.Scopes)
		}
	})
}

func TestParseScopes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []identity.Scope
	}{
		{"chat", []string{"chat"}, []identity.Scope{identity.ScopeChat}},
		{"every scope", []string{"chat", "voip", "chat.join", "chat.join.limited", "voip.join"},
			[]identity.Scope{identity.ScopeChat, identity.ScopeVoIP, identity.ScopeChatJoin, identity.ScopeChatJoinLimited, identity.ScopeVoIPJoin}},
		{"case and spaces", []string{" Chat ", "VOIP"}, []identity.Scope{identity.ScopeChat, identity.ScopeVoIP}},
		{"duplicates collapse in order", []string{"voip", "chat", "VoIP", "chat"}, []identity.Scope{identity.ScopeVoIP, identity.ScopeChat}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := identity.ParseScopes(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		in   []string
	}{
		{"nil", nil},
		{"empty", []string{}},
		{"unknown", []string{"admin"}},
		{"one unknown among known", []string{"chat", "calls"}},
		{"empty string", []string{""}},
		{"prefix of a scope", []string{"chat.join.lim"}},
		{"separator inside", []string{"chat,voip"}},
	} {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			_, err := identity.ParseScopes(tc.in)
			e := errs.As(err)
			if err == nil || e.Kind != errs.KindInvalid || e.Code != "InvalidScopes" || e.Target != "scopes" {
				t.Fatalf("%v", err)
			}
		})
	}
}

func TestTokenLifetimeBounds(t *testing.T) {
	for _, tc := range []struct {
		minutes int
		want    time.Duration // 0: refused
	}{
		{0, 1440 * time.Minute}, // default
		{-1, 0},
		{1, 0},
		{59, 0},
		{60, 60 * time.Minute},
		{61, 61 * time.Minute},
		{1439, 1439 * time.Minute},
		{1440, 1440 * time.Minute},
		{1441, 0},
		{100000, 0},
	} {
		_, ttl, err := identity.ValidateTokenRequest(identity.TokenRequest{Scopes: []string{"chat"}, ExpiresInMinutes: tc.minutes})
		if tc.want == 0 {
			e := errs.As(err)
			if err == nil || e.Kind != errs.KindInvalid || e.Code != "InvalidExpiresInMinutes" || e.Target != "expiresInMinutes" {
				t.Errorf("%d minutes: %v", tc.minutes, err)
			}
			continue
		}
		if err != nil || ttl != tc.want {
			t.Errorf("%d minutes: ttl %s, err %v; want %s", tc.minutes, ttl, err, tc.want)
		}
	}
	if _, _, err := identity.ValidateTokenRequest(identity.TokenRequest{ExpiresInMinutes: 60}); errs.As(err).Code != "InvalidScopes" {
		t.Fatalf("no scopes: %v", err)
	}
}

func TestUserIDs(t *testing.T) {
	id := identity.NewUserID("t-1", "guid")
	if id != "8:acs:t-1_guid" {
		t.Fatalf("NewUserID = %s", id)
	}
	for _, tc := range []struct {
		id   identity.UserID
		want tenant.ID
		ok   bool
	}{
		{id, "t-1", true},
		{"8:acs:abc_def_ghi", "abc", true},
		{"8:acs:_guid", "", false},
		{"8:acs:noseparator", "", false},
		{"8:orgid:abc_def", "", false},
		{"4:+14255550123", "", false},
		{"", "", false},
	} {
		got, ok := identity.TenantOf(tc.id)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("TenantOf(%q) = %q, %v", tc.id, got, ok)
		}
	}
}

func TestRoles(t *testing.T) {
	roles := []identity.Role{identity.RoleAgent, identity.RoleSupervisor, identity.RoleAdmin}
	for i, r := range roles {
		if !r.Valid() {
			t.Errorf("%s not valid", r)
		}
		for j, min := range roles {
			if got := r.AtLeast(min); got != (i >= j) {
				t.Errorf("%s.AtLeast(%s) = %v", r, min, got)
			}
		}
	}
	for _, r := range []identity.Role{"", "Admin", "root", "owner"} {
		if r.Valid() {
			t.Errorf("%q is valid", r)
		}
		if r.AtLeast(identity.RoleAgent) {
			t.Errorf("%q counts as at least an agent", r)
		}
	}
}
