//go:build unix

package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

const (
	deskNativeV = "?api-version=2026-11-01"
	deskChatV   = "?api-version=2025-03-15"
	deskRouterV = "?api-version=2023-11-01"
)

// deskRun is what desk-longtasks.mjs reads (DESK_BENCH_CONFIG) and what
// it prints on its last line, after "RESULT ".
type deskRun struct {
	SB          string         `json:"sb"`
	Chromium    string         `json:"chromium"`
	Username    string         `json:"username"`
	Password    string         `json:"password"`
	Seconds     int            `json:"seconds"`
	Rate        float64        `json:"rate"`
	SwitchEvery int            `json:"switchEveryMs"`
	Visitors    []deskCustomer `json:"visitors"`
}

type deskCustomer struct {
	Name     string `json:"name"`
	ThreadID string `json:"threadId"`
	Token    string `json:"token"`
}

type deskResult struct {
	Conversations int     `json:"conversations"`
	Sent          int     `json:"sent"`
	SendFailed    int     `json:"sendFailed"`
	Seen          int     `json:"seen"`
	InDOM         int     `json:"inDOM"`
	Lost          []int   `json:"lost"`
	Duplicated    int     `json:"duplicated"`
	Switches      int     `json:"switches"`
	LongTasks     int     `json:"longTasks"`
	LongestTask   float64 `json:"longestTaskMs"`
	LoadLongTasks int     `json:"loadLongTasks"`
	LoadLongest   float64 `json:"loadLongestTaskMs"`
	CPULongest    float64 `json:"cpuLongestTaskMs"`
	CPULongTasks  int     `json:"cpuLongTasks"`
	LoadCPU       float64 `json:"loadCpuLongestTaskMs"`
	DOMp50        float64 `json:"domP50Ms"`
	DOMp99        float64 `json:"domP99Ms"`
	DOMMax        float64 `json:"domMaxMs"`
	Framep99      float64 `json:"frameP99Ms"`
}

