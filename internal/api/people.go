package api

import (
	"net/http"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
)

// nativeVersions are the versions of Switchboard's own API.
var nativeVersions = []string{"2026-11-01"}

func (s *Server) registerPeople() {
	s.handle(route{method: "POST", path: "/auth/login", auth: authNone, versions: nativeVersions, h: s.login})
	s.handle(route{method: "POST", path: "/auth/logout", auth: authSession, versions: nativeVersions, h: s.logout})
	s.handle(route{method: "GET", path: "/auth/session", auth: authSession, versions: nativeVersions, h: s.session})
	s.handle(route{method: "GET", path: "/users", auth: authAdmin, minRole: identity.RoleSupervisor, versions: nativeVersions, h: s.listUsers})
	s.handle(route{method: "POST", path: "/users", auth: authAdmin, minRole: identity.RoleAdmin, versions: nativeVersions, idempotent: true, h: s.createUser})
	s.handle(route{method: "GET", path: "/users/{id}", auth: authAdmin, minRole: identity.RoleAgent, versions: nativeVersions, h: s.getUser})
	s.handle(route{method: "PATCH", path: "/users/{id}", auth: authAdmin, minRole: identity.RoleAgent, versions: nativeVersions, h: s.patchUser})
	s.handle(route{method: "DELETE", path: "/users/{id}", auth: authAdmin, minRole: identity.RoleAdmin, versions: nativeVersions, h: s.deleteUser})
}

type userJSON struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
	Role        string `json:"role"`
	CreatedOn   string `json:"createdOn"`
	UpdatedOn   string `json:"updatedOn"`
	ETag        string `json:"etag"`
}

func renderUser(p identity.Person) userJSON {
	return userJSON{ID: string(p.ID), Username: p.Username, DisplayName: p.DisplayName, Role: string(p.Role),
		CreatedOn: p.CreatedAt.Format(time.RFC3339Nano), UpdatedOn: p.UpdatedAt.Format(time.RFC3339Nano), ETag: etag(p.Version)}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	// Only failed logins spend the address's budget: a whole shift of agents
	// behind one NAT may log in at once, a password guesser may not.
	if err := s.anon.exhausted(clientAddr(r)); err != nil {
		return err
	}
	var req struct {
		Tenant   string `json:"tenant"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	person, sess, token, err := s.deps.People.Login(r.Context(), req.Tenant, req.Username, req.Password)
	if err != nil {
		_ = s.anon.allow(clientAddr(r))
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	writeJSON(w, http.StatusOK, map[string]any{"user": renderUser(person), "csrfToken": sess.CSRF, "expiresOn": sess.ExpiresAt.Format(time.RFC3339)})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	c, _ := r.Cookie(SessionCookie)
	if err := s.deps.People.Logout(r.Context(), c.Value); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) session(w http.ResponseWriter, r *http.Request) error {
	p := principalFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"user": renderUser(*p.Person), "csrfToken": p.Session.CSRF, "expiresOn": p.Session.ExpiresAt.Format(time.RFC3339)})
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	people, err := s.deps.People.List(r.Context(), identity.PersonID(p.After), p.Limit+1)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(r, p, people, func(x identity.Person) string { return string(x.ID) }, renderUser))
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Username    string `json:"username"`
		DisplayName string `json:"displayName"`
		Role        string `json:"role"`
		Password    string `json:"password"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	p, err := s.deps.People.Create(r.Context(), identity.NewPerson{Username: req.Username, DisplayName: req.DisplayName, Role: identity.Role(req.Role), Password: req.Password})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(p.Version))
	w.Header().Set("Location", "/users/"+string(p.ID))
	writeJSON(w, http.StatusCreated, renderUser(p))
	return nil
}

// selfOrRole lets a person act on their own record, or needs min.
func selfOrRole(r *http.Request, id identity.PersonID, min identity.Role) error {
	p := principalFrom(r.Context())
	if p.Key || p.Person.ID == id || p.Person.Role.AtLeast(min) {
		return nil
	}
	return errs.Forbidden("this action needs the %s role", min)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	id := identity.PersonID(r.PathValue("id"))
	if err := selfOrRole(r, id, identity.RoleSupervisor); err != nil {
		return err
	}
	p, err := s.deps.People.Get(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(p.Version))
	writeJSON(w, http.StatusOK, renderUser(p))
	return nil
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) error {
	id := identity.PersonID(r.PathValue("id"))
	if err := selfOrRole(r, id, identity.RoleAdmin); err != nil {
		return err
	}
	ver, err := ifMatch(r)
	if err != nil {
		return err
	}
	if ver == anyVersion {
		ver = 0 // Update fails with 404 when the person does not exist
	}
	patch, err := mergePatch(r)
	if err != nil {
		return err
	}
	var pp identity.PersonPatch
	var display, password string
	var role identity.Role
	if ok, err := patchField(patch, "displayName", &display); err != nil {
		return err
	} else if ok {
		pp.DisplayName = &display
	}
	if ok, err := patchField(patch, "password", &password); err != nil {
		return err
	} else if ok {
		pp.Password = &password
	}
	if ok, err := patchField(patch, "role", &role); err != nil {
		return err
	} else if ok {
		if pr := principalFrom(r.Context()); !pr.Key && !pr.Person.Role.AtLeast(identity.RoleAdmin) {
			return errs.Forbidden("only an admin can change roles")
		}
		pp.Role = &role
	}
	for k := range patch {
		if k != "displayName" && k != "password" && k != "role" {
			return errs.Invalid("ReadOnlyField", "field %q is unknown or read-only", k).WithTarget(k)
		}
	}
	p, err := s.deps.People.Update(r.Context(), id, pp, ver)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(p.Version))
	writeJSON(w, http.StatusOK, renderUser(p))
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.People.Delete(r.Context(), identity.PersonID(r.PathValue("id"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
