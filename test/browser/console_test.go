//go:build unix

package browser_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/web"
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

// TestConsoleCatalogues keeps the console's and the admin pages'
// languages complete: every catalogue has exactly English's keys with the
// same placeholders, and every key the code asks for exists.
func TestConsoleCatalogues(t *testing.T) {
	dynamic := map[string][]string{
		"console": {"connecting", "reconnecting", "state_bot", "state_queued", "state_assigned", "state_wrapUp", "state_ended",
			"agents_available", "agents_busy", "agents_away", "agents_break", "agents_offline",
			"kind_customer", "kind_bot", "kind_agent", "kind_other", "kind_system"},
		"admin": {"section_users", "section_bots", "section_widget", "section_desk", "section_queues",
			"role_agent", "role_supervisor", "role_admin", "kind_flow", "kind_webhook",
			"day_mon", "day_tue", "day_wed", "day_thu", "day_fri", "day_sat", "day_sun",
			"dispositionCodes", "dispositionCodesCodeN", "dispositionCodesEnN", "dispositionCodesIdN", "dispositionCodesAdd",
			"breakReasons", "breakReasonsCodeN", "breakReasonsEnN", "breakReasonsIdN", "breakReasonsAdd",
			"username", "displayName", "role", "shortcut", "cannedTitle", "language", "cannedText", "code", "labelEn", "labelId",
			"queueId", "queueName", "distributionPolicy", "agent", "queues", "skills", "capacity", "chatCost"},
	}
	// Keys common.js asks for, which both pages' catalogues must hold.
	shared := []string{"languageSwitch", "tenant", "username", "password", "login", "loginMissing", "loginFailed", "forbidden",
		"tooManyAttempts", "serverUnreachable", "otherPages", "logout"}
	for _, app := range []string{"console", "admin"} {
		t.Run(app, func(t *testing.T) {
			dir := filepath.Join("..", "..", "web", app, "i18n")
			load := func(name string) map[string]string {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]string
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return m
			}
			en := load("en.json")
			placeholder := regexp.MustCompile(`\{\w+\}`)
			vars := func(s string) []string {
				v := placeholder.FindAllString(s, -1)
				slices.Sort(v)
				return v
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
			if len(files) < 2 {
				t.Fatalf("catalogues: %v", files)
			}
			for _, f := range files {
				name := filepath.Base(f)
				cat := load(name)
				for k, v := range en {
					got, ok := cat[k]
					switch {
					case !ok || strings.TrimSpace(got) == "":
						t.Errorf("%s: %q is missing", name, k)
					case !slices.Equal(vars(got), vars(v)):
						t.Errorf("%s: %q has placeholders %v, English has %v", name, k, vars(got), vars(v))
					}
				}
				for k := range cat {
					if _, ok := en[k]; !ok {
						t.Errorf("%s: %q is not in en.json", name, k)
					}
				}
			}
			src, _ := filepath.Glob(filepath.Join("..", "..", "web", app, "*.js"))
			used := regexp.MustCompile(`\bt\("(\w+)"`)
			for _, f := range src {
				b, _ := os.ReadFile(f)
				for _, m := range used.FindAllStringSubmatch(string(b), -1) {
					if _, ok := en[m[1]]; !ok && !strings.HasSuffix(m[1], "_") {
						t.Errorf("%s asks for %q, which en.json lacks", filepath.Base(f), m[1])
					}
				}
			}
			for _, k := range append(dynamic[app], shared...) {
				if _, ok := en[k]; !ok {
					t.Errorf("en.json lacks %q", k)
				}
			}
		})
	}
}

// TestConsoleBundleSize keeps the console's and the admin pages' code and
// styles small (gzipped, as browsers fetch them).
func TestConsoleBundleSize(t *testing.T) {
	for name, budget := range map[string]int{"console.js": 30 << 10, "console.css": 6 << 10, "admin.js": 30 << 10, "admin.css": 6 << 10} {
		raw, err := fs.ReadFile(web.Assets(), name)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		t.Logf("%s: %d bytes, %d gzipped", name, len(raw), buf.Len())
		if buf.Len() > budget {
			t.Errorf("%s is %d bytes gzipped; the budget is %d KB", name, buf.Len(), budget>>10)
		}
	}
}
