package bench

import (
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"testing"
)

// profileTimed writes profiles of the timed part of a benchmark only (go
// test's -cpuprofile and -memprofile also cover the setup, which for the
// routing benchmarks is most of the run): a CPU profile to the file named
// by SB_BENCH_CPUPROFILE, and allocation profiles at the start and the end
// to the files named by SB_BENCH_MEMPROFILE with ".base" and without (read
// them with go tool pprof -sample_index=alloc_space -base FILE.base FILE).
// SB_BENCH_TRACE names a file for an execution trace of the timed part
// (go tool trace -pprof=sync FILE shows where goroutines waited).
// Call it right before b.ResetTimer.
func profileTimed(b *testing.B) {
	recordTimed(b, "SB_BENCH_CPUPROFILE", pprof.StartCPUProfile, pprof.StopCPUProfile)
	recordTimed(b, "SB_BENCH_TRACE", trace.Start, trace.Stop)
	if path := os.Getenv("SB_BENCH_MEMPROFILE"); path != "" {
		writeHeap(b, path+".base")
		b.Cleanup(func() { writeHeap(b, path) })
	}
}

// recordTimed starts a recording (a CPU profile, a trace) into the file the
// environment variable env names, if it names one, until the benchmark ends.
func recordTimed(b *testing.B, env string, start func(io.Writer) error, stop func()) {
	path := os.Getenv(env)
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := start(f); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stop()
		f.Close()
	})
}

func writeHeap(b *testing.B, path string) {
	runtime.GC() // the profile shows allocations up to the last collection
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// stealMeter reads the share of the machine's CPU time its hypervisor gave
// to others (steal, from /proc/stat) between its start and Percent: on a
// shared virtual machine it explains runs that differ with the same code.
type stealMeter struct{ steal, total float64 }

func startSteal(b *testing.B) stealMeter { return readSteal(b) }

// Percent is the steal since start, in percent of all CPU time.
func (m stealMeter) Percent(b *testing.B) float64 {
	now := readSteal(b)
	if now.total == m.total {
		return 0
	}
	return 100 * (now.steal - m.steal) / (now.total - m.total)
}

func readSteal(b *testing.B) stealMeter {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatal(err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	var m stealMeter
	for i, f := range fields[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		if i < 8 { // guest time is counted in user time already
			m.total += v
		}
		if i == 7 {
			m.steal = v
		}
	}
	return m
}
