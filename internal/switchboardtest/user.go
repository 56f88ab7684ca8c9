package switchboardtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// User is a communication identity with a user access token, calling the
// API the way a chat client does (bearer token).
type User struct {
	ID, Token string
	Base      string // the node's base URL
	HTTP      *http.Client
}

// NewUser creates an identity with a token of the given scopes (chat when
// none) through c.
func (c *Client) NewUser(t testing.TB, scopes ...string) User {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []string{"chat"}
	}
	resp, raw := c.Do(t, "POST", "/identities?api-version=2023-10-01", map[string]any{"createTokenWithScopes": scopes})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create identity: %d %s", resp.StatusCode, raw)
	}
	m := JSON(t, raw)
	return User{ID: m["identity"].(map[string]any)["id"].(string), Token: m["accessToken"].(map[string]any)["token"].(string),
		Base: c.Base, HTTP: c.HTTP}
}

// Do calls the API as u; a body is sent as JSON.
func (u User) Do(t testing.TB, method, pathAndQuery string, body any) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(u.Base, "/")+pathAndQuery, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+u.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := u.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, pathAndQuery, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// Identifier is u as a communication identifier model.
func (u User) Identifier() map[string]any {
	return map[string]any{"rawId": u.ID, "communicationUser": map[string]any{"id": u.ID}}
}
