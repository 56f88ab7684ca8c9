// Package storetest is the store's contract suite: every method of
// store.Store, its tenant scoping, its optimistic concurrency and its
// behaviour under concurrent callers, run against each SQL engine the store
// supports (store_test.go runs it on SQLite and on PostgreSQL).
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/store"
	"github.com/switchboard-cc/switchboard/internal/tenant"
	"github.com/switchboard-cc/switchboard/internal/webhook"
)

// Run runs the whole contract against stores made by open. Every subtest
// opens its own store, which must be empty and migrated; open registers
// whatever clean-up the store needs with t.
func Run(t *testing.T, open func(t *testing.T) *store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"Tenants", testTenants},
		{"AccessKeys", testAccessKeys},
		{"ServerSecret", testServerSecret},
		{"Identities", testIdentities},
		{"People", testPeople},
		{"PeoplePaging", testPeoplePaging},
		{"Sessions", testSessions},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"IdempotencyExpiry", testIdempotencyExpiry},
		{"Outbox", testOutbox},
		{"OutboxRollback", testOutboxRollback},
		{"OutboxExclusiveRelay", testOutboxExclusive},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"TransactionsConcurrent", testTransactionsConcurrent},
		{"Subscriptions", testSubscriptions},
		{"DeadLetters", testDeadLetters},
		{"ChatMessagesConcurrent", testChatMessagesConcurrent},
		{"ChatErasureAndPurge", testChatErasureAndPurge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// now is a base time with the store's precision (microseconds).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err error, kind errs.Kind, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, kind)
	}
	if got := errs.KindOf(err); got != kind {
		t.Fatalf("%s: error %v is %s, want %s", what, err, got, kind)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func newTenant(t *testing.T, s *store.Store, name string) tenant.Tenant {
	t.Helper()
	tn := tenant.Tenant{ID: tenant.ID(uuid.NewString()), Name: name, CreatedAt: now()}
	must(t, s.CreateTenant(context.Background(), tn))
	return tn
}

func newPerson(t *testing.T, s *store.Store, tn tenant.ID, username string) identity.Person {
	t.Helper()
	at := now()
	p := identity.Person{ID: identity.PersonID(uuid.NewString()), Tenant: tn, Username: username, DisplayName: "Person " + username,
		Role: identity.RoleAgent, PasswordHash: "$argon2id$hash-of-" + username, CreatedAt: at, UpdatedAt: at, Version: 1}
	must(t, s.CreatePerson(context.Background(), p))
	return p
}

// raw reads one column of one row directly, bypassing the store's methods.
func raw(t *testing.T, s *store.Store, query string, args ...any) []byte {
	t.Helper()
	var b []byte
	if err := s.DB().RawQueryRow(context.Background(), query, args...).Scan(&b); err != nil {
		t.Fatalf("raw %q: %v", query, err)
	}
	return b
}

// wantSealed checks a secret column holds neither the plaintext nor any
// recognisable part of it.
func wantSealed(t *testing.T, stored, plain []byte, what string) {
	t.Helper()
	if len(stored) == 0 {
		t.Fatalf("%s: nothing stored", what)
	}
	if bytes.Equal(stored, plain) || bytes.Contains(stored, plain[:16]) {
		t.Fatalf("%s is stored in plaintext", what)
	}
}

func testTenants(t *testing.T, s *store.Store) {
	ctx := context.Background()
	beta := newTenant(t, s, "beta")
	alpha := newTenant(t, s, "alpha")
	wantKind(t, s.CreateTenant(ctx, tenant.Tenant{ID: tenant.ID(uuid.NewString()), Name: "alpha", CreatedAt: now()}), errs.KindConflict, "duplicate tenant name")

	got, err := s.Tenant(ctx, alpha.ID)
	must(t, err)
	if got.ID != alpha.ID || got.Name != "alpha" || !got.CreatedAt.Equal(alpha.CreatedAt) {
		t.Fatalf("Tenant = %+v, want %+v", got, alpha)
	}
	got, err = s.TenantByName(ctx, "beta")
	must(t, err)
	if got.ID != beta.ID || !got.CreatedAt.Equal(beta.CreatedAt) {
		t.Fatalf("TenantByName = %+v, want %+v", got, beta)
	}
	_, err = s.Tenant(ctx, tenant.ID(uuid.NewString()))
	wantKind(t, err, errs.KindNotFound, "unknown tenant id")
	_, err = s.TenantByName(ctx, "gamma")
	wantKind(t, err, errs.KindNotFound, "unknown tenant name")

	all, err := s.Tenants(ctx)
	must(t, err)
	if len(all) != 2 || all[0].ID != alpha.ID || all[1].ID != beta.ID {
		t.Fatalf("Tenants = %+v, want alpha then beta", all)
	}
}

func testAccessKeys(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	base := now()
	k1 := identity.AccessKey{ID: identity.KeyID(uuid.NewString()), Tenant: a.ID, Secret: randomBytes(32), CreatedAt: base}
	k2 := identity.AccessKey{ID: identity.KeyID(uuid.NewString()), Tenant: a.ID, Secret: randomBytes(32), CreatedAt: base.Add(time.Second)}
	kb := identity.AccessKey{ID: identity.KeyID(uuid.NewString()), Tenant: b.ID, Secret: randomBytes(32), CreatedAt: base.Add(2 * time.Second)}
	for _, k := range []identity.AccessKey{k1, k2, kb} {
		must(t, s.CreateAccessKey(ctx, k))
	}

	wantSealed(t, raw(t, s, `SELECT secret FROM access_keys WHERE id = $1`, string(k1.ID)), k1.Secret, "access key secret")

	keys, err := s.AccessKeys(ctx, a.ID)
	must(t, err)
	if len(keys) != 2 || keys[0].ID != k1.ID || keys[1].ID != k2.ID {
		t.Fatalf("AccessKeys(a) = %+v, want k1, k2 (oldest first)", keys)
	}
	for i, want := range []identity.AccessKey{k1, k2} {
		got := keys[i]
		if got.Tenant != a.ID || !bytes.Equal(got.Secret, want.Secret) || !got.CreatedAt.Equal(want.CreatedAt) || got.RevokedAt != nil {
			t.Fatalf("key %d = %+v, want %+v", i, got, want)
		}
	}

	active, err := s.ActiveAccessKeys(ctx)
	must(t, err)
	if ids := keyIDs(active); !slices.Equal(ids, []identity.KeyID{kb.ID, k2.ID, k1.ID}) {
		t.Fatalf("ActiveAccessKeys = %v, want newest first: %v", ids, []identity.KeyID{kb.ID, k2.ID, k1.ID})
	}

	revokedAt := base.Add(time.Minute)
	wantKind(t, s.RevokeAccessKey(ctx, b.ID, k1.ID, revokedAt), errs.KindNotFound, "revoke another tenant's key")
	wantKind(t, s.RevokeAccessKey(ctx, a.ID, identity.KeyID(uuid.NewString()), revokedAt), errs.KindNotFound, "revoke unknown key")
	must(t, s.RevokeAccessKey(ctx, a.ID, k1.ID, revokedAt))
	wantKind(t, s.RevokeAccessKey(ctx, a.ID, k1.ID, revokedAt), errs.KindNotFound, "revoke twice")

	keys, err = s.AccessKeys(ctx, a.ID)
	must(t, err)
	if len(keys) != 2 || keys[0].RevokedAt == nil || !keys[0].RevokedAt.Equal(revokedAt) || keys[1].RevokedAt != nil {
		t.Fatalf("after revoke AccessKeys(a) = %+v", keys)
	}
	active, err = s.ActiveAccessKeys(ctx)
	must(t, err)
	if ids := keyIDs(active); !slices.Equal(ids, []identity.KeyID{kb.ID, k2.ID}) {
		t.Fatalf("ActiveAccessKeys after revoke = %v", ids)
	}
	keys, err = s.AccessKeys(ctx, tenant.ID(uuid.NewString()))
	must(t, err)
	if len(keys) != 0 {
		t.Fatalf("unknown tenant has keys: %+v", keys)
	}
}

func keyIDs(keys []identity.AccessKey) []identity.KeyID {
	out := make([]identity.KeyID, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}

func testServerSecret(t *testing.T, s *store.Store) {
	ctx := context.Background()
	const callers = 16
	var generated atomic.Int32
	values := make([][]byte, callers)
	failures := make([]error, callers)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			values[i], failures[i] = s.ServerSecret(ctx, "signing", func() []byte {
				generated.Add(1)
				return randomBytes(32)
			})
		}()
	}
	start.Done()
	wg.Wait()
	for i := range callers {
		if failures[i] != nil {
			t.Fatalf("caller %d: %v", i, failures[i])
		}
		if len(values[i]) != 32 || !bytes.Equal(values[i], values[0]) {
			t.Fatalf("caller %d got %x, caller 0 got %x: concurrent callers must get the same secret", i, values[i], values[0])
		}
	}
	if generated.Load() == 0 {
		t.Fatal("generate never called")
	}
	wantSealed(t, raw(t, s, `SELECT value FROM server_secrets WHERE name = $1`, "signing"), values[0], "server secret")

	again, err := s.ServerSecret(ctx, "signing", func() []byte {
		t.Error("generate called for an existing secret")
		return randomBytes(32)
	})
	must(t, err)
	if !bytes.Equal(again, values[0]) {
		t.Fatal("server secret changed between calls")
	}
	other, err := s.ServerSecret(ctx, "other", func() []byte { return randomBytes(32) })
	must(t, err)
	if bytes.Equal(other, values[0]) {
		t.Fatal("two secret names share a value")
	}
}

