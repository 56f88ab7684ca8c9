package webchat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-cc/switchboard/internal/contact"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Visitor is a web chat visitor: a communication identity tied to a
// contact, and the thread it currently talks in.
type Visitor struct {
	Tenant    tenant.ID
	Identity  string
	Contact   contact.ID
	Thread    conversation.ThreadID
	CreatedAt time.Time
}

// Store persists settings and visitors.
type Store interface {
	WebchatSettings(ctx context.Context, t tenant.ID) ([]byte, error) // nil when unset
	SetWebchatSettings(ctx context.Context, t tenant.ID, raw []byte, at time.Time) error
	SaveVisitor(ctx context.Context, v Visitor) error
	VisitorByResumeKey(ctx context.Context, t tenant.ID, keyHash string) (Visitor, error)
	VisitorByContact(ctx context.Context, t tenant.ID, c contact.ID) (Visitor, error)
	AddResumeKey(ctx context.Context, t tenant.ID, keyHash, identity string, at time.Time) error
}

// Identities creates visitors' identities and their tokens.
type Identities interface {
	CreateIdentity(ctx context.Context, customID string, tok *identity.TokenRequest) (identity.Identity, *identity.IssuedToken, error)
	IssueToken(ctx context.Context, id identity.UserID, req identity.TokenRequest) (identity.IssuedToken, error)
}

// Chat opens and reads visitors' threads.
type Chat interface {
	CreateThread(ctx context.Context, caller string, in conversation.CreateThreadInput) (conversation.Thread, []conversation.InvalidParticipant, error)
	GetThread(ctx context.Context, caller string, id conversation.ThreadID) (conversation.Thread, error)
}

// Contacts finds and creates the customers behind visitors.
type Contacts interface {
	Create(ctx context.Context, c contact.Contact) (contact.Contact, error)
	Get(ctx context.Context, id contact.ID) (contact.Contact, error)
	ByHandle(ctx context.Context, h contact.Handle) (contact.Contact, error)
	Attach(ctx context.Context, id contact.ID, h contact.Handle) (contact.Contact, error)
	Update(ctx context.Context, id contact.ID, p contact.Patch, ifMatch int64) (contact.Contact, error)
	LinkThread(ctx context.Context, id contact.ID, thread string) error
}

// Service runs the web chat channel.
type Service struct {
	store    Store
	ids      Identities
	chat     Chat
	contacts Contacts
	key      []byte // signs visitor tokens
	now      func() time.Time
}

// NewService wires the channel; key signs visitor tokens.
func NewService(store Store, ids Identities, chat Chat, contacts Contacts, key []byte) *Service {
	return &Service{store: store, ids: ids, chat: chat, contacts: contacts, key: key, now: time.Now}
}

// Settings returns the tenant's settings, or the defaults.
func (s *Service) Settings(ctx context.Context, tenantName string) (Settings, error) {
	raw, err := s.store.WebchatSettings(ctx, tenant.MustFrom(ctx))
	if err != nil {
		return Settings{}, err
	}
	if raw == nil {
		return DefaultSettings(tenantName), nil
	}
	var st Settings
	if err := json.Unmarshal(raw, &st); err != nil {
		return Settings{}, fmt.Errorf("webchat: stored settings: %w", err)
	}
	return st, nil
}

// SetSettings replaces the tenant's settings.
func (s *Service) SetSettings(ctx context.Context, st Settings) error {
	if err := st.Validate(); err != nil {
		return err
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.store.SetWebchatSettings(ctx, tenant.MustFrom(ctx), raw, s.now().UTC())
}

// Limits are the tenant's upload rules.
func (s *Service) Limits(ctx context.Context) (conversation.UploadLimits, error) {
	st, err := s.Settings(ctx, "")
	if err != nil {
		return conversation.UploadLimits{}, err
	}
	return st.Limits(), nil
}

// VisitorTokenTTL is how long a minted visitor token is valid.
const VisitorTokenTTL = time.Hour

type visitorClaims struct {
	Tenant  string `json:"tid"`
	Contact string `json:"cid"`
	jwt.RegisteredClaims
}

// VisitorRequest identifies a known customer.
type VisitorRequest struct {
	ExternalID  string
	DisplayName string
	Email       string
	Phone       string
}

// MintVisitorToken finds or creates the contact with the business's
// external id and returns a short-lived token that ties a widget session
// to it.
func (s *Service) MintVisitorToken(ctx context.Context, req VisitorRequest) (string, time.Time, contact.ID, error) {
	t := tenant.MustFrom(ctx)
	if req.ExternalID == "" {
		return "", time.Time{}, "", errs.Invalid("InvalidExternalId", "externalId is required").WithTarget("externalId")
	}
	ext := contact.Handle{Kind: contact.HandleExternal, Value: req.ExternalID}
	c, err := s.contacts.ByHandle(ctx, ext)
	if errs.KindOf(err) == errs.KindNotFound {
		hs := []contact.Handle{ext}
		if req.Email != "" {
			hs = append(hs, contact.Handle{Kind: contact.HandleEmail, Value: req.Email})
		}
		if req.Phone != "" {
			hs = append(hs, contact.Handle{Kind: contact.HandlePhone, Value: req.Phone})
		}
		c, err = s.contacts.Create(ctx, contact.Contact{DisplayName: req.DisplayName, Handles: hs})
	} else if err == nil && req.DisplayName != "" && req.DisplayName != c.DisplayName {
		c, err = s.contacts.Update(ctx, c.ID, contact.Patch{DisplayName: &req.DisplayName}, 0)
	}
	if err != nil {
		return "", time.Time{}, "", err
	}
	exp := s.now().Add(VisitorTokenTTL)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, visitorClaims{Tenant: string(t), Contact: string(c.ID),
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(s.now()), Audience: jwt.ClaimStrings{"webchat"}}}).SignedString(s.key)
	return tok, exp, c.ID, err
}

