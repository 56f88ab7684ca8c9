package routing

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
)

// Classification is what a classification policy decides for a job.
type Classification struct {
	QueueID         string
	Priority        *float64 // nil: keep the job's own
	WorkerSelectors []Selector
}

// ErrNoQueue is a classification that finds no queue and has no fallback
// (the job's status becomes classificationFailed).
var ErrNoQueue = errors.New("routing: classification found no queue")

// Classify applies a classification policy document to a job: queue
// selection (unless the job names its queue), prioritisation and worker
// selectors. queues maps each queue id to its labels.
func Classify(policy map[string]any, jobID, jobQueue string, labels map[string]any, queues map[string]map[string]any) (Classification, error) {
	var c Classification
	// Queue: the job's own, else the queues every attached selector
	// admits (the first by id), else the fallback.
	c.QueueID = jobQueue
	if c.QueueID == "" {
		sels, err := attachments(policy["queueSelectorAttachments"], "queueSelector", "queueSelectors", jobID, labels)
		if err != nil {
			return c, err
		}
		if len(sels) > 0 {
			ids := make([]string, 0, len(queues))
			for id := range queues {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			for _, id := range ids {
				if MatchesAll(sels, queues[id]) {
					c.QueueID = id
					break
				}
			}
		}
		if c.QueueID == "" {
			c.QueueID, _ = policy["fallbackQueueId"].(string)
		}
		if c.QueueID == "" {
			return c, ErrNoQueue
		}
	}
	if rule, ok := policy["prioritizationRule"].(map[string]any); ok {
		v, err := EvaluateRule(rule, labels)
		switch {
		case errors.Is(err, ErrRemoteRule):
			// The job keeps its own priority.
		case err != nil:
			return c, err
		default:
			p, ok := v.(float64)
			if !ok {
				return c, fmt.Errorf("routing: the prioritization rule gave %T, not a number", v)
			}
			c.Priority = &p
		}
	}
	sels, err := attachments(policy["workerSelectorAttachments"], "workerSelector", "workerSelectors", jobID, labels)
	if err != nil {
		return c, err
	}
	c.WorkerSelectors = sels
	return c, nil
}

// attachments turns selector attachments into the selectors that apply to
// a job with these labels.
func attachments(v any, single, many, jobID string, labels map[string]any) ([]Selector, error) {
	list, _ := v.([]any)
	var out []Selector
	for _, a := range list {
		att, _ := a.(map[string]any)
		sels, err := attachment(att, single, many, jobID, labels)
		if errors.Is(err, ErrRemoteRule) {
			continue // an attachment whose remote rule failed adds nothing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sels...)
	}
	return out, nil
}

// attachment is the selectors one attachment gives a job.
func attachment(att map[string]any, single, many, jobID string, labels map[string]any) ([]Selector, error) {
	var out []Selector
	switch att["kind"] {
	case "static":
		s, err := toSelectors([]any{att[single]})
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	case "conditional":
		cond, _ := att["condition"].(map[string]any)
		ok, err := EvaluateRule(cond, labels)
		if err != nil {
			return nil, err
		}
		if ok == true {
			s, err := toSelectors(att[many])
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
	case "passThrough":
		key, _ := att["key"].(string)
		if val, ok := labels[key]; ok {
			op, _ := att["labelOperator"].(string)
			out = append(out, Selector{Key: key, LabelOperator: LabelOperator(op), Value: val})
		}
	case "ruleEngine":
		rule, _ := att["rule"].(map[string]any)
		res, err := EvaluateRule(rule, labels)
		if err != nil {
			return nil, err
		}
		s, err := ruleSelectors(res)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	case "weightedAllocation":
		allocs, _ := att["allocations"].([]any)
		if chosen := pickAllocation(allocs, jobID); chosen != nil {
			s, err := toSelectors(chosen[many])
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
	}
	return out, nil
}

// ruleSelectors reads a rule engine's result: a list of selectors, or a
// label map (directMap), each label an equality selector.
func ruleSelectors(res any) ([]Selector, error) {
	if m, ok := res.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]Selector, 0, len(keys))
		for _, k := range keys {
			out = append(out, Selector{Key: k, LabelOperator: Equal, Value: m[k]})
		}
		return out, nil
	}
	return toSelectors(res)
}

func toSelectors(v any) ([]Selector, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out []Selector
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("routing: selectors: %w", err)
	}
	return out, nil
}

// pickAllocation chooses by weight, deterministically per job (the same
// job lands in the same allocation when classified again).
func pickAllocation(allocs []any, jobID string) map[string]any {
	h := fnv.New64a()
	h.Write([]byte(jobID))
	x := float64(h.Sum64()%1_000_000) / 1_000_000
	acc := 0.0
	for _, a := range allocs {
		m, _ := a.(map[string]any)
		w, _ := m["weight"].(float64)
		acc += w
		if x < acc {
			return m
		}
	}
	if len(allocs) > 0 {
		m, _ := allocs[len(allocs)-1].(map[string]any)
		return m
	}
	return nil
}
