package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// hmacReq describes one signed request part by part, so each test can sign
// one thing and send another. Zero fields take the honest value.
type hmacReq struct {
	method     string
	path       string // sent, escaped, with the query
	body       []byte // sent
	key        []byte
	signMethod string
	signPath   string
	signHost   string
	hash       string // x-ms-content-sha256, sent and signed
	date       time.Time
	dateHeader string // "x-ms-date" (default) or "Date"
	signed     string // SignedHeaders
	after      func(*http.Request)
}

func (h hmacReq) build(t testing.TB, base string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(h.method, base+h.path, bytes.NewReader(h.body))
	if err != nil {
		t.Fatal(err)
	}
	if h.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	if h.date.IsZero() {
		h.date = time.Now()
	}
	date := h.date.UTC().Format(http.TimeFormat)
	hash := or(h.hash, identity.ContentHash(h.body))
	sts := identity.StringToSign(or(h.signMethod, h.method), or(h.signPath, h.path), date, or(h.signHost, req.URL.Host), hash)
	req.Header.Set(or(h.dateHeader, "x-ms-date"), date)
	req.Header.Set("x-ms-content-sha256", hash)
	req.Header.Set("Authorization", "HMAC-SHA256 SignedHeaders="+or(h.signed, "x-ms-date;host;x-ms-content-sha256")+"&Signature="+identity.Sign(h.key, sts))
	if h.after != nil {
		h.after(req)
	}
	return req
}

func randomKey(t testing.TB) []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// tamper changes one character of the signature in the Authorization header.
func tamper(r *http.Request) {
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "Signature=") + len("Signature=") + 5
	c := byte('A')
	if auth[i] == 'A' {
		c = 'B'
	}
	r.Header.Set("Authorization", auth[:i]+string(c)+auth[i+1:])
}

