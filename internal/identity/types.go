// Package identity owns who may talk to Switchboard: tenant access keys and
// their HMAC signatures, ACS communication identities and their user access
// tokens, and the people (admins, supervisors, agents) who log in.
package identity

import (
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// UserID is an ACS communication identity, e.g. "8:acs:<tenant>_<uuid>".
type UserID string

// Identity is an ACS communication user: a customer's or agent's endpoint in
// chat and calls.
type Identity struct {
	ID                UserID
	Tenant            tenant.ID
	CustomID          string
	CreatedAt         time.Time
	LastTokenIssuedAt *time.Time
	// TokenEpoch goes up on every revocation; a token is valid only while the
	// epoch it was issued in is current.
	TokenEpoch int64
	DeletedAt  *time.Time
}

// NewUserID builds the raw id the ACS SDKs expect.
func NewUserID(t tenant.ID, guid string) UserID {
	return UserID("8:acs:" + string(t) + "_" + guid)
}

// TenantOf returns the tenant encoded in an ACS user id, if any.
func TenantOf(id UserID) (tenant.ID, bool) {
	rest, ok := strings.CutPrefix(string(id), "8:acs:")
	if !ok {
		return "", false
	}
	t, _, ok := strings.Cut(rest, "_")
	return tenant.ID(t), ok && t != ""
}

// KeyID names one access key of a tenant.
type KeyID string

// AccessKey is a tenant's shared secret for HMAC-signed requests.
type AccessKey struct {
	ID        KeyID
	Tenant    tenant.ID
	Secret    []byte
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Role is what a person may do.
type Role string

const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleSupervisor || r == RoleAgent
}

// AtLeast orders roles admin > supervisor > agent.
func (r Role) AtLeast(min Role) bool { return rank(r) >= rank(min) }

func rank(r Role) int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleSupervisor:
		return 2
	case RoleAgent:
		return 1
	}
	return 0
}

// PersonID identifies a person who logs in.
type PersonID string

// Person is an admin, supervisor or agent of a tenant.
type Person struct {
	ID           PersonID
	Tenant       tenant.ID
	Username     string
	DisplayName  string
	Role         Role
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Version      int64
}

// Session is a logged-in browser. Only the hash of its token is stored.
type Session struct {
	TokenHash string
	Tenant    tenant.ID
	Person    PersonID
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}
