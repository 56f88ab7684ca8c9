package routing_test

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/routing"
)

func doc(t *testing.T, s string) map[string]any {
	t.Helper()
	d, err := routing.Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPrepareCompletesAsACS(t *testing.T) {
	d := doc(t, `{"name":"d","mode":{"kind":"longest-idle"}}`)
	if _, err := routing.Prepare(routing.KindDistributionPolicy, "dp", d); err != nil {
		t.Fatal(err)
	}
	mode := d["mode"].(map[string]any)
	if mode["kind"] != "longestIdle" || mode["minConcurrentOffers"] != 1.0 || mode["maxConcurrentOffers"] != 1.0 || mode["bypassSelectors"] != false || d["id"] != "dp" {
		t.Fatalf("completed %v", d)
	}
	q := doc(t, `{"distributionPolicyId":"dp","labels":{"lang":"id"}}`)
	refs, err := routing.Prepare(routing.KindQueue, "q1", q)
	if err != nil || refs.DistributionPolicy != "dp" || q["labels"].(map[string]any)["Id"] != "q1" {
		t.Fatalf("queue %v %v %v", q, refs, err)
	}
	e := doc(t, `{"exceptionRules":[{"id":"r","trigger":{"kind":"wait-time","thresholdSeconds":5},"actions":[{"kind":"cancel"}]}]}`)
	if _, err := routing.Prepare(routing.KindExceptionPolicy, "ep", e); err != nil {
		t.Fatal(err)
	}
	act := e["exceptionRules"].([]any)[0].(map[string]any)["actions"].([]any)[0].(map[string]any)
	if act["id"] == "" || e["exceptionRules"].([]any)[0].(map[string]any)["trigger"].(map[string]any)["kind"] != "waitTime" {
		t.Fatalf("exception policy %v", e)
	}
}

func TestPrepareRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		kind routing.Kind
		doc  string
	}{
		{routing.KindDistributionPolicy, `{"mode":{"kind":"fastest"}}`},
		{routing.KindDistributionPolicy, `{"mode":{"kind":"roundRobin","minConcurrentOffers":3,"maxConcurrentOffers":2}}`},
		{routing.KindDistributionPolicy, `{"mode":{"kind":"roundRobin","maxConcurrentOffers":-1}}`},
		{routing.KindDistributionPolicy, `{"offerExpiresAfterSeconds":0}`},
		{routing.KindDistributionPolicy, `{"name":7}`},
		{routing.KindQueue, `{}`},
		{routing.KindQueue, `{"distributionPolicyId":"dp","labels":{"x":{"nested":true}}}`},
		{routing.KindExceptionPolicy, `{"exceptionRules":[{"id":"r","trigger":{"kind":"never"},"actions":[{"kind":"cancel"}]}]}`},
		{routing.KindExceptionPolicy, `{"exceptionRules":[{"id":"r","trigger":{"kind":"queueLength","threshold":-1},"actions":[{"kind":"cancel"}]}]}`},
		{routing.KindExceptionPolicy, `{"exceptionRules":[{"id":"r","trigger":{"kind":"waitTime","thresholdSeconds":1},"actions":[]}]}`},
		{routing.KindExceptionPolicy, `{"exceptionRules":[{"id":"r","trigger":{"kind":"waitTime","thresholdSeconds":1},"actions":[{"kind":"cancel"}]},{"id":"r","trigger":{"kind":"waitTime","thresholdSeconds":1},"actions":[{"kind":"cancel"}]}]}`},
		{routing.KindClassificationPolicy, `{"queueSelectorAttachments":[{"kind":"magic"}]}`},
		{routing.KindClassificationPolicy, `{"prioritizationRule":{"kind":"dice"}}`},
	} {
		if _, err := routing.Prepare(c.kind, "x", doc(t, c.doc)); errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("%s %s: %v, want invalid", c.kind, c.doc, err)
		}
	}
	if err := routing.ValidID("a/b"); err == nil {
		t.Error("an id with a slash was accepted")
	}
}

func TestMergePatch(t *testing.T) {
	got := routing.Merge(doc(t, `{"a":1,"b":{"c":2,"d":3},"e":[1,2]}`), doc(t, `{"a":null,"b":{"c":null,"f":4},"e":[3],"g":{"h":null,"i":5}}`))
	raw, _ := json.Marshal(got)
	if string(raw) != `{"b":{"d":3,"f":4},"e":[3],"g":{"i":5}}` {
		t.Fatalf("merged %s", raw)
	}
}