func testIdentities(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	created := now()
	id1 := identity.Identity{ID: identity.NewUserID(a.ID, uuid.NewString()), Tenant: a.ID, CustomID: "customer-1", CreatedAt: created}
	must(t, s.CreateIdentity(ctx, id1))

	got, err := s.Identity(ctx, a.ID, id1.ID)
	must(t, err)
	if got.ID != id1.ID || got.Tenant != a.ID || got.CustomID != "customer-1" || !got.CreatedAt.Equal(created) ||
		got.LastTokenIssuedAt != nil || got.TokenEpoch != 0 || got.DeletedAt != nil {
		t.Fatalf("Identity = %+v, want %+v", got, id1)
	}
	_, err = s.Identity(ctx, b.ID, id1.ID)
	wantKind(t, err, errs.KindNotFound, "another tenant's identity")
	_, err = s.Identity(ctx, a.ID, identity.NewUserID(a.ID, uuid.NewString()))
	wantKind(t, err, errs.KindNotFound, "unknown identity")

	dupCustom := identity.Identity{ID: identity.NewUserID(a.ID, uuid.NewString()), Tenant: a.ID, CustomID: "customer-1", CreatedAt: created}
	wantKind(t, s.CreateIdentity(ctx, dupCustom), errs.KindConflict, "duplicate customId in one tenant")
	must(t, s.CreateIdentity(ctx, identity.Identity{ID: identity.NewUserID(b.ID, uuid.NewString()), Tenant: b.ID, CustomID: "customer-1", CreatedAt: created}))
	wantKind(t, s.CreateIdentity(ctx, identity.Identity{ID: id1.ID, Tenant: a.ID, CreatedAt: created}), errs.KindConflict, "duplicate id")
	// Identities without a customId never collide.
	for range 2 {
		must(t, s.CreateIdentity(ctx, identity.Identity{ID: identity.NewUserID(a.ID, uuid.NewString()), Tenant: a.ID, CreatedAt: created}))
	}

	issued := created.Add(time.Minute)
	must(t, s.SetTokenIssued(ctx, a.ID, id1.ID, issued))
	got, err = s.Identity(ctx, a.ID, id1.ID)
	must(t, err)
	if got.LastTokenIssuedAt == nil || !got.LastTokenIssuedAt.Equal(issued) {
		t.Fatalf("LastTokenIssuedAt = %v, want %v", got.LastTokenIssuedAt, issued)
	}
	// Another tenant cannot touch it.
	must(t, s.SetTokenIssued(ctx, b.ID, id1.ID, issued.Add(time.Hour)))
	got, _ = s.Identity(ctx, a.ID, id1.ID)
	if !got.LastTokenIssuedAt.Equal(issued) {
		t.Fatal("SetTokenIssued of another tenant changed the identity")
	}

	_, err = s.BumpTokenEpoch(ctx, b.ID, id1.ID)
	wantKind(t, err, errs.KindNotFound, "bump another tenant's identity")
	for want := int64(1); want <= 2; want++ {
		epoch, err := s.BumpTokenEpoch(ctx, a.ID, id1.ID)
		must(t, err)
		if epoch != want {
			t.Fatalf("BumpTokenEpoch = %d, want %d", epoch, want)
		}
	}
	got, _ = s.Identity(ctx, a.ID, id1.ID)
	if got.TokenEpoch != 2 {
		t.Fatalf("TokenEpoch = %d, want 2", got.TokenEpoch)
	}

	deleted := created.Add(time.Hour)
	wantKind(t, s.DeleteIdentity(ctx, b.ID, id1.ID, deleted), errs.KindNotFound, "delete another tenant's identity")
	must(t, s.DeleteIdentity(ctx, a.ID, id1.ID, deleted))
	_, err = s.Identity(ctx, a.ID, id1.ID)
	wantKind(t, err, errs.KindNotFound, "deleted identity")
	wantKind(t, s.DeleteIdentity(ctx, a.ID, id1.ID, deleted), errs.KindNotFound, "delete twice")
	_, err = s.BumpTokenEpoch(ctx, a.ID, id1.ID)
	wantKind(t, err, errs.KindNotFound, "bump a deleted identity")

	// A tombstone: the row stays, with its epoch bumped past every token
	// and its customId freed; the id is never handed out again.
	var deletedAt, epoch int64
	if err := s.DB().RawQueryRow(ctx, `SELECT deleted_at, token_epoch FROM identities WHERE id = $1`, string(id1.ID)).Scan(&deletedAt, &epoch); err != nil {
		t.Fatalf("tombstone: %v", err)
	}
	if deletedAt != deleted.UnixMicro() || epoch != 3 {
		t.Fatalf("tombstone deleted_at=%d token_epoch=%d, want %d and 3", deletedAt, epoch, deleted.UnixMicro())
	}
	wantKind(t, s.CreateIdentity(ctx, identity.Identity{ID: id1.ID, Tenant: a.ID, CreatedAt: deleted}), errs.KindConflict, "reuse a deleted id")
	must(t, s.CreateIdentity(ctx, identity.Identity{ID: identity.NewUserID(a.ID, uuid.NewString()), Tenant: a.ID, CustomID: "customer-1", CreatedAt: deleted}))
}

