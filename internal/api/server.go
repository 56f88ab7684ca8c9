// Package api is the HTTP edge: the ACS-compatible REST API and
// Switchboard's native one, with the conventions every endpoint shares
// (auth, api-version, idempotency, ETags, paging, errors, limits).
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/blob"
	"github.com/switchboard-cc/switchboard/internal/channel/webchat"
	"github.com/switchboard-cc/switchboard/internal/contact"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/engagement"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/idempotency"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/telemetry"
	"github.com/switchboard-cc/switchboard/internal/webhook"
)

// Config holds the API's limits.
type Config struct {
	// PublicURL, when set, is the base of links the API returns (nextLink),
	// for deployments behind a TLS-terminating proxy.
	PublicURL         string
	MaxBodyBytes      int64
	ClockSkew         time.Duration
	TenantRate        float64 // requests per second per tenant
	TenantBurst       int
	AnonRate          float64 // unauthenticated or failed requests per second per client address
	AnonBurst         int
	IdempotencyWindow time.Duration
	SessionTTL        time.Duration
	// MaxUploadBytes bounds attachment uploads (tenants may set less).
	MaxUploadBytes int64
}

// Defaults fills zero fields.
func (c *Config) Defaults() {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = 15 * time.Minute
	}
	if c.TenantRate == 0 {
		c.TenantRate = 2000
	}
	if c.TenantBurst == 0 {
		// At least one: a rate below one a second must still let a request in.
		c.TenantBurst = max(1, int(c.TenantRate))
	}
	if c.AnonRate == 0 {
		c.AnonRate = 20
	}
	if c.AnonBurst == 0 {
		c.AnonBurst = 40
	}
	if c.IdempotencyWindow == 0 {
		c.IdempotencyWindow = 24 * time.Hour
	}
	if c.MaxUploadBytes == 0 {
		c.MaxUploadBytes = 50 << 20
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
}

// Deps are the services the API fronts.
type Deps struct {
	Identity    *identity.Service
	People      *identity.People
	KeyRing     *identity.KeyRing
	Webhooks    *webhook.Service
	Chat        *conversation.Service
	Idempotency idempotency.Store
	Metrics     *telemetry.Metrics
	// Ready reports whether the node can serve (database and bus up).
	Ready   func(ctx context.Context) error
	OpenAPI []byte
	// Realtime serves the WebSocket channel at /realtime (docs/realtime.md).
	Realtime http.Handler
	// Chat attachments: contents, records, signed links, tenant limits.
	Blobs        Blobs
	Files        FileStore
	FileSigner   *blob.Signer
	UploadLimits func(ctx context.Context) (conversation.UploadLimits, error)
	Contacts     *contact.Service
	Webchat      *webchat.Service
	TenantNames  TenantNames
	Retention    RetentionStore
	Routing      *routing.Service
	Engagements  *engagement.Service
	// RouterOwners is set in a cluster: routing requests go to the node
	// that runs the tenant's router.
	RouterOwners RouterOwners
	// Web serves the embedded browser assets: /widget.js and /web/….
	Web http.Handler
}

// Server is the HTTP API.
type Server struct {
	actions map[string]map[string]http.Handler
	cfg     Config
	deps    Deps
	mux     *http.ServeMux
	routes  []route
	tenants *limiter
	anon    *limiter
}

// New builds the API and registers every route.
func New(cfg Config, deps Deps) *Server {
	cfg.Defaults()
	s := &Server{cfg: cfg, deps: deps, mux: http.NewServeMux(),
		tenants: newLimiter(cfg.TenantRate, cfg.TenantBurst), anon: newLimiter(cfg.AnonRate, cfg.AnonBurst)}
	s.registerOps()
	s.registerIdentity()
	s.registerPeople()
	s.registerWebhooks()
	s.registerChat()
	s.registerFiles()
	s.registerContacts()
	s.registerWebchat()
	s.registerRetention()
	s.registerRouting()
	s.registerRoutingJobs()
	s.registerEngagements()
	return s
}

