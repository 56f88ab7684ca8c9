//go:build unix

package browser_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// TestConsoleAndAdmin runs the supervisor console (/console) and the admin
// pages (/admin) in headless Chromium against a node with the demo
// tenant: its support queue, agents and flow bots. Screens are saved
// under test/browser/artifacts (which ignores its own contents).
func TestConsoleAndAdmin(t *testing.T) {
	node, chromium := requireTools(t)
	s := switchboardtest.Start(t)
	s.DemoCenter(t)

	// The pages: served by the API listener under the staff pages' policy.
	for _, page := range []string{"/console", "/admin"} {
		resp, err := http.Get(s.HTTPURL + page)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %s", page, resp.StatusCode, h.Get("Content-Type"))
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self' ws: wss:", "object-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: Content-Security-Policy %q lacks %q", page, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-eval") || strings.Contains(strings.SplitN(csp, "style-src", 2)[0], "unsafe-inline") {
			t.Errorf("GET %s: Content-Security-Policy %q allows scripts it should not", page, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("Access-Control-Allow-Origin") != "" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: headers %v", page, h)
		}
	}

	artifacts, err := filepath.Abs("artifacts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	// Screens are for looking at, never for committing.
	if err := os.WriteFile(filepath.Join(artifacts, ".gitignore"), []byte("*\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runNode(t, node, "console.test.mjs", map[string]string{
		"SB_URL":            s.HTTPURL,
		"HOST_URL":          hostSite(t, s).URL,
		"CHROMIUM":          chromium,
		"CONSOLE_ARTIFACTS": artifacts,
		"NO_COLOR":          "1",
	})
}
