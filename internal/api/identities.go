package api

import (
	"net/http"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
)

// identityVersions are the Identity API versions the SDKs in use send.
var identityVersions = []string{
	"2021-03-07", "2021-10-31-preview", "2021-11-01", "2022-06-01", "2022-10-01",
	"2023-08-01", "2023-10-01", "2025-03-02-preview", "2025-06-30",
}

func (s *Server) registerIdentity() {
	s.handle(route{method: "POST", path: "/identities", auth: authKey, versions: identityVersions, idempotent: true, h: s.createIdentity})
	s.handle(route{method: "GET", path: "/identities/{id}", auth: authKey, versions: identityVersions, h: s.getIdentity})
	s.handle(route{method: "DELETE", path: "/identities/{id}", auth: authKey, versions: identityVersions, h: s.deleteIdentity})
	s.handle(route{method: "POST", path: "/identities/{id}/:revokeAccessTokens", auth: authKey, versions: identityVersions, h: s.revokeTokens})
	s.handle(route{method: "POST", path: "/identities/{id}/:issueAccessToken", auth: authKey, versions: identityVersions, h: s.issueToken})
	s.handle(route{method: "GET", path: "/me", auth: authUser, versions: nativeVersions, h: s.me})
}

type accessTokenJSON struct {
	Token     string `json:"token"`
	ExpiresOn string `json:"expiresOn"`
}

func tokenJSON(t identity.IssuedToken) accessTokenJSON {
	return accessTokenJSON{Token: t.Token, ExpiresOn: t.ExpiresOn.UTC().Format(time.RFC3339)}
}

type createIdentityRequest struct {
	CreateTokenWithScopes []string `json:"createTokenWithScopes"`
	ExpiresInMinutes      *int     `json:"expiresInMinutes"`
	CustomID              string   `json:"customId"`
}

type identityJSON struct {
	ID                string  `json:"id"`
	CustomID          string  `json:"customId,omitempty"`
	LastTokenIssuedAt *string `json:"lastTokenIssuedAt,omitempty"`
}

func (s *Server) createIdentity(w http.ResponseWriter, r *http.Request) error {
	var req createIdentityRequest
	if err := decodeJSON(r, &req, true); err != nil {
		return err
	}
	if len(req.CustomID) > 256 {
		return errs.Invalid("InvalidCustomId", "customId must be at most 256 characters").WithTarget("customId")
	}
	var tok *identity.TokenRequest
	if len(req.CreateTokenWithScopes) > 0 {
		tok = &identity.TokenRequest{Scopes: req.CreateTokenWithScopes}
		if req.ExpiresInMinutes != nil {
			if *req.ExpiresInMinutes == 0 {
				return errs.Invalid("InvalidExpiresInMinutes", "expiresInMinutes must be between %d and %d", identity.MinTokenMinutes, identity.MaxTokenMinutes).WithTarget("expiresInMinutes")
			}
			tok.ExpiresInMinutes = *req.ExpiresInMinutes
		}
	} else if req.ExpiresInMinutes != nil {
		return errs.Invalid("InvalidRequestBody", "expiresInMinutes needs createTokenWithScopes").WithTarget("expiresInMinutes")
	}
	id, issued, err := s.deps.Identity.CreateIdentity(r.Context(), req.CustomID, tok)
	if err != nil {
		return err
	}
	resp := struct {
		Identity    identityJSON     `json:"identity"`
		AccessToken *accessTokenJSON `json:"accessToken,omitempty"`
	}{Identity: identityJSON{ID: string(id.ID), CustomID: id.CustomID}}
	if issued != nil {
		t := tokenJSON(*issued)
		resp.AccessToken = &t
	}
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

func (s *Server) getIdentity(w http.ResponseWriter, r *http.Request) error {
	id, err := s.deps.Identity.Identity(r.Context(), identity.UserID(r.PathValue("id")))
	if err != nil {
		return err
	}
	out := identityJSON{ID: string(id.ID), CustomID: id.CustomID}
	if id.LastTokenIssuedAt != nil {
		v := id.LastTokenIssuedAt.UTC().Format(time.RFC3339Nano)
		out.LastTokenIssuedAt = &v
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deleteIdentity(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Identity.DeleteIdentity(r.Context(), identity.UserID(r.PathValue("id"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) revokeTokens(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Identity.RevokeTokens(r.Context(), identity.UserID(r.PathValue("id"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Scopes           []string `json:"scopes"`
		ExpiresInMinutes *int     `json:"expiresInMinutes"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	tr := identity.TokenRequest{Scopes: req.Scopes}
	if req.ExpiresInMinutes != nil {
		if *req.ExpiresInMinutes == 0 {
			return errs.Invalid("InvalidExpiresInMinutes", "expiresInMinutes must be between %d and %d", identity.MinTokenMinutes, identity.MaxTokenMinutes).WithTarget("expiresInMinutes")
		}
		tr.ExpiresInMinutes = *req.ExpiresInMinutes
	}
	t, err := s.deps.Identity.IssueToken(r.Context(), identity.UserID(r.PathValue("id")), tr)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenJSON(t))
	return nil
}

// me tells a token holder who it is: the identity, scopes and expiry.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	c := principalFrom(r.Context()).User
	scopes := make([]string, len(c.Scopes))
	for i, sc := range c.Scopes {
		scopes[i] = string(sc)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"identity":  map[string]any{"rawId": string(c.User), "communicationUser": map[string]string{"id": string(c.User)}},
		"scopes":    scopes,
		"expiresOn": c.ExpiresAt.UTC().Format(time.RFC3339),
	})
	return nil
}
