package switchboardtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/store/storetest"
)

// PostgresURL is the test PostgreSQL server (SWITCHBOARD_TEST_POSTGRES, or
// the CI server on 127.0.0.1).
func PostgresURL() string { return storetest.PostgresURL() }

// FreshPostgres creates an empty database for this test on the test
// PostgreSQL server and returns its URL; it is dropped when the test ends.
// An unreachable server fails the test.
func FreshPostgres(t testing.TB) string {
	t.Helper()
	return storetest.FreshPostgres(t)
}

// DefaultNATSURL is the external NATS the tests use when SWITCHBOARD_TEST_NATS
// is not set: the one CI runs on 127.0.0.1.
const DefaultNATSURL = "nats://127.0.0.1:4222"

// NATSURL is the external test NATS (SWITCHBOARD_TEST_NATS, or DefaultNATSURL).
func NATSURL() string {
	if u := os.Getenv("SWITCHBOARD_TEST_NATS"); u != "" {
		return u
	}
	return DefaultNATSURL
}

// FreshNATSNamespace returns a namespace no other test (or other run) uses
// on the NATS at url, and deletes the namespace's streams, with their
// consumers, when the test ends. It fails the test when that NATS is
// unreachable or has no JetStream.
func FreshNATSNamespace(t testing.TB, url string) string {
	t.Helper()
	nc, err := nats.Connect(url, nats.Name("switchboardtest"), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("NATS test server %s is not reachable (start it, or point SWITCHBOARD_TEST_NATS at one): %v", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatalf("NATS test server %s: %v", url, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		nc.Close()
		t.Fatalf("NATS test server %s has no JetStream (run it with -js): %v", url, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	ns := "t" + hex.EncodeToString(b)
	t.Cleanup(func() {
		defer nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		names := js.StreamNames(ctx, jetstream.WithStreamListSubject(ns+".>"))
		for name := range names.Name() {
			if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Errorf("delete test stream %s: %v", name, err)
			}
		}
		if err := names.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
			t.Errorf("list test streams of namespace %s: %v", ns, err)
		}
	})
	return ns
}

// WithNATSNamespace sets the node's NATS namespace.
func WithNATSNamespace(ns string) Option { return func(c *config.Config) { c.NATSNamespace = ns } }

// WithMasterKey sets the master key (base64) that seals secrets at rest;
// nodes of one cluster must share it.
func WithMasterKey(key string) Option { return func(c *config.Config) { c.MasterKey = key } }

// NewMasterKey returns a random master key, base64-encoded.
func NewMasterKey() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return base64.StdEncoding.EncodeToString(key)
}

// ClusterOptions returns what makes several nodes one cluster: a fresh
// PostgreSQL database, the external test NATS under a fresh namespace, and
// one master key. Start each node with them (and its own data directory,
// which Start gives it):
//
//	opts := switchboardtest.ClusterOptions(t)
//	a, b := switchboardtest.Start(t, opts...), switchboardtest.Start(t, opts...)
//
// Start the nodes one after the other: each creates the demo tenant if it
// is missing.
func ClusterOptions(t testing.TB) []Option {
	t.Helper()
	natsURL := NATSURL()
	ns := FreshNATSNamespace(t, natsURL)
	return []Option{WithPostgres(FreshPostgres(t)), WithNATS(natsURL), WithNATSNamespace(ns), WithMasterKey(NewMasterKey())}
}
