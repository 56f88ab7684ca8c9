package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// replayed runs `switchboard routing replay` as a process.
func replayed(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := command(append([]string{"routing", "replay"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// TestRoutingReplayCommand replays a JSON Lines stream through the real
// command line: every decision with its time and reason, the same on
// every run, the same whether the stream writes offsets or instants, and
// one JSON object a line with --json.
func TestRoutingReplayCommand(t *testing.T) {
	a, stderr, code := replayed(t, "testdata/stream.jsonl")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, _, _ := replayed(t, "testdata/stream.jsonl")
	if a != b {
		t.Fatalf("two replays differ:\n%s\n%s", a, b)
	}
	lines := strings.Split(strings.TrimSpace(a), "\n")
	for i, want := range []string{
		"0s WorkerRegistered ana",
		"5s WorkerRegistered budi",
		"6s WorkerRegistered cici",
		"10s JobReceived c1",
		"10s JobQueued c1 queue=q priority=1",
		"10s WorkerOfferIssued c1 ana offer=id-1 expires=30s mode=longestIdle candidates=[ana:0 budi:0] excluded=[cici: has no chat channel]",
		"10s WorkerOfferIssued c1 budi offer=id-2 expires=30s mode=longestIdle candidates=[ana:0 budi:0] excluded=[cici: has no chat channel]",
		"12s WorkerOfferAccepted c1 budi offer=id-2",
		"12s WorkerOfferRevoked c1 ana offer=id-1",
		"13s JobReceived c2",
		"13s JobQueued c2 queue=q priority=1",
		// budi holds half its capacity: ana (load 0) first.
		"13s WorkerOfferIssued c2 ana offer=id-4 expires=33s mode=longestIdle candidates=[ana:0 budi:0] excluded=[cici: has no chat channel]",
		"13s WorkerOfferIssued c2 budi offer=id-5 expires=33s mode=longestIdle candidates=[ana:0 budi:0] excluded=[cici: has no chat channel]",
		"14s WorkerOfferDeclined c2 budi offer=id-5",
		"33s WorkerOfferExpired c2 ana offer=id-4",
		// budi declined until 44s: ana alone.
		"33s WorkerOfferIssued c2 ana offer=id-6 expires=53s mode=longestIdle candidates=[ana:0] excluded=[budi: declined the job; cici: has no chat channel]",
	} {
		if i >= len(lines) || lines[i] != want {
			t.Fatalf("line %d: want\n%s\ngot\n%s", i+1, want, a)
		}
	}
	if len(lines) != 16 {
		t.Fatalf("%d lines:\n%s", len(lines), a)
	}

	instants, _, code := replayed(t, "testdata/stream_instants.jsonl")
	if code != 0 || instants != a {
		t.Fatalf("the stream with instants replays otherwise (exit %d):\n%s", code, instants)
	}

	js, _, code := replayed(t, "--json", "testdata/stream_instants.jsonl")
	jl := strings.Split(strings.TrimSpace(js), "\n")
	if code != 0 || len(jl) != len(lines) {
		t.Fatalf("--json printed %d lines for %d decisions (exit %d)", len(jl), len(lines), code)
	}
	var offer struct {
		At, Time, Kind, Job, Worker, Offer, Expires string
		Why                                         struct {
			Mode       string
			Candidates []struct {
				WorkerID string
				Score    float64
			}
			Excluded map[string]string
		}
	}
	if err := json.Unmarshal([]byte(jl[5]), &offer); err != nil {
		t.Fatal(err)
	}
	if offer.At != "10s" || offer.Time != "2026-03-02T08:00:10Z" || offer.Kind != "WorkerOfferIssued" || offer.Job != "c1" || offer.Worker != "ana" ||
		offer.Offer != "id-1" || offer.Expires != "30s" || offer.Why.Mode != "longestIdle" || len(offer.Why.Candidates) != 2 ||
		offer.Why.Candidates[0].WorkerID != "ana" || offer.Why.Excluded["cici"] != "has no chat channel" {
		t.Fatalf("JSON offer %s → %+v", jl[5], offer)
	}
}

// TestRoutingReplayCheck: with --check a scenario's expectations are
// compared and a difference is an exit status of 1, named on stderr.
func TestRoutingReplayCheck(t *testing.T) {
	if _, stderr, code := replayed(t, "--check", "../../internal/routing/scenario/testdata/round_robin.yaml"); code != 0 {
		t.Fatalf("a passing scenario: exit %d: %s", code, stderr)
	}
	out, stderr, code := replayed(t, "--check", "testdata/check_fails.yaml")
	if code != 1 || !strings.Contains(stderr, "step 1 (line 10), at 1s: offers [1s j1 a], want [j1 b]") {
		t.Fatalf("a failing scenario: exit %d, stderr %s", code, stderr)
	}
	if !strings.Contains(out, "1s WorkerOfferIssued j1 a offer=id-1") {
		t.Fatalf("the decisions are printed all the same:\n%s", out)
	}
	// Without --check the expectations are not compared.
	if _, _, code := replayed(t, "testdata/check_fails.yaml"); code != 0 {
		t.Fatalf("without --check: exit %d", code)
	}
}

func TestRoutingReplayRefusesBadStreams(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"misspelt.jsonl":  "{\"at\": \"1s\", \"acept\": {\"job\": \"j\", \"worker\": \"a\"}}\n",
		"backwards.jsonl": "{\"at\": \"5s\"}\n{\"at\": \"1s\"}\n",
		"badref.yaml":     "config:\n  queues:\n    q: {distributionPolicyId: nope}\n",
	} {
		path := dir + "/" + name
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := replay(&bytes.Buffer{}, &bytes.Buffer{}, path, false, false); err == nil {
			t.Errorf("%s replayed", name)
		}
	}
	if _, _, code := replayed(t, "testdata/nope.jsonl"); code == 0 {
		t.Error("a missing file replayed")
	}
}
