package identity_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// fakeKeys is a KeySource that counts loads.
type fakeKeys struct {
	mu    sync.Mutex
	keys  []identity.AccessKey
	loads int
	err   error
	// gate, when set, is called inside each load (outside mu).
	gate func()
}

func (f *fakeKeys) ActiveAccessKeys(context.Context) ([]identity.AccessKey, error) {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		gate()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.keys), nil
}

func (f *fakeKeys) set(keys ...identity.AccessKey) {
	f.mu.Lock()
	f.keys = keys
	f.mu.Unlock()
}

func (f *fakeKeys) loadCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loads
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func key(tn tenant.ID, id string, b byte) identity.AccessKey {
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = b
	}
	return identity.AccessKey{ID: identity.KeyID(id), Tenant: tn, Secret: secret}
}

const sts = "POST\n/identities?api-version=2023-10-01\nMon, 23 Nov 2026 10:00:00 GMT;localhost;47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

func newRing(src *fakeKeys, maxAge time.Duration) (*identity.KeyRing, *clock) {
	kr := identity.NewKeyRing(src, maxAge)
	c := &clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	identity.SetKeyRingClock(kr, c.Now)
	return kr, c
}

func TestKeyRingMatch(t *testing.T) {
	ctx := context.Background()
	a1, a2, b1 := key("A", "a1", 1), key("A", "a2", 2), key("B", "b1", 3)
	src := &fakeKeys{keys: []identity.AccessKey{a1, a2, b1}}
	kr, _ := newRing(src, 5*time.Second)
	for _, tc := range []struct {
		name string
		hint tenant.ID
		sig  string
		want tenant.ID
	}{
		{"A's first key", "", identity.Sign(a1.Secret, sts), "A"},
		{"A's second key", "", identity.Sign(a2.Secret, sts), "A"},
		{"B's key", "", identity.Sign(b1.Secret, sts), "B"},
		{"B's key with B's hint", "B", identity.Sign(b1.Secret, sts), "B"},
		{"B's key with A's hint", "A", identity.Sign(b1.Secret, sts), ""},
		{"unknown key", "", identity.Sign(key("C", "c", 9).Secret, sts), ""},
		{"signature of another string", "", identity.Sign(a1.Secret, sts+"x"), ""},
		{"garbage", "", "garbage", ""},
		{"empty", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := kr.Match(ctx, tc.hint, sts, tc.sig)
			if ok != (tc.want != "") || got != tc.want {
				t.Fatalf("Match = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

func TestKeyRingCachesAndReloads(t *testing.T) {
	ctx := context.Background()
	a1, a2 := key("A", "a1", 1), key("A", "a2", 2)
	src := &fakeKeys{keys: []identity.AccessKey{a1}}
	kr, clk := newRing(src, 5*time.Second)
	sig1, sig2 := identity.Sign(a1.Secret, sts), identity.Sign(a2.Secret, sts)

	if _, ok := kr.Match(ctx, "", sts, sig1); !ok {
		t.Fatal("a1 refused")
	}
	if n := src.loadCount(); n != 1 {
		t.Fatalf("%d loads for the first match", n)
	}
	// Hits are served from memory.
	for range 10 {
		clk.Add(400 * time.Millisecond)
		if _, ok := kr.Match(ctx, "", sts, sig1); !ok {
			t.Fatal("a1 refused")
		}
	}
	if n := src.loadCount(); n != 1 {
		t.Fatalf("%d loads for hits within maxAge", n)
	}

	// A key added elsewhere is found on the first miss.
	src.set(a1, a2)
	if got, ok := kr.Match(ctx, "", sts, sig2); !ok || got != "A" {
		t.Fatal("a new key is not found by the reload on a miss")
	}
	if n := src.loadCount(); n != 2 {
		t.Fatalf("%d loads after one miss", n)
	}

	// A revoked key keeps matching from the cache until maxAge passes...
	src.set(a2)
	clk.Add(4 * time.Second)
	if _, ok := kr.Match(ctx, "", sts, sig1); !ok {
		t.Fatal("the cache was dropped before maxAge")
	}
	// ...and not after.
	clk.Add(1500 * time.Millisecond)
	if _, ok := kr.Match(ctx, "", sts, sig1); ok {
		t.Fatal("a revoked key still matches after maxAge")
	}
	if _, ok := kr.Match(ctx, "", sts, sig2); !ok {
		t.Fatal("the remaining key is refused")
	}

	// Invalidate forces a reload on the next match.
	src.set(a1)
	kr.Invalidate()
	if _, ok := kr.Match(ctx, "", sts, sig2); ok {
		t.Fatal("a2 matches after it was revoked and the ring invalidated")
	}
}

func TestKeyRingMissesWithoutNewKeys(t *testing.T) {
	ctx := context.Background()
	a1 := key("A", "a1", 1)
	src := &fakeKeys{keys: []identity.AccessKey{a1}}
	kr, clk := newRing(src, time.Minute)
	bad := identity.Sign(key("X", "x", 7).Secret, sts)
	kr.Match(ctx, "", sts, identity.Sign(a1.Secret, sts))
	base := src.loadCount()
	// Every sequential miss reloads once (no more): concurrent misses share
	// a reload, and the API rate-limits failed authentications per client.
	for i := range 5 {
		clk.Add(time.Millisecond)
		if _, ok := kr.Match(ctx, "", sts, bad); ok {
			t.Fatal("a bad signature matched")
		}
		if n := src.loadCount() - base; n != i+1 {
			t.Fatalf("%d loads after %d misses", n, i+1)
		}
	}
}

func TestKeyRingConcurrentMissesShareOneReload(t *testing.T) {
	ctx := context.Background()
	a1 := key("A", "a1", 1)
	src := &fakeKeys{keys: []identity.AccessKey{a1}}
	kr := identity.NewKeyRing(src, time.Minute)
	clk := &clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	const n = 16
	// Each Match reads the clock twice before it can miss (its start and the
	// staleness check). The reload a miss starts waits until all n matches
	// have done so, then moves the clock on: every waiting miss then finds a
	// reload that finished after it began and need not load again.
	var reads atomic.Int64
	allIn := make(chan struct{})
	var once sync.Once
	identity.SetKeyRingClock(kr, func() time.Time {
		if reads.Add(1) == 2*n {
			once.Do(func() { close(allIn) })
		}
		return clk.Now()
	})
	kr.Match(ctx, "", sts, identity.Sign(a1.Secret, sts)) // first load
	reads.Store(0)
	base := src.loadCount()
	src.mu.Lock()
	src.gate = func() { <-allIn; clk.Add(time.Second) }
	src.mu.Unlock()

	bad := identity.Sign(key("X", "x", 7).Secret, sts)
	var wg sync.WaitGroup
	var matched atomic.Int64
	for range n {
		wg.Go(func() {
			if _, ok := kr.Match(ctx, "", sts, bad); ok {
				matched.Add(1)
			}
		})
	}
	wg.Wait()
	if matched.Load() != 0 {
		t.Fatal("a bad signature matched")
	}
	if got := src.loadCount() - base; got != 1 {
		t.Fatalf("%d concurrent misses caused %d loads, want 1", n, got)
	}
}

func TestKeyRingLoadFailure(t *testing.T) {
	ctx := context.Background()
	a1, a2 := key("A", "a1", 1), key("A", "a2", 2)
	src := &fakeKeys{keys: []identity.AccessKey{a1}}
	kr, clk := newRing(src, 5*time.Second)
	sig1 := identity.Sign(a1.Secret, sts)
	if _, ok := kr.Match(ctx, "", sts, sig1); !ok {
		t.Fatal("a1 refused")
	}
	// The database fails: the keys already loaded keep working, and a miss
	// is a refusal, not an error or a panic.
	src.mu.Lock()
	src.err = errors.New("database down")
	src.keys = []identity.AccessKey{a1, a2}
	src.mu.Unlock()
	clk.Add(10 * time.Second)
	if _, ok := kr.Match(ctx, "", sts, sig1); !ok {
		t.Fatal("a failed reload dropped the cached keys")
	}
	if _, ok := kr.Match(ctx, "", sts, identity.Sign(a2.Secret, sts)); ok {
		t.Fatal("a key matched although it could not be loaded")
	}
	// Once the database is back the new key is found.
	src.mu.Lock()
	src.err = nil
	src.mu.Unlock()
	if _, ok := kr.Match(ctx, "", sts, identity.Sign(a2.Secret, sts)); !ok {
		t.Fatal("a2 refused after the database recovered")
	}
}

func TestKeyRingEmpty(t *testing.T) {
	kr, _ := newRing(&fakeKeys{}, time.Second)
	if _, ok := kr.Match(context.Background(), "", sts, identity.Sign(make([]byte, 32), sts)); ok {
		t.Fatal("an empty ring matched")
	}
}
