package app_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/routing/scenario"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// TestRoutingRecordReplays: with --routing-record a node writes what its
// router was told; replaying the file under the virtual clock makes the
// same offers, to the same workers, in the same order, as the live run.
func TestRoutingRecordReplays(t *testing.T) {
	dir := t.TempDir()
	s := switchboardtest.Start(t, switchboardtest.WithConfig(func(c *config.Config) { c.RoutingRecord = dir }))
	c := routerClient{s.Client(t)}
	c.must(t, "PATCH", "/routing/distributionPolicies/dp"+routerVersion, map[string]any{"offerExpiresAfterSeconds": 300, "mode": map[string]any{"kind": "roundRobin", "maxConcurrentOffers": 2}}, 201)
	c.must(t, "PATCH", "/routing/queues/q"+routerVersion, map[string]any{"distributionPolicyId": "dp"}, 201)
	for _, w := range []string{"ana", "budi", "cici"} {
		c.must(t, "PATCH", "/routing/workers/"+w+routerVersion, map[string]any{"capacity": 2, "queues": []string{"q"}, "availableForOffers": true,
			"channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 1}}}, 201)
	}
	var live []string
	offered := func(job string) []map[string]string {
		var j struct {
			Decisions []map[string]string `json:"decisions"`
		}
		_ = json.Unmarshal(c.must(t, "GET", "/routing/jobs/"+job+routerVersion, nil, 200), &j)
		return j.Decisions
	}
	for i := range 5 {
		job := fmt.Sprint("j", i)
		c.must(t, "PATCH", "/routing/jobs/"+job+routerVersion, map[string]any{"channelId": "chat", "queueId": "q", "priority": i}, 201)
		ds := offered(job)
		for _, d := range ds {
			if d["kind"] == "OfferIssued" {
				live = append(live, "offer "+job+" "+d["workerId"])
			}
		}
		// The second offer's worker accepts (the first offer is revoked).
		c.must(t, "POST", "/routing/workers/"+ds[1]["workerId"]+"/offers/"+ds[1]["offerId"]+":accept"+routerVersion, nil, 200)
		live = append(live, "accept "+job+" "+ds[1]["workerId"])
	}
	// Each step is on disk once its call has answered.

	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("recordings: %v", files)
	}
	sc, err := scenario.Load(files[0])
	if err != nil {
		t.Fatal(err)
	}
	decisions, _, err := scenario.Run(sc)
	if err != nil {
		t.Fatal(err)
	}
	var replayed []string
	for _, d := range decisions {
		switch d.Kind {
		case "WorkerOfferIssued":
			replayed = append(replayed, "offer "+d.Job+" "+d.Worker)
		case "WorkerOfferAccepted":
			replayed = append(replayed, "accept "+d.Job+" "+d.Worker)
		}
	}
	if !slices.Equal(live, replayed) {
		t.Fatalf("the replay decided otherwise:\nlive     %v\nreplayed %v", live, replayed)
	}
}