func samePerson(t *testing.T, got, want identity.Person) {
	t.Helper()
	if got.ID != want.ID || got.Tenant != want.Tenant || got.Username != want.Username || got.DisplayName != want.DisplayName ||
		got.Role != want.Role || got.PasswordHash != want.PasswordHash || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.UpdatedAt.Equal(want.UpdatedAt) || got.Version != want.Version {
		t.Fatalf("person = %+v, want %+v", got, want)
	}
}

func testPeople(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	p := newPerson(t, s, a.ID, "ayu")

	got, err := s.Person(ctx, a.ID, p.ID)
	must(t, err)
	samePerson(t, got, p)
	got, err = s.PersonByUsername(ctx, a.ID, "ayu")
	must(t, err)
	samePerson(t, got, p)
	_, err = s.Person(ctx, b.ID, p.ID)
	wantKind(t, err, errs.KindNotFound, "another tenant's person")
	_, err = s.PersonByUsername(ctx, b.ID, "ayu")
	wantKind(t, err, errs.KindNotFound, "another tenant's username")

	dup := p
	dup.ID = identity.PersonID(uuid.NewString())
	wantKind(t, s.CreatePerson(ctx, dup), errs.KindConflict, "duplicate username in one tenant")
	pb := newPerson(t, s, b.ID, "ayu") // the same username in another tenant is fine

	next := p
	next.DisplayName, next.Role, next.PasswordHash = "Ayu Admin", identity.RoleAdmin, "new-hash"
	next.UpdatedAt, next.Version = p.UpdatedAt.Add(time.Minute), 2
	must(t, s.UpdatePerson(ctx, next))
	got, err = s.Person(ctx, a.ID, p.ID)
	must(t, err)
	samePerson(t, got, next)

	stale := p // read before the update above
	stale.DisplayName, stale.Version = "Lost update", 2
	wantKind(t, s.UpdatePerson(ctx, stale), errs.KindPreconditionFailed, "update from a stale version")
	cross := next
	cross.Tenant, cross.Version = b.ID, 3
	wantKind(t, s.UpdatePerson(ctx, cross), errs.KindPreconditionFailed, "update through another tenant")
	got, _ = s.Person(ctx, a.ID, p.ID)
	samePerson(t, got, next)

	wantKind(t, s.DeletePerson(ctx, b.ID, p.ID), errs.KindNotFound, "delete another tenant's person")
	must(t, s.DeletePerson(ctx, a.ID, p.ID))
	_, err = s.Person(ctx, a.ID, p.ID)
	wantKind(t, err, errs.KindNotFound, "deleted person")
	wantKind(t, s.DeletePerson(ctx, a.ID, p.ID), errs.KindNotFound, "delete twice")
	if _, err := s.Person(ctx, b.ID, pb.ID); err != nil {
		t.Fatalf("deleting a's person touched b's: %v", err)
	}
	// The username is free again.
	newPerson(t, s, a.ID, "ayu")
}

