package api

import (
	"context"
	"net/http"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// RetentionStore keeps tenants' retention policies.
type RetentionStore interface {
	SetRetentionDays(ctx context.Context, t tenant.ID, days int, at time.Time) error
	RetentionDays(ctx context.Context, t tenant.ID) (int, error)
}

// MaxRetentionDays bounds a policy (ten years).
const MaxRetentionDays = 3650

func (s *Server) registerRetention() {
	s.handle(route{method: "GET", path: "/retentionPolicy", auth: authAdmin, minRole: identity.RoleAdmin, versions: nativeVersions, h: s.getRetention})
	s.handle(route{method: "PUT", path: "/retentionPolicy", auth: authAdmin, minRole: identity.RoleAdmin, versions: nativeVersions, h: s.putRetention})
}

type retentionJSON struct {
	// RetentionDays deletes conversations quiet for longer; 0 keeps them.
	RetentionDays int `json:"retentionDays"`
}

func (s *Server) getRetention(w http.ResponseWriter, r *http.Request) error {
	days, err := s.deps.Retention.RetentionDays(r.Context(), tenant.MustFrom(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, retentionJSON{RetentionDays: days})
	return nil
}

func (s *Server) putRetention(w http.ResponseWriter, r *http.Request) error {
	var req retentionJSON
	if err := decodeJSON(r, &req, false); err != nil {
		return err
	}
	if req.RetentionDays < 0 || req.RetentionDays > MaxRetentionDays {
		return errs.Invalid("InvalidRetentionDays", "retentionDays must be between 0 (keep) and %d", MaxRetentionDays).WithTarget("retentionDays")
	}
	if err := s.deps.Retention.SetRetentionDays(r.Context(), tenant.MustFrom(r.Context()), req.RetentionDays, time.Now().UTC()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}
