package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// The test binary doubles as the switchboard binary: with this variable set
// it runs main, so CLI tests exercise the real command line without a
// separate build.
func TestMain(m *testing.M) {
	if os.Getenv("SWITCHBOARD_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"switchboard"}, strings.Fields(os.Getenv("SWITCHBOARD_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_RUN_MAIN=1", "SWITCHBOARD_TEST_ARGS="+strings.Join(args, " "))
	return cmd
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is a running `switchboard serve` process.
type server struct {
	cmd      *exec.Cmd
	httpAddr string
	mu       sync.Mutex
	stdout   []string
	done     chan error
}

func startServe(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	s := &server{httpAddr: freePort(t), done: make(chan error, 1)}
	args := append([]string{"serve", "--demo", "--data", dataDir, "--http-addr", s.httpAddr, "--https-addr", freePort(t), "--log-level", "warn"}, extra...)
	s.cmd = command(args...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.mu.Lock()
			s.stdout = append(s.stdout, sc.Text())
			s.mu.Unlock()
		}
		s.done <- s.cmd.Wait()
	}()
	t.Cleanup(func() { _ = s.cmd.Process.Kill() })
	switchboardtest.Eventually(t, 15*time.Second, func() error { _, err := s.connectionString(); return err })
	return s
}

func (s *server) connectionString() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.stdout {
		if cs, ok := strings.CutPrefix(strings.TrimSpace(l), "endpoint="); ok {
			return "endpoint=" + cs, nil
		}
	}
	return "", io.EOF
}

func (s *server) client(t *testing.T, cs string) *switchboardtest.Client {
	t.Helper()
	_, key, err := switchboardtest.ParseConnectionString(cs)
	if err != nil {
		t.Fatal(err)
	}
	return &switchboardtest.Client{Base: "http://" + s.httpAddr, Key: key, HTTP: &http.Client{Timeout: 20 * time.Second}}
}

func run(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := command(args...).Output()
	if err != nil {
		t.Fatalf("switchboard %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

const idv = "?api-version=2023-10-01"

func TestTenantCommandsAgainstRunningServer(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir)

	lines := run(t, "tenant", "create", "acme", "--data", dir)
	cs := lines[len(lines)-1]
	if !strings.HasPrefix(cs, "endpoint=https://localhost:") || !strings.Contains(cs, ";accesskey=") {
		t.Fatalf("last line is not a connection string: %q", cs)
	}
	acme := s.client(t, cs)
	if resp, body := acme.Do(t, "POST", "/identities"+idv, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("new tenant's key refused: %d %s", resp.StatusCode, body)
	}

	lines = run(t, "tenant", "keys", "rotate", "acme", "--data", dir)
	rotated := s.client(t, lines[len(lines)-1])
	for _, c := range []*switchboardtest.Client{acme, rotated} {
		if resp, body := c.Do(t, "POST", "/identities"+idv, nil); resp.StatusCode != http.StatusCreated {
			t.Fatalf("after rotation both keys must work: %d %s", resp.StatusCode, body)
		}
	}

	keys := run(t, "tenant", "keys", "list", "acme", "--data", dir)
	oldID := strings.Fields(keys[0])[0]
	run(t, "tenant", "keys", "revoke", "acme", oldID, "--data", dir)
	// The server's key cache refreshes within seconds of a revocation made
	// by another process.
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		if resp, _ := acme.Do(t, "POST", "/identities"+idv, nil); resp.StatusCode != http.StatusUnauthorized {
			return io.ErrUnexpectedEOF
		}
		return nil
	})
	if resp, body := rotated.Do(t, "POST", "/identities"+idv, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("the new key stopped working: %d %s", resp.StatusCode, body)
	}
	// The last active key cannot be revoked.
	if err := command("tenant", "keys", "revoke", "acme", strings.Fields(keys[1])[0], "--data", dir).Run(); err == nil {
		t.Fatal("revoking the last active key must fail")
	}
}

// TestGracefulShutdown sends SIGTERM while a request is still uploading its
// body: the request must complete, the process exit 0, and a restart with
// --demo must reuse the same tenant and key.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir)
	cs, _ := s.connectionString()
	c := s.client(t, cs)

	// A raw HTTP/1.1 request with Expect: 100-continue: the server answers
	// "100 Continue" only once the handler starts reading the body, so when
	// it arrives the request is provably in flight.
	body := []byte(`{"createTokenWithScopes":["chat"]}`)
	req, _ := http.NewRequest("POST", "http://"+s.httpAddr+"/identities"+idv, nil)
	c.Sign(req, body)
	conn, err := net.Dial("tcp", s.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /identities" + idv + " HTTP/1.1\r\nHost: " + s.httpAddr + "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
	for _, h := range []string{"x-ms-date", "x-ms-content-sha256", "Authorization"} {
		head += h + ": " + req.Header.Get(h) + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("expected 100 Continue, got %q %v", line, err)
	}
	for line, _ := br.ReadString('\n'); strings.TrimSpace(line) != ""; line, _ = br.ReadString('\n') {
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("in-flight request during shutdown: %v %v", resp, err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve did not exit cleanly: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}

	s2 := startServe(t, dir)
	cs2, _ := s2.connectionString()
	key := func(cs string) string { return cs[strings.Index(cs, ";"):] }
	if key(cs2) != key(cs) {
		t.Fatalf("--demo is not idempotent: %q then %q", cs, cs2)
	}
	resp, b := s2.client(t, cs2).Do(t, "GET", "/users?api-version=2026-11-01", nil)
	if resp.StatusCode != http.StatusOK || strings.Count(string(b), `"username":"agent1"`) != 1 {
		t.Fatalf("demo people after restart: %d %s", resp.StatusCode, b)
	}
}

func TestConfigCheckRedactsSecrets(t *testing.T) {
	cmd := command("config", "check", "--database", "postgres://sb:hunter2secret@127.0.0.1:5432/sb", "--master-key", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eHg=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("config check: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "hunter2secret") || strings.Contains(string(out), "c2VjcmV0") {
		t.Fatalf("secrets printed:\n%s", out)
	}
	if !strings.Contains(string(out), "configuration OK") {
		t.Fatalf("no verdict:\n%s", out)
	}
	bad := command("config", "check", "--database", "mysql://x", "--http-addr", "", "--https-addr", "")
	bad.Env = append(bad.Env, "SWITCHBOARD_HTTP_ADDR=", "SWITCHBOARD_HTTPS_ADDR=")
	if out, err := bad.CombinedOutput(); err == nil {
		t.Fatalf("invalid configuration accepted:\n%s", out)
	}
	envCmd := command("config", "check")
	envCmd.Env = append(envCmd.Env, "SWITCHBOARD_API_TENANT_RATE=-1")
	if out, err := envCmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "tenant-rate") {
		t.Fatalf("environment variables must be validated too: %v\n%s", err, out)
	}
}
