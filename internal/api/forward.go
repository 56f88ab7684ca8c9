package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// In a cluster one node runs each tenant's router (it holds the tenant's
// state in memory); the others carry the tenant's /routing requests to it
// as they are, signature and all, and relay its answer.

// RouterOwners finds the node that runs a tenant's router.
type RouterOwners interface {
	// Local reports whether this node runs the tenant's router, taking the
	// tenant when no node does.
	Local(ctx context.Context, t tenant.ID) (bool, error)
	// Forward carries a request to the node that runs the tenant's router.
	Forward(ctx context.Context, t tenant.ID, req ForwardedRequest) (ForwardedResponse, error)
}

// ForwardedRequest is a request carried to another node.
type ForwardedRequest struct {
	Method string      `json:"method"`
	URL    string      `json:"url"` // path and query
	Host   string      `json:"host"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
	// Tenant is set on a node's own call for a tenant (the contact center
	// driving the tenant's router from another node): it acts as the
	// tenant's access key. Only nodes reach this path (over the bus).
	Tenant tenant.ID `json:"tenant,omitempty"`
}

// ForwardedResponse is the other node's answer.
type ForwardedResponse struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

type forwardedKey struct{}

// nodeCallKey carries the principal of a node's own forwarded call.
type nodeCallKey struct{}

// ServeForwarded answers a request another node carried here.
func (s *Server) ServeForwarded(ctx context.Context, fr ForwardedRequest) ForwardedResponse {
	ctx = context.WithValue(ctx, forwardedKey{}, true)
	if fr.Tenant != "" {
		ctx = context.WithValue(ctx, nodeCallKey{}, &Principal{Tenant: fr.Tenant, Key: true})
	}
	r := httptest.NewRequestWithContext(ctx, fr.Method, fr.URL, bytes.NewReader(fr.Body))
	r.Host = fr.Host
	r.Header = fr.Header
	r.RemoteAddr = "forwarded"
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, r)
	return ForwardedResponse{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// routeToOwner carries a routing request to the node that runs the
// tenant's router; it reports false when this node is that node.
func (s *Server) routeToOwner(rt route, w http.ResponseWriter, r *http.Request, t tenant.ID) (bool, error) {
	if s.deps.RouterOwners == nil || !strings.HasPrefix(rt.path, "/routing/") {
		return false, nil
	}
	local, err := s.deps.RouterOwners.Local(r.Context(), t)
	if err != nil {
		return false, errs.New(errs.KindUnavailable, "RouterUnavailable", "the tenant's router cannot be reached: %v", err)
	}
	if local {
		return false, nil
	}
	if r.Context().Value(forwardedKey{}) != nil {
		// Carried here, but the tenant moved meanwhile: the first node
		// asks again.
		return false, errs.New(errs.KindUnavailable, "RouterMoved", "the tenant's router moved to another node; try again")
	}
	body, err := readBody(r)
	if err != nil {
		return false, err
	}
	resp, err := s.deps.RouterOwners.Forward(r.Context(), t, ForwardedRequest{Method: r.Method, URL: r.URL.RequestURI(), Host: r.Host, Header: r.Header.Clone(), Body: body})
	if err != nil {
		return false, errs.New(errs.KindUnavailable, "RouterUnavailable", "the tenant's router cannot be reached: %v", err)
	}
	for k, v := range resp.Header {
		if k != "X-Ms-Request-Id" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
	return true, nil
}
