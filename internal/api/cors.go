package api

import (
	"net/http"
	"strings"
)

// corsOpen reports whether path belongs to the part of the API a page on
// another site may call: the widget's public endpoints, chat with a user
// token, and signed file links. None of them use cookies, so allowing any
// origin lets no site act with a visitor's ambient credentials.
func corsOpen(path string) bool {
	if strings.HasPrefix(path, "/chat/") || strings.HasPrefix(path, "/files/") || path == "/me" || path == "/webchat/position" {
		return true
	}
	if rest, ok := strings.CutPrefix(path, "/webchat/"); ok {
		return strings.HasSuffix(rest, "/config") || strings.HasSuffix(rest, "/sessions")
	}
	// The customer's rating and leaving, with the visitor's user token; the rest of
	// /engagements is the staff's, by session, and stays same-origin.
	if rest, ok := strings.CutPrefix(path, "/engagements/"); ok {
		return (strings.HasSuffix(rest, ":rate") || strings.HasSuffix(rest, ":leave")) && !strings.Contains(rest, "/")
	}
	return false
}

// crossOrigin adds CORS headers to open paths and answers their preflight
// requests; it reports whether the request has been answered.
func crossOrigin(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Origin") == "" || !corsOpen(r.URL.Path) {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Retry-After, x-ms-request-id, x-ms-client-request-id, x-ms-error-code")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, repeatability-request-id, repeatability-first-sent, x-ms-client-request-id, x-ms-date, x-ms-content-sha256")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
