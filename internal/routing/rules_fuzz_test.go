package routing_test

import (
	"testing"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

// FuzzPowerFx: any text is translated or refused, and whatever compiles
// evaluates without panicking within its cost limit.
func FuzzPowerFx(f *testing.F) {
	for _, s := range []string{"If(job.Urgent = true, 10, 1)", "And(job.A > 1, Or(job.B <> \"x\", Not(job.C)))", "((1))", "If(", "\"", "job[\"a b\"] = 2", "1 <> 2 <= 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if _, err := routing.PowerFxToCEL(expr); err != nil {
			return
		}
		_, _ = routing.EvaluateRule(map[string]any{"kind": "expression", "expression": expr}, map[string]any{"Urgent": true, "A": 2.0, "B": "y", "C": false})
	})
}
