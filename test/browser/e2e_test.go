//go:build unix

package browser_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// TestFirstContactEndToEnd is the product's first contact told once, end
// to end, in headless Chromium against one real node with the demo
// contact center (e2e.test.mjs): an Indonesian visitor on a business's
// page talks to the flow bot, gives an e-mail, asks for a person and
// waits in line; agent1 takes the conversation at /desk; the supervisor
// watches it at /console and whispers; the agent wraps up and the
// customer rates. Every screen is saved under test/browser/artifacts/e2e
// (which ignores its own contents) for a reviewer to look at.
func TestFirstContactEndToEnd(t *testing.T) {
	node, chromium := requireTools(t)
	s := switchboardtest.Start(t)
	s.DemoCenter(t)

	artifacts, err := filepath.Abs(filepath.Join("artifacts", "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	// Only this run's screens: a stale failure shot would mislead.
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	// Screens are for looking at, never for committing.
	if err := os.WriteFile(filepath.Join(artifacts, ".gitignore"), []byte("*\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runNode(t, node, "e2e.test.mjs", map[string]string{
		"SB_URL":        s.HTTPURL,
		"HOST_URL":      hostSite(t, s).URL,
		"CHROMIUM":      chromium,
		"E2E_ARTIFACTS": artifacts,
		"NO_COLOR":      "1",
	})
}