func (s *Service) parseVisitorToken(t tenant.ID, raw string) (contact.ID, error) {
	var c visitorClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience("webchat"), jwt.WithTimeFunc(s.now))
	if err != nil || c.Tenant != string(t) {
		return "", errs.Unauthenticated("InvalidVisitorToken", "the visitor token is invalid, expired or for another tenant")
	}
	return contact.ID(c.Contact), nil
}

// SessionRequest opens or resumes a visitor session.
type SessionRequest struct {
	ResumeKey    string
	VisitorToken string
	DisplayName  string
	Fields       map[string]string
	Locale       string
}

// Session is what the widget needs to chat.
type Session struct {
	Token     identity.IssuedToken
	Identity  string
	Thread    conversation.ThreadID
	ResumeKey string
	Contact   contact.ID
}

// SessionTokenMinutes is the life of a visitor's chat token; the widget
// asks for a fresh one with its resume key.
const SessionTokenMinutes = 24 * 60

func hashKey(k string) string {
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:])
}

func newResumeKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// StartSession opens a session: the same visitor (by resume key) or the
// same known customer (by visitor token) gets its identity and open thread
// back with a fresh token; anyone else becomes a new contact with a new
// thread.
func (s *Service) StartSession(ctx context.Context, tenantName string, req SessionRequest) (Session, error) {
	t := tenant.MustFrom(ctx)
	var v Visitor
	var found bool
	switch {
	case req.ResumeKey != "":
		var err error
		v, err = s.store.VisitorByResumeKey(ctx, t, hashKey(req.ResumeKey))
		if err != nil {
			if errs.KindOf(err) == errs.KindNotFound {
				return Session{}, errs.Unauthenticated("InvalidResumeKey", "the resume key is unknown; start a new session without it")
			}
			return Session{}, err
		}
		found = true
	case req.VisitorToken != "":
		cid, err := s.parseVisitorToken(t, req.VisitorToken)
		if err != nil {
			return Session{}, err
		}
		v, err = s.store.VisitorByContact(ctx, t, cid)
		switch {
		case err == nil:
			found = true
		case errs.KindOf(err) == errs.KindNotFound:
			v.Contact = cid
		default:
			return Session{}, err
		}
	}
	settings, err := s.Settings(ctx, tenantName)
	if err != nil {
		return Session{}, err
	}
	if !found {
		if err := checkFields(settings, req, v.Contact != ""); err != nil {
			return Session{}, err
		}
	}
	tokReq := identity.TokenRequest{Scopes: []string{string(identity.ScopeChat)}, ExpiresInMinutes: SessionTokenMinutes}
	var issued identity.IssuedToken
	if found {
		if issued, err = s.ids.IssueToken(ctx, identity.UserID(v.Identity), tokReq); err != nil {
			return Session{}, err
		}
		// A thread deleted since (by the business or retention) gives way
		// to a new one for the same visitor.
		if _, err := s.chat.GetThread(ctx, v.Identity, v.Thread); err != nil {
			if errs.KindOf(err) != errs.KindNotFound && errs.KindOf(err) != errs.KindForbidden {
				return Session{}, err
			}
			if v.Thread, err = s.openThread(ctx, v, req.Locale, ""); err != nil {
				return Session{}, err
			}
			if err := s.store.SaveVisitor(ctx, v); err != nil {
				return Session{}, err
			}
		}
	} else {
		if v, issued, err = s.newVisitor(ctx, v.Contact, settings, req); err != nil {
			return Session{}, err
		}
	}
	key := req.ResumeKey
	if key == "" {
		key = newResumeKey()
		if err := s.store.AddResumeKey(ctx, t, hashKey(key), v.Identity, s.now().UTC()); err != nil {
			return Session{}, err
		}
	}
	return Session{Token: issued, Identity: v.Identity, Thread: v.Thread, ResumeKey: key, Contact: v.Contact}, nil
}

