package identity

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Store is what the identity service needs from persistence. Every method is
// scoped to one tenant: another tenant's ids report NotFound.
type Store interface {
	CreateIdentity(ctx context.Context, id Identity) error
	Identity(ctx context.Context, t tenant.ID, id UserID) (Identity, error)
	IdentityByCustomID(ctx context.Context, t tenant.ID, customID string) (Identity, error)
	DeleteIdentity(ctx context.Context, t tenant.ID, id UserID, at time.Time) error
	BumpTokenEpoch(ctx context.Context, t tenant.ID, id UserID) (int64, error)
	SetTokenIssued(ctx context.Context, t tenant.ID, id UserID, at time.Time) error
}

// Outbox records events in the caller's transaction.
type Outbox interface {
	Append(ctx context.Context, evs ...event.Event) error
}

// Transactor runs fn in one database transaction.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Event types the identity service emits (Switchboard's own: ACS has none).
const (
	EventIdentityCreated = "Switchboard.IdentityCreated"
	EventIdentityDeleted = "Switchboard.IdentityDeleted"
	EventTokensRevoked   = "Switchboard.IdentityTokensRevoked"
)

// Service implements the ACS Identity API semantics.
type Service struct {
	store  Store
	outbox Outbox
	tx     Transactor
	tokens *TokenIssuer
	now    func() time.Time
}

// NewService wires the identity service.
func NewService(store Store, outbox Outbox, tx Transactor, tokens *TokenIssuer) *Service {
	return &Service{store: store, outbox: outbox, tx: tx, tokens: tokens, now: time.Now}
}

// IssuedToken is a user access token and when it expires.
type IssuedToken struct {
	Token     string
	ExpiresOn time.Time
}

// TokenRequest asks for a token: scopes and a lifetime in minutes (0 means
// the default).
type TokenRequest struct {
	Scopes           []string
	ExpiresInMinutes int
}

func (r TokenRequest) validate() ([]Scope, time.Duration, error) {
	scopes, err := ParseScopes(r.Scopes)
	if err != nil {
		return nil, 0, err
	}
	mins := r.ExpiresInMinutes
	if mins == 0 {
		mins = DefaultTokenMinutes
	}
	if mins < MinTokenMinutes || mins > MaxTokenMinutes {
		return nil, 0, errs.Invalid("InvalidExpiresInMinutes", "expiresInMinutes must be between %d and %d", MinTokenMinutes, MaxTokenMinutes).WithTarget("expiresInMinutes")
	}
	return scopes, time.Duration(mins) * time.Minute, nil
}

type identityEventData struct {
	Identity struct {
		RawID             string `json:"rawId"`
		CommunicationUser struct {
			ID string `json:"id"`
		} `json:"communicationUser"`
	} `json:"identity"`
}

func identityEvent(t tenant.ID, typ string, id UserID) (event.Event, error) {
	var d identityEventData
	d.Identity.RawID = string(id)
	d.Identity.CommunicationUser.ID = string(id)
	return event.New(t, typ, "identities/"+string(id), d)
}

// CreateIdentity creates a communication user, with a token when tok is
// non-nil.
func (s *Service) CreateIdentity(ctx context.Context, customID string, tok *TokenRequest) (Identity, *IssuedToken, error) {
	t := tenant.MustFrom(ctx)
	var scopes []Scope
	var ttl time.Duration
	if tok != nil {
		var err error
		if scopes, ttl, err = tok.validate(); err != nil {
			return Identity{}, nil, err
		}
	}
	if customID != "" {
		// ACS: a customId already in use returns the user that has it.
		existing, err := s.store.IdentityByCustomID(ctx, t, customID)
		if err == nil {
			return s.existingWithToken(ctx, existing, scopes, ttl, tok != nil)
		}
		if errs.KindOf(err) != errs.KindNotFound {
			return Identity{}, nil, err
		}
	}
	now := s.now().UTC()
	id := Identity{ID: NewUserID(t, uuid.NewString()), Tenant: t, CustomID: customID, CreatedAt: now}
	var issued *IssuedToken
	if tok != nil {
		id.LastTokenIssuedAt = &now
		token, exp, err := s.tokens.Issue(id, scopes, now, ttl)
		if err != nil {
			return Identity{}, nil, err
		}
		issued = &IssuedToken{Token: token, ExpiresOn: exp}
	}
	ev, err := identityEvent(t, EventIdentityCreated, id.ID)
	if err != nil {
		return Identity{}, nil, err
	}
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.CreateIdentity(ctx, id); err != nil {
			return err
		}
		return s.outbox.Append(ctx, ev)
	})
	if customID != "" && errs.KindOf(err) == errs.KindConflict {
		// A concurrent request created it first: answer with that one.
		existing, lerr := s.store.IdentityByCustomID(ctx, t, customID)
		if lerr != nil {
			return Identity{}, nil, lerr
		}
		return s.existingWithToken(ctx, existing, scopes, ttl, tok != nil)
	}
	if err != nil {
		return Identity{}, nil, err
	}
	return id, issued, nil
}

