// Package scenario plays routing scenarios: configuration, workers, jobs
// and the agents' answers at given times, through the router under a
// virtual clock, recording every decision with its time and its reason.
// With expectations a scenario is a conformance test; without, a recorded
// stream to replay (`switchboard routing replay`). docs/routing.md
// describes the format; in short (YAML, JSON, or JSON Lines of steps):
//
//	name: longest idle first
//	config:                      # documents as the REST API takes them
//	  distributionPolicies: {dp: {mode: {kind: longestIdle}, offerExpiresAfterSeconds: 30}}
//	  queues: {q: {distributionPolicyId: dp}}
//	  workers: {a: {capacity: 1, queues: [q], channels: [{channelId: voice, capacityCostPerJob: 1}], availableForOffers: true}}
//	steps:
//	  - at: 10s                   # since the start; or +5s (after the previous step), or an RFC 3339 instant
//	    job: {id: j1, channelId: voice, queueId: q}
//	    expect:
//	      offers: [j1 a]          # offers issued at this step: job worker
//	  - tick: 45s                 # timers up to 45s run first, each at its own time
//	    expect:
//	      events: [40s WorkerOfferExpired j1 a, 40s WorkerOfferIssued j1 a]
//
// Step actions (one per step, or none to just let time pass): config
// (kind, id, doc: the whole document), remove (kind, id), worker (id plus
// a merge patch), job (id plus a merge patch), accept, decline
// (retryAfter), complete, close (disposition, closeAfter), cancel,
// unassign (suspend), reclassify, delete — each naming its job and, for
// offers, its worker. Expectations: offers, events (every fact of the
// step, in order, each "[time] Kind [job] [worker]"), status (job →
// status), state (worker → state), load (worker → load ratio), queue
// (job → queue), priority (job → priority), position (job → place), error
// (the action must fail with this text).
package scenario

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

// Scenario is a routing story.
type Scenario struct {
	Name string `yaml:"name" json:"name"`
	// Start is the virtual clock's start: by default Epoch, or the first
	// step's instant when that is written as one.
	Start  *time.Time                           `yaml:"start,omitempty" json:"start,omitempty"`
	Config map[string]map[string]map[string]any `yaml:"config" json:"config"`
	Steps  []Step                               `yaml:"steps" json:"steps"`
}

// Step is one moment: an action at a time, and what must follow.
type Step struct {
	At When `yaml:"at,omitempty" json:"at,omitempty"`
	// Tick only lets time pass (to a time written as for at).
	Tick       *When          `yaml:"tick,omitempty" json:"tick,omitempty"`
	Config     *ConfigAction  `yaml:"config,omitempty" json:"config,omitempty"`
	Remove     *ConfigAction  `yaml:"remove,omitempty" json:"remove,omitempty"`
	Worker     map[string]any `yaml:"worker,omitempty" json:"worker,omitempty"`
	Job        map[string]any `yaml:"job,omitempty" json:"job,omitempty"`
	Accept     *OfferAction   `yaml:"accept,omitempty" json:"accept,omitempty"`
	Decline    *OfferAction   `yaml:"decline,omitempty" json:"decline,omitempty"`
	Complete   *JobAction     `yaml:"complete,omitempty" json:"complete,omitempty"`
	Close      *JobAction     `yaml:"close,omitempty" json:"close,omitempty"`
	Cancel     *JobAction     `yaml:"cancel,omitempty" json:"cancel,omitempty"`
	Unassign   *JobAction     `yaml:"unassign,omitempty" json:"unassign,omitempty"`
	Reclassify *JobAction     `yaml:"reclassify,omitempty" json:"reclassify,omitempty"`
	Delete     *JobAction     `yaml:"delete,omitempty" json:"delete,omitempty"`
	Expect     *Expect        `yaml:"expect,omitempty" json:"expect,omitempty"`
	// Extra catches misspelt actions, so that they are refused.
	Extra map[string]any `yaml:",inline" json:"-"`
	// Line is where the step is written (0: unknown), for messages.
	Line int `yaml:"-" json:"-"`
}

// ConfigAction writes (replaces) a configuration document, or removes one.
type ConfigAction struct {
	Kind string         `yaml:"kind" json:"kind"`
	ID   string         `yaml:"id" json:"id"`
	Doc  map[string]any `yaml:"doc" json:"doc"`
}

// OfferAction answers the offer of a job to a worker (its latest).
type OfferAction struct {
	Job        string   `yaml:"job" json:"job"`
	Worker     string   `yaml:"worker" json:"worker"`
	RetryAfter Duration `yaml:"retryAfter" json:"retryAfter"`
}

// JobAction acts on a job (its current assignment, for complete, close
// and unassign).
type JobAction struct {
	Job         string   `yaml:"job" json:"job"`
	Disposition string   `yaml:"disposition" json:"disposition"`
	CloseAfter  Duration `yaml:"closeAfter" json:"closeAfter"`
	Suspend     bool     `yaml:"suspend" json:"suspend"`
	Note        string   `yaml:"note" json:"note"`
}

