package api_test

import (
	"net/http"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

const idv = "?api-version=2023-10-01"

func TestIdentityLifecycle(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)

	resp, body := c.Do(t, "POST", "/identities"+idv, map[string]any{"createTokenWithScopes": []string{"chat", "voip"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	m := switchboardtest.JSON(t, body)
	id := m["identity"].(map[string]any)["id"].(string)
	token := m["accessToken"].(map[string]any)["token"].(string)

	me := func() int {
		req, _ := http.NewRequest("GET", s.HTTPURL+"/me?api-version=2026-11-01", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, _ := c.Send(t, req)
		return resp.StatusCode
	}
	if got := me(); got != http.StatusOK {
		t.Fatalf("fresh token: %d", got)
	}
	if resp, body := c.Do(t, "POST", "/identities/"+escape(id)+"/:revokeAccessTokens"+idv, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	if got := me(); got != http.StatusUnauthorized {
		t.Fatalf("revoked token still works: %d", got)
	}
	if resp, body := c.Do(t, "GET", "/identities/"+escape(id)+idv, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	if resp, _ := c.Do(t, "DELETE", "/identities/"+escape(id)+idv, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp, _ := c.Do(t, "GET", "/identities/"+escape(id)+idv, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("get deleted: %d", resp.StatusCode)
	}
}

func escape(id string) string {
	out := ""
	for _, r := range id {
		if r == ':' {
			out += "%3A"
		} else {
			out += string(r)
		}
	}
	return out
}