// RouteInfo describes one registered endpoint, for the OpenAPI check.
type RouteInfo struct{ Method, Path string }

// Routes lists the API's endpoints.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, 0, len(s.routes))
	for _, rt := range s.routes {
		out = append(out, RouteInfo{Method: rt.method, Path: rt.path})
	}
	return out
}

// Handler is the whole API with its outer middleware.
func (s *Server) Handler() http.Handler {
	api := s.outer(s.mux)
	if s.deps.Realtime == nil {
		return api
	}
	// The WebSocket hijacks its connection, so it skips the JSON API's
	// middleware (body limit, response recording).
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/realtime":
			s.deps.Realtime.ServeHTTP(w, r)
		case s.deps.Web != nil && (r.URL.Path == "/widget.js" || r.URL.Path == "/desk" || r.URL.Path == "/console" || r.URL.Path == "/admin" || strings.HasPrefix(r.URL.Path, "/web/")):
			s.deps.Web.ServeHTTP(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

type authMode uint8

const (
	authNone    authMode = iota
	authKey              // HMAC with a tenant access key
	authAdmin            // HMAC, or a session of at least minRole
	authSession          // a logged-in person
	authUser             // a user access token (Bearer)
)

type route struct {
	method     string
	path       string
	auth       authMode
	minRole    identity.Role
	versions   []string
	idempotent bool
	errors     errorStyle
	h          func(w http.ResponseWriter, r *http.Request) error
}

// errorStyle is the error body a route answers with.
type errorStyle uint8

const (
	acsErrors    errorStyle = iota // {"error": {code, message, target}}
	routerErrors                   // Job Router: {"communicationError": {code, message, target, details}}
)

func (s *Server) handle(rt route) {
	s.routes = append(s.routes, rt)
	// ServeMux cannot match ACS's "/things/{id}:action" (a wildcard must be
	// a whole segment), so such routes share one pattern per method and base
	// and are told apart by the text after the id's last colon.
	if i := strings.LastIndex(rt.path, "}:"); i >= 0 && !strings.Contains(rt.path[i:], "/") {
		open := strings.LastIndex(rt.path[:i], "{")
		name := rt.path[open+1 : i]
		base := rt.method + " " + rt.path[:i+1]
		s.addAction(base, name, rt.path[i+2:], s.inner(rt))
		return
	}
	key := rt.method + " " + rt.path
	if acts, ok := s.actions[key]; ok {
		acts[""] = s.inner(rt)
		return
	}
	s.mux.Handle(key, s.inner(rt))
}

func (s *Server) addAction(base, name, action string, h http.Handler) {
	if s.actions == nil {
		s.actions = map[string]map[string]http.Handler{}
	}
	acts, ok := s.actions[base]
	if !ok {
		acts = map[string]http.Handler{}
		s.actions[base] = acts
		s.mux.HandleFunc(base, func(w http.ResponseWriter, r *http.Request) {
			v := r.PathValue(name)
			id, act := v, ""
			if j := strings.LastIndex(v, ":"); j >= 0 {
				if _, known := acts[v[j+1:]]; known {
					id, act = v[:j], v[j+1:]
				}
			}
			h, ok := acts[act]
			if !ok {
				writeError(w, r, errs.NotFound("no such resource: %s %s", r.Method, r.URL.Path))
				return
			}
			r.SetPathValue(name, id)
			h.ServeHTTP(w, r)
		})
	}
	acts[action] = h
}

// inner is the per-route chain: api-version, auth, rate limit, role, CSRF,
// idempotency, handler.
func (s *Server) inner(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.serve(rt, w, r); err != nil {
			if rt.errors == routerErrors {
				writeRouterError(w, r, err)
				return
			}
			writeError(w, r, err)
		}
	})
}