func testPeoplePaging(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	var want []identity.PersonID
	for i := range 7 {
		at := now()
		p := identity.Person{ID: identity.PersonID(fmt.Sprintf("person-%02d", i)), Tenant: a.ID, Username: fmt.Sprintf("user%d", i),
			DisplayName: "P", Role: identity.RoleAgent, PasswordHash: "h", CreatedAt: at, UpdatedAt: at, Version: 1}
		must(t, s.CreatePerson(ctx, p))
		want = append(want, p.ID)
	}
	newPerson(t, s, b.ID, "other")

	var seen []identity.PersonID
	var after identity.PersonID
	var pages []int
	for {
		page, err := s.People(ctx, a.ID, after, 3)
		must(t, err)
		pages = append(pages, len(page))
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			if p.Tenant != a.ID {
				t.Fatalf("People(a) returned %+v", p)
			}
			seen = append(seen, p.ID)
		}
		after = page[len(page)-1].ID
	}
	if !slices.Equal(seen, want) || !slices.Equal(pages, []int{3, 3, 1, 0}) {
		t.Fatalf("paged %v in pages %v, want %v in pages [3 3 1 0]", seen, pages, want)
	}
}

func testSessions(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	p, other := newPerson(t, s, a.ID, "ayu"), newPerson(t, s, a.ID, "budi")
	base := now()
	mk := func(hash string, person identity.Person, ttl time.Duration) identity.Session {
		ss := identity.Session{TokenHash: hash, Tenant: person.Tenant, Person: person.ID, CSRF: "csrf-" + hash, CreatedAt: base, ExpiresAt: base.Add(ttl)}
		must(t, s.CreateSession(ctx, ss))
		return ss
	}
	alive := func(hash string, at time.Time) bool {
		t.Helper()
		_, err := s.Session(ctx, hash, at)
		if err != nil && errs.KindOf(err) != errs.KindNotFound {
			t.Fatal(err)
		}
		return err == nil
	}

	s1 := mk("h1", p, time.Hour)
	got, err := s.Session(ctx, "h1", base)
	must(t, err)
	if got.TokenHash != "h1" || got.Tenant != a.ID || got.Person != p.ID || got.CSRF != s1.CSRF ||
		!got.CreatedAt.Equal(base) || !got.ExpiresAt.Equal(s1.ExpiresAt) {
		t.Fatalf("Session = %+v, want %+v", got, s1)
	}
	if !alive("h1", base.Add(time.Hour-time.Microsecond)) || alive("h1", base.Add(time.Hour)) || alive("h1", base.Add(2*time.Hour)) {
		t.Fatal("a session must be valid until, and not at, its expiry")
	}
	_, err = s.Session(ctx, "unknown", base)
	wantKind(t, err, errs.KindNotFound, "unknown session")

	mk("h2", p, 10*time.Minute)
	n, err := s.DeleteExpiredSessions(ctx, base.Add(30*time.Minute))
	must(t, err)
	if n != 1 || alive("h2", base) || !alive("h1", base) {
		t.Fatalf("DeleteExpiredSessions removed %d; h2 alive=%v h1 alive=%v", n, alive("h2", base), alive("h1", base))
	}

	must(t, s.DeleteSession(ctx, "h1"))
	if alive("h1", base) {
		t.Fatal("deleted session still valid")
	}
	must(t, s.DeleteSession(ctx, "h1")) // deleting nothing is fine (logout twice)

	mk("h3", p, time.Hour)
	mk("h4", p, time.Hour)
	mk("h5", other, time.Hour)
	must(t, s.DeletePersonSessions(ctx, b.ID, p.ID)) // another tenant: nothing happens
	if !alive("h3", base) {
		t.Fatal("DeletePersonSessions of another tenant removed a session")
	}
	must(t, s.DeletePersonSessions(ctx, a.ID, p.ID))
	if alive("h3", base) || alive("h4", base) || !alive("h5", base) {
		t.Fatal("DeletePersonSessions must remove exactly that person's sessions")
	}
	must(t, s.DeletePerson(ctx, a.ID, other.ID))
	if alive("h5", base) {
		t.Fatal("a deleted person's session still valid")
	}
}

