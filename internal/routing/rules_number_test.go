package routing_test

import (
	"testing"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

// TestPowerFxArithmeticWithLabels: PowerFx has one number type, so a
// label (a double) times an integer literal is a number — in CEL an int
// literal and a double have no common overload unless the translation
// makes the literal a double.
func TestPowerFxArithmeticWithLabels(t *testing.T) {
	worker := map[string]any{"Csat": 4.5, "Skill": 7.0}
	job := map[string]any{"Tier": 2.0}
	for expr, want := range map[string]float64{
		"worker.Csat * 10":                  45,
		"worker.Skill + job.Tier * 2 - 1":   10,
		"If(worker.Skill >= 5, 100, 1)":     100,
		"worker.Skill / 2":                  3.5,
		"If(job.Tier = 2, job.Tier + 1, 0)": 3,
	} {
		got, ok := routing.EvaluateScore(map[string]any{"kind": "expression", "expression": expr}, job, worker)
		if !ok || got != want {
			t.Errorf("%s = %v (ok %v), want %v", expr, got, ok, want)
		}
	}
	v, err := routing.EvaluateRule(map[string]any{"kind": "expression", "language": "powerFx", "expression": "job.Tier * 5"}, job)
	if err != nil || v != 10.0 {
		t.Errorf("job.Tier * 5 = %v (%v), want 10", v, err)
	}
}
