package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestRoutingReplay replays a JSON Lines stream: the decisions come with
// their times and reasons, the same on every run, and --json gives one
// object per line.
func TestRoutingReplay(t *testing.T) {
	var a, b bytes.Buffer
	if err := replay(&a, "testdata/stream.jsonl", false, false); err != nil {
		t.Fatal(err)
	}
	if err := replay(&b, "testdata/stream.jsonl", false, false); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatalf("two replays differ:\n%s\n%s", a.String(), b.String())
	}
	out := a.String()
	for _, want := range []string{
		"10s WorkerOfferIssued c1 ana offer=id-1 mode=longestIdle candidates=[ana:0 budi:0]",
		"10s WorkerOfferIssued c1 budi offer=id-2",
		"12s WorkerOfferAccepted c1 budi offer=id-2",
		"12s WorkerOfferRevoked c1 ana offer=id-1",
		// budi holds half its capacity: ana (load 0) first.
		"13s WorkerOfferIssued c2 ana",
		"33s WorkerOfferExpired c2 ana",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the replay lacks %q:\n%s", want, out)
		}
	}
	var js bytes.Buffer
	if err := replay(&js, "testdata/stream.jsonl", true, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	if len(lines) != len(strings.Split(strings.TrimSpace(out), "\n")) {
		t.Fatalf("--json printed %d lines for %d decisions", len(lines), len(strings.Split(out, "\n")))
	}
	var first struct{ At, Kind, Worker string }
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.At != "0s" || first.Kind != "WorkerRegistered" || first.Worker != "ana" {
		t.Fatalf("first JSON line %s: %v", lines[0], err)
	}
}

func TestRoutingReplayRefusesBadStreams(t *testing.T) {
	for _, file := range []string{"testdata/nope.yaml"} {
		if err := replay(&bytes.Buffer{}, file, false, false); err == nil {
			t.Errorf("%s replayed", file)
		}
	}
}
