// Package routing is the job router (ACS Job Router semantics): the
// policies and queues that configure it, and, built on them, workers, jobs
// and offers. It is pure logic behind a store.
package routing

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// Kind names a configuration entity's collection.
type Kind string

// The configuration collections, named as in the REST paths.
const (
	KindDistributionPolicy   Kind = "distributionPolicies"
	KindClassificationPolicy Kind = "classificationPolicies"
	KindExceptionPolicy      Kind = "exceptionPolicies"
	KindQueue                Kind = "queues"
	KindWorker               Kind = "workers"
)

// legacyKinds maps the kebab-case kinds of the older previews to the
// camelCase ones responses use.
var legacyKinds = map[string]string{
	"longest-idle": "longestIdle", "round-robin": "roundRobin", "best-worker": "bestWorker",
	"static-rule": "static", "direct-map-rule": "directMap", "expression-rule": "expression",
	"azure-function-rule": "function", "webhook-rule": "webhook",
	"wait-time": "waitTime", "queue-length": "queueLength",
	"manual-reclassify": "manualReclassify",
	"conditional":       "conditional", "pass-through": "passThrough", "rule-engine": "ruleEngine",
	"static": "static", "weighted-allocation-queue-selector": "weightedAllocation",
	"weighted-allocation-worker-selector": "weightedAllocation",
	"queue-and-match":                     "queueAndMatch", "schedule-and-suspend": "scheduleAndSuspend",
}

// NormalizeKinds rewrites every "kind" member in a document to its
// current spelling.
func NormalizeKinds(v any) {
	switch x := v.(type) {
	case map[string]any:
		if k, ok := x["kind"].(string); ok {
			if n, ok := legacyKinds[k]; ok {
				x["kind"] = n
			}
		}
		for _, c := range x {
			NormalizeKinds(c)
		}
	case []any:
		for _, c := range x {
			NormalizeKinds(c)
		}
	}
}

func invalid(target, format string, args ...any) error {
	return errs.Invalid("InvalidRequestBody", format, args...).WithTarget(target)
}

// ValidID checks an entity id from a path.
func ValidID(id string) error {
	if id == "" || len(id) > 256 || strings.ContainsAny(id, "/?#\x00") {
		return errs.Invalid("InvalidId", "ids have 1 to 256 characters and no '/', '?' or '#'").WithTarget("id")
	}
	return nil
}

func str(doc map[string]any, key string) (string, error) {
	v, ok := doc[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", invalid(key, "%s must be a string", key)
	}
	return s, nil
}