func testIdempotency(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	base := now()
	const stale = time.Minute
	reserve := func(tn tenant.ID, key, fp string, at time.Time) (bool, string, int) {
		t.Helper()
		r, ok, err := s.ReserveIdempotencyKey(ctx, tn, key, fp, at, stale)
		must(t, err)
		return ok, r.Fingerprint, r.Status
	}

	if ok, fp, _ := reserve(a.ID, "k1", "fp1", base); !ok || fp != "fp1" {
		t.Fatalf("first reservation: reserved=%v fingerprint=%q", ok, fp)
	}
	if ok, fp, status := reserve(a.ID, "k1", "fp1", base.Add(time.Second)); ok || fp != "fp1" || status != 0 {
		t.Fatalf("second reservation while running: reserved=%v fingerprint=%q status=%d", ok, fp, status)
	}
	if ok, _, _ := reserve(b.ID, "k1", "fp1", base); !ok {
		t.Fatal("the same key in another tenant must be free")
	}

	must(t, s.CompleteIdempotencyKey(ctx, a.ID, "k1", 201, "Location: /things/1", []byte(`{"id":"1"}`)))
	r, ok, err := s.ReserveIdempotencyKey(ctx, a.ID, "k1", "fp1", base.Add(2*time.Second), stale)
	must(t, err)
	if ok || r.Status != 201 || r.Headers != "Location: /things/1" || string(r.Body) != `{"id":"1"}` || r.Fingerprint != "fp1" || !r.CreatedAt.Equal(base) {
		t.Fatalf("replay: reserved=%v response=%+v", ok, r)
	}
	// A completed response is kept however old, and releasing it does nothing.
	must(t, s.ReleaseIdempotencyKey(ctx, a.ID, "k1"))
	if ok, _, status := reserve(a.ID, "k1", "fp2", base.Add(time.Hour)); ok || status != 201 {
		t.Fatalf("completed key after an hour and a release: reserved=%v status=%d", ok, status)
	}

	// A reservation whose request never finished is taken over once stale.
	reserve(a.ID, "k2", "fpA", base)
	if ok, _, _ := reserve(a.ID, "k2", "fpB", base.Add(stale/2)); ok {
		t.Fatal("a fresh reservation was taken over")
	}
	if ok, fp, _ := reserve(a.ID, "k2", "fpB", base.Add(2*stale)); !ok || fp != "fpB" {
		t.Fatalf("stale takeover: reserved=%v fingerprint=%q", ok, fp)
	}
	if ok, fp, _ := reserve(a.ID, "k2", "fpC", base.Add(2*stale+time.Second)); ok || fp != "fpB" {
		t.Fatalf("after takeover: reserved=%v fingerprint=%q", ok, fp)
	}

	// Release forgets a failed attempt so a retry runs again.
	reserve(a.ID, "k3", "fp", base)
	must(t, s.ReleaseIdempotencyKey(ctx, b.ID, "k3")) // another tenant: no effect
	if ok, _, _ := reserve(a.ID, "k3", "fp", base); ok {
		t.Fatal("release through another tenant freed the key")
	}
	must(t, s.ReleaseIdempotencyKey(ctx, a.ID, "k3"))
	if ok, _, _ := reserve(a.ID, "k3", "fp", base); !ok {
		t.Fatal("a released key must be reservable again")
	}
}

func testIdempotencyConcurrent(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a := newTenant(t, s, "a")
	base := now()
	const callers = 16
	race := func(key string, at time.Time) int {
		t.Helper()
		var won atomic.Int32
		var start, wg sync.WaitGroup
		start.Add(1)
		errc := make(chan error, callers)
		for i := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				_, ok, err := s.ReserveIdempotencyKey(ctx, a.ID, key, fmt.Sprintf("fp%d", i), at, time.Minute)
				if err != nil {
					errc <- err
					return
				}
				if ok {
					won.Add(1)
				}
			}()
		}
		start.Done()
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		return int(won.Load())
	}
	if n := race("fresh", base); n != 1 {
		t.Fatalf("%d concurrent callers reserved one new key", n)
	}
	if n := race("fresh", base.Add(2*time.Minute)); n != 1 {
		t.Fatalf("%d concurrent callers took over one stale reservation", n)
	}
}

func testIdempotencyExpiry(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a := newTenant(t, s, "a")
	base := now()
	for key, age := range map[string]time.Duration{"old": 2 * time.Hour, "older": 3 * time.Hour, "new": time.Minute} {
		if _, ok, err := s.ReserveIdempotencyKey(ctx, a.ID, key, "fp", base.Add(-age), time.Minute); err != nil || !ok {
			t.Fatalf("reserve %s: %v %v", key, ok, err)
		}
		must(t, s.CompleteIdempotencyKey(ctx, a.ID, key, 200, "", []byte("{}")))
	}
	n, err := s.ExpireIdempotencyKeys(ctx, base.Add(-time.Hour))
	must(t, err)
	if n != 2 {
		t.Fatalf("ExpireIdempotencyKeys removed %d, want 2", n)
	}
	for key, free := range map[string]bool{"old": true, "older": true, "new": false} {
		_, ok, err := s.ReserveIdempotencyKey(ctx, a.ID, key, "fp", base, time.Minute)
		must(t, err)
		if ok != free {
			t.Fatalf("after expiry %s reservable=%v, want %v", key, ok, free)
		}
	}
}

func newEvent(tn tenant.ID, i int, at time.Time) event.Event {
	return event.Event{ID: uuid.NewString(), Tenant: tn, Type: "Switchboard.Test", Subject: fmt.Sprintf("things/%d", i), Time: at,
		DataVersion: "1.0", Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}
}

func sameEvent(t *testing.T, got, want event.Event) {
	t.Helper()
	if got.ID != want.ID || got.Tenant != want.Tenant || got.Type != want.Type || got.Subject != want.Subject ||
		!got.Time.Equal(want.Time) || got.DataVersion != want.DataVersion || !bytes.Equal(got.Data, want.Data) {
		t.Fatalf("event = %+v, want %+v", got, want)
	}
}

