package routing_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

func TestClassify(t *testing.T) {
	queues := map[string]map[string]any{
		"sales-en": {"Id": "sales-en", "dept": "sales", "lang": "en"},
		"sales-id": {"Id": "sales-id", "dept": "sales", "lang": "id"},
		"general":  {"Id": "general"},
	}
	policy := doc(t, `{
	  "fallbackQueueId": "general",
	  "queueSelectorAttachments": [
	    {"kind": "static", "queueSelector": {"key": "dept", "labelOperator": "equal", "value": "sales"}},
	    {"kind": "passThrough", "key": "lang", "labelOperator": "equal"}
	  ],
	  "prioritizationRule": {"kind": "expression", "language": "powerFx", "expression": "If(job.Vip = true, 10, 1)"},
	  "workerSelectorAttachments": [
	    {"kind": "conditional", "condition": {"kind": "expression", "expression": "job.Vip = true"},
	     "workerSelectors": [{"key": "tier", "labelOperator": "greaterThanOrEqual", "value": 3}]},
	    {"kind": "ruleEngine", "rule": {"kind": "static", "value": [{"key": "skill", "labelOperator": "equal", "value": "billing"}]}}
	  ]}`)
	c, err := routing.Classify(policy, "job-1", "", map[string]any{"lang": "id", "Vip": true}, queues)
	if err != nil {
		t.Fatal(err)
	}
	if c.QueueID != "sales-id" || c.Priority == nil || *c.Priority != 10 || len(c.WorkerSelectors) != 2 || c.WorkerSelectors[0].Key != "tier" {
		t.Fatalf("classified %+v (priority %v)", c, c.Priority)
	}
	// No queue admits French: the fallback takes it; not a VIP: no tier selector.
	c, err = routing.Classify(policy, "job-2", "", map[string]any{"lang": "fr", "Vip": false}, queues)
	if err != nil || c.QueueID != "general" || *c.Priority != 1 || len(c.WorkerSelectors) != 1 {
		t.Fatalf("fallback: %+v %v", c, err)
	}
	// A job that names its queue keeps it.
	if c, _ := routing.Classify(policy, "job-3", "sales-en", map[string]any{"Vip": false}, queues); c.QueueID != "sales-en" {
		t.Fatalf("explicit queue overridden: %s", c.QueueID)
	}
	// No queue and no fallback: classification fails.
	delete(policy, "fallbackQueueId")
	if _, err := routing.Classify(policy, "job-4", "", map[string]any{"lang": "fr"}, queues); !errors.Is(err, routing.ErrNoQueue) {
		t.Fatalf("want ErrNoQueue, got %v", err)
	}
}

func TestWeightedAllocation(t *testing.T) {
	policy := doc(t, `{"fallbackQueueId": "q", "workerSelectorAttachments": [{"kind": "weightedAllocation", "allocations": [
	  {"weight": 0.3, "workerSelectors": [{"key": "team", "labelOperator": "equal", "value": "a"}]},
	  {"weight": 0.7, "workerSelectors": [{"key": "team", "labelOperator": "equal", "value": "b"}]}]}]}`)
	counts := map[any]int{}
	for i := range 2000 {
		c, err := routing.Classify(policy, fmt.Sprint("job-", i), "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		counts[c.WorkerSelectors[0].Value]++
		again, _ := routing.Classify(policy, fmt.Sprint("job-", i), "", nil, nil)
		if again.WorkerSelectors[0].Value != c.WorkerSelectors[0].Value {
			t.Fatal("a job's allocation changed when classified again")
		}
	}
	if a := counts["a"]; a < 500 || a > 700 {
		t.Fatalf("team a got %d of 2000, want about 600", a)
	}
}
