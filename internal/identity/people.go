package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// PeopleStore persists people and their sessions.
type PeopleStore interface {
	CreatePerson(ctx context.Context, p Person) error
	Person(ctx context.Context, t tenant.ID, id PersonID) (Person, error)
	PersonByUsername(ctx context.Context, t tenant.ID, username string) (Person, error)
	People(ctx context.Context, t tenant.ID, after PersonID, limit int) ([]Person, error)
	// UpdatePerson writes p if the stored version is still p.Version-1.
	UpdatePerson(ctx context.Context, p Person) error
	DeletePerson(ctx context.Context, t tenant.ID, id PersonID) error
	CreateSession(ctx context.Context, s Session) error
	Session(ctx context.Context, tokenHash string, now time.Time) (Session, error)
	DeleteSession(ctx context.Context, tokenHash string) error
	DeletePersonSessions(ctx context.Context, t tenant.ID, id PersonID) error
}

// TenantLookup finds a tenant by name, for logins.
type TenantLookup interface {
	TenantByName(ctx context.Context, name string) (tenant.Tenant, error)
}

// People manages admins, supervisors and agents and their logins.
type People struct {
	store      PeopleStore
	tenants    TenantLookup
	sessionTTL time.Duration
	now        func() time.Time
	dummyOnce  sync.Once
	dummyHash  string
}

// NewPeople wires the people service; sessions last sessionTTL.
func NewPeople(store PeopleStore, tenants TenantLookup, sessionTTL time.Duration) *People {
	return &People{store: store, tenants: tenants, sessionTTL: sessionTTL, now: time.Now}
}

// NewPerson is the input to Create.
type NewPerson struct {
	Username    string
	DisplayName string
	Role        Role
	Password    string
}

func validateUsername(u string) error {
	if u == "" || len(u) > 64 || strings.ContainsAny(u, " \t\r\n/") {
		return errs.Invalid("InvalidUsername", "username must be 1-64 characters without spaces or slashes").WithTarget("username")
	}
	return nil
}

func validateDisplayName(d string) error {
	if !utf8.ValidString(d) || utf8.RuneCountInString(d) > 256 {
		return errs.Invalid("InvalidDisplayName", "displayName must be valid text of at most 256 characters").WithTarget("displayName")
	}
	return nil
}

// Create adds a person to the caller's tenant.
func (p *People) Create(ctx context.Context, in NewPerson) (Person, error) {
	t := tenant.MustFrom(ctx)
	in.Username = strings.ToLower(strings.TrimSpace(in.Username))
	if err := validateUsername(in.Username); err != nil {
		return Person{}, err
	}
	if err := validateDisplayName(in.DisplayName); err != nil {
		return Person{}, err
	}
	if !in.Role.Valid() {
		return Person{}, errs.Invalid("InvalidRole", "role must be admin, supervisor or agent").WithTarget("role")
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return Person{}, err
	}
	now := p.now().UTC()
	if in.DisplayName == "" {
		in.DisplayName = in.Username
	}
	person := Person{ID: PersonID(uuid.NewString()), Tenant: t, Username: in.Username, DisplayName: in.DisplayName,
		Role: in.Role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := p.store.CreatePerson(ctx, person); err != nil {
		return Person{}, err
	}
	return person, nil
}

// Get returns one person of the caller's tenant.
func (p *People) Get(ctx context.Context, id PersonID) (Person, error) {
	return p.store.Person(ctx, tenant.MustFrom(ctx), id)
}

// List returns up to limit people after the given id, in id order.
func (p *People) List(ctx context.Context, after PersonID, limit int) ([]Person, error) {
	return p.store.People(ctx, tenant.MustFrom(ctx), after, limit)
}

// PersonPatch holds the fields a merge-patch may change; nil means unchanged.
type PersonPatch struct {
	DisplayName *string
	Role        *Role
	Password    *string
}

// Update applies patch if the person is still at version ifVersion (0 skips
// the check). Changing the password or role ends the person's sessions.
func (p *People) Update(ctx context.Context, id PersonID, patch PersonPatch, ifVersion int64) (Person, error) {
	t := tenant.MustFrom(ctx)
	cur, err := p.store.Person(ctx, t, id)
	if err != nil {
		return Person{}, err
	}
	if ifVersion != 0 && cur.Version != ifVersion {
		return Person{}, errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "the person was changed since it was read")
	}
	endSessions := false
	if patch.DisplayName != nil {
		if err := validateDisplayName(*patch.DisplayName); err != nil {
			return Person{}, err
		}
		cur.DisplayName = *patch.DisplayName
	}
	if patch.Role != nil {
		if !patch.Role.Valid() {
			return Person{}, errs.Invalid("InvalidRole", "role must be admin, supervisor or agent").WithTarget("role")
		}
		endSessions = endSessions || cur.Role != *patch.Role
		cur.Role = *patch.Role
	}
	if patch.Password != nil {
		hash, err := HashPassword(*patch.Password)
		if err != nil {
			return Person{}, err
		}
		cur.PasswordHash = hash
		endSessions = true
	}
	cur.Version++
	cur.UpdatedAt = p.now().UTC()
	if err := p.store.UpdatePerson(ctx, cur); err != nil {
		return Person{}, err
	}
	if endSessions {
		if err := p.store.DeletePersonSessions(ctx, t, id); err != nil {
			return Person{}, err
		}
	}
	return cur, nil
}

