package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/secret"
	"github.com/switchboard-cc/switchboard/internal/store"
	"github.com/switchboard-cc/switchboard/internal/store/storetest"
)

func newBox(t *testing.T) *secret.Box {
	t.Helper()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i * 7)
	}
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func open(t *testing.T, cfg store.Config) *store.Store {
	t.Helper()
	db, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open %s store: %v", cfg.URL, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return store.New(db, newBox(t))
}

func TestStoreSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) *store.Store {
		s := open(t, store.Config{DataDir: t.TempDir()})
		if s.DB().Dialect() != store.SQLite {
			t.Fatalf("dialect %s, want sqlite", s.DB().Dialect())
		}
		return s
	})
}

// TestStorePostgres runs the contract on PostgreSQL, a fresh database per
// subtest (SWITCHBOARD_TEST_POSTGRES, default the CI server). It fails, never
// skips, when the server is unreachable.
func TestStorePostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) *store.Store {
		s := open(t, store.Config{URL: storetest.FreshPostgres(t)})
		if s.DB().Dialect() != store.Postgres {
			t.Fatalf("dialect %s, want postgres", s.DB().Dialect())
		}
		return s
	})
}

// TestPostgresConcurrentMigrations starts several nodes on one empty
// database at once: the migration lock lets exactly one apply each
// migration while the others wait, and every node comes up.
func TestPostgresConcurrentMigrations(t *testing.T) {
	t.Parallel()
	url := storetest.FreshPostgres(t)
	const nodes = 8
	dbs := make([]*store.DB, nodes)
	errs := make([]error, nodes)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			dbs[i], errs[i] = store.Open(context.Background(), store.Config{URL: url})
		}()
	}
	start.Done()
	wg.Wait()
	for i := range nodes {
		if errs[i] != nil {
			t.Errorf("node %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { _ = dbs[i].Close() })
	}
	if t.Failed() {
		t.FailNow()
	}
	ctx := context.Background()
	var applied, distinct int
	if err := dbs[0].RawQueryRow(ctx, `SELECT COUNT(*), COUNT(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied == 0 || applied != distinct {
		t.Fatalf("goose recorded %d migrations, %d distinct: each must be applied exactly once", applied, distinct)
	}
	// Every node sees a working schema.
	for i, db := range dbs {
		s := store.New(db, newBox(t))
		if _, err := s.Tenants(ctx); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
}
