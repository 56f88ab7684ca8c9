package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// DefaultPostgresURL is the server the test suites use when
// SWITCHBOARD_TEST_POSTGRES is not set: the one CI runs on 127.0.0.1.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is the administrative URL of the test PostgreSQL server:
// SWITCHBOARD_TEST_POSTGRES, or DefaultPostgresURL. Tests never use its
// database directly; FreshPostgres makes one per test.
func PostgresURL() string {
	if u := os.Getenv("SWITCHBOARD_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// FreshPostgres creates an empty database named sbtest_<random> on the test
// server and returns its URL; the database is dropped (connections forced
// closed) when the test ends. Parallel tests and parallel `go test` runs
// never share one. An unreachable server fails the test: PostgreSQL is part
// of the test environment, not an optional extra.
func FreshPostgres(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("SWITCHBOARD_TEST_POSTGRES is not a URL: %v", err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("PostgreSQL test server %s: %v", u.Redacted(), err)
	}
	admin.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Fatalf("PostgreSQL test server %s is not reachable (start it, or point SWITCHBOARD_TEST_POSTGRES at one): %v", u.Redacted(), err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "sbtest_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create test database %s on %s: %v", name, u.Redacted(), err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
