//go:build unix

// Package browser_test runs the web chat widget in headless Chromium
// (Debian's chromium, driven by playwright-core) against an in-process
// node, from a host page on another origin. A missing browser or Node
// package fails the test instead of skipping it.
package browser_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

const installHint = "install chromium (apt-get install chromium) and run `bash .ci/install-node` from the repository root"

func requireTools(t *testing.T) (node, chromium string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: %v; %s", err, installHint)
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("chromium: %v; %s", err, installHint)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("playwright-core is not installed: %v; %s", err, installHint)
	}
	return node, chromium
}

// hostPages is a business's website on its own origin, embedding the
// widget with one script tag.
func hostPages(t *testing.T, widgetOrigin string) *httptest.Server {
	page := func(extra string) string {
		return fmt.Sprintf(`<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Toko Demo</title></head>
<body><h1>Toko Demo</h1><script src="%s/widget.js" data-tenant="demo" %s async></script></body></html>`, widgetOrigin, extra)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, page("")) })
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, page(`data-locale="id"`)) })
	// A logged-in customer: the business's page carries a visitor token its
	// backend minted (here passed in the query for the test).
	mux.HandleFunc("/known", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, page(fmt.Sprintf(`data-visitor-token=%q`, r.URL.Query().Get("token"))))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestWidgetInChromium(t *testing.T) {
	node, chromium := requireTools(t)
	s := switchboardtest.Start(t)
	c := s.Client(t)

	// Small upload limits, so the test can trip them.
	resp, body := c.Do(t, "GET", "/webchat/settings?api-version=2026-11-01", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("settings: %d %s", resp.StatusCode, body)
	}
	st := switchboardtest.JSON(t, body)
	st["uploads"] = map[string]any{"maxBytes": 200000, "types": []string{"image/png", "image/jpeg", "application/pdf"}}
	if resp, body := c.Do(t, "PUT", "/webchat/settings?api-version=2026-11-01", st); resp.StatusCode != 200 {
		t.Fatalf("put settings: %d %s", resp.StatusCode, body)
	}
	resp, body = c.Do(t, "POST", "/identities?api-version=2023-10-01", map[string]any{"createTokenWithScopes": []string{"chat"}})
	if resp.StatusCode != 201 {
		t.Fatalf("agent identity: %d %s", resp.StatusCode, body)
	}
	agent := switchboardtest.JSON(t, body)

	resp, body = c.Do(t, "POST", "/webchat/visitors?api-version=2026-11-01", map[string]any{"externalId": "crm-42", "displayName": "Siti Rahma", "email": "siti@example.com"})
	if resp.StatusCode != 201 {
		t.Fatalf("visitor token: %d %s", resp.StatusCode, body)
	}
	known := switchboardtest.JSON(t, body)

	host := hostPages(t, s.HTTPURL)
	runNode(t, node, "widget.test.mjs", map[string]string{
		"SB_URL":          s.HTTPURL,
		"HOST_URL":        host.URL,
		"AGENT_ID":        agent["identity"].(map[string]any)["id"].(string),
		"AGENT_TOKEN":     agent["accessToken"].(map[string]any)["token"].(string),
		"CHROMIUM":        chromium,
		"VISITOR_TOKEN":   known["visitorToken"].(string),
		"VISITOR_CONTACT": known["contactId"].(string),
		"NO_COLOR":        "1",
	})
}

// runNode runs `node --test file`, streaming its output into the test log.
func runNode(t *testing.T, node, file string, env map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "--test-timeout=90000", "--test-concurrency=1", file)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	_ = pw.Close()
	<-done
	var ee *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		t.Fatalf("node --test %s did not finish in time", file)
	case errors.As(err, &ee):
		t.Fatalf("node --test %s failed (exit %d); see the log above", file, ee.ExitCode())
	case err != nil:
		t.Fatal(err)
	}
}
