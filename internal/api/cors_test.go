package api

import "testing"

func TestCORSOpensOnlyTokenRoutes(t *testing.T) {
	for path, open := range map[string]bool{
		"/chat/threads":                 true,
		"/webchat/demo/config":          true,
		"/webchat/demo/sessions":        true,
		"/webchat/position":             true,
		"/engagements/abc:rate":         true,
		"/engagements/abc:leave":        true,
		"/engagements/abc:end":          false, // the agent's, by session cookie
		"/engagements/abc/notes":        false,
		"/engagements/abc:rate/x":       false,
		"/engagements":                  false,
		"/webchat/settings":             false,
		"/agent/offers/o:accept":        false,
		"/bots/b":                       false,
		"/routing/jobs/j":               false,
		"/files/t/f":                    true,
		"/wallboard":                    false,
		"/botapi/t/b/v3/conversations/": false,
	} {
		if got := corsOpen(path); got != open {
			t.Errorf("corsOpen(%q) = %v, want %v", path, got, open)
		}
	}
}