func testOutbox(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a := newTenant(t, s, "a")
	var kicks atomic.Int32
	s.DB().OnOutbox(func() { kicks.Add(1) })
	base := now()
	e1, e2, e3 := newEvent(a.ID, 1, base), newEvent(a.ID, 2, base.Add(time.Second)), newEvent(a.ID, 3, base.Add(2*time.Second))

	must(t, s.InTx(ctx, func(ctx context.Context) error { return s.Append(ctx, e1, e2) }))
	if k := kicks.Load(); k != 1 {
		t.Fatalf("a committed transaction with events kicked the relay %d times, want 1", k)
	}
	must(t, s.Append(ctx, e3))
	if k := kicks.Load(); k != 2 {
		t.Fatalf("an append outside a transaction kicked the relay %d times in all, want 2", k)
	}

	n, age, err := s.OutboxLag(ctx, base.Add(5*time.Second))
	must(t, err)
	if n != 3 || age != 5*time.Second {
		t.Fatalf("OutboxLag = %d, %s; want 3, 5s", n, age)
	}

	first, err := s.ClaimOutbox(ctx, base, 30*time.Second, 2)
	must(t, err)
	if len(first) != 2 || first[0].Seq >= first[1].Seq {
		t.Fatalf("ClaimOutbox(limit 2) = %+v", first)
	}
	sameEvent(t, first[0].Event, e1)
	sameEvent(t, first[1].Event, e2)
	rest, err := s.ClaimOutbox(ctx, base, 30*time.Second, 10)
	must(t, err)
	if len(rest) != 1 || rest[0].Seq <= first[1].Seq {
		t.Fatalf("second claim = %+v, want only e3", rest)
	}
	sameEvent(t, rest[0].Event, e3)
	none, err := s.ClaimOutbox(ctx, base.Add(29*time.Second), 30*time.Second, 10)
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("claimed rows handed out again within their lease: %+v", none)
	}
	// A lease that ran out (its relay died) is claimed again.
	again, err := s.ClaimOutbox(ctx, base.Add(31*time.Second), 30*time.Second, 10)
	must(t, err)
	if len(again) != 3 || again[0].Seq != first[0].Seq || again[2].Seq != rest[0].Seq {
		t.Fatalf("claim after the lease ran out = %+v", again)
	}

	must(t, s.DeleteOutbox(ctx, nil))
	must(t, s.DeleteOutbox(ctx, []int64{first[0].Seq, first[1].Seq}))
	n, age, err = s.OutboxLag(ctx, base.Add(5*time.Second))
	must(t, err)
	if n != 1 || age != 3*time.Second {
		t.Fatalf("OutboxLag after delete = %d, %s; want 1, 3s", n, age)
	}
	must(t, s.DeleteOutbox(ctx, []int64{rest[0].Seq}))
	n, age, err = s.OutboxLag(ctx, base)
	must(t, err)
	if n != 0 || age != 0 {
		t.Fatalf("OutboxLag of an empty outbox = %d, %s", n, age)
	}
	left, err := s.ClaimOutbox(ctx, base.Add(time.Hour), time.Second, 10)
	must(t, err)
	if len(left) != 0 {
		t.Fatalf("deleted events claimed: %+v", left)
	}
}

// testOutboxExclusive covers the reads of a relay that is the outbox's only
// publisher: oldest first in commit order, a range delete through the last
// published event, and nothing newer lost by it.
func testOutboxExclusive(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a := newTenant(t, s, "a")
	base := now()
	var evs []event.Event
	for i := range 5 {
		evs = append(evs, newEvent(a.ID, i, base.Add(time.Duration(i)*time.Second)))
		must(t, s.InTx(ctx, func(ctx context.Context) error { return s.Append(ctx, evs[i]) }))
	}
	got, err := s.OldestOutbox(ctx, 3)
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("OldestOutbox(3) = %d events", len(got))
	}
	for i, e := range got {
		sameEvent(t, e.Event, evs[i])
	}
	// An event committed after the read must survive the delete.
	late := newEvent(a.ID, 9, base.Add(time.Minute))
	must(t, s.Append(ctx, late))
	must(t, s.DeleteOutboxThrough(ctx, got[2].Seq))
	rest, err := s.OldestOutbox(ctx, 10)
	must(t, err)
	if len(rest) != 3 {
		t.Fatalf("after deleting through the third event, %d remain, want 3", len(rest))
	}
	sameEvent(t, rest[0].Event, evs[3])
	sameEvent(t, rest[1].Event, evs[4])
	sameEvent(t, rest[2].Event, late)
}

var errRollback = errors.New("roll back")

func testOutboxRollback(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a := newTenant(t, s, "a")
	var kicks atomic.Int32
	s.DB().OnOutbox(func() { kicks.Add(1) })
	base := now()

	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := s.CreateIdentity(ctx, identity.Identity{ID: identity.NewUserID(a.ID, "rolled-back"), Tenant: a.ID, CreatedAt: base}); err != nil {
			return err
		}
		if err := s.Append(ctx, newEvent(a.ID, 1, base)); err != nil {
			return err
		}
		// A nested InTx joins the outer transaction and goes with it.
		if err := s.InTx(ctx, func(ctx context.Context) error { return s.Append(ctx, newEvent(a.ID, 2, base)) }); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v, want the function's error", err)
	}
	n, _, err := s.OutboxLag(ctx, base)
	must(t, err)
	if n != 0 {
		t.Fatalf("%d events left by a rolled-back transaction", n)
	}
	entries, err := s.ClaimOutbox(ctx, base, time.Minute, 10)
	must(t, err)
	if len(entries) != 0 {
		t.Fatalf("claimed events of a rolled-back transaction: %+v", entries)
	}
	_, err = s.Identity(ctx, a.ID, identity.NewUserID(a.ID, "rolled-back"))
	wantKind(t, err, errs.KindNotFound, "identity of a rolled-back transaction")
	if k := kicks.Load(); k != 0 {
		t.Fatalf("a rolled-back transaction kicked the relay %d times", k)
	}
}

