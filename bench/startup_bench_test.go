package bench

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

func buildBinary(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "switchboard")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/switchboard-cc/switchboard/cmd/switchboard").CombinedOutput()
	if err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// serveProcess starts `switchboard serve --demo` as a process of its own
// on a fresh data directory, with args added, and returns it with a signed
// client of its demo tenant; it is stopped when the benchmark ends. A load
// generator in the benchmark's process then shares neither the server's
// heap nor its collector, as clients elsewhere would not. A niceness above
// 0 runs the server at that lower priority (see BenchmarkRoutingCreateToOffer).
func serveProcess(b *testing.B, niceness int, args ...string) (*exec.Cmd, *switchboardtest.Client) {
	bin := buildBinary(b)
	httpAddr := freeAddr(b)
	argv := append([]string{bin, "serve", "--demo", "--data", b.TempDir(), "--http-addr", httpAddr, "--https-addr", freeAddr(b),
		"--log-level", "warn"}, args...)
	if niceness > 0 {
		argv = append([]string{"nice", "-n", strconv.Itoa(niceness)}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	var cs string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "endpoint=") {
			cs = line
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	_, key, err := switchboardtest.ParseConnectionString(cs)
	if err != nil {
		b.Fatalf("the server printed no connection string: %v", err)
	}
	return cmd, &switchboardtest.Client{Base: "http://" + httpAddr, Key: key, HTTP: http.DefaultClient}
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// BenchmarkServeDemoReady measures `switchboard serve --demo` on a fresh
// data directory from exec to the demo's connection string being printed
// (the tenant, its people and both listeners exist by then), and reports
// the resident memory of the idle process afterwards.
func BenchmarkServeDemoReady(b *testing.B) {
	bin := buildBinary(b)
	var total time.Duration
	var rssKB, peakKB int64
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		httpAddr := freeAddr(b)
		cmd := exec.Command(bin, "serve", "--demo", "--data", dir, "--http-addr", httpAddr, "--https-addr", freeAddr(b), "--log-level", "warn")
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(strings.TrimSpace(sc.Text()), "endpoint=") {
				break
			}
		}
		total += time.Since(start)
		if resp, err := http.Get("http://" + httpAddr + "/readyz"); err != nil || resp.StatusCode != 200 {
			b.Fatalf("not ready after the demo printed: %v", err)
		}
		// Sampled every 100 ms for two seconds: the peak of start-up, and the
		// idle figure once it has settled (the last sample).
		sample := time.NewTicker(100 * time.Millisecond)
		var last int64
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); <-sample.C {
			last = vmRSS(b, cmd.Process.Pid)
			peakKB = max(peakKB, last)
		}
		sample.Stop()
		rssKB = max(rssKB, last)
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-ready")
	b.ReportMetric(float64(rssKB)/1024, "idle-RSS-MB")
	b.ReportMetric(float64(peakKB)/1024, "peak-RSS-MB")
}

func vmRSS(b *testing.B, pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(f)[0], 10, 64)
			return n
		}
	}
	return 0
}