// Expect is what must hold after a step.
type Expect struct {
	Offers   []string           `yaml:"offers" json:"offers"`
	Events   []string           `yaml:"events" json:"events"`
	Status   map[string]string  `yaml:"status" json:"status"`
	State    map[string]string  `yaml:"state" json:"state"`
	Load     map[string]float64 `yaml:"load" json:"load"`
	Queue    map[string]string  `yaml:"queue" json:"queue"`
	Priority map[string]int     `yaml:"priority" json:"priority"`
	Position map[string]int     `yaml:"position" json:"position"`
	Error    string             `yaml:"error" json:"error"`
}

// action names the step's action ("" for none) and counts them.
func (st *Step) action() (string, int) {
	name, n := "", 0
	for _, a := range []struct {
		name string
		set  bool
	}{{"config", st.Config != nil}, {"remove", st.Remove != nil}, {"worker", st.Worker != nil}, {"job", st.Job != nil},
		{"accept", st.Accept != nil}, {"decline", st.Decline != nil}, {"complete", st.Complete != nil}, {"close", st.Close != nil},
		{"cancel", st.Cancel != nil}, {"unassign", st.Unassign != nil}, {"reclassify", st.Reclassify != nil}, {"delete", st.Delete != nil}} {
		if a.set {
			if n > 0 {
				name += ", "
			}
			name += a.name
			n++
		}
	}
	return name, n
}

// check refuses a step that cannot be played: misspelt or missing members,
// two actions at once.
func (st *Step) check() error {
	if len(st.Extra) > 0 {
		keys := make([]string, 0, len(st.Extra))
		for k := range st.Extra {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return fmt.Errorf("unknown %s", strings.Join(keys, ", "))
	}
	name, n := st.action()
	if n > 1 {
		return fmt.Errorf("one action a step, not %s", name)
	}
	if st.Tick != nil {
		if st.At.set {
			return errors.New("at or tick, not both")
		}
		if n > 0 {
			return fmt.Errorf("tick only lets time pass (found %s)", name)
		}
		st.At, st.Tick = *st.Tick, nil
	}
	kind := func(k string) error {
		if !slices.Contains(kinds, routing.Kind(k)) {
			return fmt.Errorf("%s: kind %q is not one of %s", name, k, kindList())
		}
		return nil
	}
	switch {
	case st.Config != nil:
		if st.Config.ID == "" || st.Config.Doc == nil {
			return errors.New("config needs kind, id and doc")
		}
		return kind(st.Config.Kind)
	case st.Remove != nil:
		if st.Remove.ID == "" {
			return errors.New("remove needs kind and id")
		}
		return kind(st.Remove.Kind)
	case st.Worker != nil || st.Job != nil:
		doc := st.Worker
		if doc == nil {
			doc = st.Job
		}
		if id, _ := doc["id"].(string); id == "" {
			return fmt.Errorf("%s needs an id", name)
		}
	case st.Accept != nil || st.Decline != nil:
		a := st.Accept
		if a == nil {
			a = st.Decline
		}
		if a.Job == "" || a.Worker == "" {
			return fmt.Errorf("%s needs job and worker", name)
		}
	case n == 1:
		for _, a := range []*JobAction{st.Complete, st.Close, st.Cancel, st.Unassign, st.Reclassify, st.Delete} {
			if a != nil && a.Job == "" {
				return fmt.Errorf("%s needs a job", name)
			}
		}
	}
	return nil
}

// kinds are the configuration kinds, in the order that lets references
// resolve.
var kinds = []routing.Kind{routing.KindDistributionPolicy, routing.KindExceptionPolicy, routing.KindQueue, routing.KindClassificationPolicy, routing.KindWorker}

func kindList() string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// When is a step's time: "90s", "2m" or 90 (since the start), "+5s"
// (after the previous step) or an RFC 3339 instant. Unset, it is the
// previous step's time.
type When struct {
	set    bool
	after  bool
	offset time.Duration
	abs    time.Time
}

func (w *When) parse(s string) error {
	s = strings.TrimSpace(s)
	*w = When{set: true}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		w.abs = t
		return nil
	}
	rest, after := strings.CutPrefix(s, "+")
	d, err := parseDuration(rest)
	if err != nil {
		return fmt.Errorf("%q is not a time (like 30s, 2m, +5s or 2026-01-05T09:00:30Z)", s)
	}
	w.after, w.offset = after, d
	return nil
}

// String writes the time as it was read.
func (w When) String() string {
	switch {
	case !w.set:
		return "(unset)"
	case !w.abs.IsZero():
		return w.abs.Format(time.RFC3339Nano)
	case w.after:
		return "+" + fmtDuration(w.offset)
	}
	return fmtDuration(w.offset)
}

