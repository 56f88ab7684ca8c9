package app_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// TestKill9LosesNoAcknowledgedWork kills the real binary with SIGKILL in the
// middle of a burst of identity creations, restarts it on the same data
// directory, and checks the promise of the outbox: every creation the API
// acknowledged survived, and so did its event, which reaches the webhook at
// least once and always under the same event id.
func TestKill9LosesNoAcknowledgedWork(t *testing.T) {
	bin := buildSwitchboard(t)
	dataDir := t.TempDir()
	httpAddr, httpsAddr := crashFreeAddr(t), crashFreeAddr(t)
	start := func() *crashServer {
		return startCrashServer(t, bin, "serve", "--demo", "--data", dataDir, "--http-addr", httpAddr, "--https-addr", httpsAddr,
			"--outbound-allow-loopback", "--webhook-retry-base", "50ms", "--webhook-retry-max", "500ms", "--log-level", "warn")
	}

	srv := start()
	hook := newCrashHook(t)
	c := srv.client(t)
	resp, raw := c.Do(t, "POST", "/eventSubscriptions?api-version=2026-11-01", map[string]any{
		"endpoint": hook.URL, "includedEventTypes": []string{identity.EventIdentityCreated}, "maxDeliveryAttempts": 30,
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create subscription: %d %s", resp.StatusCode, raw)
	}

	// The burst: workers create identities until the server dies under them.
	const workers, killAfter = 8, 150
	var (
		mu       sync.Mutex
		acked    []string // identities the API answered 201 for
		killOnce sync.Once
		killed   atomic.Bool
		wg       sync.WaitGroup
		atKill   struct{ acked, delivered int }
	)
	burst := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	for range workers {
		wg.Go(func() {
			for !killed.Load() {
				resp, err := burst.Do(c.Request("POST", "/identities?api-version=2023-10-01", map[string]any{}))
				if err != nil {
					return // the server is gone (or going): this request's fate is unknown
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					return // cut off by the kill: its fate is unknown
				case resp.StatusCode == http.StatusTooManyRequests:
					continue // not acknowledged: nothing is promised about it
				case resp.StatusCode != http.StatusCreated:
					t.Errorf("create identity under load: %d %s", resp.StatusCode, body)
					return
				}
				var out struct {
					Identity struct {
						ID string `json:"id"`
					} `json:"identity"`
				}
				if err := json.Unmarshal(body, &out); err != nil || out.Identity.ID == "" {
					t.Errorf("201 without an identity: %s", body)
					return
				}
				mu.Lock()
				acked = append(acked, out.Identity.ID)
				n := len(acked)
				mu.Unlock()
				if n >= killAfter {
					killOnce.Do(func() {
						// Other workers' requests are in flight right now.
						if err := srv.cmd.Process.Kill(); err != nil {
							t.Errorf("kill: %v", err)
						}
						killed.Store(true)
						atKill.acked, atKill.delivered = n, hook.identities()
					})
				}
			}
		})
	}
	wg.Wait()
	burst.CloseIdleConnections()
	if !killed.Load() {
		t.Fatalf("the burst ended after %d acknowledged creations without reaching the kill", len(acked))
	}
	select {
	case <-srv.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the killed server did not exit")
	}
	t.Logf("killed after %d acknowledged creations, %d of them delivered by then; %d acknowledged in all",
		atKill.acked, atKill.delivered, len(acked))

	// The identities whose events had not left the outbox when the process
	// died (read from the dead process's database, which nothing holds now).
	unpublished := outboxSubjects(t, dataDir)

	// Same data directory, same addresses: a restart as an operator does it.
	srv = start()
	restarted := time.Now()
	c = srv.client(t)
	for _, id := range acked {
		if resp, raw := c.Do(t, "GET", "/identities/"+strings.ReplaceAll(id, ":", "%3A")+"?api-version=2023-10-01", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("acknowledged identity %s lost in the crash: %d %s", id, resp.StatusCode, raw)
		}
	}
	// Events still in the outbox go out at once, even those the dead relay
	// had claimed (its claims are released on start, not waited out).
	switchboardtest.Eventually(t, 15*time.Second, func() error {
		for id := range unpublished {
			if !hook.delivered(id) {
				return fmt.Errorf("the event of %s, in the outbox at the crash, is not delivered yet", id)
			}
		}
		return nil
	})
	// Deliveries the dead process had taken from JetStream but not
	// acknowledged come back when their ack wait (up to 60 s) runs out.
	switchboardtest.Eventually(t, 90*time.Second, func() error {
		missing := 0
		for _, id := range acked {
			if !hook.delivered(id) {
				missing++
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d acknowledged identities have had no IdentityCreated delivered", missing, len(acked))
		}
		return nil
	})
	t.Logf("%d events were in the outbox at the crash; every acknowledged event delivered %s after the restart",
		len(unpublished), time.Since(restarted).Round(time.Millisecond))
	// At least once, but one event per change: redeliveries reuse the id.
	hook.mu.Lock()
	defer hook.mu.Unlock()
	duplicates := 0
	for id, evs := range hook.events {
		if len(evs) != 1 {
			t.Errorf("identity %s arrived as %d different events %v, want one event id", id, len(evs), evs)
		}
		for _, n := range evs {
			duplicates += n - 1
		}
	}
	t.Logf("%d redeliveries of an event already delivered", duplicates)
}

// buildSwitchboard builds cmd/switchboard into a temporary directory, so the
// test kills a real process and not the test binary.
func buildSwitchboard(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		t.Fatalf("cannot find the module root (go env GOMOD: %q, %v)", gomod, err)
	}
	bin := filepath.Join(t.TempDir(), "switchboard")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/switchboard")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// outboxSubjects returns the identities whose events sit in the outbox of
// the stopped node in dataDir.
func outboxSubjects(t *testing.T, dataDir string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	st, err := app.OpenStore(ctx, config.Config{DataDir: dataDir})
	if err != nil {
		t.Fatalf("open the crashed node's store: %v", err)
	}
	defer st.DB().Close()
	var subjects sql.NullString
	if err := st.DB().RawQueryRow(ctx, `SELECT group_concat(subject, ' ') FROM outbox`).Scan(&subjects); err != nil {
		t.Fatalf("read the crashed node's outbox: %v", err)
	}
	out := map[string]bool{}
	for _, s := range strings.Fields(subjects.String) {
		out[strings.TrimPrefix(s, "identities/")] = true
	}
	return out
}

// crashFreeAddr returns a loopback address with a port nothing listens on
// now.
func crashFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// crashServer is a running switchboard process.
type crashServer struct {
	cmd      *exec.Cmd
	httpAddr string
	exited   chan struct{}

	mu     sync.Mutex
	stdout []string
	stderr bytes.Buffer
}

// startCrashServer starts bin with args and waits until it printed the
// demo connection string and answers /readyz.
func startCrashServer(t *testing.T, bin string, args ...string) *crashServer {
	t.Helper()
	s := &crashServer{cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	for i, a := range args {
		if a == "--http-addr" {
			s.httpAddr = args[i+1]
		}
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = crashWriter{s}
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
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		// Stop gracefully before the data directory is removed; a process
		// already killed has exited and ignores the signal.
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			s.mu.Lock()
			t.Logf("switchboard %s stderr:\n%s", strings.Join(args, " "), s.stderr.String())
			s.mu.Unlock()
		}
	})
	switchboardtest.Eventually(t, 30*time.Second, func() error {
		select {
		case <-s.exited:
			t.Fatalf("switchboard exited during start-up:\n%s", s.stderrText())
		default:
		}
		if _, err := s.connectionString(); err != nil {
			return err
		}
		resp, err := http.Get("http://" + s.httpAddr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %d", resp.StatusCode)
		}
		return nil
	})
	return s
}

type crashWriter struct{ s *crashServer }

func (w crashWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.stderr.Write(p)
}

func (s *crashServer) stderrText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// connectionString is the one `serve --demo` prints, indented, on stdout.
func (s *crashServer) connectionString() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.stdout {
		if strings.HasPrefix(l, "  endpoint=") {
			return strings.TrimSpace(l), nil
		}
	}
	return "", errors.New("no connection string printed yet")
}