func (s *Service) existingWithToken(ctx context.Context, id Identity, scopes []Scope, ttl time.Duration, wantToken bool) (Identity, *IssuedToken, error) {
	if !wantToken {
		return id, nil, nil
	}
	now := s.now().UTC()
	token, exp, err := s.tokens.Issue(id, scopes, now, ttl)
	if err != nil {
		return Identity{}, nil, err
	}
	if err := s.store.SetTokenIssued(ctx, id.Tenant, id.ID, now); err != nil {
		return Identity{}, nil, err
	}
	return id, &IssuedToken{Token: token, ExpiresOn: exp}, nil
}

// Identity returns a live identity of the caller's tenant.
func (s *Service) Identity(ctx context.Context, id UserID) (Identity, error) {
	return s.store.Identity(ctx, tenant.MustFrom(ctx), id)
}

// DeleteIdentity deletes the identity and with it every token it holds.
func (s *Service) DeleteIdentity(ctx context.Context, id UserID) error {
	t := tenant.MustFrom(ctx)
	ev, err := identityEvent(t, EventIdentityDeleted, id)
	if err != nil {
		return err
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.DeleteIdentity(ctx, t, id, s.now().UTC()); err != nil {
			return err
		}
		return s.outbox.Append(ctx, ev)
	})
}

// RevokeTokens makes every token issued so far for id invalid at once.
func (s *Service) RevokeTokens(ctx context.Context, id UserID) error {
	t := tenant.MustFrom(ctx)
	ev, err := identityEvent(t, EventTokensRevoked, id)
	if err != nil {
		return err
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.BumpTokenEpoch(ctx, t, id); err != nil {
			return err
		}
		return s.outbox.Append(ctx, ev)
	})
}

// IssueToken issues a new token for an existing identity.
func (s *Service) IssueToken(ctx context.Context, id UserID, req TokenRequest) (IssuedToken, error) {
	t := tenant.MustFrom(ctx)
	scopes, ttl, err := req.validate()
	if err != nil {
		return IssuedToken{}, err
	}
	ident, err := s.store.Identity(ctx, t, id)
	if err != nil {
		return IssuedToken{}, err
	}
	now := s.now().UTC()
	token, exp, err := s.tokens.Issue(ident, scopes, now, ttl)
	if err != nil {
		return IssuedToken{}, err
	}
	if err := s.store.SetTokenIssued(ctx, t, id, now); err != nil {
		return IssuedToken{}, err
	}
	return IssuedToken{Token: token, ExpiresOn: exp}, nil
}

// AuthenticateToken verifies a bearer token: signature, expiry, and that
// its identity still exists and has not revoked it since. The check reads
// the store, so a revocation on any node takes effect on every node at once.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (Claims, error) {
	c, err := s.tokens.Parse(token, s.now())
	if err != nil {
		return Claims{}, err
	}
	ident, err := s.store.Identity(ctx, c.Tenant, c.User)
	if err != nil {
		if errs.KindOf(err) == errs.KindNotFound {
			return Claims{}, errs.Unauthenticated(ErrInvalidToken.Code, "the access token's identity no longer exists")
		}
		return Claims{}, err
	}
	if ident.TokenEpoch != c.Epoch {
		return Claims{}, errs.Unauthenticated(ErrInvalidToken.Code, "the access token has been revoked")
	}
	return c, nil
}
