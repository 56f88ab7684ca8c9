package storetest

import (
	"context"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/secret"
	"github.com/switchboard-cc/switchboard/internal/store"
)

// SQLite is a fresh embedded store in a temporary directory, closed when
// the test ends: services are tested against the persistence they run on.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	box, err := secret.NewBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store.New(db, box)
}
