package scenario_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/routing/scenario"
)

// TestCatalogue plays every scenario in testdata: each step's offers,
// events (with their times), statuses, states and positions must be as
// written.
func TestCatalogue(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) < 10 {
		t.Fatalf("catalogue: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := scenario.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			_, mismatches, err := scenario.Run(sc)
			for _, m := range mismatches {
				t.Error(m)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReplayIsDeterministic: the same stream gives the same decisions,
// ids and reasons included.
func TestReplayIsDeterministic(t *testing.T) {
	for _, f := range []string{"testdata/wrapup_rona_presence.yaml", "testdata/concurrent_offers_expiry.yaml", "testdata/exceptions.yaml"} {
		sc, _ := scenario.Load(f)
		a, _, err := scenario.Run(sc)
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			b, _, _ := scenario.Run(sc)
			if !slices.EqualFunc(a, b, func(x, y scenario.Decision) bool { return scenario.Format(x, true) == scenario.Format(y, true) }) {
				t.Fatalf("%s: two runs decided differently", f)
			}
		}
	}
}

func TestBadScenariosAreRefused(t *testing.T) {
	for name, src := range map[string]string{
		"misspelt action": "steps:\n  - at: 1s\n    acept: {job: j, worker: a}\n",
		"bad duration":    "steps:\n  - at: soon\n",
		"unknown member":  "name: x\nworkers: {}\n",
		"bad JSON line":   "{\"at\": \"1s\"}\n{\"at\": \n",
	} {
		if _, err := scenario.Parse([]byte(src)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	// Time cannot run backwards, and a bad document is named.
	sc, _ := scenario.Parse([]byte("steps:\n  - at: 5s\n  - at: 1s\n"))
	if _, _, err := scenario.Run(sc); err == nil {
		t.Error("a step before the previous one ran")
	}
	sc, _ = scenario.Parse([]byte("config:\n  queues:\n    q: {distributionPolicyId: 7}\n"))
	if _, _, err := scenario.Run(sc); err == nil {
		t.Error("a queue with a bad policy id was loaded")
	}
}
