package routing

import (
	"fmt"
	"testing"
)

func TestIDFilterNeverForgetsAnID(t *testing.T) {
	f := newIDFilter()
	if !f.MayExist("anything") {
		t.Fatal("an unready filter must answer maybe")
	}
	f.setReady()
	const n = 300_000 // several layers
	for i := range n {
		f.Add(fmt.Sprint("job-", i))
	}
	if len(f.layers) < 3 {
		t.Fatalf("%d layers for %d ids", len(f.layers), n)
	}
	for i := range n {
		if !f.MayExist(fmt.Sprint("job-", i)) {
			t.Fatalf("job-%d was added but the filter says it does not exist", i)
		}
	}
	maybes := 0
	for i := range n {
		if f.MayExist(fmt.Sprint("other-", i)) {
			maybes++
		}
	}
	// Each layer answers a false maybe about 1 in 2,000 times.
	if rate := float64(maybes) / n; rate > 0.005 {
		t.Fatalf("false maybe for %.3f%% of new ids", rate*100)
	}
}

func BenchmarkIDFilter(b *testing.B) {
	f := newIDFilter()
	f.setReady()
	for i := range 1_000_000 {
		f.Add(fmt.Sprint("job-", i))
	}
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprint("new-", i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.MayExist(ids[i%len(ids)])
	}
}
