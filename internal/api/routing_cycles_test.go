package api_test

import (
	"strings"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// TestClassificationCyclesRefused: exception rules that would move jobs
// round a loop of queues — directly, through another queue, or through a
// classification policy's fallback — are refused with 400 and leave the
// configuration as it was.
func TestClassificationCyclesRefused(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	patchRouter(t, c, "/routing/distributionPolicies/dp", map[string]any{"mode": map[string]any{"kind": "longestIdle"}}, 201)
	for _, q := range []string{"a", "b", "c"} {
		patchRouter(t, c, "/routing/queues/"+q, map[string]any{"distributionPolicyId": "dp"}, 201)
	}
	overflow := func(to string) map[string]any {
		return map[string]any{"exceptionRules": []any{map[string]any{"id": "wait", "trigger": map[string]any{"kind": "waitTime", "thresholdSeconds": 60},
			"actions": []any{map[string]any{"kind": "manualReclassify", "queueId": to}}}}}
	}
	patchRouter(t, c, "/routing/exceptionPolicies/toA", overflow("a"), 201)
	patchRouter(t, c, "/routing/exceptionPolicies/toB", overflow("b"), 201)
	patchRouter(t, c, "/routing/exceptionPolicies/toC", overflow("c"), 201)
	patchRouter(t, c, "/routing/classificationPolicies/backToA", map[string]any{"fallbackQueueId": "a"}, 201)
	patchRouter(t, c, "/routing/exceptionPolicies/viaPolicy", map[string]any{"exceptionRules": []any{map[string]any{"id": "re",
		"trigger": map[string]any{"kind": "queueLength", "threshold": 5}, "actions": []any{map[string]any{"kind": "reclassify", "classificationPolicyId": "backToA"}}}}}, 201)

	// a → b → c is a chain, not a loop.
	patchRouter(t, c, "/routing/queues/a", map[string]any{"exceptionPolicyId": "toB"}, 200)
	patchRouter(t, c, "/routing/queues/b", map[string]any{"exceptionPolicyId": "toC"}, 200)
	for name, tc := range map[string]struct{ path, policy string }{
		"c back to a closes a → b → c → a": {"/routing/queues/c", "toA"},
		"a queue overflowing into itself":  {"/routing/queues/c", "toC"},
		"c back to a through a policy":     {"/routing/queues/c", "viaPolicy"},
	} {
		t.Run(name, func(t *testing.T) {
			req := c.Request("PATCH", tc.path+routerRV, map[string]any{"exceptionPolicyId": tc.policy})
			req.Header.Set("Content-Type", "application/merge-patch+json")
			resp, raw := c.Send(t, req)
			wantStatus(t, resp, raw, 400)
			if !strings.Contains(string(raw), "ClassificationCycle") {
				t.Fatalf("answer %s", raw)
			}
			resp, raw = c.Do(t, "GET", tc.path+routerRV, nil)
			wantStatus(t, resp, raw, 200)
			if strings.Contains(string(raw), "exceptionPolicyId") {
				t.Fatalf("the refused write changed the queue: %s", raw)
			}
		})
	}
	// Changing the policy rather than the queue is caught too.
	req := c.Request("PATCH", "/routing/exceptionPolicies/toC"+routerRV, overflow("a"))
	req.Header.Set("Content-Type", "application/merge-patch+json")
	if resp, raw := c.Send(t, req); resp.StatusCode != 400 || !strings.Contains(string(raw), "a → b → a") {
		t.Fatalf("rewriting toC to overflow into a: %d %s", resp.StatusCode, raw)
	}
}
