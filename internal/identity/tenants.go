package identity

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// TenantStore persists tenants and their access keys.
type TenantStore interface {
	CreateTenant(ctx context.Context, t tenant.Tenant) error
	Tenant(ctx context.Context, id tenant.ID) (tenant.Tenant, error)
	TenantByName(ctx context.Context, name string) (tenant.Tenant, error)
	Tenants(ctx context.Context) ([]tenant.Tenant, error)
	CreateAccessKey(ctx context.Context, k AccessKey) error
	RevokeAccessKey(ctx context.Context, t tenant.ID, id KeyID, at time.Time) error
	AccessKeys(ctx context.Context, t tenant.ID) ([]AccessKey, error)
	// ActiveAccessKeys returns every tenant's unrevoked keys.
	ActiveAccessKeys(ctx context.Context) ([]AccessKey, error)
}

// Tenants creates tenants and manages their access keys.
type Tenants struct {
	store TenantStore
	tx    Transactor
	now   func() time.Time
}

// NewTenants wires tenant administration.
func NewTenants(store TenantStore, tx Transactor) *Tenants {
	return &Tenants{store: store, tx: tx, now: time.Now}
}

// Create makes a tenant with one access key.
func (ts *Tenants) Create(ctx context.Context, name string) (tenant.Tenant, AccessKey, error) {
	if err := tenant.ValidateName(name); err != nil {
		return tenant.Tenant{}, AccessKey{}, err
	}
	t := tenant.Tenant{ID: tenant.ID(uuid.NewString()), Name: name, CreatedAt: ts.now().UTC()}
	k := newKey(t.ID, t.CreatedAt)
	err := ts.tx.InTx(ctx, func(ctx context.Context) error {
		if err := ts.store.CreateTenant(ctx, t); err != nil {
			return err
		}
		return ts.store.CreateAccessKey(ctx, k)
	})
	return t, k, err
}

// Ensure returns the tenant called name, creating it if needed; the key
// returned is its newest active key.
func (ts *Tenants) Ensure(ctx context.Context, name string) (tenant.Tenant, AccessKey, bool, error) {
	t, err := ts.store.TenantByName(ctx, name)
	if errs.KindOf(err) == errs.KindNotFound {
		t, k, err := ts.Create(ctx, name)
		return t, k, true, err
	}
	if err != nil {
		return tenant.Tenant{}, AccessKey{}, false, err
	}
	keys, err := ts.store.AccessKeys(ctx, t.ID)
	if err != nil {
		return tenant.Tenant{}, AccessKey{}, false, err
	}
	for i := len(keys) - 1; i >= 0; i-- {
		if keys[i].RevokedAt == nil {
			return t, keys[i], false, nil
		}
	}
	k := newKey(t.ID, ts.now().UTC())
	return t, k, false, ts.store.CreateAccessKey(ctx, k)
}

// Get finds a tenant by id.
func (ts *Tenants) Get(ctx context.Context, id tenant.ID) (tenant.Tenant, error) {
	return ts.store.Tenant(ctx, id)
}

// ByName finds a tenant.
func (ts *Tenants) ByName(ctx context.Context, name string) (tenant.Tenant, error) {
	return ts.store.TenantByName(ctx, name)
}

// RotateKey adds a new key; the old ones stay valid until revoked.
func (ts *Tenants) RotateKey(ctx context.Context, name string) (AccessKey, error) {
	t, err := ts.store.TenantByName(ctx, name)
	if err != nil {
		return AccessKey{}, err
	}
	k := newKey(t.ID, ts.now().UTC())
	return k, ts.store.CreateAccessKey(ctx, k)
}

