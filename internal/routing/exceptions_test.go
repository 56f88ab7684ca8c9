package routing_test

import (
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

func TestExceptions(t *testing.T) {
	policy := doc(t, `{"exceptionRules": [
	  {"id": "slow", "trigger": {"kind": "waitTime", "thresholdSeconds": 60},
	   "actions": [{"id": "a1", "kind": "manualReclassify", "queueId": "overflow", "priority": 5}]},
	  {"id": "full", "trigger": {"kind": "queueLength", "threshold": 10},
	   "actions": [{"id": "a2", "kind": "cancel", "note": "queue full", "dispositionCode": "QueueFull"}]}]}`)
	if got := routing.Exceptions(policy, routing.ExceptionState{QueuedFor: 59 * time.Second, QueueLength: 10}); len(got) != 0 {
		t.Fatalf("fired early: %+v", got)
	}
	got := routing.Exceptions(policy, routing.ExceptionState{QueuedFor: time.Minute, QueueLength: 3})
	if len(got) != 1 || got[0].Kind != "manualReclassify" || got[0].Fields["queueId"] != "overflow" || got[0].Rule != "slow" {
		t.Fatalf("wait time: %+v", got)
	}
	got = routing.Exceptions(policy, routing.ExceptionState{QueuedFor: 2 * time.Minute, QueueLength: 11, Fired: map[string]bool{"slow": true}})
	if len(got) != 1 || got[0].Kind != "cancel" || got[0].Fields["dispositionCode"] != "QueueFull" {
		t.Fatalf("queue length (slow already fired): %+v", got)
	}
}