// UnmarshalYAML reads a time.
func (w *When) UnmarshalYAML(n *yaml.Node) error { return w.parse(n.Value) }

// UnmarshalJSON reads a time.
func (w *When) UnmarshalJSON(b []byte) error { return w.parse(strings.Trim(string(b), `"`)) }

// Duration reads "90s", "2m" or a number of seconds.
type Duration time.Duration

func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 {
			return 0, errors.New("negative")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		return 0, errors.New("negative")
	}
	return d, err
}

func (d *Duration) parse(s string) error {
	v, err := parseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration (like 30s or 2m)", s)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML reads a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error { return d.parse(n.Value) }

// UnmarshalJSON reads a duration.
func (d *Duration) UnmarshalJSON(b []byte) error { return d.parse(strings.Trim(string(b), `"`)) }

// Load reads a scenario file: YAML or JSON, or JSON Lines of steps.
func Load(path string) (*Scenario, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sc, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// Parse reads a scenario: JSON Lines when every line (but blank ones and
// # comments) is a JSON object, else YAML (which includes JSON).
func Parse(raw []byte) (*Scenario, error) {
	var sc *Scenario
	var err error
	if lines := jsonLines(raw); lines != nil {
		sc, err = parseLines(lines)
	} else {
		sc, err = parseYAML(raw)
	}
	if err != nil {
		return nil, err
	}
	for i := range sc.Steps {
		if err := sc.Steps[i].check(); err != nil {
			return nil, fmt.Errorf("scenario: %s: %w", stepName(i+1, sc.Steps[i].Line), err)
		}
	}
	for k := range sc.Config {
		if !slices.Contains(kinds, routing.Kind(k)) {
			return nil, fmt.Errorf("scenario: config: %q is not one of %s", k, kindList())
		}
	}
	return sc, nil
}

func stepName(n, line int) string {
	if line > 0 {
		return fmt.Sprintf("step %d (line %d)", n, line)
	}
	return fmt.Sprintf("step %d", n)
}

type numbered struct {
	n    int
	text []byte
}

// jsonLines splits a JSON Lines stream, or returns nil when raw is not one.
func jsonLines(raw []byte) []numbered {
	var out []numbered
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if line[0] != '{' || !json.Valid(line) {
			return nil
		}
		out = append(out, numbered{n, slices.Clone(line)})
	}
	if sc.Err() != nil {
		return nil
	}
	return out
}

// parseLines reads JSON Lines: header lines (name, start, config: the
// documents by kind and id, even steps) first, then one step a line.
func parseLines(lines []numbered) (*Scenario, error) {
	sc := &Scenario{}
	for _, l := range lines {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(l.text, &probe); err != nil {
			return nil, fmt.Errorf("scenario: line %d: %w", l.n, err)
		}
		dec := json.NewDecoder(bytes.NewReader(l.text))
		dec.DisallowUnknownFields()
		if isHeader(probe) {
			if len(sc.Steps) > 0 {
				return nil, fmt.Errorf("scenario: line %d: the configuration comes before the steps", l.n)
			}
			var h Scenario
			if err := dec.Decode(&h); err != nil {
				return nil, fmt.Errorf("scenario: line %d: %w", l.n, err)
			}
			if h.Name != "" {
				sc.Name = h.Name
			}
			if h.Start != nil {
				sc.Start = h.Start
			}
			for kind, docs := range h.Config {
				if sc.Config == nil {
					sc.Config = map[string]map[string]map[string]any{}
				}
				if sc.Config[kind] == nil {
					sc.Config[kind] = map[string]map[string]any{}
				}
				for id, doc := range docs {
					sc.Config[kind][id] = doc
				}
			}
			sc.Steps = append(sc.Steps, h.Steps...)
			continue
		}
		var st Step
		if err := dec.Decode(&st); err != nil {
			return nil, fmt.Errorf("scenario: line %d: %w", l.n, err)
		}
		st.Line = l.n
		sc.Steps = append(sc.Steps, st)
	}
	return sc, nil
}

// isHeader tells a header line from a step: it has a scenario's members,
// or a config of documents by kind (a step's config names one document).
func isHeader(probe map[string]json.RawMessage) bool {
	for _, k := range []string{"name", "start", "steps"} {
		if _, ok := probe[k]; ok {
			return true
		}
	}
	cfg, ok := probe["config"]
	if !ok {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(cfg, &m) != nil {
		return false
	}
	_, one := m["kind"]
	return !one
}

func parseYAML(raw []byte) (*Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	// The steps' lines, for messages.
	var root yaml.Node
	if yaml.Unmarshal(raw, &root) == nil && len(root.Content) == 1 {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "steps" {
				for k, n := range m.Content[i+1].Content {
					if k < len(sc.Steps) {
						sc.Steps[k].Line = n.Line
					}
				}
			}
		}
	}
	return &sc, nil
}