// BenchmarkDeskResponsiveness: the agent desktop (/desk) in headless
// Chromium with 20 open conversations while customers write 5 messages a
// second, spread over them, for 60 seconds (b.N windows of 60 s), the agent
// switching conversations every 3 seconds. Reported: the long tasks (over
// 50 ms, PerformanceObserver "longtask", installed before the desk's code
// runs) during that window and while the desk loaded, and the time from a
// message's send to its text in the page (its conversation's log when in
// front, its list item's preview otherwise; MutationObserver), and to the
// next frame. Every message must be in its conversation's log at the end.
// The cpu- figures are the same tasks' thread CPU time (from a light
// Chromium trace): a task over 50 ms with little CPU was waiting, for a
// core (the machine's load) or for a synchronous call to the browser.
//
// Needs node, Debian's chromium and test/browser's playwright-core
// (`bash .ci/install-node`); -v shows each run's breakdown (which long task
// was a conversation switch, how long the desk spent in synchronous calls
// to the browser). Diagnostics, whose runs' figures are not the
// benchmark's: DESK_BENCH_TRACE=file.json (a full Chromium trace, each long
// task broken down), DESK_BENCH_PROFILE=prefix (CPU profiles of the
// unminified desk), DESK_BENCH_FAKE_PERMISSION=1 (an experiment; see
// desk-longtasks.mjs).
func BenchmarkDeskResponsiveness(b *testing.B) {
	const chats, rate, seconds = 20, 5.0, 60
	node, chromium := deskTools(b)
	s := quietNode(b)
	s.DemoCenter(b)

	jar, _ := cookiejar.New(nil)
	agent := &deskAgent{base: s.HTTPURL, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	var login struct {
		CSRFToken string `json:"csrfToken"`
	}
	agent.must(b, "POST", "/auth/login", map[string]string{"tenant": "demo", "username": "agent1", "password": "demo-agent-1"}, &login)
	agent.csrf = login.CSRFToken
	var sess struct {
		WorkerID string `json:"workerId"`
	}
	agent.must(b, "POST", "/agent/session", nil, &sess)
	// The demo worker holds 5 chats (capacity 100, 20 a chat): room for 20.
	c := s.Client(b)
	req := c.Request("PATCH", "/routing/workers/"+url.PathEscape(sess.WorkerID)+deskRouterV, map[string]any{"capacity": 20.0 * chats})
	req.Header.Set("Content-Type", "application/merge-patch+json")
	if resp, raw := c.Send(b, req); resp.StatusCode != http.StatusOK {
		b.Fatalf("worker capacity: %d %s", resp.StatusCode, raw)
	}
	agent.must(b, "PUT", "/agent/presence", map[string]string{"status": "available"}, nil)

	// Twenty customers ask the demo bot for a person; agent1 accepts each
	// offer over the API, so the desk finds them in GET /agent/engagements.
	hc := &http.Client{Timeout: 30 * time.Second}
	visitors := make([]deskCustomer, chats)
	byThread := map[string]bool{}
	for i := range visitors {
		name := fmt.Sprintf("Customer %02d", i+1)
		var v struct {
			Token    string `json:"token"`
			ThreadID string `json:"threadId"`
		}
		status, raw := deskCall(hc, s.HTTPURL, "POST", "/webchat/demo/sessions"+deskNativeV, "", map[string]any{"displayName": name, "locale": "en",
			"fields": map[string]string{"name": name, "email": fmt.Sprintf("customer%02d@example.com", i+1)}}, &v)
		if status != http.StatusCreated {
			b.Fatalf("web chat session: %d %s", status, raw)
		}
		visitors[i] = deskCustomer{Name: name, ThreadID: v.ThreadID, Token: v.Token}
		byThread[v.ThreadID] = true
		// As a person would, after the bot's greeting.
		switchboardtest.Eventually(b, 30*time.Second, func() error {
			var page struct {
				Value []struct {
					Metadata map[string]string `json:"metadata"`
				} `json:"value"`
			}
			deskCall(hc, s.HTTPURL, "GET", "/chat/threads/"+url.PathEscape(v.ThreadID)+"/messages"+deskChatV, v.Token, nil, &page)
			for _, m := range page.Value {
				if m.Metadata["role"] == "bot" {
					return nil
				}
			}
			return fmt.Errorf("%s: the bot did not greet", name)
		})
		for _, text := range []string{"Hello", "I want to talk to a person"} {
			if status, raw := deskCall(hc, s.HTTPURL, "POST", "/chat/threads/"+url.PathEscape(v.ThreadID)+"/messages"+deskChatV, v.Token,
				map[string]any{"content": text, "senderDisplayName": name}, nil); status != http.StatusCreated {
				b.Fatalf("customer message: %d %s", status, raw)
			}
		}
	}
	accepted := map[string]bool{}
	switchboardtest.Eventually(b, 2*time.Minute, func() error {
		var offers struct {
			Value []struct {
				OfferID string            `json:"offerId"`
				Labels  map[string]string `json:"labels"`
			} `json:"value"`
		}
		agent.must(b, "GET", "/agent/offers", nil, &offers)
		for _, o := range offers.Value {
			th := o.Labels["threadId"]
			if !byThread[th] || accepted[th] {
				continue
			}
			if status, raw := agent.call("POST", "/agent/offers/"+url.PathEscape(o.OfferID)+":accept", nil, nil); status != http.StatusOK {
				b.Fatalf("accept: %d %s", status, raw)
			}
			accepted[th] = true
		}
		if len(accepted) < chats {
			return fmt.Errorf("%d of %d conversations accepted", len(accepted), chats)
		}
		return nil
	})
	var held struct {
		Value []struct{ State string } `json:"value"`
	}
	agent.must(b, "GET", "/agent/engagements", nil, &held)
	if len(held.Value) != chats {
		b.Fatalf("agent1 holds %d engagements, want %d", len(held.Value), chats)
	}

	cfg := deskRun{SB: s.HTTPURL, Chromium: chromium, Username: "agent1", Password: "demo-agent-1",
		Seconds: seconds * b.N, Rate: rate, SwitchEvery: 3000, Visitors: visitors}
	raw, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(b.TempDir(), "desk-bench.json")
	if err := os.WriteFile(cfgFile, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	loads := sampleLoad(b)
	b.ResetTimer()
	res := runDeskNode(b, node, cfgFile)
	b.StopTimer()
	load := loads()

	b.Logf("load average (1 min) during the run: %.2f; %d conversations, %d messages sent (%d failed), %d seen arriving, %d in the logs at the end, %d switches",
		load, res.Conversations, res.Sent, res.SendFailed, res.Seen, res.InDOM, res.Switches)
	if res.Conversations != chats {
		b.Errorf("the desk showed %d conversations, want %d", res.Conversations, chats)
	}
	if res.SendFailed > 0 || len(res.Lost) > 0 || res.Duplicated > 0 {
		b.Errorf("messages: %d sends failed, %d lost %v, %d shown twice", res.SendFailed, len(res.Lost), res.Lost, res.Duplicated)
	}
	b.ReportMetric(res.LongestTask, "longest-task-ms")
	b.ReportMetric(float64(res.LongTasks), "long-tasks")
	b.ReportMetric(res.DOMp50, "dom-p50-ms")
	b.ReportMetric(res.DOMp99, "dom-p99-ms")
	b.ReportMetric(res.Framep99, "frame-p99-ms")
	b.ReportMetric(res.CPULongest, "cpu-longest-task-ms")
	b.ReportMetric(float64(res.CPULongTasks), "cpu-long-tasks")
	b.ReportMetric(res.LoadLongest, "load-longest-task-ms")
	b.ReportMetric(float64(res.LoadLongTasks), "load-long-tasks")
	b.ReportMetric(res.LoadCPU, "load-cpu-longest-task-ms")
	b.ReportMetric(load, "load-avg")
}

// deskTools finds node, the browser and test/browser's playwright-core,
// at the version its package.json pins.
func deskTools(b *testing.B) (node, chromium string) {
	b.Helper()
	const hint = "install chromium (apt-get install chromium) and run `bash .ci/install-node` from the repository root"
	node, err := exec.LookPath("node")
	if err != nil {
		b.Fatalf("node is not on PATH: %v; %s", err, hint)
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		b.Fatalf("chromium: %v; %s", err, hint)
	}
	var want struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	var got struct{ Version string }
	dir := filepath.Join("..", "test", "browser")
	pkg, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err == nil {
		err = json.Unmarshal(pkg, &want)
	}
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "node_modules", "playwright-core", "package.json"))
	if err != nil {
		b.Fatalf("playwright-core is not installed in test/browser: %v; %s", err, hint)
	}
	if err := json.Unmarshal(raw, &got); err != nil || got.Version != want.Dependencies["playwright-core"] {
		b.Fatalf("playwright-core %q is installed, test/browser/package.json pins %q; %s", got.Version, want.Dependencies["playwright-core"], hint)
	}
	return node, chromium
}

