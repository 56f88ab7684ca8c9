package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/channel/webchat"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// TenantNames resolves the tenant a public widget request names.
type TenantNames interface {
	ByName(ctx context.Context, name string) (tenant.Tenant, error)
	Get(ctx context.Context, id tenant.ID) (tenant.Tenant, error)
}

func (s *Server) registerWebchat() {
	s.handle(route{method: "GET", path: "/webchat/settings", auth: authAdmin, minRole: identity.RoleSupervisor, versions: nativeVersions, h: s.getWebchatSettings})
	s.handle(route{method: "PUT", path: "/webchat/settings", auth: authAdmin, minRole: identity.RoleSupervisor, versions: nativeVersions, h: s.putWebchatSettings})
	s.handle(route{method: "POST", path: "/webchat/visitors", auth: authKey, versions: nativeVersions, h: s.mintVisitor})
	s.handle(route{method: "GET", path: "/webchat/{tenant}/config", auth: authNone, versions: nativeVersions, h: s.widgetConfig})
	s.handle(route{method: "POST", path: "/webchat/{tenant}/sessions", auth: authNone, versions: nativeVersions, h: s.startSession})
}

func (s *Server) tenantName(ctx context.Context) (string, error) {
	t, err := s.deps.TenantNames.Get(ctx, tenant.MustFrom(ctx))
	return t.Name, err
}

func (s *Server) getWebchatSettings(w http.ResponseWriter, r *http.Request) error {
	name, err := s.tenantName(r.Context())
	if err != nil {
		return err
	}
	st, err := s.deps.Webchat.Settings(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) putWebchatSettings(w http.ResponseWriter, r *http.Request) error {
	var st webchat.Settings
	if err := decodeJSON(r, &st, false); err != nil {
		return err
	}
	if err := s.deps.Webchat.SetSettings(r.Context(), st); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) mintVisitor(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		ExternalID  string `json:"externalId"`
		DisplayName string `json:"displayName"`
		Email       string `json:"email"`
		Phone       string `json:"phone"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	tok, exp, cid, err := s.deps.Webchat.MintVisitorToken(r.Context(), webchat.VisitorRequest{
		ExternalID: req.ExternalID, DisplayName: req.DisplayName, Email: req.Email, Phone: req.Phone})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"visitorToken": tok, "expiresOn": exp.UTC().Format(time.RFC3339), "contactId": string(cid)})
	return nil
}

// publicTenant puts the tenant a widget request names into its context.
// Unknown tenants are a plain 404, like any unknown resource.
func (s *Server) publicTenant(r *http.Request) (*http.Request, string, error) {
	name := r.PathValue("tenant")
	t, err := s.deps.TenantNames.ByName(r.Context(), name)
	if err != nil {
		if errs.KindOf(err) == errs.KindNotFound {
			return r, "", errs.NotFound("no web chat for %q", name)
		}
		return r, "", err
	}
	if err := s.tenants.allow(string(t.ID)); err != nil {
		return r, "", err
	}
	return r.WithContext(tenant.With(r.Context(), t.ID)), t.Name, nil
}

func (s *Server) widgetConfig(w http.ResponseWriter, r *http.Request) error {
	r, name, err := s.publicTenant(r)
	if err != nil {
		return err
	}
	st, err := s.deps.Webchat.Settings(r.Context(), name)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, struct {
		webchat.Settings
		Tenant string `json:"tenant"`
		Open   bool   `json:"open"`
	}{st, name, st.BusinessHours.Open(time.Now())})
	return nil
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request) error {
	// Every session may create a contact, an identity and a thread, so
	// anonymous callers spend from their address's budget.
	if err := s.anon.allow(clientAddr(r)); err != nil {
		return err
	}
	r, name, err := s.publicTenant(r)
	if err != nil {
		return err
	}
	var req struct {
		ResumeKey    string            `json:"resumeKey"`
		VisitorToken string            `json:"visitorToken"`
		DisplayName  string            `json:"displayName"`
		Fields       map[string]string `json:"fields"`
		Locale       string            `json:"locale"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		return err
	}
	if len(req.DisplayName) > 256 || len(req.Locale) > 16 || len(req.ResumeKey) > 128 || len(req.VisitorToken) > 4096 {
		return errs.Invalid("InvalidRequestBody", "a field of the request is too long")
	}
	sess, err := s.deps.Webchat.StartSession(r.Context(), name, webchat.SessionRequest{
		ResumeKey: req.ResumeKey, VisitorToken: req.VisitorToken, DisplayName: strings.TrimSpace(req.DisplayName),
		Fields: req.Fields, Locale: req.Locale})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": sess.Token.Token, "expiresOn": sess.Token.ExpiresOn.UTC().Format(time.RFC3339),
		"identity": identity.IdentifierFromRaw(sess.Identity), "threadId": string(sess.Thread),
		"resumeKey": sess.ResumeKey, "contactId": string(sess.Contact),
	})
	return nil
}
