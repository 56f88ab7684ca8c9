package scenario_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/routing/scenario"
)

// TestDocExamples: the scenarios docs/routing.md shows run and meet their
// expectations.
func TestDocExamples(t *testing.T) {
	raw, err := os.ReadFile("../../../docs/routing.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```(?:yaml)?\n(.*?)```").FindAllSubmatch(raw, -1)
	ran := 0
	for _, b := range blocks {
		src := b[1]
		if !regexp.MustCompile(`(?m)^(steps:|\{"name")`).Match(src) {
			continue // not a scenario: output, a command line
		}
		sc, err := scenario.Parse(src)
		if err != nil {
			t.Fatalf("%v\n%s", err, src)
		}
		_, mismatches, err := scenario.Run(sc)
		if err != nil || len(mismatches) > 0 {
			t.Fatalf("%v %v\n%s", err, mismatches, src)
		}
		ran++
	}
	if ran < 2 {
		t.Fatalf("%d examples found", ran)
	}
}
