package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// recording is one of Microsoft's Job Router session recordings.
type recording struct {
	Entries []struct {
		RequestURI    string          `json:"RequestUri"`
		RequestMethod string          `json:"RequestMethod"`
		RequestBody   json.RawMessage `json:"RequestBody"`
		StatusCode    int             `json:"StatusCode"`
		ResponseBody  json.RawMessage `json:"ResponseBody"`
	} `json:"Entries"`
}

// volatile members differ between the recorded service and any other:
// generated ids and etags, timestamps, and free-text messages.
var volatile = map[string]bool{"etag": true, "message": true, "target": true,
	"enqueuedAt": true, "assignedAt": true, "completedAt": true, "closedAt": true, "addedAt": true, "scheduledAt": true}

// sameShape compares a recorded body with ours: the same members with the
// same values, except volatile ones (compared for presence only), and, in
// a list, each of our items against the recorded item with its id (the
// recorded resource held other tests' entities too).
func sameShape(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %v", path, got)}
		}
		var diffs []string
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		for k := range keys {
			wv, wok := w[k]
			gv, gok := g[k]
			if k == "nextLink" && wv == nil && gv == nil {
				continue
			}
			if wok != gok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: recorded %v, ours %v", path, k, wv, gv))
				continue
			}
			if volatile[k] || (k == "id" && strings.Contains(path, "actions")) {
				continue
			}
			if k == "value" && path == "" {
				diffs = append(diffs, sameItems(w[k], g[k])...)
				continue
			}
			diffs = append(diffs, sameShape(path+"."+k, wv, gv)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: recorded %v, ours %v", path, want, got)}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, sameShape(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return diffs
	}
	if !reflect.DeepEqual(want, got) {
		return []string{fmt.Sprintf("%s: recorded %v, ours %v", path, want, got)}
	}
	return nil
}

func sameItems(want, got any) []string {
	recorded := map[string]any{}
	for _, it := range asList(want) {
		if m, ok := it.(map[string]any); ok {
			recorded[fmt.Sprint(m["id"])] = m
		}
	}
	var diffs []string
	for _, it := range asList(got) {
		m, _ := it.(map[string]any)
		id := fmt.Sprint(m["id"])
		if w, ok := recorded[id]; ok {
			diffs = append(diffs, sameShape(".value["+id+"]", w, m)...)
		}
	}
	return diffs
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// suiteOrder is the order the recorded tests ran in (their spec files'
// order), which the state they share depends on.
var suiteOrder = []string{"create", "get", "update", "register", "list", "delete"}

// jobSuiteOrder is the job suite's order, which the recorded etags (each
// write counts one) confirm.
var jobSuiteOrder = []string{"create", "get_a", "update", "get_queue_position", "reclassify", "list_jobs", "list_scheduled", "cancel", "delete"}

func orderedFiles(t *testing.T, dir string) []string {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings in %s: %v", dir, err)
	}
	order := suiteOrder
	if strings.HasSuffix(dir, "job_operations") {
		order = jobSuiteOrder
	}
	rank := func(f string) int {
		for i, op := range order {
			if strings.HasPrefix(filepath.Base(f), "recording_should_"+op) {
				return i
			}
		}
		return len(order)
	}
	sort.SliceStable(files, func(i, j int) bool { return rank(files[i]) < rank(files[j]) })
	return files
}

