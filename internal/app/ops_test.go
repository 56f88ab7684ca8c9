package app_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tlsutil"
)

func TestHTTPSWithGeneratedCA(t *testing.T) {
	s := switchboardtest.Start(t)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: s.TLSConfig(t)}}
	resp, err := client.Get(s.HTTPSURL + "/readyz")
	if err != nil {
		t.Fatalf("HTTPS with ca.pem trusted: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz over HTTPS: %d", resp.StatusCode)
	}
	if _, err := http.Get(s.HTTPSURL + "/readyz"); err == nil {
		t.Fatal("a client that does not trust ca.pem must fail the TLS handshake")
	}
}

func TestHTTPSWithOperatorCertificate(t *testing.T) {
	// An operator's own certificate (here issued by a separate CA) replaces
	// the generated one.
	own := t.TempDir()
	f, err := tlsutil.Ensure(own, []string{"localhost", "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	s := switchboardtest.Start(t, switchboardtest.WithConfig(func(c *config.Config) { c.TLSCert, c.TLSKey = f.Cert, f.Key }))
	s.CAFile = f.CA
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: s.TLSConfig(t)}}
	resp, err := client.Get(s.HTTPSURL + "/healthz")
	if err != nil {
		t.Fatalf("operator certificate not served: %v", err)
	}
	resp.Body.Close()
	if _, err := os.Stat(filepath.Join(s.Config.DataDir, "tls", "server.pem")); err == nil {
		t.Fatal("no certificate should be generated when one is configured")
	}
}

func TestMetricsAndHealth(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	if resp, _ := c.Do(t, "POST", "/identities?api-version=2023-10-01", nil); resp.StatusCode != http.StatusCreated {
		t.Fatal("create identity failed")
	}
	switchboardtest.Eventually(t, 10e9, func() error {
		resp, err := http.Get(s.HTTPURL + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, want := range []string{
			`switchboard_http_requests_total{code="201",route="POST /identities"} 1`,
			"switchboard_http_request_duration_seconds_bucket",
			"switchboard_outbox_published_total",
			"switchboard_outbox_lag_seconds",
			"switchboard_webhook_deliveries_total",
			"switchboard_webhook_delivery_failures_total",
			"switchboard_webhook_dead_letters_total",
		} {
			if !strings.Contains(string(b), want) {
				return &missing{want}
			}
		}
		return nil
	})
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(s.HTTPURL + p)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %v %v", p, err, resp)
		}
		resp.Body.Close()
	}
}

type missing struct{ s string }

func (m *missing) Error() string { return "metrics lack " + m.s }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecretsNeverLogged runs the secret-bearing operations with debug
// logging captured and checks no key, token, password or cookie appears.
func TestSecretsNeverLogged(t *testing.T) {
	s := switchboardtest.Start(t)
	var buf syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	c := s.Client(t)
	resp, body := c.Do(t, "POST", "/identities?api-version=2023-10-01", map[string]any{"createTokenWithScopes": []string{"chat"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	token := switchboardtest.JSON(t, body)["accessToken"].(map[string]any)["token"].(string)
	resp, body = c.Do(t, "POST", "/auth/login?api-version=2026-11-01", map[string]string{"tenant": "demo", "username": "admin", "password": "demo-admin-1"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	cookie := resp.Cookies()[0].Value
	c.Do(t, "POST", "/auth/login?api-version=2026-11-01", map[string]string{"tenant": "demo", "username": "admin", "password": "wrong-password-9"})

	logs := buf.String()
	if !strings.Contains(logs, "POST /identities") {
		t.Fatal("request logs were not captured; the test would prove nothing")
	}
	for name, secret := range map[string]string{
		"access key": base64.StdEncoding.EncodeToString(c.Key), "user token": token, "session cookie": cookie,
		"password": "demo-admin-1", "wrong password": "wrong-password-9", "signature": "Signature=",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s appears in the logs", name)
		}
	}
}