func TestHMAC(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	const path = "/identities?api-version=2023-10-01"
	body := []byte(`{"createTokenWithScopes":["chat"]}`)
	other := []byte(`{"createTokenWithScopes":["voip"]}`)
	valid := func() hmacReq { return hmacReq{method: "POST", path: path, body: body, key: c.Key} }
	with := func(fn func(*hmacReq)) hmacReq { h := valid(); fn(&h); return h }

	accepted := []struct {
		name string
		req  hmacReq
	}{
		{"valid signature", valid()},
		{"empty body", with(func(h *hmacReq) { h.body = nil; h.hash = identity.EmptyContentHash })},
		{"Date signed instead of x-ms-date", with(func(h *hmacReq) { h.dateHeader = "Date"; h.signed = "date;host;x-ms-content-sha256" })},
		{"date 14 minutes old", with(func(h *hmacReq) { h.date = time.Now().Add(-14 * time.Minute) })},
		{"date 14 minutes ahead", with(func(h *hmacReq) { h.date = time.Now().Add(14 * time.Minute) })},
		{"extra query parameters signed as sent", with(func(h *hmacReq) { h.path = path + "&b=1&a=2" })},
	}
	for _, tc := range accepted {
		t.Run("accepted/"+tc.name, func(t *testing.T) {
			before := identityCount(t, s)
			resp, b := send(t, c.HTTP, tc.req.build(t, s.HTTPURL))
			wantStatus(t, resp, b, http.StatusCreated)
			if identityCount(t, s) != before+1 {
				t.Fatal("accepted request did not create an identity")
			}
		})
	}

	refused := []struct {
		name string
		req  hmacReq
		code string
	}{
		{"missing Authorization", with(func(h *hmacReq) { h.after = func(r *http.Request) { r.Header.Del("Authorization") } }), "Unauthorized"},
		{"Bearer scheme", with(func(h *hmacReq) {
			h.after = func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }
		}), "InvalidAuthenticationScheme"},
		{"scheme without parameters", with(func(h *hmacReq) {
			h.after = func(r *http.Request) { r.Header.Set("Authorization", "HMAC-SHA256") }
		}), "InvalidAuthenticationScheme"},
		{"wrong key", with(func(h *hmacReq) { h.key = randomKey(t) }), "InvalidSignature"},
		{"tampered signature", with(func(h *hmacReq) { h.after = tamper }), "InvalidSignature"},
		{"signature not base64", with(func(h *hmacReq) {
			h.after = func(r *http.Request) {
				r.Header.Set("Authorization", "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=%%%")
			}
		}), "InvalidSignature"},
		{"signature missing", with(func(h *hmacReq) {
			h.after = func(r *http.Request) {
				r.Header.Set("Authorization", "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=")
			}
		}), "InvalidAuthorizationHeader"},
		{"signed headers in another order", with(func(h *hmacReq) { h.signed = "host;x-ms-date;x-ms-content-sha256" }), "InvalidAuthorizationHeader"},
		{"signed headers without the hash", with(func(h *hmacReq) { h.signed = "x-ms-date;host" }), "InvalidAuthorizationHeader"},
		{"body does not match x-ms-content-sha256", with(func(h *hmacReq) { h.hash = identity.EmptyContentHash }), "ContentHashMismatch"},
		{"hash of a different body", with(func(h *hmacReq) { h.hash = identity.ContentHash(other) }), "ContentHashMismatch"},
		{"body swapped after signing", with(func(h *hmacReq) {
			h.after = func(r *http.Request) {
				r.Body, r.ContentLength = readCloser(other), int64(len(other))
				r.GetBody = nil
			}
		}), "ContentHashMismatch"},
		{"hash header missing", with(func(h *hmacReq) { h.after = func(r *http.Request) { r.Header.Del("x-ms-content-sha256") } }), "MissingContentHash"},
		{"x-ms-date missing", with(func(h *hmacReq) { h.after = func(r *http.Request) { r.Header.Del("x-ms-date") } }), "MissingDateHeader"},
		{"x-ms-date signed but only Date sent", with(func(h *hmacReq) { h.dateHeader = "Date" }), "MissingDateHeader"},
		{"date signed but only x-ms-date sent", with(func(h *hmacReq) { h.signed = "date;host;x-ms-content-sha256" }), "MissingDateHeader"},
		{"x-ms-date not a date", with(func(h *hmacReq) {
			h.after = func(r *http.Request) { r.Header.Set("x-ms-date", "2026-11-23T10:00:00Z") }
		}), "InvalidDateHeader"},
		{"x-ms-date changed after signing", with(func(h *hmacReq) {
			h.after = func(r *http.Request) {
				r.Header.Set("x-ms-date", time.Now().Add(time.Minute).UTC().Format(http.TimeFormat))
			}
		}), "InvalidSignature"},
		{"date 16 minutes old", with(func(h *hmacReq) { h.date = time.Now().Add(-16 * time.Minute) }), "RequestDateOutOfRange"},
		{"date 16 minutes ahead", with(func(h *hmacReq) { h.date = time.Now().Add(16 * time.Minute) }), "RequestDateOutOfRange"},
		{"Date header 16 minutes old", with(func(h *hmacReq) {
			h.dateHeader, h.signed, h.date = "Date", "date;host;x-ms-content-sha256", time.Now().Add(-16*time.Minute)
		}), "RequestDateOutOfRange"},
		{"signed for another method", with(func(h *hmacReq) { h.signMethod = "PUT" }), "InvalidSignature"},
		{"signed for another path", with(func(h *hmacReq) { h.signPath = "/users?api-version=2023-10-01" }), "InvalidSignature"},
		{"signed for another query", with(func(h *hmacReq) { h.signPath = "/identities?api-version=2022-10-01" }), "InvalidSignature"},
		{"signed without the query", with(func(h *hmacReq) { h.signPath = "/identities" }), "InvalidSignature"},
		{"signed for another host", with(func(h *hmacReq) { h.signHost = "evil.example" }), "InvalidSignature"},
		{"signed for the host without its port", with(func(h *hmacReq) { h.signHost = "127.0.0.1" }), "InvalidSignature"},
		{"query sent in another order", with(func(h *hmacReq) {
			h.path, h.signPath = path+"&a=2&b=1", path+"&b=1&a=2"
		}), "InvalidSignature"},
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			before := identityCount(t, s)
			resp, b := send(t, c.HTTP, tc.req.build(t, s.HTTPURL))
			wantError(t, resp, b, http.StatusUnauthorized, tc.code)
			if !strings.Contains(resp.Header.Get("WWW-Authenticate"), "HMAC-SHA256") {
				t.Fatalf("401 without WWW-Authenticate: %v", resp.Header)
			}
			if got := identityCount(t, s); got != before {
				t.Fatalf("a refused request created %d identities", got-before)
			}
		})
	}

	// Percent-encoded ids are verified against the raw path as sent.
	id, _ := createIdentity(t, c)
	if !strings.HasPrefix(id, "8:acs:") {
		t.Fatalf("identity id %q", id)
	}
	upper := "/identities/" + strings.ReplaceAll(id, ":", "%3A") + idv
	lower := "/identities/" + strings.ReplaceAll(id, ":", "%3a") + idv
	decoded := "/identities/" + id + idv
	get := hmacReq{method: "GET", key: c.Key}
	for _, tc := range []struct {
		name           string
		sent, signedAs string
		status         int
	}{
		{"encoded, signed encoded", upper, upper, 200},
		{"lower-case escapes, signed as sent", lower, lower, 200},
		{"unencoded, signed unencoded", decoded, decoded, 200},
		{"encoded, signed decoded", upper, decoded, 401},
		{"decoded, signed encoded", decoded, upper, 401},
		{"lower-case escapes, signed upper-case", lower, upper, 401},
	} {
		t.Run("escaped id/"+tc.name, func(t *testing.T) {
			h := get
			h.path, h.signPath = tc.sent, tc.signedAs
			req := h.build(t, s.HTTPURL)
			if req.URL.RequestURI() != tc.sent {
				t.Fatalf("the client would send %q, not %q", req.URL.RequestURI(), tc.sent)
			}
			resp, b := send(t, c.HTTP, req)
			if tc.status == 401 {
				wantError(t, resp, b, 401, "InvalidSignature")
				return
			}
			wantStatus(t, resp, b, tc.status)
			if got := switchboardtest.JSON(t, b)["id"]; got != id {
				t.Fatalf("got identity %v, want %s", got, id)
			}
		})
	}

	t.Run("over HTTPS with the host name", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: s.TLSConfig(t)}}
		resp, b := send(t, hc, valid().build(t, s.HTTPSURL))
		wantStatus(t, resp, b, http.StatusCreated)
		// A signature for the plain-HTTP listener's host does not work here.
		h := valid()
		h.signHost = strings.TrimPrefix(s.HTTPURL, "http://")
		resp, b = send(t, hc, h.build(t, s.HTTPSURL))
		wantError(t, resp, b, http.StatusUnauthorized, "InvalidSignature")
	})

	t.Run("client clock", func(t *testing.T) {
		skewed := *c
		skewed.Now = func() time.Time { return time.Now().Add(-20 * time.Minute) }
		before := identityCount(t, s)
		resp, b := skewed.Do(t, "POST", path, body)
		wantError(t, resp, b, http.StatusUnauthorized, "RequestDateOutOfRange")
		if identityCount(t, s) != before {
			t.Fatal("an out-of-window request created an identity")
		}
		skewed.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
		resp, b = skewed.Do(t, "POST", path, body)
		wantStatus(t, resp, b, http.StatusCreated)
	})
}

