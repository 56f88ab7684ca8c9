//go:build unix

// Package browser_test runs the web chat widget and the browser client in
// headless Chromium (Debian's chromium, driven by playwright-core) against
// an in-process node, from host pages on another origin. A missing browser
// or Node package fails the test instead of skipping it.
package browser_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

const installHint = "install chromium (apt-get install chromium) and run `bash .ci/install-node` from the repository root"

// playwrightVersion is what package-lock.json pins; a stale node_modules
// fails here rather than somewhere confusing inside node.
const playwrightVersion = "1.65.1"

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
	raw, err := os.ReadFile(filepath.Join("node_modules", "playwright-core", "package.json"))
	if err != nil {
		t.Fatalf("playwright-core is not installed: %v; %s", err, installHint)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(raw, &pkg); err != nil || pkg.Version != playwrightVersion {
		t.Fatalf("playwright-core %q is installed, package-lock.json pins %s; %s", pkg.Version, playwrightVersion, installHint)
	}
	return node, chromium
}

// hostSite is a business's website on its own origin: pages embedding the
// widget with one script tag, a blank page for the agent-side client, and
// /backend/…, the business's server, which holds the access key and
// forwards signed calls (visitor tokens, identities, settings).
func hostSite(t *testing.T, s *switchboardtest.Server) *httptest.Server {
	c := s.Client(t)
	page := func(extra string) string {
		return fmt.Sprintf(`<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Toko Demo</title></head>
<body><h1>Toko Demo</h1><p><a href="/about">About us</a></p><script src="%s/widget.js" data-tenant="demo" %s async></script></body></html>`, s.HTTPURL, extra)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, page("")) })
	mux.HandleFunc("GET /id", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, page(`data-locale="id"`)) })
	// A logged-in customer: the page carries a visitor token the backend
	// minted (here passed in the query for the test).
	mux.HandleFunc("GET /known", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, page(fmt.Sprintf(`data-visitor-token=%q`, r.URL.Query().Get("token"))))
	})
	mux.HandleFunc("GET /agent", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `<!doctype html><html><head><meta charset="utf-8"><title>Agent</title></head><body></body></html>`)
	})
	mux.HandleFunc("/backend/", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var payload any
		if len(body) > 0 {
			payload = body
		}
		path := strings.TrimPrefix(r.URL.Path, "/backend")
		if r.URL.RawQuery != "" {
			path += "?" + r.URL.RawQuery
		}
		// Not c.Do: it fails the test from this goroutine. The status goes
		// back to the caller, which asserts on it.
		resp, err := c.HTTP.Do(c.Request(r.Method, path, payload))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestBrowser runs each Node test file against its own node, so no test
// file's settings or revocations reach another's.
func TestBrowser(t *testing.T) {
	node, chromium := requireTools(t)
	for _, file := range []string{"widget.test.mjs", "client.test.mjs"} {
		t.Run(strings.TrimSuffix(file, ".test.mjs"), func(t *testing.T) {
			s := switchboardtest.Start(t)
			host := hostSite(t, s)
			runNode(t, node, file, map[string]string{
				"SB_URL":   s.HTTPURL,
				"HOST_URL": host.URL,
				"CHROMIUM": chromium,
				"NO_COLOR": "1",
			})
		})
	}
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
