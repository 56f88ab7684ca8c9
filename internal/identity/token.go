package identity

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Scope is what a user access token allows.
type Scope string

const (
	ScopeChat            Scope = "chat"
	ScopeVoIP            Scope = "voip"
	ScopeChatJoin        Scope = "chat.join"
	ScopeChatJoinLimited Scope = "chat.join.limited"
	ScopeVoIPJoin        Scope = "voip.join"
)

var knownScopes = []Scope{ScopeChat, ScopeVoIP, ScopeChatJoin, ScopeChatJoinLimited, ScopeVoIPJoin}

// ParseScopes validates scope names as the Identity API receives them.
func ParseScopes(raw []string) ([]Scope, error) {
	if len(raw) == 0 {
		return nil, errs.Invalid("InvalidScopes", "at least one scope is required").WithTarget("scopes")
	}
	out := make([]Scope, 0, len(raw))
	for _, s := range raw {
		sc := Scope(strings.ToLower(strings.TrimSpace(s)))
		if !slices.Contains(knownScopes, sc) {
			return nil, errs.Invalid("InvalidScopes", "unknown scope %q; valid scopes are chat, voip, chat.join, chat.join.limited, voip.join", s).WithTarget("scopes")
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// Token lifetimes accepted by the Identity API, in minutes.
const (
	MinTokenMinutes     = 60
	MaxTokenMinutes     = 1440
	DefaultTokenMinutes = 1440
)

// Claims is what a verified user access token says.
type Claims struct {
	User      UserID
	Tenant    tenant.ID
	Scopes    []Scope
	Epoch     int64
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Has reports whether the token carries scope s.
func (c Claims) Has(s Scope) bool { return slices.Contains(c.Scopes, s) }

// TokenIssuer signs and verifies user access tokens. They are JWTs because
// the SDKs decode them on the client (exp in seconds, skypeid, resourceId).
type TokenIssuer struct {
	key      []byte
	location string
}

// NewTokenIssuer signs with key (HS256); location fills resourceLocation.
func NewTokenIssuer(key []byte, location string) *TokenIssuer {
	return &TokenIssuer{key: key, location: location}
}

type tokenClaims struct {
	SkypeID          string `json:"skypeid"`
	Scp              int    `json:"scp"`
	Csi              string `json:"csi"`
	ACSScope         string `json:"acsScope"`
	ResourceID       string `json:"resourceId"`
	ResourceLocation string `json:"resourceLocation"`
	Epoch            int64  `json:"sbv"`
	jwt.RegisteredClaims
}

// Issue signs a token for id with scopes, valid for ttl from now.
func (ti *TokenIssuer) Issue(id Identity, scopes []Scope, now time.Time, ttl time.Duration) (string, time.Time, error) {
	exp := now.Add(ttl).Truncate(time.Second)
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	c := tokenClaims{
		SkypeID:          strings.TrimPrefix(string(id.ID), "8:"),
		Scp:              1792,
		Csi:              fmt.Sprint(now.Unix()),
		ACSScope:         strings.Join(names, ","),
		ResourceID:       string(id.Tenant),
		ResourceLocation: ti.location,
		Epoch:            id.TokenEpoch,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   string(id.ID),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(ti.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("identity: sign token: %w", err)
	}
	return s, exp, nil
}

// ErrInvalidToken is the kind of failure every bad token reports; the
// message says which check failed.
var ErrInvalidToken = errs.Unauthenticated("InvalidAccessToken", "the access token is invalid")

// Parse verifies a token's signature and lifetime. It does not know about
// revocation; Service.AuthenticateToken checks that against the store.
func (ti *TokenIssuer) Parse(token string, now time.Time) (Claims, error) {
	var c tokenClaims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) { return ti.key, nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		msg := "the access token is invalid"
		if errors.Is(err, jwt.ErrTokenExpired) {
			msg = "the access token has expired"
		}
		return Claims{}, &errs.Error{Kind: errs.KindUnauthenticated, Code: ErrInvalidToken.Code, Message: msg, Err: err}
	}
	var scopes []Scope
	for s := range strings.SplitSeq(c.ACSScope, ",") {
		if s != "" {
			scopes = append(scopes, Scope(s))
		}
	}
	return Claims{
		User:      UserID(c.Subject),
		Tenant:    tenant.ID(c.ResourceID),
		Scopes:    scopes,
		Epoch:     c.Epoch,
		IssuedAt:  c.IssuedAt.Time,
		ExpiresAt: c.ExpiresAt.Time,
	}, nil
}
