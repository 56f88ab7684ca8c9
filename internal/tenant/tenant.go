// Package tenant carries the one tenant every request, event and stored row
// belongs to. It is the single place that says "this belongs to that tenant".
package tenant

import (
	"context"
	"regexp"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// ID is a tenant's stable identifier (a UUID, also used as the ACS resource id).
type ID string

// Tenant is a business using Switchboard; its data never mixes with another's.
type Tenant struct {
	ID        ID
	Name      string
	CreatedAt time.Time
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ValidateName checks a tenant name: lower-case letters, digits and dashes,
// usable as a host label.
func ValidateName(name string) error {
	if !namePattern.MatchString(name) {
		return errs.Invalid("InvalidTenantName", "tenant name %q must be 1-63 lower-case letters, digits or dashes, starting with a letter or digit", name)
	}
	return nil
}

type ctxKey struct{}

// With returns ctx carrying tenant id.
func With(ctx context.Context, id ID) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the tenant in ctx.
func From(ctx context.Context) (ID, bool) {
	id, ok := ctx.Value(ctxKey{}).(ID)
	return id, ok && id != ""
}

// MustFrom returns the tenant in ctx or panics: reaching tenant-scoped code
// without a tenant is a programming error, never a client one.
func MustFrom(ctx context.Context) ID {
	id, ok := From(ctx)
	if !ok {
		panic("tenant: no tenant in context")
	}
	return id
}
