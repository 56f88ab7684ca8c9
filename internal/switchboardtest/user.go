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

// Do calls the API as u; a body is sent as JSON. Any transport error
// fails the test.
func (u User) Do(t testing.TB, method, pathAndQuery string, body any) (*http.Response, []byte) {
	t.Helper()
	resp, b, err := u.Call(method, pathAndQuery, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, pathAndQuery, err)
	}
	return resp, b
}

// Call is Do for callers that expect failures (a server being killed, load
// generators in goroutines): it returns transport errors.
func (u User) Call(method, pathAndQuery string, body any) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(u.Base, "/")+pathAndQuery, rd)
	if err != nil {
		return nil, nil, err
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
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// Identifier is u as a communication identifier model.
func (u User) Identifier() map[string]any {
	return map[string]any{"rawId": u.ID, "communicationUser": map[string]any{"id": u.ID}}
}