// testTransactionsConcurrent runs many transactions at once (SQLite groups
// them into shared commits): each one's writes and events commit or roll
// back with it alone, whatever its neighbours do.
func testTransactionsConcurrent(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a := newTenant(t, s, "a")
	var kicks atomic.Int32
	s.DB().OnOutbox(func() { kicks.Add(1) })
	base := now()
	const txs = 96
	type outcome struct {
		id      identity.UserID
		eventID string
		err     error
	}
	results := make([]outcome, txs)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range txs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			id := identity.NewUserID(a.ID, fmt.Sprintf("tx-%03d", i))
			custom := fmt.Sprintf("c-%03d", i)
			if i%3 == 2 {
				custom = "contested" // exactly one of these may commit
			}
			e := newEvent(a.ID, i, base)
			results[i] = outcome{id: id, eventID: e.ID}
			results[i].err = s.InTx(ctx, func(ctx context.Context) error {
				if err := s.CreateIdentity(ctx, identity.Identity{ID: id, Tenant: a.ID, CustomID: custom, CreatedAt: base}); err != nil {
					return err
				}
				if err := s.Append(ctx, e); err != nil {
					return err
				}
				if i%3 == 1 {
					return errRollback
				}
				return nil
			})
		}()
	}
	start.Done()
	wg.Wait()

	committed := map[string]bool{}
	contestedWinners := 0
	for i, r := range results {
		switch {
		case i%3 == 0 && r.err != nil:
			t.Fatalf("transaction %d: %v", i, r.err)
		case i%3 == 1 && !errors.Is(r.err, errRollback):
			t.Fatalf("transaction %d returned %v, want its own error", i, r.err)
		case i%3 == 2 && r.err != nil && errs.KindOf(r.err) != errs.KindConflict:
			t.Fatalf("transaction %d on the contested customId: %v, want success or a conflict", i, r.err)
		}
		_, err := s.Identity(ctx, a.ID, r.id)
		if exists := err == nil; exists != (r.err == nil) {
			t.Fatalf("transaction %d (err %v): identity exists=%v (%v)", i, r.err, exists, err)
		}
		if r.err == nil {
			committed[r.eventID] = true
			if i%3 == 2 {
				contestedWinners++
			}
		}
	}
	if contestedWinners != 1 {
		t.Fatalf("%d transactions committed the same customId, want 1", contestedWinners)
	}
	entries, err := s.ClaimOutbox(ctx, base, time.Minute, 2*txs)
	must(t, err)
	if len(entries) != len(committed) {
		t.Fatalf("outbox holds %d events, want the %d of committed transactions", len(entries), len(committed))
	}
	for _, e := range entries {
		if !committed[e.Event.ID] {
			t.Fatalf("outbox holds event %s of a rolled-back transaction", e.Event.ID)
		}
	}
	if kicks.Load() == 0 {
		t.Fatal("committed events never kicked the relay")
	}
}

func testOutboxConcurrentClaims(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a := newTenant(t, s, "a")
	const events, claimers, batch = 400, 16, 7
	base := now()
	want := map[string]bool{}
	must(t, s.InTx(ctx, func(ctx context.Context) error {
		for i := range events {
			e := newEvent(a.ID, i, base)
			want[e.ID] = true
			if err := s.Append(ctx, e); err != nil {
				return err
			}
		}
		return nil
	}))

	var mu sync.Mutex
	claimedBy := map[int64]int{}
	ids := map[string]bool{}
	var total atomic.Int64
	var dups []string
	deadline := time.Now().Add(30 * time.Second)
	var start, wg sync.WaitGroup
	start.Add(1)
	errc := make(chan error, claimers)
	for w := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			for total.Load() < events && time.Now().Before(deadline) {
				// A real clock: every claimer uses the same lease, long
				// enough that nothing expires during the test.
				got, err := s.ClaimOutbox(ctx, time.Now(), time.Hour, batch)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				for _, e := range got {
					if prev, ok := claimedBy[e.Seq]; ok {
						dups = append(dups, fmt.Sprintf("seq %d by claimers %d and %d", e.Seq, prev, w))
					}
					claimedBy[e.Seq] = w
					ids[e.Event.ID] = true
				}
				mu.Unlock()
				total.Add(int64(len(got)))
			}
		}()
	}
	start.Done()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if len(dups) > 0 {
		t.Fatalf("rows handed to two claimers: %v", dups)
	}
	if len(claimedBy) != events || len(ids) != events || total.Load() != events {
		t.Fatalf("claimed %d rows (%d distinct, %d event ids) of %d", total.Load(), len(claimedBy), len(ids), events)
	}
	for id := range want {
		if !ids[id] {
			t.Fatalf("event %s never claimed", id)
		}
	}
	workers := map[int]bool{}
	for _, w := range claimedBy {
		workers[w] = true
	}
	t.Logf("%d events claimed by %d of %d concurrent claimers", events, len(workers), claimers)
}

func sameSubscription(t *testing.T, got, want webhook.Subscription) {
	t.Helper()
	if got.ID != want.ID || got.Tenant != want.Tenant || got.Name != want.Name || got.URL != want.URL || got.Schema != want.Schema ||
		!slices.Equal(got.EventTypes, want.EventTypes) || !bytes.Equal(got.Secret, want.Secret) || got.MaxAttempts != want.MaxAttempts ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || got.Version != want.Version {
		t.Fatalf("subscription = %+v, want %+v", got, want)
	}
}

