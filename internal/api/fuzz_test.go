package api

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
)

// FuzzDecodeJSON: any body either decodes or fails with an invalid-input
// error; it never panics and never reports an internal error.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{`{}`, `{"createTokenWithScopes":["chat"]}`, `{"a":`, `[1,2]`, `{"a":1}{"b":2}`, "\x00\xff", `{"expiresInMinutes":"x"}`, ``, `null`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/identities", bytes.NewReader(body))
		var v struct {
			Scopes  []string `json:"createTokenWithScopes"`
			Expires *int     `json:"expiresInMinutes"`
		}
		if err := decodeJSON(r, &v, true); err != nil && errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("body %q gave a non-client error: %v", body, err)
		}
	})
}

// FuzzHMACHeader: arbitrary Authorization and date headers are refused with
// 401-kind errors, never accepted and never a panic.
func FuzzHMACHeader(f *testing.F) {
	f.Add("HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=abc", "Mon, 23 Nov 2026 19:57:31 GMT", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
	f.Add("HMAC-SHA256 SignedHeaders=date;host;x-ms-content-sha256&Signature=", "", "")
	f.Add("Bearer x", "garbage", "x")
	f.Add("HMAC-SHA256 &&&===", "Mon, 02 Jan 2006 15:04:05 GMT", "")
	s := &Server{cfg: Config{ClockSkew: 15 * time.Minute}, deps: Deps{KeyRing: identity.NewKeyRing(emptyKeys{}, time.Hour)}}
	f.Fuzz(func(t *testing.T, auth, date, hash string) {
		r := httptest.NewRequest("POST", "/identities?api-version=2023-10-01", nil)
		r.Header.Set("Authorization", auth)
		r.Header.Set("x-ms-date", date)
		r.Header.Set("x-ms-content-sha256", hash)
		var body []byte
		r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, &body))
		p, err := s.hmacAuth(r)
		if err == nil {
			t.Fatalf("accepted without any key: %+v", p)
		}
		if k := errs.KindOf(err); k != errs.KindUnauthenticated {
			t.Fatalf("kind %v for auth %q: %v", k, auth, err)
		}
	})
}

// FuzzContinuationToken: a forged token is a 400, never a panic.
func FuzzContinuationToken(f *testing.F) {
	f.Add("eyJhIjoieCJ9")
	f.Add("!!!")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		r := httptest.NewRequest("GET", "/users", nil)
		q := r.URL.Query()
		q.Set("continuationToken", tok)
		r.URL.RawQuery = q.Encode()
		if _, err := pageParams(r); err != nil && errs.KindOf(err) != errs.KindInvalid {
			t.Fatalf("token %q: %v", tok, err)
		}
	})
}

type emptyKeys struct{}

func (emptyKeys) ActiveAccessKeys(context.Context) ([]identity.AccessKey, error) { return nil, nil }
