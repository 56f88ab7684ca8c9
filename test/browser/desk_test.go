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

// TestDesk runs the agent desktop (/desk) in headless Chromium against a
// node with the demo tenant: its support queue, agents and bots. Screens
// are saved under test-artifacts/desk at the repository root (git-ignored).
func TestDesk(t *testing.T) {
	node, chromium := requireTools(t)
	s := switchboardtest.Start(t)
	s.DemoCenter(t)

	// The page itself: served by the API listener with a strict policy.
	resp, err := http.Get(s.HTTPURL + "/desk")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /desk: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self' ws: wss:", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("GET /desk: Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(strings.SplitN(csp, "style-src", 2)[0], "unsafe-inline") {
		t.Errorf("GET /desk: Content-Security-Policy %q allows scripts it should not", csp)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("GET /desk: X-Frame-Options %q, want DENY", got)
	}

	artifacts, err := filepath.Abs(filepath.Join("..", "..", "test-artifacts", "desk"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	host := hostSite(t, s)
	// Two files, one after the other on the same node (each has its own
	// time budget): the conversation flow, then phones and languages.
	for _, file := range []string{"desk.test.mjs", "desk-screens.test.mjs"} {
		t.Run(strings.TrimSuffix(file, ".test.mjs"), func(t *testing.T) {
			runNode(t, node, file, map[string]string{
				"SB_URL":         s.HTTPURL,
				"HOST_URL":       host.URL,
				"CHROMIUM":       chromium,
				"DESK_ARTIFACTS": artifacts,
				"NO_COLOR":       "1",
			})
		})
	}
}
