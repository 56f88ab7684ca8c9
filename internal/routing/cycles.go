package routing

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// A job moves between queues by its queue's exception rules: a
// manualReclassify names the next queue, a reclassify a classification
// policy whose fallback queue it may land in. Configurations in which
// those moves lead from a queue back to itself are refused: each rule
// fires once per job, so such a loop would not spin, but it is never what
// an administrator meant (a job would wait its way round every queue of
// the loop and end up where it started).

// routeGraph is each queue's possible next queues, with the rule that
// moves the job.
type routeGraph map[string][]routeEdge

type routeEdge struct {
	to, via string
}

// buildRouteGraph reads queues, exception and classification policies.
func buildRouteGraph(queues, exceptions, classes map[string]map[string]any) routeGraph {
	g := routeGraph{}
	for qid, q := range queues {
		epID, _ := q["exceptionPolicyId"].(string)
		rules, _ := exceptions[epID]["exceptionRules"].([]any)
		for _, x := range rules {
			rule, _ := x.(map[string]any)
			ruleID, _ := rule["id"].(string)
			actions, _ := rule["actions"].([]any)
			for _, a := range actions {
				act, _ := a.(map[string]any)
				via := fmt.Sprintf("exception policy %s rule %s", epID, ruleID)
				switch act["kind"] {
				case "manualReclassify":
					if to, _ := act["queueId"].(string); to != "" {
						g[qid] = append(g[qid], routeEdge{to, via})
					}
				case "reclassify":
					cp, _ := act["classificationPolicyId"].(string)
					if to, _ := classes[cp]["fallbackQueueId"].(string); to != "" {
						g[qid] = append(g[qid], routeEdge{to, via + " (classification policy " + cp + ")"})
					}
				}
			}
		}
	}
	return g
}

// cycle returns a loop of queues if the graph has one.
func (g routeGraph) cycle() []string {
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(q string) []string
	visit = func(q string) []string {
		state[q] = open
		path = append(path, q)
		for _, e := range g[q] {
			switch state[e.to] {
			case open:
				i := slices.Index(path, e.to)
				return append(slices.Clone(path[i:]), e.to)
			case unseen:
				if c := visit(e.to); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[q] = done
		return nil
	}
	for _, q := range sortedKeys(g) {
		if state[q] == unseen {
			if c := visit(q); c != nil {
				return c
			}
		}
	}
	return nil
}

// checkCycles refuses a write that would close a loop of queues.
func (c *Config) checkCycles(ctx context.Context, t tenant.ID, kind Kind, id string, doc map[string]any) error {
	if kind != KindQueue && kind != KindExceptionPolicy && kind != KindClassificationPolicy {
		return nil
	}
	docs := map[Kind]map[string]map[string]any{}
	for _, k := range []Kind{KindQueue, KindExceptionPolicy, KindClassificationPolicy} {
		docs[k] = map[string]map[string]any{}
		after := ""
		for {
			page, err := c.store.ConfigEntities(ctx, t, k, after, 500)
			if err != nil {
				return err
			}
			for _, e := range page {
				if d, err := Decode(e.Doc); err == nil {
					docs[k][e.ID] = d
				}
			}
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	docs[kind][id] = doc
	if loop := buildRouteGraph(docs[KindQueue], docs[KindExceptionPolicy], docs[KindClassificationPolicy]).cycle(); loop != nil {
		return errs.Invalid("ClassificationCycle", "exception rules would move jobs round a loop of queues: %s", strings.Join(loop, " → ")).WithTarget(string(kind))
	}
	return nil
}