// TestJobRouterRecordings replays Microsoft's Job Router recordings (the
// distribution, classification and exception policy, queue, worker and job
// suites) against a node, re-signed with a tenant's key, and
// compares every answer with the recorded one.
func TestJobRouterRecordings(t *testing.T) {
	s := switchboardtest.Start(t)
	root := filepath.Join(switchboardtest.FixturesDir(t), "acs", "jobrouter")
	passed, total := 0, 0
	for i, suite := range []string{"jobrouterclient_distribution_policy_operations", "jobrouterclient_classification_policy_operations",
		"jobrouterclient_exception_policy_operations", "jobrouterclient_queue_operations", "jobrouterclient_worker_operations",
		"jobrouterclient_job_operations"} {
		// A tenant per suite: each suite's recordings share the state of one
		// resource.
		_, key, err := s.App.Tenants.Create(t.Context(), fmt.Sprintf("router%d", i))
		if err != nil {
			t.Fatal(err)
		}
		c := s.ClientFor(t, app.ConnectionString(s.App.Endpoint(), key))
		for _, file := range orderedFiles(t, filepath.Join(root, suite)) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var rec recording
			if err := json.Unmarshal(raw, &rec); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for n, e := range rec.Entries {
				total++
				where := fmt.Sprintf("%s/%s #%d %s %s", suite, filepath.Base(file), n, e.RequestMethod, e.RequestURI)
				path := strings.TrimPrefix(e.RequestURI, "https://endpoint")
				var body any
				if len(e.RequestBody) > 0 && string(e.RequestBody) != "null" {
					body = json.RawMessage(e.RequestBody)
				}
				req := c.Request(e.RequestMethod, path, body)
				if e.RequestMethod == http.MethodPatch {
					req.Header.Set("Content-Type", "application/merge-patch+json")
				}
				resp, got := c.Send(t, req)
				status := resp.StatusCode
				// An upsert creates (201) or updates (200) depending on what the
				// live resource held before; both are the same answer here.
				upsert := e.RequestMethod == http.MethodPatch && (status == 200 || status == 201) && (e.StatusCode == 200 || e.StatusCode == 201)
				if status != e.StatusCode && !upsert {
					t.Errorf("%s: status %d, recorded %d: %s", where, status, e.StatusCode, got)
					continue
				}
				var want, have any
				_ = json.Unmarshal(e.ResponseBody, &want)
				if len(got) > 0 {
					if err := json.Unmarshal(got, &have); err != nil {
						t.Errorf("%s: body is not JSON: %s", where, got)
						continue
					}
				}
				if diffs := sameShape("", want, have); len(diffs) > 0 {
					t.Errorf("%s: %s", where, strings.Join(diffs, "; "))
					continue
				}
				passed++
			}
		}
	}
	t.Logf("Job Router recordings: %d of %d exchanges match", passed, total)
}

func TestWorkerListFilters(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	const rv = "?api-version=2023-11-01"
	put := func(path string, body any, want int) {
		t.Helper()
		req := c.Request("PATCH", path+rv, body)
		req.Header.Set("Content-Type", "application/merge-patch+json")
		resp, raw := c.Send(t, req)
		wantStatus(t, resp, raw, want)
	}
	put("/routing/distributionPolicies/dp", map[string]any{"mode": map[string]any{"kind": "roundRobin"}}, 201)
	put("/routing/queues/sales", map[string]any{"distributionPolicyId": "dp"}, 201)
	put("/routing/queues/support", map[string]any{"distributionPolicyId": "dp"}, 201)
	put("/routing/workers/ana", map[string]any{"capacity": 100, "availableForOffers": true, "queues": []string{"sales"},
		"channels": []any{map[string]any{"channelId": "voice", "capacityCostPerJob": 100}, map[string]any{"channelId": "chat", "capacityCostPerJob": 20, "maxNumberOfJobs": 5}}}, 201)
	put("/routing/workers/budi", map[string]any{"capacity": 100, "availableForOffers": false, "queues": []string{"support"},
		"channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 20}}}, 201)
	put("/routing/workers/cici", map[string]any{"queues": []string{"nowhere"}}, 400)
	put("/routing/workers/cici", map[string]any{"capacity": -1}, 400)
	put("/routing/workers/cici", map[string]any{"channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": -5}}}, 400)
	for q, want := range map[string]string{
		"": "ana,budi", "&state=active": "ana", "&state=inactive": "budi", "&channelId=voice": "ana",
		"&channelId=chat": "ana,budi", "&queueId=support": "budi", "&hasCapacity=true": "ana", "&hasCapacity=false": "budi",
	} {
		resp, raw := c.Do(t, "GET", "/routing/workers"+rv+q+"&maxpagesize=1", nil)
		wantStatus(t, resp, raw, 200)
		var ids []string
		for {
			var page struct {
				Value []struct {
					ID string `json:"id"`
				} `json:"value"`
				NextLink *string `json:"nextLink"`
			}
			_ = json.Unmarshal(raw, &page)
			for _, v := range page.Value {
				ids = append(ids, v.ID)
			}
			if page.NextLink == nil {
				break
			}
			resp, raw = c.Do(t, "GET", pathOf(t, *page.NextLink), nil)
			wantStatus(t, resp, raw, 200)
		}
		if strings.Join(ids, ",") != want {
			t.Errorf("filter %q: %v, want %s", q, ids, want)
		}
	}
	// A queue with workers cannot go.
	resp, raw := c.Do(t, "DELETE", "/routing/queues/sales"+rv, nil)
	wantStatus(t, resp, raw, http.StatusConflict)
	resp, raw = c.Do(t, "DELETE", "/routing/workers/ana"+rv, nil)
	wantStatus(t, resp, raw, http.StatusNoContent)
	resp, raw = c.Do(t, "DELETE", "/routing/queues/sales"+rv, nil)
	wantStatus(t, resp, raw, http.StatusNoContent)
}