func (s *Server) serve(rt route, w http.ResponseWriter, r *http.Request) error {
	if len(rt.versions) > 0 {
		w.Header().Set("api-supported-versions", strings.Join(rt.versions, ", "))
		if err := checkVersion(r, rt.versions); err != nil {
			return err
		}
	}
	r, err := s.authenticate(rt, r)
	if err != nil {
		// Failed authentication counts against the client's address, so a
		// flood of bad signatures or passwords is slowed down early.
		if lerr := s.anon.allow(clientAddr(r)); lerr != nil {
			return lerr
		}
		return err
	}
	if p := principalFrom(r.Context()); p != nil {
		// A forwarded request was counted by the node it came through.
		if r.Context().Value(forwardedKey{}) == nil {
			if err := s.tenants.allow(string(p.Tenant)); err != nil {
				return err
			}
		}
		if done, err := s.routeToOwner(rt, w, r, p.Tenant); done || err != nil {
			return err
		}
	}
	if rt.idempotent {
		return s.idempotent(rt, w, r)
	}
	return rt.h(w, r)
}

func checkVersion(r *http.Request, versions []string) error {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return errs.Invalid("MissingApiVersionParameter", "the api-version query parameter is required").WithTarget("api-version")
	}
	if !slices.Contains(versions, v) {
		return errs.Invalid("UnsupportedApiVersion", "api-version %q is not supported; supported versions are %s", v, strings.Join(versions, ", ")).WithTarget("api-version")
	}
	return nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (sr *statusRecorder) WriteHeader(code int) {
	if sr.status == 0 {
		sr.status = code
	}
	sr.ResponseWriter.WriteHeader(code)
}

func (sr *statusRecorder) Write(b []byte) (int, error) {
	if sr.status == 0 {
		sr.status = http.StatusOK
	}
	return sr.ResponseWriter.Write(b)
}

func (sr *statusRecorder) Unwrap() http.ResponseWriter { return sr.ResponseWriter }

// outer wraps every request: request id, client request id echo, logging,
// metrics, panic recovery and the body size limit.
func (s *Server) outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		reqID := newRequestID()
		ctx := telemetry.WithAttrs(r.Context(), slog.String("request_id", reqID))
		var body []byte
		ctx = context.WithValue(ctx, bodyKey{}, &body)
		if s.cfg.PublicURL != "" {
			ctx = context.WithValue(ctx, publicURLKey{}, s.cfg.PublicURL)
		}
		r = r.WithContext(ctx)
		w.Header().Set("x-ms-request-id", reqID)
		if cid := r.Header.Get("x-ms-client-request-id"); cid != "" && len(cid) <= 256 {
			w.Header().Set("x-ms-client-request-id", cid)
		}
		limit := s.cfg.MaxBodyBytes
		if isUpload(r) {
			limit = s.cfg.MaxUploadBytes
		}
		if r.ContentLength > limit {
			writeError(w, r, errs.New(errs.KindTooLarge, "RequestEntityTooLarge", "the request body is larger than %d bytes", limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		sr := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				slog.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(p))
				if sr.status == 0 {
					writeError(sr, r, fmt.Errorf("panic: %v", p))
				}
			}
			d := time.Since(start)
			route := r.Pattern
			if route == "" || route == "/" {
				route = "unmatched"
			}
			if s.deps.Metrics != nil {
				s.deps.Metrics.ObserveHTTP(route, sr.status, d)
			}
			// Checked first: building the record's attributes allocates.
			if route != "GET /healthz" && route != "GET /metrics" && slog.Default().Enabled(ctx, slog.LevelInfo) {
				slog.InfoContext(ctx, "http", "method", r.Method, "route", route, "status", sr.status, "duration_ms", float64(d.Microseconds())/1000)
			}
		}()
		if crossOrigin(sr, r) {
			return
		}
		if _, pattern := s.mux.Handler(r); pattern == "" {
			s.unrouted(sr, r)
			return
		}
		next.ServeHTTP(sr, r)
	})
}

// unrouted answers requests no route takes, in the API's error format:
// 405 with Allow when the path exists for other methods, else 404.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, r, errs.New(errs.KindMethodNotAllowed, "MethodNotAllowed", "%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	writeError(w, r, errs.NotFound("no such resource: %s %s", r.Method, r.URL.Path))
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
