package scenario_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/routing/scenario"
)

// TestCatalogue plays every scenario in testdata: each step's offers,
// events (with their times), statuses, states, loads and positions must
// be as written.
func TestCatalogue(t *testing.T) {
	var files []string
	for _, pattern := range []string{"testdata/*.yaml", "testdata/*.json", "testdata/*.jsonl"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 15 {
		t.Fatalf("catalogue: %d files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := scenario.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			expectations := 0
			for _, st := range sc.Steps {
				if st.Expect != nil {
					expectations++
				}
			}
			if expectations == 0 {
				t.Fatal("a scenario of the catalogue expects nothing")
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
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, f := range files {
		sc, err := scenario.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		a, _, err := scenario.Run(sc)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			b, _, _ := scenario.Run(sc)
			if !slices.EqualFunc(a, b, func(x, y scenario.Decision) bool { return scenario.Format(x, true) == scenario.Format(y, true) }) {
				t.Fatalf("%s: two runs decided differently", f)
			}
		}
	}
}

// TestTimes: offsets, offsets after the previous step, instants, ticks;
// a step without a time happens with the previous one.
func TestTimes(t *testing.T) {
	src := `{"start": "2026-02-01T10:00:00Z", "config": {"distributionPolicies": {"dp": {"offerExpiresAfterSeconds": 10, "mode": {"kind": "longestIdle"}}}, "queues": {"q": {"distributionPolicyId": "dp"}}}}
# comments and blank lines are allowed

{"at": 2, "worker": {"id": "a", "capacity": 1, "queues": ["q"], "channels": [{"channelId": "chat", "capacityCostPerJob": 1}], "availableForOffers": true}}
{"at": "+3s", "job": {"id": "j", "channelId": "chat", "queueId": "q"}}
{"decline": {"job": "j", "worker": "a", "retryAfter": 1.5}}
{"at": "2026-02-01T10:00:07Z", "expect": {"events": ["6.5s WorkerOfferIssued j a"]}}
{"tick": "30s", "expect": {"events": ["16.5s WorkerOfferExpired j a", "2026-02-01T10:00:16.5Z WorkerOfferIssued j a", "26.5s WorkerOfferExpired j a", "26.5s WorkerOfferIssued j a"]}}
{"at": "+10s", "expect": {"offers": ["36.5s j a"], "status": {"j": "queued"}}}
`
	sc, err := scenario.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ds, mismatches, err := scenario.Run(sc)
	if err != nil || len(mismatches) > 0 {
		t.Fatalf("%v %v", err, mismatches)
	}
	want := []string{"2s WorkerRegistered a", "5s JobReceived j", "5s JobQueued j", "5s WorkerOfferIssued j a", "5s WorkerOfferDeclined j a"}
	for i, w := range want {
		if ds[i].String() != w {
			t.Fatalf("decision %d is %s, want %s", i, ds[i], w)
		}
	}
	if got := ds[3].Time; !got.Equal(time.Date(2026, 2, 1, 10, 0, 5, 0, time.UTC)) {
		t.Fatalf("the offer's instant is %s", got)
	}
	// Without a start, a stream of instants starts at its first.
	sc, err = scenario.Parse([]byte("steps:\n  - at: 2026-02-01T10:00:00Z\n  - at: 2026-02-01T10:01:00Z\n    worker: {id: a, availableForOffers: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ds, _, err := scenario.Run(sc); err != nil || len(ds) != 1 || ds[0].String() != "60s WorkerRegistered a" {
		t.Fatalf("%v %v", ds, err)
	}
}

// TestMismatchesSayWhere: a mismatch names the step, its line, the time,
// what was expected and what happened.
func TestMismatchesSayWhere(t *testing.T) {
	src := `config:
  distributionPolicies: {dp: {offerExpiresAfterSeconds: 10, mode: {kind: roundRobin}}}
  queues: {q: {distributionPolicyId: dp}}
  workers:
    a: {capacity: 2, queues: [q], channels: [{channelId: chat, capacityCostPerJob: 1}], availableForOffers: true}
steps:
  - at: 1s
    job: {id: j, channelId: chat, queueId: q}
    expect: {offers: [j b], status: {j: assigned}, state: {a: inactive}, load: {a: 0.5}, queue: {j: other}, priority: {j: 3}, position: {j: 2}, error: nope}
  - {at: 20s, expect: {events: [9s WorkerOfferExpired j a, 11s WorkerOfferIssued j a]}}
`
	sc, err := scenario.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, mismatches, err := scenario.Run(sc)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`step 1 (line 7), at 1s: want the error "nope", got <nil>`,
		`step 1 (line 7), at 1s: offers [1s j a], want [j b]`,
		`step 1 (line 7), at 1s: job j is queued, want assigned`,
		`step 1 (line 7), at 1s: worker a is active, want inactive`,
		`step 1 (line 7), at 1s: worker a has load 0, want 0.5`,
		`step 1 (line 7), at 1s: job j is in queue q, want other`,
		`step 1 (line 7), at 1s: job j has priority 1, want 3`,
		`step 1 (line 7), at 1s: job j at position 1 (<nil>), want 2`,
		`step 2 (line 10), at 20s: events [11s WorkerOfferExpired j a, 11s WorkerOfferIssued j a], want [9s WorkerOfferExpired j a, 11s WorkerOfferIssued j a]`,
	}
	if strings.Join(mismatches, "\n") != strings.Join(want, "\n") {
		t.Fatalf("mismatches:\n%s\nwant\n%s", strings.Join(mismatches, "\n"), strings.Join(want, "\n"))
	}
}

func TestBadScenariosAreRefused(t *testing.T) {
	for name, src := range map[string]string{
		"misspelt action":        "steps:\n  - at: 1s\n    acept: {job: j, worker: a}\n",
		"misspelt expectation":   "steps:\n  - at: 1s\n    expect: {ofers: [j a]}\n",
		"misspelt JSON action":   "{\"config\": {}}\n{\"at\": \"1s\", \"acept\": {\"job\": \"j\", \"worker\": \"a\"}}\n",
		"misspelt JSON member":   "{\"at\": \"1s\", \"accept\": {\"job\": \"j\", \"wroker\": \"a\"}}\n",
		"bad duration":           "steps:\n  - at: soon\n",
		"negative duration":      "steps:\n  - at: -5s\n",
		"unknown member":         "name: x\nworkers: {}\n",
		"unknown kind":           "config:\n  worker: {a: {}}\n",
		"bad JSON line":          "{\"at\": \"1s\"}\n{\"at\": \n",
		"two actions":            "steps:\n  - {at: 1s, cancel: {job: j}, delete: {job: j}}\n",
		"tick with an action":    "steps:\n  - {tick: 1s, cancel: {job: j}}\n",
		"at and tick":            "steps:\n  - {at: 1s, tick: 2s}\n",
		"accept without worker":  "steps:\n  - {at: 1s, accept: {job: j}}\n",
		"job without id":         "steps:\n  - {at: 1s, job: {channelId: chat}}\n",
		"config of a bad kind":   "steps:\n  - {at: 1s, config: {kind: agents, id: a, doc: {}}}\n",
		"configuration too late": "{\"at\": \"1s\"}\n{\"config\": {\"queues\": {}}}\n",
	} {
		if _, err := scenario.Parse([]byte(src)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	// Time cannot run backwards; a bad document, a missing reference, a
	// removal of something in use are named.
	for name, src := range map[string]string{
		"backwards":         "steps:\n  - at: 5s\n  - at: 1s\n",
		"instant too early": "start: 2026-02-01T10:00:00Z\nsteps:\n  - at: 2026-02-01T09:00:00Z\n",
		"bad document":      "config:\n  queues:\n    q: {distributionPolicyId: 7}\n",
		"missing reference": "config:\n  queues:\n    q: {distributionPolicyId: dp}\n",
		"missing queue":     "config:\n  workers:\n    a: {queues: [q]}\n",
		"policy in use":     "config:\n  distributionPolicies: {dp: {mode: {kind: longestIdle}}}\n  queues: {q: {distributionPolicyId: dp}}\nsteps:\n  - remove: {kind: distributionPolicies, id: dp}\n",
		"queue in use":      "config:\n  distributionPolicies: {dp: {mode: {kind: longestIdle}}}\n  queues: {q: {distributionPolicyId: dp}}\n  workers: {a: {queues: [q]}}\nsteps:\n  - remove: {kind: queues, id: q}\n",
		"nothing to remove": "steps:\n  - remove: {kind: queues, id: q}\n",
	} {
		sc, err := scenario.Parse([]byte(src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, _, err := scenario.Run(sc); err == nil {
			t.Errorf("%s: ran", name)
		}
	}
}

// TestConfigReplacesWorkerMerges: a config step is the whole document (a
// recording's), a worker step a merge patch (the API's PATCH); a worker
// the router paused stays paused under a later patch.
func TestConfigReplacesWorkerMerges(t *testing.T) {
	src := `config:
  distributionPolicies: {dp: {offerExpiresAfterSeconds: 10, mode: {kind: longestIdle}}}
  queues: {q: {distributionPolicyId: dp}}
  workers:
    a: {capacity: 1, queues: [q], maxMissedOffers: 1, labels: {lang: en}, channels: [{channelId: chat, capacityCostPerJob: 1}], availableForOffers: true}
steps:
  - {at: 1s, job: {id: j, channelId: chat, queueId: q}, expect: {offers: [j a]}}
  - {at: 20s, expect: {events: [11s WorkerOfferExpired j a, 11s WorkerDeregistered a], state: {a: inactive}}}
  # A patch of its labels does not make it available again.
  - {at: 21s, worker: {id: a, labels: {lang: id}}, expect: {events: [WorkerUpdated a], state: {a: inactive}}}
  - {at: 22s, worker: {id: a, availableForOffers: true}, expect: {events: [WorkerRegistered a, WorkerOfferIssued j a]}}
  # The whole document: its channels gone, it can no longer take the job.
  - at: 23s
    config: {kind: workers, id: a, doc: {capacity: 1, queues: [q], availableForOffers: true}}
    expect: {events: [WorkerUpdated a], state: {a: active}}
  - {at: 40s, expect: {events: [32s WorkerOfferExpired j a]}}
`
	sc, err := scenario.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ds, mismatches, err := scenario.Run(sc)
	if err != nil || len(mismatches) > 0 {
		t.Fatalf("%v\n%s", err, strings.Join(mismatches, "\n"))
	}
	for _, d := range ds {
		if d.Kind == "WorkerDeregistered" && d.Note != `paused="1 offers in a row unanswered"` {
			t.Fatalf("the pause says %q", d.Note)
		}
	}
}