func TestRules(t *testing.T) {
	labels := map[string]any{"Urgent": true, "Level": 7.0, "Lang": "id"}
	for _, c := range []struct {
		rule map[string]any
		want any
	}{
		{map[string]any{"kind": "static", "value": 5.0}, 5.0},
		{map[string]any{"kind": "expression", "language": "powerFx", "expression": "If(job.Urgent = true, 10, 1)"}, 10.0},
		{map[string]any{"kind": "expression", "expression": "If(And(job.Level > 5, job.Lang <> \"en\"), \"vip\", \"std\")"}, "vip"},
		{map[string]any{"kind": "expression", "expression": "Not(job.Urgent)"}, false},
		{map[string]any{"kind": "expression", "language": "cel", "expression": "job.Level >= 7 ? job.Level * 2.0 : 0.0"}, 14.0},
	} {
		got, err := routing.EvaluateRule(c.rule, labels)
		if err != nil || got != c.want {
			t.Errorf("%v: %v (%v), want %v", c.rule["expression"], got, err, c.want)
		}
	}
	// Bad expressions are refused when a policy is written.
	for _, expr := range []string{"If(job.Urgent = true, 10)", "job.Urgent = = 1", "Launch(\"missiles\")", "\"open"} {
		d := doc(t, `{"prioritizationRule":{"kind":"expression","language":"powerFx","expression":`+strconvQuote(expr)+`}}`)
		if _, err := routing.Prepare(routing.KindClassificationPolicy, "cp", d); errs.KindOf(err) != errs.KindInvalid {
			t.Errorf("%q was accepted: %v", expr, err)
		}
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestSelectors(t *testing.T) {
	labels := map[string]any{"lang": "id", "skill": 7.0, "vip": true}
	for _, c := range []struct {
		s    routing.Selector
		want bool
	}{
		{routing.Selector{Key: "lang", LabelOperator: routing.Equal, Value: "id"}, true},
		{routing.Selector{Key: "lang", LabelOperator: routing.Equal, Value: "en"}, false},
		{routing.Selector{Key: "lang", LabelOperator: routing.NotEqual, Value: "en"}, true},
		{routing.Selector{Key: "missing", LabelOperator: routing.NotEqual, Value: "x"}, true},
		{routing.Selector{Key: "missing", LabelOperator: routing.Equal, Value: "x"}, false},
		{routing.Selector{Key: "skill", LabelOperator: routing.GreaterThanOrEqual, Value: 7.0}, true},
		{routing.Selector{Key: "skill", LabelOperator: routing.GreaterThan, Value: 7.0}, false},
		{routing.Selector{Key: "skill", LabelOperator: routing.LessThan, Value: 10.0}, true},
		{routing.Selector{Key: "skill", LabelOperator: routing.LessThanOrEqual, Value: 6.0}, false},
		{routing.Selector{Key: "lang", LabelOperator: routing.LessThan, Value: 3.0}, false},
		{routing.Selector{Key: "vip", LabelOperator: routing.Equal, Value: true}, true},
		{routing.Selector{Key: "skill", LabelOperator: routing.Equal, Value: "7"}, false},
	} {
		if got := c.s.Matches(labels); got != c.want {
			t.Errorf("%+v: %v, want %v", c.s, got, c.want)
		}
	}
	for _, bad := range []routing.Selector{{Key: "", LabelOperator: routing.Equal, Value: "x"}, {Key: "a", LabelOperator: "like", Value: "x"},
		{Key: "a", LabelOperator: routing.GreaterThan, Value: "x"}, {Key: "a", LabelOperator: routing.Equal, Value: []any{1}}} {
		if bad.Validate() == nil {
			t.Errorf("%+v passed validation", bad)
		}
	}
}

func TestAttachmentSelectorsChecked(t *testing.T) {
	good := doc(t, `{"queueSelectorAttachments":[{"kind":"static","queueSelector":{"key":"Id","labelOperator":"equal","value":"q1"}}],
		"workerSelectorAttachments":[{"kind":"conditional","condition":{"kind":"expression","expression":"job.Vip = true"},
		"workerSelectors":[{"key":"skill","labelOperator":"greaterThan","value":5}]}]}`)
	if _, err := routing.Prepare(routing.KindClassificationPolicy, "cp", good); err != nil {
		t.Fatal(err)
	}
	bad := doc(t, `{"workerSelectorAttachments":[{"kind":"static","workerSelector":{"key":"skill","labelOperator":"around","value":5}}]}`)
	_, err := routing.Prepare(routing.KindClassificationPolicy, "cp", bad)
	if e := errs.As(err); e.Kind != errs.KindInvalid || e.Target != "workerSelectorAttachments[0].workerSelector.labelOperator" {
		t.Fatalf("bad selector: %v (target %q)", err, e.Target)
	}
}
