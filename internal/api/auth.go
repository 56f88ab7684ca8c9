package api

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Principal is who made a request.
type Principal struct {
	Tenant tenant.ID
	// Exactly one of these is set: an access key (the tenant itself), a
	// logged-in person, or a communication identity's user token.
	Key     bool
	Person  *identity.Person
	Session *identity.Session
	User    *identity.Claims
}

type principalKey struct{}

func principalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// SessionCookie is the name of the login session cookie.
const SessionCookie = "sb_session"

// CSRFHeader must carry the session's CSRF token on state-changing requests
// authenticated by the session cookie.
const CSRFHeader = "X-CSRF-Token"

func (s *Server) authenticate(rt route, r *http.Request) (*http.Request, error) {
	var p *Principal
	var err error
	if np, ok := r.Context().Value(nodeCallKey{}).(*Principal); ok && (rt.auth == authKey || rt.auth == authAdmin) {
		ctx := tenant.With(r.Context(), np.Tenant)
		return r.WithContext(context.WithValue(ctx, principalKey{}, np)), nil
	}
	switch rt.auth {
	case authNone:
		return r, nil
	case authKey:
		p, err = s.hmacAuth(r)
	case authUser:
		p, err = s.bearerAuth(r)
	case authSession:
		p, err = s.sessionAuth(r, rt.minRole)
	case authAdmin:
		if strings.HasPrefix(r.Header.Get("Authorization"), "HMAC-SHA256") {
			p, err = s.hmacAuth(r)
		} else {
			p, err = s.sessionAuth(r, rt.minRole)
		}
	}
	if err != nil {
		return r, err
	}
	ctx := tenant.With(r.Context(), p.Tenant)
	return r.WithContext(context.WithValue(ctx, principalKey{}, p)), nil
}

var errNoCredentials = errs.Unauthenticated("Unauthorized", "the request carries no credentials")

// hmacAuth verifies an ACS HMAC-SHA256 signature exactly as the SDKs sign:
// the raw escaped path and query, the date, the host with its port, and a
// hash of the body that must match the body received.
func (s *Server) hmacAuth(r *http.Request) (*Principal, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil, errNoCredentials
	}
	scheme, params, ok := strings.Cut(auth, " ")
	if !ok || scheme != "HMAC-SHA256" {
		return nil, errs.Unauthenticated("InvalidAuthenticationScheme", "the Authorization header must use HMAC-SHA256")
	}
	// Not url.ParseQuery: the value holds ';' and a base64 signature whose
	// '+' must stay a plus.
	var signedHeaders, signature string
	for part := range strings.SplitSeq(strings.TrimSpace(params), "&") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "SignedHeaders":
			signedHeaders = v
		case "Signature":
			signature = v
		}
	}
	signed := strings.Split(strings.ToLower(signedHeaders), ";")
	if len(signed) != 3 || signed[1] != "host" || signed[2] != "x-ms-content-sha256" || (signed[0] != "x-ms-date" && signed[0] != "date") || signature == "" {
		return nil, errs.Unauthenticated("InvalidAuthorizationHeader", "SignedHeaders must be x-ms-date;host;x-ms-content-sha256 and Signature must be set")
	}
	date := r.Header.Get(signed[0])
	if date == "" {
		return nil, errs.Unauthenticated("MissingDateHeader", "the %s header is required", signed[0])
	}
	at, err := http.ParseTime(date)
	if err != nil {
		return nil, errs.Unauthenticated("InvalidDateHeader", "the %s header is not an HTTP date", signed[0])
	}
	if d := time.Since(at); d > s.cfg.ClockSkew || d < -s.cfg.ClockSkew {
		return nil, errs.Unauthenticated("RequestDateOutOfRange", "the request date is more than %s away from the server's clock", s.cfg.ClockSkew)
	}
	claimed := r.Header.Get("x-ms-content-sha256")
	if claimed == "" {
		return nil, errs.Unauthenticated("MissingContentHash", "the x-ms-content-sha256 header is required")
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(identity.ContentHash(body)), []byte(claimed)) != 1 {
		return nil, errs.Unauthenticated("ContentHashMismatch", "x-ms-content-sha256 does not match the request body")
	}
	sts := identity.StringToSign(r.Method, pathAndQuery(r), date, r.Host, claimed)
	t, ok := s.deps.KeyRing.Match(r.Context(), "", sts, signature)
	if !ok {
		return nil, errs.Unauthenticated("InvalidSignature", "the request signature does not match any access key")
	}
	return &Principal{Tenant: t, Key: true}, nil
}

// pathAndQuery is the request target exactly as the client sent it.
func pathAndQuery(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	pq := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		pq += "?" + r.URL.RawQuery
	}
	return pq
}

func (s *Server) bearerAuth(r *http.Request) (*Principal, error) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return nil, errNoCredentials
	}
	c, err := s.deps.Identity.AuthenticateToken(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	return &Principal{Tenant: c.Tenant, User: &c}, nil
}

func (s *Server) sessionAuth(r *http.Request, minRole identity.Role) (*Principal, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, errNoCredentials
	}
	person, sess, err := s.deps.People.Authenticate(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	if !safeMethod(r.Method) {
		if origin := r.Header.Get("Origin"); origin != "" {
			if u, err := url.Parse(origin); err != nil || u.Host != r.Host {
				return nil, errs.Forbidden("cross-origin requests with a session cookie are refused")
			}
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(sess.CSRF)) != 1 {
			return nil, errs.New(errs.KindForbidden, "InvalidCSRFToken", "the %s header is missing or does not match the session", CSRFHeader)
		}
	}
	if minRole != "" && !person.Role.AtLeast(minRole) {
		return nil, errs.Forbidden("this action needs the %s role", minRole)
	}
	return &Principal{Tenant: person.Tenant, Person: &person, Session: &sess}, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// clientAddr is the remote IP, the key for per-client limits.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
