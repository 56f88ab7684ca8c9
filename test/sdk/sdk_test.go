//go:build unix

// Package sdk_test runs the official ACS JavaScript SDKs against an
// in-process Switchboard node. The SDKs are installed by
// `npm ci --prefix test/sdk` (.ci/install-node does that in CI); a missing
// install fails the test instead of skipping it, so CI cannot go green
// without having run them.
package sdk_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// nodeTimeout bounds one `node --test` run, node start-up included.
const nodeTimeout = 3 * time.Minute

const installHint = "run `npm ci --prefix test/sdk` (or `bash .ci/install-node`) from the repository root"

// sdkPackages are the SDKs the tests import, with the versions
// package-lock.json pins. A stale node_modules fails here, not in a
// confusing way inside node.
var sdkPackages = map[string]string{
	"@azure/communication-identity": "1.3.1",
	"@azure/communication-common":   "2.4.2",
	"@azure/communication-chat":     "1.6.0",
}

// requireNode finds node and the installed SDKs, or fails the test.
func requireNode(t *testing.T) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (%v): install Node.js 20 or later, then %s", err, installHint)
	}
	dir, err = os.Getwd() // go test runs in the package directory, test/sdk
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range sdkPackages {
		manifest := filepath.Join(dir, "node_modules", filepath.FromSlash(name), "package.json")
		raw, err := os.ReadFile(manifest)
		if err != nil {
			t.Fatalf("%s is not installed (%v): %s", name, err, installHint)
		}
		var pkg struct {
			Version string `json:"version"`
		}
		if err := json.Unmarshal(raw, &pkg); err != nil {
			t.Fatalf("%s: %v: %s", manifest, err, installHint)
		}
		if pkg.Version != want {
			t.Fatalf("%s %s is installed but package-lock.json pins %s: %s", name, pkg.Version, want, installHint)
		}
	}
	return node, dir
}

// wrongConnectionString is cs with a random access key of the same size.
func wrongConnectionString(t *testing.T, cs string) string {
	t.Helper()
	endpoint, _, err := switchboardtest.ParseConnectionString(cs)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "endpoint=" + endpoint + ";accesskey=" + base64.StdEncoding.EncodeToString(key)
}

// nodeEnv is the test process's environment without anything that would
// weaken TLS or leak into node's behaviour, plus extra.
func nodeEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "NODE_TLS_REJECT_UNAUTHORIZED" || k == "NODE_OPTIONS" {
			continue
		}
		if _, ok := extra[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// runNodeTest runs `node --test file` in dir, streaming its output into
// t.Log, and fails the test if node exits non-zero or runs out of time.
func runNodeTest(t *testing.T, node, dir, file string, env map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "--test-timeout=60000", file)
	cmd.Dir = dir
	cmd.Env = nodeEnv(env)
	// node --test runs each file in a child process: kill the whole group
	// on timeout, and do not wait for stray pipe holders for ever.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr) // a line over 1 MiB: keep node unblocked
	}()

	t.Logf("$ %s --test %s (in %s)", node, file, dir)
	err := cmd.Run()
	_ = pw.Close()
	<-done

	switch {
	case ctx.Err() == context.DeadlineExceeded:
		t.Fatalf("node --test %s did not finish within %s", file, nodeTimeout)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("node --test %s failed (exit status %d); the failing SDK calls are in the log above", file, ee.ExitCode())
		}
		t.Fatalf("node --test %s: %v", file, err)
	}
}

// TestIdentitySDK drives @azure/communication-identity over HTTPS with
// HMAC auth: users, tokens, lifetimes, revocation, deletion, a wrong key.
func TestIdentitySDK(t *testing.T) {
	node, dir := requireNode(t)
	s := switchboardtest.Start(t)
	if !strings.HasPrefix(s.Demo.ConnectionString, "endpoint=https://") {
		t.Fatalf("the demo connection string should point at the HTTPS listener: %s", s.Demo.ConnectionString)
	}
	if _, err := os.Stat(s.CAFile); err != nil {
		t.Fatalf("the node's CA file: %v", err)
	}
	runNodeTest(t, node, dir, "identity.test.mjs", map[string]string{
		"CONNECTION_STRING":       s.Demo.ConnectionString,
		"WRONG_CONNECTION_STRING": wrongConnectionString(t, s.Demo.ConnectionString),
		"SWITCHBOARD_HTTP":        s.HTTPURL,
		"NODE_EXTRA_CA_CERTS":     s.CAFile,
		"NO_COLOR":                "1",
	})
}

// TestChatSDK drives @azure/communication-chat with user tokens: threads,
// messages, participants, receipts, typing, limits and the tenant wall.
func TestChatSDK(t *testing.T) {
	node, dir := requireNode(t)
	s := switchboardtest.Start(t)
	_, otherKey, err := s.App.Tenants.Create(t.Context(), "other")
	if err != nil {
		t.Fatal(err)
	}
	runNodeTest(t, node, dir, "chat.test.mjs", map[string]string{
		"CONNECTION_STRING":       s.Demo.ConnectionString,
		"OTHER_CONNECTION_STRING": app.ConnectionString(s.App.Endpoint(), otherKey),
		"NODE_EXTRA_CA_CERTS":     s.CAFile,
		"NO_COLOR":                "1",
	})
}
