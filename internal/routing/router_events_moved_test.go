package routing

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestQueuedEventNamesTheQueueOfItsMoment: a job queued in main that an
// exception rule moves to backup in the same call raises RouterJobQueued
// for main (priority 1), RouterJobExceptionTriggered there, then
// RouterJobQueued for backup (priority 10) — not backup three times, as
// the job stood when the call ended.
func TestQueuedEventNamesTheQueueOfItsMoment(t *testing.T) {
	r := testRouter(t, map[Kind]map[string]string{
		KindDistributionPolicy: {"dp": `{"offerExpiresAfterSeconds":30,"mode":{"kind":"longestIdle"}}`},
		KindExceptionPolicy: {"spill": `{"exceptionRules":[{"id":"long","trigger":{"kind":"queueLength","threshold":1},
			"actions":[{"kind":"manualReclassify","queueId":"backup","priority":10}]}]}`},
		KindQueue: {"main": `{"distributionPolicyId":"dp","exceptionPolicyId":"spill"}`, "backup": `{"distributionPolicyId":"dp"}`},
	})
	mustJob(t, r, "m1", `{"channelId":"voice","queueId":"main"}`, t0)
	_, ch := mustJob(t, r, "m2", `{"channelId":"voice","queueId":"main"}`, t0)
	var got []string
	for _, e := range r.Events("t", ch.Facts) {
		var d struct {
			QueueID  string `json:"queueId"`
			Priority *int   `json:"priority"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		s := strings.TrimPrefix(e.Type, "Microsoft.Communication.") + " " + d.QueueID
		if d.Priority != nil {
			s += fmt.Sprint(" ", *d.Priority)
		}
		got = append(got, s)
	}
	want := "[RouterJobReceived main 1 RouterJobQueued main 1 RouterJobExceptionTriggered main RouterJobQueued backup 10]"
	if fmt.Sprint(got) != want {
		t.Fatalf("events %v, want %s", got, want)
	}
}