func readCloser(b []byte) *readCloserT { return &readCloserT{bytes.NewReader(b)} }

type readCloserT struct{ *bytes.Reader }

func (readCloserT) Close() error { return nil }

func TestHMACOnEveryKeyRoute(t *testing.T) {
	// Each HMAC route refuses a wrong key before doing anything.
	s := switchboardtest.Start(t)
	c := s.Client(t)
	id, token := createIdentity(t, c)
	bad := &switchboardtest.Client{Base: c.Base, Key: randomKey(t), HTTP: c.HTTP}
	for _, tc := range []struct{ method, path string }{
		{"POST", "/identities" + idv},
		{"GET", "/identities/" + escape(id) + idv},
		{"DELETE", "/identities/" + escape(id) + idv},
		{"POST", "/identities/" + escape(id) + "/:revokeAccessTokens" + idv},
		{"POST", "/identities/" + escape(id) + "/:issueAccessToken" + idv},
		{"GET", "/users" + nv},
		{"POST", "/users" + nv},
		{"GET", "/eventSubscriptions" + nv},
		{"GET", "/deadLetters" + nv},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp, b := bad.Do(t, tc.method, tc.path, map[string]any{"scopes": []string{"chat"}})
			wantError(t, resp, b, http.StatusUnauthorized, "")
		})
	}
	// Nothing happened to the identity: it exists and its token still works.
	resp, b := c.Do(t, "GET", "/identities/"+escape(id)+idv, nil)
	wantStatus(t, resp, b, 200)
	req := newRequest(t, "GET", s.HTTPURL+"/me"+nv, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, b = send(t, http.DefaultClient, req)
	wantStatus(t, resp, b, 200)
}