// client signs with the printed key and talks plain HTTP to the server.
func (s *crashServer) client(t *testing.T) *switchboardtest.Client {
	t.Helper()
	cs, err := s.connectionString()
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := switchboardtest.ParseConnectionString(cs)
	if err != nil {
		t.Fatal(err)
	}
	return &switchboardtest.Client{Base: "http://" + s.httpAddr, Key: key, HTTP: &http.Client{Timeout: 20 * time.Second}}
}

// crashHook is the webhook receiver: it passes the Event Grid handshake and
// records, per identity, the event ids delivered and how often.
type crashHook struct {
	*httptest.Server
	mu     sync.Mutex
	events map[string]map[string]int // identity → event id → deliveries
}

func newCrashHook(t *testing.T) *crashHook {
	h := &crashHook{events: map[string]map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var evs []struct {
			ID        string `json:"id"`
			EventType string `json:"eventType"`
			Data      struct {
				ValidationCode string `json:"validationCode"`
				Identity       struct {
					RawID string `json:"rawId"`
				} `json:"identity"`
			} `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&evs); err != nil || len(evs) != 1 {
			http.Error(w, "want an Event Grid array of one event", http.StatusBadRequest)
			return
		}
		e := evs[0]
		if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
			_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": e.Data.ValidationCode})
			return
		}
		if e.EventType != identity.EventIdentityCreated || e.Data.Identity.RawID == "" {
			http.Error(w, "unexpected event "+e.EventType, http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		if h.events[e.Data.Identity.RawID] == nil {
			h.events[e.Data.Identity.RawID] = map[string]int{}
		}
		h.events[e.Data.Identity.RawID][e.ID]++
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

// delivered reports whether an IdentityCreated of identity id arrived.
func (h *crashHook) delivered(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events[id]) > 0
}

func (h *crashHook) identities() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}