// checkFields enforces the pre-chat form; identified visitors skip it.
func checkFields(st Settings, req SessionRequest, identified bool) error {
	if len(req.Fields) > 20 {
		return errs.Invalid("InvalidFields", "too many fields").WithTarget("fields")
	}
	known := map[string]Field{}
	for _, f := range st.PreChatFields {
		known[f.Name] = f
	}
	for k, v := range req.Fields {
		f, ok := known[k]
		if !ok {
			return errs.Invalid("UnknownField", "field %q is not in the pre-chat form", k).WithTarget("fields." + k)
		}
		if len(v) > 1024 {
			return errs.Invalid("InvalidField", "field %q is too long", k).WithTarget("fields." + k)
		}
		if f.Type == "email" && v != "" {
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
				return errs.Invalid("InvalidField", "field %q must be an e-mail address", k).WithTarget("fields." + k)
			}
		}
	}
	if identified {
		return nil
	}
	for _, f := range st.PreChatFields {
		if f.Required && strings.TrimSpace(req.Fields[f.Name]) == "" && !(f.Name == "name" && req.DisplayName != "") {
			return errs.Invalid("MissingField", "field %q is required", f.Name).WithTarget("fields." + f.Name)
		}
	}
	return nil
}

func (s *Service) newVisitor(ctx context.Context, cid contact.ID, st Settings, req SessionRequest) (Visitor, identity.IssuedToken, error) {
	t := tenant.MustFrom(ctx)
	name := strings.TrimSpace(req.DisplayName)
	if name == "" {
		name = strings.TrimSpace(req.Fields["name"])
	}
	id, issued, err := s.ids.CreateIdentity(ctx, "", &identity.TokenRequest{Scopes: []string{string(identity.ScopeChat)}, ExpiresInMinutes: SessionTokenMinutes})
	if err != nil {
		return Visitor{}, identity.IssuedToken{}, err
	}
	handle := contact.Handle{Kind: contact.HandleIdentity, Value: string(id.ID)}
	if cid == "" {
		fields := map[string]string{}
		var hs []contact.Handle
		for k, v := range req.Fields {
			if v == "" || k == "name" {
				continue
			}
			fields[k] = v
		}
		if e := req.Fields["email"]; e != "" {
			if _, err := s.contacts.ByHandle(ctx, contact.Handle{Kind: contact.HandleEmail, Value: e}); errs.KindOf(err) == errs.KindNotFound {
				hs = append(hs, contact.Handle{Kind: contact.HandleEmail, Value: e})
			}
		}
		c, err := s.contacts.Create(ctx, contact.Contact{DisplayName: name, Fields: fields, Handles: append(hs, handle)})
		if err != nil {
			return Visitor{}, identity.IssuedToken{}, err
		}
		cid = c.ID
	} else if _, err := s.contacts.Attach(ctx, cid, handle); err != nil {
		return Visitor{}, identity.IssuedToken{}, err
	}
	v := Visitor{Tenant: t, Identity: string(id.ID), Contact: cid, CreatedAt: s.now().UTC()}
	if v.Thread, err = s.openThread(ctx, v, req.Locale, name); err != nil {
		return Visitor{}, identity.IssuedToken{}, err
	}
	if err := s.store.SaveVisitor(ctx, v); err != nil {
		return Visitor{}, identity.IssuedToken{}, err
	}
	return v, *issued, nil
}

func (s *Service) openThread(ctx context.Context, v Visitor, locale, name string) (conversation.ThreadID, error) {
	if name == "" {
		if c, err := s.contacts.Get(ctx, v.Contact); err == nil {
			name = c.DisplayName
		}
	}
	th, _, err := s.chat.CreateThread(ctx, v.Identity, conversation.CreateThreadInput{
		Topic:        "Web chat",
		Participants: []conversation.ParticipantInput{{ID: v.Identity, DisplayName: name}},
		Metadata:     map[string]string{"channel": "webchat", "contactId": string(v.Contact), "locale": normalizeLocale(locale)},
	})
	if err != nil {
		return "", err
	}
	if err := s.contacts.LinkThread(ctx, v.Contact, string(th.ID)); err != nil {
		return "", err
	}
	return th.ID, nil
}
