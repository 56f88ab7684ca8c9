package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

type benchUser struct{ id, token string }

func benchUsers(b *testing.B, c *switchboardtest.Client, n int) []benchUser {
	b.Helper()
	out := make([]benchUser, n)
	for i := range out {
		u := c.NewUser(b)
		out[i] = benchUser{u.ID, u.Token}
	}
	return out
}

func bearerDo(hc *http.Client, base string, u benchUser, method, path string, body any) (int, []byte, error) {
	resp, raw, err := switchboardtest.User{ID: u.id, Token: u.token, Base: base, HTTP: hc}.Call(method, path, body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, raw, nil
}

// wsConnect opens a real-time connection and waits for ready.
func wsConnect(ctx context.Context, base, token string) (*websocket.Conn, error) {
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/realtime", &websocket.DialOptions{Subprotocols: []string{"switchboard.v1"}})
	if err != nil {
		return nil, err
	}
	hello, _ := json.Marshal(map[string]string{"type": "hello", "token": token})
	if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
		return nil, err
	}
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		if bytes.Contains(data, []byte(`"type":"ready"`)) {
			return ws, nil
		}
	}
}

// BenchmarkChatDelivery sends chat messages at a steady 2,000 a second
// (open loop: the pace does not wait for answers) into 250 two-person
// threads whose participants are all connected, and measures the time from
// the send to each participant's WebSocket receiving it (sender's other
// tabs included: both participants of every thread). Every message is
// committed before its 201, so delivery implies persistence.
func BenchmarkChatDelivery(b *testing.B) {
	const rate, threads = 2000, 250
	s := quietNode(b)
	users := benchUsers(b, s.Client(b), threads*2)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}, Timeout: 30 * time.Second}
	ctx := context.Background()
	type th struct {
		id   string
		a, z benchUser
	}
	ths := make([]th, threads)
	for i := range ths {
		a, z := users[2*i], users[2*i+1]
		code, raw, err := bearerDo(hc, s.HTTPURL, a, "POST", "/chat/threads?api-version=2025-03-15", map[string]any{"topic": "bench",
			"participants": []any{map[string]any{"communicationIdentifier": map[string]any{"rawId": z.id}}}})
		if err != nil || code != 201 {
			b.Fatalf("thread: %d %s %v", code, raw, err)
		}
		var m struct {
			ChatThread struct{ ID string } `json:"chatThread"`
		}
		_ = json.Unmarshal(raw, &m)
		ths[i] = th{m.ChatThread.ID, a, z}
	}
	var mu sync.Mutex
	sentAt := map[string]time.Time{} // message content → when its send began
	var latencies []time.Duration
	var received atomic.Int64
	allIn := make(chan struct{}) // closed when every delivery has arrived
	var conns []*websocket.Conn
	for _, u := range users {
		ws, err := wsConnect(ctx, s.HTTPURL, u.token)
		if err != nil {
			b.Fatal(err)
		}
		ws.SetReadLimit(1 << 20)
		conns = append(conns, ws)
		go func() {
			for {
				_, data, err := ws.Read(ctx)
				if err != nil {
					return
				}
				now := time.Now()
				var f struct {
					Name string `json:"name"`
					Data struct {
						Message string `json:"message"`
					} `json:"data"`
				}
				if json.Unmarshal(data, &f) != nil || f.Name != "chatMessageReceived" {
					continue
				}
				mu.Lock()
				if at, ok := sentAt[f.Data.Message]; ok {
					latencies = append(latencies, now.Sub(at))
				}
				mu.Unlock()
				if received.Add(1) == int64(2*b.N) {
					close(allIn)
				}
			}
		}()
	}
	defer func() {
		for _, c := range conns {
			_ = c.CloseNow()
		}
	}()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	var restMu sync.Mutex
	restLat := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		// Each send has its slot on the schedule; a late one goes at once,
		// so the offered rate holds even when a tick is missed.
		if d := time.Until(start.Add(time.Duration(i) * time.Second / rate)); d > 0 {
			<-time.After(d)
		}
		t := ths[i%threads]
		content := fmt.Sprintf("m%d", i)
		mu.Lock()
		sentAt[content] = time.Now()
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := time.Now()
			code, _, err := bearerDo(hc, s.HTTPURL, t.a, "POST", "/chat/threads/"+url.PathEscape(t.id)+"/messages?api-version=2025-03-15", map[string]string{"content": content})
			if err != nil || code != 201 {
				failed.Add(1)
			}
			restMu.Lock()
			restLat = append(restLat, time.Since(began))
			restMu.Unlock()
		}()
	}
	wg.Wait()
	sendElapsed := time.Since(start)
	select {
	case <-allIn:
	case <-time.After(30 * time.Second):
	}
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d sends failed", failed.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(latencies) < 2*b.N {
		b.Fatalf("%d of %d deliveries arrived", len(latencies), 2*b.N)
	}
	slices.Sort(latencies)
	q := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/sendElapsed.Seconds(), "msg/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
	slices.Sort(restLat)
	b.ReportMetric(float64(restLat[len(restLat)*99/100].Microseconds())/1000, "send-p99-ms")
}

// BenchmarkIdleConnections opens 10,000 real-time connections (spread over
// 1,000 identities) to a separate `switchboard serve` process and reports
// the server's resident memory per idle connection. The server runs in its
// own process so the two sides' file descriptors and memory are apart.
func BenchmarkIdleConnections(b *testing.B) {
	const conns, identities = 10000, 1000
	cmd, c := serveProcess(b, 0, "--api-tenant-rate", "100000")
	base := c.Base
	users := benchUsers(b, c, identities)
	ctx := context.Background()
	before := vmRSS(b, cmd.Process.Pid)
	goBefore := goMemory(b, base)
	b.ResetTimer()
	start := time.Now()
	var open []*websocket.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ws, err := wsConnect(ctx, base, users[i%identities].token)
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			open = append(open, ws)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(open) != conns {
		b.Fatalf("%d of %d connections opened", len(open), conns)
	}
	// Sample the server for three seconds once the connections are open:
	// its figure once settled (garbage collected) is the largest late one.
	var after int64
	tick := time.NewTicker(100 * time.Millisecond)
	for i := range 30 {
		<-tick.C
		if i >= 20 {
			after = max(after, vmRSS(b, cmd.Process.Pid))
		}
	}
	tick.Stop()
	b.ReportMetric(float64(conns), "connections")
	b.ReportMetric(float64(conns)/elapsed.Seconds(), "connects/s")
	b.ReportMetric(float64(after-before)*1024/float64(conns)/1024, "KiB/conn")
	b.ReportMetric(float64(after)/1024, "server-RSS-MB")
	b.ReportMetric((goMemory(b, base)-goBefore)/1024/float64(conns), "Go-KiB/conn")
	for _, ws := range open {
		_ = ws.CloseNow()
	}
}

// goMemory is the server's Go heap and stacks in use, from its /metrics:
// what connections hold, without the garbage the GC target lets RSS carry.
func goMemory(b *testing.B, base string) float64 {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var total float64
	for _, line := range strings.Split(string(raw), "\n") {
		for _, name := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_stack_inuse_bytes "} {
			if v, ok := strings.CutPrefix(line, name); ok {
				var f float64
				fmt.Sscan(v, &f)
				total += f
			}
		}
	}
	return total
}