// RevokeKey makes one key invalid. The last active key cannot be revoked,
// so a tenant is never locked out of its own API.
func (ts *Tenants) RevokeKey(ctx context.Context, name string, id KeyID) error {
	t, err := ts.store.TenantByName(ctx, name)
	if err != nil {
		return err
	}
	return ts.tx.InTx(ctx, func(ctx context.Context) error {
		keys, err := ts.store.AccessKeys(ctx, t.ID)
		if err != nil {
			return err
		}
		active := 0
		for _, k := range keys {
			if k.RevokedAt == nil {
				active++
			}
		}
		if active <= 1 {
			return errs.Conflict("LastAccessKey", "tenant %s has only one active key; rotate before revoking", name)
		}
		return ts.store.RevokeAccessKey(ctx, t.ID, id, ts.now().UTC())
	})
}

// Keys lists a tenant's keys, revoked ones included.
func (ts *Tenants) Keys(ctx context.Context, name string) ([]AccessKey, error) {
	t, err := ts.store.TenantByName(ctx, name)
	if err != nil {
		return nil, err
	}
	return ts.store.AccessKeys(ctx, t.ID)
}

func newKey(t tenant.ID, now time.Time) AccessKey {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic(err)
	}
	return AccessKey{ID: KeyID(uuid.NewString()), Tenant: t, Secret: secret, CreatedAt: now}
}

// KeyRing answers "which tenant's key made this signature" from memory. Keys
// change rarely and may change in another process (the CLI, another node),
// so the ring reloads on a timer and, rate-limited, when nothing matches.
type KeyRing struct {
	store   KeySource
	maxAge  time.Duration
	mu      sync.RWMutex
	keys    []AccessKey
	loaded  time.Time
	reloadM sync.Mutex
	now     func() time.Time
}

// KeySource lists every tenant's active access keys.
type KeySource interface {
	ActiveAccessKeys(ctx context.Context) ([]AccessKey, error)
}

// NewKeyRing builds a ring that is never older than maxAge.
func NewKeyRing(store KeySource, maxAge time.Duration) *KeyRing {
	return &KeyRing{store: store, maxAge: maxAge, now: time.Now}
}

// Match returns the tenant whose active key verifies the signature. hint,
// when set, is tried first (the tenant of the request's host name).
func (kr *KeyRing) Match(ctx context.Context, hint tenant.ID, stringToSign, signature string) (tenant.ID, bool) {
	start := kr.now()
	if kr.stale() {
		kr.reload(ctx, start)
	}
	if t, ok := kr.match(hint, stringToSign, signature); ok {
		return t, true
	}
	// Perhaps a key created a moment ago by another process. Concurrent
	// misses share one reload (whoever waited finds it done after start);
	// failed authentications are rate limited per client by the API, which
	// bounds how often this reaches the database.
	if kr.reload(ctx, start) {
		return kr.match(hint, stringToSign, signature)
	}
	return "", false
}

// Invalidate forces the next Match to reload.
func (kr *KeyRing) Invalidate() {
	kr.mu.Lock()
	kr.loaded = time.Time{}
	kr.mu.Unlock()
}

func (kr *KeyRing) stale() bool {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.now().Sub(kr.loaded) > kr.maxAge
}

func (kr *KeyRing) match(hint tenant.ID, sts, sig string) (tenant.ID, bool) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	if hint != "" {
		for _, k := range kr.keys {
			if k.Tenant == hint && VerifySignature(k.Secret, sts, sig) {
				return k.Tenant, true
			}
		}
		return "", false
	}
	for _, k := range kr.keys {
		if VerifySignature(k.Secret, sts, sig) {
			return k.Tenant, true
		}
	}
	return "", false
}

// reload refreshes the ring unless another reload finished after since,
// in which case the ring is already as fresh as this caller needs.
func (kr *KeyRing) reload(ctx context.Context, since time.Time) bool {
	kr.reloadM.Lock()
	defer kr.reloadM.Unlock()
	kr.mu.RLock()
	fresh := kr.loaded.After(since)
	kr.mu.RUnlock()
	if fresh {
		return true
	}
	keys, err := kr.store.ActiveAccessKeys(ctx)
	if err != nil {
		slog.WarnContext(ctx, "access keys reload failed", "err", err)
		return false
	}
	kr.mu.Lock()
	kr.keys, kr.loaded = keys, kr.now()
	kr.mu.Unlock()
	return true
}
