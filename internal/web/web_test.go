package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
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

// TestCatalogues keeps the widget's languages complete: every catalogue
// has exactly English's keys with the same placeholders, and every key the
// code asks for exists.
func TestCatalogues(t *testing.T) {
	dir := filepath.Join("..", "..", "web", "widget", "i18n")
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
	src, _ := filepath.Glob(filepath.Join("..", "..", "web", "widget", "*.js"))
	used := regexp.MustCompile(`\bt\("(\w+)"`)
	for _, f := range src {
		b, _ := os.ReadFile(f)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if _, ok := en[m[1]]; !ok {
				t.Errorf("%s asks for %q, which en.json lacks", filepath.Base(f), m[1])
			}
		}
	}
	// Keys chosen at run time rather than written out.
	for _, k := range []string{"connecting", "reconnecting", "joined", "left"} {
		if _, ok := en[k]; !ok {
			t.Errorf("en.json lacks %q", k)
		}
	}
}

func TestWidgetBundleSize(t *testing.T) {
	raw, err := fs.ReadFile(web.Assets(), "widget.js")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	t.Logf("widget.js: %d bytes, %d gzipped", len(raw), buf.Len())
	if buf.Len() > 100<<10 {
		t.Fatalf("widget.js is %d bytes gzipped; the budget is 100 KB", buf.Len())
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for path, ct := range map[string]string{"/widget.js": "javascript", "/web/switchboard-client.js": "javascript", "/web/demo.html": "text/html"} {
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