func testSubscriptions(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	base := now()
	mk := func(tn tenant.ID, id string, types []string) webhook.Subscription {
		sub := webhook.Subscription{ID: webhook.SubscriptionID(id), Tenant: tn, Name: "hook " + id, URL: "https://hooks.example.com/" + id,
			Schema: webhook.SchemaEventGrid, EventTypes: types, Secret: randomBytes(32), MaxAttempts: 5, CreatedAt: base, UpdatedAt: base, Version: 1}
		must(t, s.CreateSubscription(ctx, sub))
		return sub
	}
	sub := mk(a.ID, "sub-00", []string{"Microsoft.Communication.ChatMessageReceived", "Switchboard.IdentityCreated"})
	got, err := s.Subscription(ctx, a.ID, sub.ID)
	must(t, err)
	sameSubscription(t, got, sub)
	_, err = s.Subscription(ctx, b.ID, sub.ID)
	wantKind(t, err, errs.KindNotFound, "another tenant's subscription")
	wantSealed(t, raw(t, s, `SELECT secret FROM webhook_subscriptions WHERE id = $1`, string(sub.ID)), sub.Secret, "subscription secret")

	all := mk(a.ID, "sub-01", nil) // every event type
	got, err = s.Subscription(ctx, a.ID, all.ID)
	must(t, err)
	if len(got.EventTypes) != 0 || !got.Wants("Anything") {
		t.Fatalf("subscription without event types came back with %v", got.EventTypes)
	}
	for i := 2; i < 5; i++ {
		mk(a.ID, fmt.Sprintf("sub-%02d", i), nil)
	}
	mk(b.ID, "sub-b", nil)
	var seen []webhook.SubscriptionID
	var after webhook.SubscriptionID
	for {
		page, err := s.Subscriptions(ctx, a.ID, after, 2)
		must(t, err)
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("page of %d with limit 2", len(page))
		}
		for _, p := range page {
			seen = append(seen, p.ID)
		}
		after = page[len(page)-1].ID
	}
	if !slices.Equal(seen, []webhook.SubscriptionID{"sub-00", "sub-01", "sub-02", "sub-03", "sub-04"}) {
		t.Fatalf("paged subscriptions %v", seen)
	}

	next := sub
	next.Name, next.URL, next.Schema, next.EventTypes, next.MaxAttempts = "renamed", "https://hooks.example.com/v2", webhook.SchemaCloudEvents, []string{"X"}, 9
	next.UpdatedAt, next.Version = base.Add(time.Minute), 2
	must(t, s.UpdateSubscription(ctx, next))
	got, err = s.Subscription(ctx, a.ID, sub.ID)
	must(t, err)
	sameSubscription(t, got, next) // the secret is unchanged
	stale := sub
	stale.Name, stale.Version = "lost update", 2
	wantKind(t, s.UpdateSubscription(ctx, stale), errs.KindPreconditionFailed, "update from a stale version")
	cross := next
	cross.Tenant, cross.Version = b.ID, 3
	wantKind(t, s.UpdateSubscription(ctx, cross), errs.KindPreconditionFailed, "update through another tenant")

	wantKind(t, s.DeleteSubscription(ctx, b.ID, sub.ID), errs.KindNotFound, "delete another tenant's subscription")
	must(t, s.DeleteSubscription(ctx, a.ID, sub.ID))
	_, err = s.Subscription(ctx, a.ID, sub.ID)
	wantKind(t, err, errs.KindNotFound, "deleted subscription")
	wantKind(t, s.DeleteSubscription(ctx, a.ID, sub.ID), errs.KindNotFound, "delete twice")
}

func testDeadLetters(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
	base := now()
	var dls []webhook.DeadLetter
	for i := range 5 {
		d := webhook.DeadLetter{ID: webhook.DeadLetterID(fmt.Sprintf("dl-%02d", i)), Tenant: a.ID, Subscription: "sub-1",
			Event: newEvent(a.ID, i, base), Attempts: 3 + i, LastError: "endpoint answered 500", CreatedAt: base.Add(time.Duration(i) * time.Second)}
		must(t, s.AddDeadLetter(ctx, d))
		dls = append(dls, d)
	}
	must(t, s.AddDeadLetter(ctx, webhook.DeadLetter{ID: "dl-b", Tenant: b.ID, Subscription: "sub-b", Event: newEvent(b.ID, 0, base),
		Attempts: 1, LastError: "x", CreatedAt: base}))

	same := func(got, want webhook.DeadLetter) {
		t.Helper()
		if got.ID != want.ID || got.Tenant != want.Tenant || got.Subscription != want.Subscription || got.Attempts != want.Attempts ||
			got.LastError != want.LastError || !got.CreatedAt.Equal(want.CreatedAt) || (got.ReplayedAt == nil) != (want.ReplayedAt == nil) ||
			(got.ReplayedAt != nil && !got.ReplayedAt.Equal(*want.ReplayedAt)) {
			t.Fatalf("dead letter = %+v, want %+v", got, want)
		}
		sameEvent(t, got.Event, want.Event)
	}
	got, err := s.DeadLetter(ctx, a.ID, dls[0].ID)
	must(t, err)
	same(got, dls[0])
	_, err = s.DeadLetter(ctx, b.ID, dls[0].ID)
	wantKind(t, err, errs.KindNotFound, "another tenant's dead letter")

	var seen []webhook.DeadLetterID
	var after webhook.DeadLetterID
	for {
		page, err := s.DeadLetters(ctx, a.ID, after, 2)
		must(t, err)
		if len(page) == 0 {
			break
		}
		for _, d := range page {
			if d.Tenant != a.ID {
				t.Fatalf("DeadLetters(a) returned %+v", d)
			}
			seen = append(seen, d.ID)
		}
		after = page[len(page)-1].ID
	}
	if !slices.Equal(seen, []webhook.DeadLetterID{"dl-00", "dl-01", "dl-02", "dl-03", "dl-04"}) {
		t.Fatalf("paged dead letters %v", seen)
	}

	replayed := base.Add(time.Hour)
	wantKind(t, s.MarkDeadLetterReplayed(ctx, b.ID, dls[1].ID, replayed), errs.KindNotFound, "replay another tenant's dead letter")
	wantKind(t, s.MarkDeadLetterReplayed(ctx, a.ID, "dl-missing", replayed), errs.KindNotFound, "replay unknown dead letter")
	must(t, s.MarkDeadLetterReplayed(ctx, a.ID, dls[1].ID, replayed))
	got, err = s.DeadLetter(ctx, a.ID, dls[1].ID)
	must(t, err)
	want := dls[1]
	want.ReplayedAt = &replayed
	same(got, want)
}
