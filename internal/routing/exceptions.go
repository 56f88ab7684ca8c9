package routing

import "time"

// ExceptionAction is an action an exception rule fires for a job.
type ExceptionAction struct {
	Rule   string         // the rule's id
	ID     string         // the action's id
	Kind   string         // cancel, manualReclassify, reclassify
	Fields map[string]any // the action's other members (note, queueId, labelsToUpsert, …)
}

// ExceptionState is what the exception check needs of a queued job.
type ExceptionState struct {
	QueuedFor   time.Duration // how long it has waited in its queue
	QueueLength int           // jobs in its queue when it was enqueued
	Fired       map[string]bool
}

// Exceptions returns the actions of the rules of an exception policy
// document that trigger for a job now and have not fired for it before
// (each rule fires once per job). waitTime fires once the job has waited
// thresholdSeconds; queueLength when the job entered a queue longer than
// threshold.
func Exceptions(policy map[string]any, st ExceptionState) []ExceptionAction {
	rules, _ := policy["exceptionRules"].([]any)
	var out []ExceptionAction
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		id, _ := rule["id"].(string)
		if st.Fired[id] {
			continue
		}
		trigger, _ := rule["trigger"].(map[string]any)
		fires := false
		switch trigger["kind"] {
		case "waitTime":
			s, _ := trigger["thresholdSeconds"].(float64)
			fires = st.QueuedFor >= time.Duration(s*float64(time.Second))
		case "queueLength":
			n, _ := trigger["threshold"].(float64)
			fires = float64(st.QueueLength) > n
		}
		if !fires {
			continue
		}
		actions, _ := rule["actions"].([]any)
		for _, a := range actions {
			act, _ := a.(map[string]any)
			kind, _ := act["kind"].(string)
			aid, _ := act["id"].(string)
			fields := map[string]any{}
			for k, v := range act {
				if k != "kind" && k != "id" {
					fields[k] = v
				}
			}
			out = append(out, ExceptionAction{Rule: id, ID: aid, Kind: kind, Fields: fields})
		}
	}
	return out
}
