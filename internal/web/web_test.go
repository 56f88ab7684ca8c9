package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/web"
)

const installHint = "run `bash .ci/install-node` (npm ci in web/) from the repository root"

// TestAssetsAreFresh rebuilds the browser code and fails when the embedded
// files differ: a change under web/ must be rebuilt (`go generate
// ./internal/web`) and committed with it.
func TestAssetsAreFresh(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: %v; %s", err, installHint)
	}
	if _, err := os.Stat(filepath.Join("..", "..", "web", "node_modules", "esbuild", "package.json")); err != nil {
		t.Fatalf("esbuild is not installed: %v; %s", err, installHint)
	}
	out := t.TempDir()
	cmd := exec.Command(node, filepath.Join("..", "..", "web", "build.mjs"), "--out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	built := os.DirFS(out)
	names, _ := fs.Glob(built, "*")
	embedded, _ := fs.Glob(web.Assets(), "*")
	if strings.Join(names, ",") != strings.Join(embedded, ",") {
		t.Fatalf("built %v, embedded %v: run go generate ./internal/web", names, embedded)
	}
	for _, n := range names {
		a, _ := fs.ReadFile(built, n)
		b, _ := fs.ReadFile(web.Assets(), n)
		if !bytes.Equal(a, b) {
			t.Errorf("%s is stale: run go generate ./internal/web and commit internal/web/dist", n)
		}
	}
}

// TestClientProtocol runs the browser client's unit tests (close codes,
// back-off, resume, heartbeats, token renewal) under Node with a scripted
// socket and mocked time.
func TestClientProtocol(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: %v; %s", err, installHint)
	}
	cmd := exec.Command(node, "--test", "--test-reporter=spec", filepath.Join("..", "..", "web", "client", "client.test.mjs"))
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("client unit tests: %v\n%s", err, b)
	}
}

// TestCatalogues keeps every page's languages (widget, agent desktop,
// console, admin)
// complete: every catalogue has exactly English's keys with the same
// placeholders, and every key the code asks for exists.
func TestCatalogues(t *testing.T) {
	// Keys chosen at run time rather than written out.
	dynamic := map[string][]string{
		"widget": {"connecting", "reconnecting", "joined", "left"},
		"desk": {"connecting", "reconnecting", "joined", "left", "youJoined", "youLeft", "email", "phone",
			"status_available", "status_away", "status_break", "status_busy", "status_offline",
			"break_lunch", "break_meeting", "break_training", "break_other",
			"reason_flow", "reason_customer", "reason_notUnderstood", "reason_botFailed", "reason_noBot", "reason_transfer",
			"disp_resolved", "disp_followUp", "disp_escalated", "disp_noResponse", "disp_spam",
			"cannedKey_greet", "canned_greet", "cannedKey_moment", "canned_moment", "cannedKey_checking", "canned_checking",
			"cannedKey_anythingElse", "canned_anythingElse", "cannedKey_thanks", "canned_thanks",
			"state_bot", "state_queued", "state_assigned", "state_wrapUp", "state_ended", "whisperFrom", "noteFrom"},
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
		dynamic[app] = append(dynamic[app], shared...)
	}
	for _, app := range []string{"widget", "desk", "console", "admin"} {
		t.Run(app, func(t *testing.T) { checkCatalogues(t, app, dynamic[app]) })
	}
}

func checkCatalogues(t *testing.T, app string, dynamic []string) {
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
	for _, k := range dynamic {
		if _, ok := en[k]; !ok {
			t.Errorf("en.json lacks %q", k)
		}
	}
}

func TestWidgetBundleSize(t *testing.T) {
	checkBundleSize(t, "widget.js", 100<<10)
}

// TestDeskBundleSize keeps the agent desktop (code and styles) small.
func TestDeskBundleSize(t *testing.T) {
	checkBundleSize(t, "desk.js", 60<<10)
	checkBundleSize(t, "desk.css", 10<<10)
}

// TestConsoleBundleSize keeps the console's and the admin pages' code and
// styles small (gzipped, as browsers fetch them).
func TestConsoleBundleSize(t *testing.T) {
	for name, budget := range map[string]int{"console.js": 30 << 10, "console.css": 6 << 10, "admin.js": 30 << 10, "admin.css": 6 << 10} {
		checkBundleSize(t, name, budget)
	}
}

func checkBundleSize(t *testing.T, name string, budget int) {
	t.Helper()
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
		t.Fatalf("%s is %d bytes gzipped; the budget is %d KB", name, buf.Len(), budget>>10)
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for path, ct := range map[string]string{"/widget.js": "javascript", "/web/switchboard-client.js": "javascript", "/web/demo.html": "text/html",
		"/web/desk.js": "javascript", "/web/desk.css": "text/css"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), ct) || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
	for _, path := range []string{"/web/../go.mod", "/web/nothing.js"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
}

// TestDeskPage: /desk is the agent desktop's page, for this origin only:
// a strict Content-Security-Policy, no framing, no caching of a stale page.
func TestDeskPage(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for _, path := range []string{"/desk", "/web/desk.html"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, h.Get("Content-Type"))
		}
		if !bytes.Contains(body, []byte(`src="/web/desk.js"`)) || !bytes.Contains(body, []byte(`href="/web/desk.css"`)) {
			t.Errorf("%s: the page does not load the desktop's code and styles:\n%s", path, body)
		}
		if got := h.Get("Content-Security-Policy"); got != web.DeskCSP {
			t.Errorf("%s: Content-Security-Policy %q", path, got)
		}
		for _, want := range []string{"default-src 'self'", "connect-src 'self' ws: wss:", "img-src 'self' data: blob:", "frame-ancestors 'none'"} {
			if !strings.Contains(web.DeskCSP, want) {
				t.Errorf("the policy lacks %q", want)
			}
		}
		if strings.Contains(web.DeskCSP, "unsafe-eval") || strings.Contains(strings.SplitN(web.DeskCSP, "style-src", 2)[0], "unsafe-inline") {
			t.Errorf("the policy allows scripts it should not: %s", web.DeskCSP)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	// The page's scripts contain no inline code the policy would block.
	page, _ := fs.ReadFile(web.Assets(), "desk.html")
	if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]|\son\w+=`).Match(page) {
		t.Errorf("desk.html has inline script or handlers:\n%s", page)
	}
	resp, err := http.Post(srv.URL+"/desk", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /desk: %d", resp.StatusCode)
	}
}
