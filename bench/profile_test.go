package bench

import (
	"os"
	"runtime/pprof"
	"testing"
)

// profileTimed writes a CPU profile of the timed part of a benchmark only
// (go test's -cpuprofile also covers the setup, which for the routing
// benchmarks is most of the run) to the file named by SB_BENCH_CPUPROFILE.
// Call it right before b.ResetTimer.
func profileTimed(b *testing.B) {
	path := os.Getenv("SB_BENCH_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		pprof.StopCPUProfile()
		f.Close()
	})
}