// runDeskNode runs desk-longtasks.mjs, logging what it says, and returns
// its result line.
func runDeskNode(b *testing.B, node, cfgFile string) deskResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "desk-longtasks.mjs")
	cmd.Env = append(os.Environ(), "DESK_BENCH_CONFIG="+cfgFile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var result string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 4<<20)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
				result = line
				continue
			}
			b.Log(sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	_ = pw.Close()
	<-done
	var ee *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		b.Fatal("desk-longtasks.mjs did not finish in time")
	case errors.As(err, &ee):
		b.Fatalf("desk-longtasks.mjs failed (exit %d); see the log above", ee.ExitCode())
	case err != nil:
		b.Fatal(err)
	}
	var res deskResult
	if err := json.Unmarshal([]byte(result), &res); err != nil {
		b.Fatalf("desk-longtasks.mjs printed no result: %v", err)
	}
	return res
}

// sampleLoad samples the 1-minute load average every 5 seconds until the
// returned function is called, which gives their mean.
func sampleLoad(b *testing.B) func() float64 {
	var mu sync.Mutex
	var sum float64
	var n int
	read := func() {
		raw, err := os.ReadFile("/proc/loadavg")
		if err != nil {
			return
		}
		f := strings.Fields(string(raw))
		if len(f) == 0 {
			return
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			mu.Lock()
			sum += v
			n++
			mu.Unlock()
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			read()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(stop)
		<-done
		read()
		mu.Lock()
		defer mu.Unlock()
		if n == 0 {
			b.Log("no load average (/proc/loadavg)")
			return 0
		}
		return sum / float64(n)
	}
}

// deskAgent is a staff login session: the cookie, and the CSRF token on
// changes.
type deskAgent struct {
	base, csrf string
	hc         *http.Client
}

func (a *deskAgent) call(method, path string, body, out any) (int, []byte) {
	return deskCallWith(a.hc, a.base, method, path+deskNativeV, func(r *http.Request) {
		if method != "GET" && a.csrf != "" {
			r.Header.Set("X-CSRF-Token", a.csrf)
		}
	}, body, out)
}

func (a *deskAgent) must(b *testing.B, method, path string, body, out any) {
	b.Helper()
	if status, raw := a.call(method, path, body, out); status/100 != 2 {
		b.Fatalf("%s %s: %d %s", method, path, status, raw)
	}
}

// deskCall calls the API, with a bearer token when one is given.
func deskCall(hc *http.Client, base, method, pathAndQuery, token string, body, out any) (int, []byte) {
	return deskCallWith(hc, base, method, pathAndQuery, func(r *http.Request) {
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
	}, body, out)
}

func deskCallWith(hc *http.Client, base, method, pathAndQuery string, mod func(*http.Request), body, out any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, []byte(err.Error())
		}
		rd = strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, base+pathAndQuery, rd)
	if err != nil {
		return 0, []byte(err.Error())
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	mod(req)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, raw
		}
	}
	return resp.StatusCode, raw
}