func num(doc map[string]any, key string) (float64, bool, error) {
	v, ok := doc[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	f, ok := v.(float64)
	if !ok {
		return 0, false, invalid(key, "%s must be a number", key)
	}
	return f, true, nil
}

// Refs are the other entities a configuration entity names.
type Refs struct {
	DistributionPolicy string
	ExceptionPolicy    string
	FallbackQueue      string
	Queues             []string // a worker's queues
}

// Prepare checks a merged document of kind and completes it as the service
// does (defaults, generated ids, the queue's Id label). It returns what the
// document refers to, for the caller to check.
func Prepare(kind Kind, id string, doc map[string]any) (Refs, error) {
	NormalizeKinds(doc)
	doc["id"] = id
	delete(doc, "etag")
	if name, err := str(doc, "name"); err != nil {
		return Refs{}, err
	} else if len(name) > 256 {
		return Refs{}, invalid("name", "name must be at most 256 characters")
	}
	switch kind {
	case KindDistributionPolicy:
		return Refs{}, prepareDistribution(doc)
	case KindClassificationPolicy:
		return prepareClassification(doc)
	case KindExceptionPolicy:
		return Refs{}, prepareException(doc)
	case KindQueue:
		return prepareQueue(id, doc)
	case KindWorker:
		return prepareWorker(id, doc)
	}
	return Refs{}, fmt.Errorf("routing: unknown kind %q", kind)
}

func prepareDistribution(doc map[string]any) error {
	if v, ok, err := num(doc, "offerExpiresAfterSeconds"); err != nil {
		return err
	} else if ok && v <= 0 {
		return invalid("offerExpiresAfterSeconds", "offerExpiresAfterSeconds must be positive")
	}
	mode, ok := doc["mode"].(map[string]any)
	if !ok {
		if doc["mode"] != nil {
			return invalid("mode", "mode must be an object")
		}
		return nil
	}
	switch mode["kind"] {
	case "longestIdle", "roundRobin", "attendant":
	case "serial":
		// Switchboard's Teams-style serial routing: offers go down a
		// fixed order of workers.
		order, ok := mode["workerOrder"].([]any)
		if !ok || len(order) == 0 {
			return invalid("mode.workerOrder", "serial distribution needs workerOrder, the worker ids in order")
		}
		for i, w := range order {
			if s, ok := w.(string); !ok || s == "" {
				return invalid(fmt.Sprintf("mode.workerOrder[%d]", i), "workerOrder lists worker ids")
			}
		}
	case "bestWorker":
		if r, ok := mode["scoringRule"]; ok && r != nil {
			if err := checkRule(r, "mode.scoringRule"); err != nil {
				return err
			}
		}
	default:
		return invalid("mode.kind", "mode.kind must be longestIdle, roundRobin, bestWorker, attendant or serial")
	}
	for key, def := range map[string]float64{"minConcurrentOffers": 1, "maxConcurrentOffers": 1} {
		v, ok, err := num(mode, key)
		if err != nil {
			return err
		}
		if !ok {
			mode[key] = def
		} else if v < 1 || v != float64(int(v)) {
			return invalid("mode."+key, "mode.%s must be a positive integer", key)
		}
	}
	if mode["minConcurrentOffers"].(float64) > mode["maxConcurrentOffers"].(float64) {
		return invalid("mode", "minConcurrentOffers must not exceed maxConcurrentOffers")
	}
	if _, ok := mode["bypassSelectors"]; !ok {
		mode["bypassSelectors"] = false
	} else if _, isBool := mode["bypassSelectors"].(bool); !isBool {
		return invalid("mode.bypassSelectors", "mode.bypassSelectors must be a boolean")
	}
	return nil
}

func prepareClassification(doc map[string]any) (Refs, error) {
	for _, key := range []string{"queueSelectorAttachments", "workerSelectorAttachments"} {
		switch v := doc[key].(type) {
		case nil:
			doc[key] = []any{}
		case []any:
			for i, a := range v {
				m, ok := a.(map[string]any)
				if !ok || m["kind"] == nil {
					return Refs{}, invalid(fmt.Sprintf("%s[%d]", key, i), "each attachment is an object with a kind")
				}
				at := fmt.Sprintf("%s[%d]", key, i)
				if err := checkSelectors(m, at); err != nil {
					return Refs{}, err
				}
				switch m["kind"] {
				case "static", "passThrough", "weightedAllocation":
				case "conditional":
					if err := checkRule(m["condition"], at+".condition"); err != nil {
						return Refs{}, err
					}
				case "ruleEngine":
					if err := checkRule(m["rule"], at+".rule"); err != nil {
						return Refs{}, err
					}
				default:
					return Refs{}, invalid(at+".kind", "unknown attachment kind %v", m["kind"])
				}
			}
		default:
			return Refs{}, invalid(key, "%s must be an array", key)
		}
	}
	if r, ok := doc["prioritizationRule"]; ok && r != nil {
		if err := checkRule(r, "prioritizationRule"); err != nil {
			return Refs{}, err
		}
	}
	fallback, err := str(doc, "fallbackQueueId")
	return Refs{FallbackQueue: fallback}, err
}

// checkSelectors validates the selectors an attachment carries, singly
// (static) or in lists (conditional, weighted allocations).
func checkSelectors(att map[string]any, at string) error {
	check := func(v any, where string) error {
		raw, err := json.Marshal(v)
		if err != nil {
			return invalid(where, "a selector is malformed")
		}
		var sel Selector
		if json.Unmarshal(raw, &sel) != nil {
			return invalid(where, "a selector is malformed")
		}
		if err := sel.Validate(); err != nil {
			e := errs.As(err)
			return e.WithTarget(where + "." + e.Target)
		}
		return nil
	}
	for _, single := range []string{"queueSelector", "workerSelector"} {
		if v, ok := att[single]; ok {
			if err := check(v, at+"."+single); err != nil {
				return err
			}
		}
	}
	checkList := func(holder map[string]any, where string) error {
		for _, many := range []string{"queueSelectors", "workerSelectors"} {
			l, _ := holder[many].([]any)
			for i, v := range l {
				if err := check(v, fmt.Sprintf("%s.%s[%d]", where, many, i)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := checkList(att, at); err != nil {
		return err
	}
	allocs, _ := att["allocations"].([]any)
	for i, a := range allocs {
		m, _ := a.(map[string]any)
		if err := checkList(m, fmt.Sprintf("%s.allocations[%d]", at, i)); err != nil {
			return err
		}
	}
	return nil
}

func prepareException(doc map[string]any) error {
	rules, ok := doc["exceptionRules"].([]any)
	if !ok {
		if doc["exceptionRules"] != nil {
			return invalid("exceptionRules", "exceptionRules must be an array")
		}
		doc["exceptionRules"] = []any{}
		return nil
	}
	seen := map[string]bool{}
	for i, r := range rules {
		rule, ok := r.(map[string]any)
		at := fmt.Sprintf("exceptionRules[%d]", i)
		if !ok {
			return invalid(at, "each exception rule is an object")
		}
		id, _ := rule["id"].(string)
		if id == "" || seen[id] {
			return invalid(at+".id", "each exception rule needs a unique id")
		}
		seen[id] = true
		trigger, _ := rule["trigger"].(map[string]any)
		switch {
		case trigger == nil:
			return invalid(at+".trigger", "a rule needs a trigger")
		case trigger["kind"] == "waitTime":
			if v, ok, err := num(trigger, "thresholdSeconds"); err != nil || !ok || v < 0 {
				return invalid(at+".trigger.thresholdSeconds", "waitTime needs a non-negative thresholdSeconds")
			}
		case trigger["kind"] == "queueLength":
			if v, ok, err := num(trigger, "threshold"); err != nil || !ok || v < 0 {
				return invalid(at+".trigger.threshold", "queueLength needs a non-negative threshold")
			}
		default:
			return invalid(at+".trigger.kind", "trigger kind must be waitTime or queueLength")
		}
		actions, _ := rule["actions"].([]any)
		if len(actions) == 0 {
			return invalid(at+".actions", "a rule needs at least one action")
		}
		for j, a := range actions {
			act, ok := a.(map[string]any)
			if !ok {
				return invalid(fmt.Sprintf("%s.actions[%d]", at, j), "each action is an object")
			}
			switch act["kind"] {
			case "cancel", "manualReclassify", "reclassify":
			default:
				return invalid(fmt.Sprintf("%s.actions[%d].kind", at, j), "action kind must be cancel, manualReclassify or reclassify")
			}
			if id, _ := act["id"].(string); id == "" {
				act["id"] = uuid.NewString()
			}
		}
	}
	return nil
}

// checkLabels validates a label map and adds the entity's own Id label,
// as ACS does, so selectors can name it.
func checkLabels(doc map[string]any, key, id string) error {
	labels, ok := doc[key].(map[string]any)
	if !ok {
		if doc[key] != nil {
			return invalid(key, "%s must be an object", key)
		}
		labels = map[string]any{}
		doc[key] = labels
	}
	for k, v := range labels {
		switch v.(type) {
		case string, float64, bool:
		default:
			return invalid(key+"."+k, "%s values are strings, numbers or booleans", key)
		}
	}
	if id != "" {
		labels["Id"] = id
	}
	return nil
}

// workerReadOnly are the members the router computes; a client's values
// for them are ignored.
var workerReadOnly = []string{"state", "offers", "assignedJobs", "loadRatio"}

func prepareWorker(id string, doc map[string]any) (Refs, error) {
	for _, k := range workerReadOnly {
		delete(doc, k)
	}
	capacity, ok, err := num(doc, "capacity")
	if err != nil {
		return Refs{}, err
	}
	if !ok {
		doc["capacity"] = 0.0
	} else if capacity < 0 || capacity != float64(int64(capacity)) {
		return Refs{}, invalid("capacity", "capacity must be a non-negative integer")
	}
	if err := checkLabels(doc, "labels", id); err != nil {
		return Refs{}, err
	}
	if err := checkLabels(doc, "tags", ""); err != nil {
		return Refs{}, err
	}
	var refs Refs
	switch qs := doc["queues"].(type) {
	case nil:
		doc["queues"] = []any{}
	case []any:
		seen := map[string]bool{}
		for i, q := range qs {
			name, ok := q.(string)
			if !ok || name == "" {
				return Refs{}, invalid(fmt.Sprintf("queues[%d]", i), "queues are queue ids")
			}
			if !seen[name] {
				refs.Queues = append(refs.Queues, name)
				seen[name] = true
			}
		}
	default:
		return Refs{}, invalid("queues", "queues must be an array of queue ids")
	}
	switch cs := doc["channels"].(type) {
	case nil:
		doc["channels"] = []any{}
	case []any:
		seen := map[string]bool{}
		for i, c := range cs {
			ch, ok := c.(map[string]any)
			at := fmt.Sprintf("channels[%d]", i)
			if !ok {
				return Refs{}, invalid(at, "each channel is an object")
			}
			cid, _ := ch["channelId"].(string)
			if cid == "" || seen[cid] {
				return Refs{}, invalid(at+".channelId", "each channel needs a unique channelId")
			}
			seen[cid] = true
			cost, ok, err := num(ch, "capacityCostPerJob")
			if err != nil || !ok || cost < 0 || cost != float64(int64(cost)) {
				return Refs{}, invalid(at+".capacityCostPerJob", "capacityCostPerJob must be a non-negative integer")
			}
			if m, ok, err := num(ch, "maxNumberOfJobs"); err != nil || (ok && (m < 1 || m != float64(int64(m)))) {
				return Refs{}, invalid(at+".maxNumberOfJobs", "maxNumberOfJobs must be a positive integer")
			}
		}
	default:
		return Refs{}, invalid("channels", "channels must be an array")
	}
	if err := presence(doc); err != nil {
		return Refs{}, err
	}
	for _, k := range []string{"wrapUpSeconds", "maxMissedOffers"} {
		if v, ok, err := num(doc, k); err != nil || (ok && (v < 0 || v != float64(int64(v)))) {
			return Refs{}, invalid(k, "%s must be a non-negative integer", k)
		}
	}
	available, _ := doc["availableForOffers"].(bool)
	if v, ok := doc["availableForOffers"]; ok && v != nil {
		if _, isBool := v.(bool); !isBool {
			return Refs{}, invalid("availableForOffers", "availableForOffers must be a boolean")
		}
	}
	doc["availableForOffers"] = available
	if available {
		delete(doc, "pausedReason") // back from a pause
	}
	if m, ok, err := num(doc, "maxConcurrentOffers"); err != nil || (ok && (m < 1 || m != float64(int64(m)))) {
		return Refs{}, invalid("maxConcurrentOffers", "maxConcurrentOffers must be a positive integer")
	}
	// Until the engine assigns work, a worker's runtime view is its
	// registration alone: active when available, no offers, no load.
	doc["state"] = "inactive"
	if available {
		doc["state"] = "active"
	}
	doc["offers"], doc["assignedJobs"], doc["loadRatio"] = []any{}, []any{}, 0.0
	return refs, nil
}

// Presence statuses: only available takes offers; the others say why not.
var presenceStatuses = []string{"available", "away", "busy", "break", "offline"}

// presence checks a worker's presence (a Switchboard addition: the
// agent's status with a reason code) and lets it drive availableForOffers.
func presence(doc map[string]any) error {
	p, ok := doc["presence"].(map[string]any)
	if !ok {
		if doc["presence"] != nil {
			return invalid("presence", "presence must be an object")
		}
		return nil
	}
	status, _ := p["status"].(string)
	if !slices.Contains(presenceStatuses, status) {
		return invalid("presence.status", "presence.status must be one of %s", strings.Join(presenceStatuses, ", "))
	}
	if rc, ok := p["reasonCode"]; ok && rc != nil {
		if s, ok := rc.(string); !ok || len(s) > 64 {
			return invalid("presence.reasonCode", "presence.reasonCode is a string of at most 64 characters")
		}
	}
	doc["availableForOffers"] = status == "available"
	return nil
}

func prepareQueue(id string, doc map[string]any) (Refs, error) {
	dp, err := str(doc, "distributionPolicyId")
	if err != nil {
		return Refs{}, err
	}
	if dp == "" {
		return Refs{}, invalid("distributionPolicyId", "a queue needs a distributionPolicyId")
	}
	ep, err := str(doc, "exceptionPolicyId")
	if err != nil {
		return Refs{}, err
	}
	if err := checkLabels(doc, "labels", id); err != nil {
		return Refs{}, err
	}
	return Refs{DistributionPolicy: dp, ExceptionPolicy: ep}, nil
}

// Merge applies an RFC 7396 merge patch to doc: null removes, objects merge.
func Merge(doc, patch map[string]any) map[string]any {
	if doc == nil {
		doc = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(doc, k)
			continue
		}
		if pm, ok := v.(map[string]any); ok {
			if dm, ok := doc[k].(map[string]any); ok {
				doc[k] = Merge(dm, pm)
				continue
			}
			doc[k] = Merge(nil, pm)
			continue
		}
		doc[k] = v
	}
	return doc
}

// Decode reads a JSON document.
func Decode(raw []byte) (map[string]any, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}
