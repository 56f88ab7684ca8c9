// Package bench holds whole-system benchmarks: a real node in-process,
// driven over loopback HTTP the way clients drive it. Figures and commands
// are recorded in docs/benchmarks.md.
package bench

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

func quietNode(b *testing.B) *switchboardtest.Server {
	return switchboardtest.Start(b, switchboardtest.WithConfig(func(c *config.Config) {
		c.LogLevel = "error"
		c.API.TenantRate = 1e6
		c.GCPercent = 200 // the serve default (the test harness leaves the runtime's)
	}))
}

// BenchmarkCreateIdentityHMAC measures HMAC-authenticated POST /identities
// on the embedded store: signature check, one transaction (identity + its
// event in the outbox), and the relay publishing to JetStream behind it.
func BenchmarkCreateIdentityHMAC(b *testing.B) {
	s := quietNode(b)
	c := s.Client(b)
	c.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	b.SetParallelism(32)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.HTTP.Do(c.Request("POST", "/identities?api-version=2023-10-01", nil))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body) // drained, so the connection is reused
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