// Delete removes a person and their sessions.
func (p *People) Delete(ctx context.Context, id PersonID) error {
	return p.store.DeletePerson(ctx, tenant.MustFrom(ctx), id)
}

// ErrBadLogin is the one answer to every failed login, so it reveals
// nothing about which part was wrong.
var ErrBadLogin = errs.Unauthenticated("InvalidCredentials", "the tenant, username or password is wrong")

// Login checks credentials and opens a session. The returned token goes in
// a cookie; only its hash is stored.
func (p *People) Login(ctx context.Context, tenantName, username, password string) (Person, Session, string, error) {
	tn, err := p.tenants.TenantByName(ctx, strings.TrimSpace(tenantName))
	if err != nil {
		p.checkDummy(password)
		return Person{}, Session{}, "", ErrBadLogin
	}
	person, err := p.store.PersonByUsername(ctx, tn.ID, strings.ToLower(strings.TrimSpace(username)))
	if err != nil {
		p.checkDummy(password)
		return Person{}, Session{}, "", ErrBadLogin
	}
	if !CheckPassword(person.PasswordHash, password) {
		return Person{}, Session{}, "", ErrBadLogin
	}
	token := randomToken()
	now := p.now().UTC()
	s := Session{TokenHash: HashToken(token), Tenant: tn.ID, Person: person.ID, CSRF: randomToken(), CreatedAt: now, ExpiresAt: now.Add(p.sessionTTL)}
	if err := p.store.CreateSession(ctx, s); err != nil {
		return Person{}, Session{}, "", err
	}
	return person, s, token, nil
}

// Authenticate resolves a session cookie's token to its person.
func (p *People) Authenticate(ctx context.Context, token string) (Person, Session, error) {
	s, err := p.store.Session(ctx, HashToken(token), p.now())
	if err != nil {
		return Person{}, Session{}, errs.Unauthenticated("SessionExpired", "the session has expired or was ended; log in again")
	}
	person, err := p.store.Person(ctx, s.Tenant, s.Person)
	if err != nil {
		return Person{}, Session{}, errs.Unauthenticated("SessionExpired", "the session's person no longer exists")
	}
	return person, s, nil
}

// Logout ends the session of token.
func (p *People) Logout(ctx context.Context, token string) error {
	return p.store.DeleteSession(ctx, HashToken(token))
}

// checkDummy spends the time a real password check takes, so login timing
// is the same for known and unknown usernames. The dummy hash is made on
// first need: argon2 memory is not worth holding from start-up.
func (p *People) checkDummy(password string) {
	p.dummyOnce.Do(func() { p.dummyHash, _ = HashPassword("not-a-real-password") })
	CheckPassword(p.dummyHash, password)
}

// HashToken is how session tokens are stored.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