func TestKeyRotationAndRevocation(t *testing.T) {
	s := switchboardtest.Start(t)
	ctx := context.Background()
	old := s.Client(t)
	id, _ := createIdentity(t, old)
	probe := "/identities/" + escape(id) + idv

	k2, err := s.App.Tenants.RotateKey(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	rotated := s.ClientFor(t, app.ConnectionString(s.App.Endpoint(), k2))
	// The new key works at once (the ring reloads on a miss), the old one too.
	for name, c := range map[string]*switchboardtest.Client{"new key": rotated, "old key": old} {
		resp, b := c.Do(t, "POST", "/identities"+idv, nil)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%s after rotation: %d %s", name, resp.StatusCode, b)
		}
	}

	keys, err := s.App.Tenants.Keys(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	var oldID identity.KeyID
	for _, k := range keys {
		if bytes.Equal(k.Secret, old.Key) {
			oldID = k.ID
		}
	}
	if oldID == "" || len(keys) != 2 {
		t.Fatalf("cannot find the old key among %d keys", len(keys))
	}
	if err := s.App.Tenants.RevokeKey(ctx, "demo", oldID); err != nil {
		t.Fatal(err)
	}
	// The ring caches keys for a few seconds; poll with a side-effect-free
	// request until the old key is refused.
	switchboardtest.Eventually(t, 15*time.Second, func() error {
		resp, b := old.Do(t, "GET", probe, nil)
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			return nil
		case http.StatusOK:
			return fmt.Errorf("revoked key still accepted")
		}
		t.Fatalf("revoked key: unexpected %d %s", resp.StatusCode, b)
		return nil
	})
	before := identityCount(t, s)
	resp, b := old.Do(t, "POST", "/identities"+idv, nil)
	wantError(t, resp, b, http.StatusUnauthorized, "InvalidSignature")
	if identityCount(t, s) != before {
		t.Fatal("a revoked key created an identity")
	}
	resp, b = rotated.Do(t, "GET", probe, nil)
	wantStatus(t, resp, b, http.StatusOK)

	// The last active key cannot be revoked.
	err = s.App.Tenants.RevokeKey(ctx, "demo", k2.ID)
	if err == nil || !strings.Contains(err.Error(), "LastAccessKey") {
		t.Fatalf("revoking the last key: %v", err)
	}
	resp, b = rotated.Do(t, "GET", probe, nil)
	wantStatus(t, resp, b, http.StatusOK)

	// A tenant created after the ring loaded is served at once.
	_, k3, err := s.App.Tenants.Create(ctx, "late")
	if err != nil {
		t.Fatal(err)
	}
	late := s.ClientFor(t, app.ConnectionString(s.App.Endpoint(), k3))
	resp, b = late.Do(t, "POST", "/identities"+idv, nil)
	wantStatus(t, resp, b, http.StatusCreated)
	lateID := switchboardtest.JSON(t, b)["identity"].(map[string]any)["id"].(string)
	if tn, _ := identity.TenantOf(identity.UserID(lateID)); tn == s.Demo.Tenant.ID {
		t.Fatal("the new tenant's key acted as the demo tenant")
	}
}

func TestFailedAuthenticationIsRateLimited(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	bad := &switchboardtest.Client{Base: c.Base, Key: randomKey(t), HTTP: c.HTTP}
	var limited *http.Response
	var limitedBody []byte
	for range 200 {
		resp, b := bad.Do(t, "GET", "/users"+nv, nil)
		if resp.StatusCode == http.StatusTooManyRequests {
			limited, limitedBody = resp, b
			break
		}
		wantError(t, resp, b, http.StatusUnauthorized, "InvalidSignature")
	}
	if limited == nil {
		t.Fatal("200 bad signatures from one address were never slowed down")
	}
	wantError(t, limited, limitedBody, http.StatusTooManyRequests, "TooManyRequests")
	if ra, err := strconv.Atoi(limited.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", limited.Header.Get("Retry-After"))
	}
	// A correctly signed request from the same address is not affected.
	resp, b := c.Do(t, "GET", "/users"+nv, nil)
	wantStatus(t, resp, b, http.StatusOK)
}
