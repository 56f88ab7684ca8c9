package routing

import (
	"encoding/json"
	"testing"
)

// A job read straight from its document must be the job JSON would read:
// the same members, types and values; anything the direct reading does
// not cover must be left to JSON.
func TestPlainJobReadsAsJSONDoes(t *testing.T) {
	viaJSON := func(doc map[string]any) string {
		raw, _ := json.Marshal(doc)
		var j Job
		if err := json.Unmarshal(raw, &j); err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(&j)
		return string(out)
	}
	plain := []map[string]any{
		{"id": "j1", "channelId": "chat", "queueId": "q1"},
		{"id": "j2", "channelId": "voice", "queueId": "q", "priority": 7.0, "channelReference": "call-9", "classificationPolicyId": "cp",
			"dispositionCode": "x", "preferredWorkerId": "w3", "labels": map[string]any{"tier": "gold", "n": 2.5, "vip": true},
			"tags": map[string]any{"crm": "4711"}, "matchingMode": map[string]any{"kind": "suspend"}},
		{"id": "j3", "channelId": "chat", "labels": map[string]any{}, "tags": map[string]any{}},
	}
	for _, doc := range plain {
		j, ok := plainJob(doc)
		if !ok {
			t.Fatalf("%v: not read directly", doc)
		}
		got, _ := json.Marshal(j)
		if want := viaJSON(doc); string(got) != want {
			t.Fatalf("read directly: %s\nthrough JSON:    %s", got, want)
		}
	}
	// Read directly, the labels are the job's own: the caller's map may change.
	doc := map[string]any{"id": "j", "channelId": "c", "labels": map[string]any{"a": "1"}}
	j, _ := plainJob(doc)
	doc["labels"].(map[string]any)["a"] = "changed"
	if j.Labels["a"] != "1" {
		t.Fatal("the job shares its labels with the document")
	}
	others := []map[string]any{
		{"id": "j", "channelId": "c", "requestedWorkerSelectors": []any{}},
		{"id": "j", "channelId": "c", "notes": []any{}},
		{"id": "j", "ChannelId": "c"},                  // JSON matches names regardless of case
		{"id": "j", "channelId": nil},                  // null
		{"id": "j", "channelId": 5.0},                  // a type error JSON reports
		{"id": "j", "channelId": "c", "priority": 1.5}, // not an integer
		{"id": "j", "channelId": "c", "matchingMode": map[string]any{"kind": "scheduleAndSuspend", "scheduleAt": "2026-12-08T10:00:00Z"}},
		{"id": "j", "channelId": "c", "labels": []any{"x"}}, // not an object
		{"id": "j", "channelId": "c", "somethingElse": "x"}, // ignored by JSON, left to it
	}
	for _, doc := range others {
		if _, ok := plainJob(doc); ok {
			t.Fatalf("%v was read directly; it must go through JSON", doc)
		}
	}
}
