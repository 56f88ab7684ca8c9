package api

import (
	"net/http"
	"time"

	"github.com/switchboard-cc/switchboard/internal/contact"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
)

func (s *Server) registerContacts() {
	agent := func(method, path string, h func(w http.ResponseWriter, r *http.Request) error) route {
		return route{method: method, path: path, auth: authAdmin, minRole: identity.RoleAgent, versions: nativeVersions, h: h}
	}
	s.handle(agent("POST", "/contacts", s.createContact))
	s.handle(agent("GET", "/contacts", s.listContacts))
	s.handle(agent("GET", "/contacts/{id}", s.getContact))
	s.handle(agent("PATCH", "/contacts/{id}", s.updateContact))
	s.handle(agent("POST", "/contacts/{id}/handles", s.attachHandle))
	s.handle(agent("GET", "/contacts/{id}/conversations", s.contactConversations))
	// Merging and erasing change or destroy customer history: supervisors.
	s.handle(route{method: "POST", path: "/contacts/{id}:merge", auth: authAdmin, minRole: identity.RoleSupervisor, versions: nativeVersions, h: s.mergeContact})
	s.handle(route{method: "DELETE", path: "/contacts/{id}", auth: authAdmin, minRole: identity.RoleSupervisor, versions: nativeVersions, h: s.eraseContact})
}

type contactJSON struct {
	ID          string            `json:"id"`
	DisplayName string            `json:"displayName"`
	Fields      map[string]string `json:"fields"`
	Handles     []contact.Handle  `json:"handles"`
	CreatedAt   string            `json:"createdAt"`
	UpdatedAt   string            `json:"updatedAt"`
}

func renderContact(c contact.Contact) contactJSON {
	out := contactJSON{ID: string(c.ID), DisplayName: c.DisplayName, Fields: c.Fields, Handles: c.Handles,
		CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: c.UpdatedAt.UTC().Format(time.RFC3339Nano)}
	if out.Fields == nil {
		out.Fields = map[string]string{}
	}
	if out.Handles == nil {
		out.Handles = []contact.Handle{}
	}
	return out
}

func writeContact(w http.ResponseWriter, status int, c contact.Contact) {
	w.Header().Set("ETag", etag(c.Version))
	writeJSON(w, status, renderContact(c))
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		DisplayName string            `json:"displayName"`
		Fields      map[string]string `json:"fields"`
		Handles     []contact.Handle  `json:"handles"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	c, err := s.deps.Contacts.Create(r.Context(), contact.Contact{DisplayName: req.DisplayName, Fields: req.Fields, Handles: req.Handles})
	if err != nil {
		return err
	}
	writeContact(w, http.StatusCreated, c)
	return nil
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query().Get("q")
	if len(q) > 256 {
		return errs.Invalid("InvalidQuery", "q must be at most 256 characters").WithTarget("q")
	}
	cs, err := s.deps.Contacts.Search(r.Context(), q, contact.ID(p.After), p.Limit+1)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(r, p, cs, func(c contact.Contact) string { return string(c.ID) }, renderContact))
	return nil
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request) error {
	c, err := s.deps.Contacts.Get(r.Context(), contact.ID(r.PathValue("id")))
	if err != nil {
		return err
	}
	writeContact(w, http.StatusOK, c)
	return nil
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	patch, err := mergePatch(r)
	if err != nil {
		return err
	}
	var p contact.Patch
	var name string
	if ok, err := patchField(patch, "displayName", &name); err != nil {
		return err
	} else if ok {
		p.DisplayName = &name
	}
	if _, err := patchField(patch, "fields", &p.Fields); err != nil {
		return err
	}
	for k := range patch {
		if k != "displayName" && k != "fields" {
			return errs.Invalid("InvalidRequestBody", "field %q cannot be patched; handles have their own endpoint", k).WithTarget(k)
		}
	}
	if version == anyVersion {
		version = 0
	}
	c, err := s.deps.Contacts.Update(r.Context(), contact.ID(r.PathValue("id")), p, version)
	if err != nil {
		return err
	}
	writeContact(w, http.StatusOK, c)
	return nil
}

func (s *Server) attachHandle(w http.ResponseWriter, r *http.Request) error {
	var h contact.Handle
	if err := decodeJSON(r, &h, false); err != nil {
		return err
	}
	c, err := s.deps.Contacts.Attach(r.Context(), contact.ID(r.PathValue("id")), h)
	if err != nil {
		return err
	}
	writeContact(w, http.StatusOK, c)
	return nil
}

func (s *Server) contactConversations(w http.ResponseWriter, r *http.Request) error {
	ths, err := s.deps.Contacts.Threads(r.Context(), contact.ID(r.PathValue("id")))
	if err != nil {
		return err
	}
	type item struct {
		ThreadID string `json:"threadId"`
	}
	out := list[item]{Value: make([]item, 0, len(ths))}
	for _, th := range ths {
		out.Value = append(out.Value, item{ThreadID: th})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) mergeContact(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		SourceID string `json:"sourceId"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.SourceID == "" {
		return errs.Invalid("InvalidMerge", "sourceId is required").WithTarget("sourceId")
	}
	c, err := s.deps.Contacts.Merge(r.Context(), contact.ID(r.PathValue("id")), contact.ID(req.SourceID))
	if err != nil {
		return err
	}
	writeContact(w, http.StatusOK, c)
	return nil
}

func (s *Server) eraseContact(w http.ResponseWriter, r *http.Request) error {
	if err := s.deps.Contacts.Erase(r.Context(), contact.ID(r.PathValue("id"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
