// Package scenario plays routing scenarios: configuration, workers, jobs
// and the agents' answers at given times, through the router under a
// virtual clock, recording every decision with its time and its reason.
// With expectations a scenario is a conformance test; without, a recorded
// stream to replay (`switchboard routing replay`).
//
// A scenario (YAML or JSON):
//
//	name: longest idle first
//	config:                      # documents as the REST API takes them
//	  distributionPolicies: {dp: {mode: {kind: longestIdle}, offerExpiresAfterSeconds: 30}}
//	  queues: {q: {distributionPolicyId: dp}}
//	  workers: {a: {capacity: 1, queues: [q], channels: [{channelId: voice, capacityCostPerJob: 1}], availableForOffers: true}}
//	steps:
//	  - at: 10s                   # virtual time since the start
//	    job: {id: j1, channelId: voice, queueId: q}
//	    expect:
//	      offers: [j1 a]          # offers issued at this step: job worker
//	  - at: 45s                   # timers up to 45s run first: the offer expired at 40s
//	    expect:
//	      events: [40s WorkerOfferExpired j1 a, 40s WorkerOfferIssued j1 a]
//
// Step actions (one per step, or none to just let time pass): config
// (kind, id, doc), worker (id plus a merge patch), job (id plus a merge
// patch), accept, decline (retryAfter), complete, close (disposition,
// closeAfter), cancel, unassign (suspend), reclassify, delete — each naming
// its job and, for offers, its worker. Expectations: offers, events (every
// fact of the step, in order, each "[time] Kind [job] [worker]"), status
// (job → status), state (worker → state), position (job → place), error
// (the action must fail with this text).
package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

// Scenario is a routing story.
type Scenario struct {
	Name   string                               `yaml:"name" json:"name"`
	Config map[string]map[string]map[string]any `yaml:"config" json:"config"`
	Steps  []Step                               `yaml:"steps" json:"steps"`
}

// Step is one moment: an action at a time, and what must follow.
type Step struct {
	At         Duration       `yaml:"at" json:"at"`
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
}

// ConfigAction writes (replaces) a configuration document, or removes one.
type ConfigAction struct {
	Kind string         `yaml:"kind" json:"kind"`
	ID   string         `yaml:"id" json:"id"`
	Doc  map[string]any `yaml:"doc" json:"doc"`
}

// OfferAction answers a job's offer to a worker.
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
	Offers   []string          `yaml:"offers" json:"offers"`
	Events   []string          `yaml:"events" json:"events"`
	Status   map[string]string `yaml:"status" json:"status"`
	State    map[string]string `yaml:"state" json:"state"`
	Position map[string]int    `yaml:"position" json:"position"`
	Error    string            `yaml:"error" json:"error"`
}

// Duration reads "90s", "2m" or a number of seconds.
type Duration time.Duration

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("scenario: %q is not a duration (like 30s or 2m): %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML reads a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var f float64
	if err := n.Decode(&f); err == nil {
		*d = Duration(f * float64(time.Second))
		return nil
	}
	return d.parse(n.Value)
}

// UnmarshalJSON reads a duration.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		*d = Duration(f * float64(time.Second))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return d.parse(s)
}

// Load reads a scenario file: YAML or JSON, or JSON Lines of steps.
func Load(path string) (*Scenario, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(raw)
}

// Parse reads a scenario.
func Parse(raw []byte) (*Scenario, error) {
	var sc Scenario
	trimmed := strings.TrimSpace(string(raw))
	if strings.HasPrefix(trimmed, "{") && strings.Contains(trimmed, "\n{") {
		// JSON Lines: each line a step; a line with "config" (and no "at")
		// carries the configuration.
		for i, line := range strings.Split(trimmed, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var probe map[string]json.RawMessage
			if err := json.Unmarshal([]byte(line), &probe); err != nil {
				return nil, fmt.Errorf("scenario: line %d: %w", i+1, err)
			}
			if _, ok := probe["steps"]; ok || (probe["config"] != nil && probe["at"] == nil) {
				if err := json.Unmarshal([]byte(line), &sc); err != nil {
					return nil, fmt.Errorf("scenario: line %d: %w", i+1, err)
				}
				continue
			}
			var st Step
			if err := json.Unmarshal([]byte(line), &st); err != nil {
				return nil, fmt.Errorf("scenario: line %d: %w", i+1, err)
			}
			sc.Steps = append(sc.Steps, st)
		}
		return &sc, nil
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	for i, st := range sc.Steps {
		if len(st.Extra) > 0 {
			keys := make([]string, 0, len(st.Extra))
			for k := range st.Extra {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, fmt.Errorf("scenario: step %d: unknown %s", i+1, strings.Join(keys, ", "))
		}
	}
	return &sc, nil
}

// Decision is one fact of the run, at its virtual time.
type Decision struct {
	At     time.Duration       `json:"at"`
	Kind   string              `json:"kind"`
	Job    string              `json:"job,omitempty"`
	Worker string              `json:"worker,omitempty"`
	Offer  string              `json:"offer,omitempty"`
	Why    *routing.TrailEntry `json:"why,omitempty"`
	Step   int                 `json:"step"`
}

// MarshalJSON writes the time as a duration since the start ("24s").
func (d Decision) MarshalJSON() ([]byte, error) {
	type plain Decision
	return json.Marshal(struct {
		At string `json:"at"`
		plain
	}{fmtDuration(d.At), plain(d)})
}

// String is the decision as expectations write it.
func (d Decision) String() string {
	s := fmtDuration(d.At) + " " + d.Kind
	if d.Job != "" {
		s += " " + d.Job
	}
	if d.Worker != "" {
		s += " " + d.Worker
	}
	return s
}

func fmtDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return d.String()
}

// Epoch is the virtual clock's start.
var Epoch = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Runner plays a scenario.
type Runner struct {
	r        *routing.Router
	now      time.Time
	offers   map[[2]string]string // (job, worker) → open offer
	assign   map[string]string    // job → current assignment
	docs     map[string]map[string]any
	log      []Decision
	step     int
	mismatch []string
}

// NewRunner is a runner on an empty router with deterministic ids.
func NewRunner() *Runner {
	n := 0
	rr := &Runner{offers: map[[2]string]string{}, assign: map[string]string{}, docs: map[string]map[string]any{}, now: Epoch}
	rr.r = routing.NewRouter(func() string { n++; return fmt.Sprintf("id-%d", n) })
	return rr
}

// configOrder loads documents so that references resolve.
var configOrder = []routing.Kind{routing.KindDistributionPolicy, routing.KindClassificationPolicy, routing.KindExceptionPolicy, routing.KindQueue, routing.KindWorker}

// Run plays the scenario and returns every decision and every way the run
// differs from the scenario's expectations.
func Run(sc *Scenario) ([]Decision, []string, error) {
	rr := NewRunner()
	for _, kind := range configOrder {
		docs := sc.Config[string(kind)]
		ids := make([]string, 0, len(docs))
		for id := range docs {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if err := rr.setConfig(kind, id, docs[id]); err != nil {
				return nil, nil, fmt.Errorf("config %s %s: %w", kind, id, err)
			}
		}
	}
	for i, st := range sc.Steps {
		rr.step = i + 1
		if err := rr.play(st); err != nil {
			return rr.log, rr.mismatch, fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	return rr.log, rr.mismatch, nil
}

// normalize makes a YAML document look like decoded JSON (numbers as
// float64, maps keyed by string).
func normalize(v any) (map[string]any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	err = json.Unmarshal(raw, &out)
	return out, err
}

func (rr *Runner) setConfig(kind routing.Kind, id string, doc map[string]any) error {
	return rr.writeConfig(kind, id, doc, true)
}

// writeConfig merges a patch into a document (merge) or replaces it.
func (rr *Runner) writeConfig(kind routing.Kind, id string, doc map[string]any, merge bool) error {
	key := string(kind) + "/" + id
	patch, err := normalize(doc)
	if err != nil {
		return err
	}
	base := cloneDoc(rr.docs[key])
	if !merge {
		base = nil
	}
	merged := routing.Merge(base, patch)
	routing.NormalizeKinds(merged)
	if _, err := routing.Prepare(kind, id, merged); err != nil {
		return err
	}
	rr.docs[key] = merged
	rr.record(rr.r.SetConfig(kind, id, merged, rr.now))
	return nil
}

func cloneDoc(doc map[string]any) map[string]any {
	if doc == nil {
		return nil
	}
	out, _ := normalize(doc)
	return out
}

// advance runs every timer due up to t, at its own time.
func (rr *Runner) advance(t time.Time) {
	for {
		wake := rr.r.NextWake()
		if wake.IsZero() || wake.After(t) {
			break
		}
		if wake.After(rr.now) {
			rr.now = wake
		}
		rr.record(rr.r.Tick(rr.now))
	}
	if t.After(rr.now) {
		rr.now = t
	}
}

func (rr *Runner) record(ch routing.Changes) {
	for _, f := range ch.Facts {
		d := Decision{At: f.At.Sub(Epoch), Kind: strings.TrimPrefix(f.Kind, "Router"), Worker: f.Worker, Offer: f.Offer.OfferID, Step: rr.step}
		if f.Job != nil {
			d.Job = f.Job.ID
		}
		switch f.Kind {
		case "RouterWorkerOfferIssued":
			rr.offers[[2]string{d.Job, d.Worker}] = d.Offer
			for i := len(f.Job.Trail) - 1; i >= 0; i-- {
				if e := f.Job.Trail[i]; e.OfferID == d.Offer && e.Kind == routing.OfferIssued {
					d.Why = &e
					break
				}
			}
		case "RouterWorkerOfferAccepted":
			delete(rr.offers, [2]string{d.Job, d.Worker})
			rr.assign[d.Job] = f.Assignment
		case "RouterWorkerOfferDeclined", "RouterWorkerOfferExpired", "RouterWorkerOfferRevoked":
			delete(rr.offers, [2]string{d.Job, d.Worker})
		}
		rr.log = append(rr.log, d)
	}
}

func (rr *Runner) play(st Step) error {
	at := Epoch.Add(time.Duration(st.At))
	if at.Before(rr.now) {
		return fmt.Errorf("at %s is before the previous step", fmtDuration(time.Duration(st.At)))
	}
	from := len(rr.log)
	rr.advance(at)
	err := rr.act(st)
	if st.Expect != nil {
		rr.check(st.Expect, rr.log[from:], err)
	} else if err != nil {
		return err
	}
	return nil
}

func (rr *Runner) job(id string) error {
	if rr.r.Job(id) == nil {
		return fmt.Errorf("no live job %s", id)
	}
	return nil
}

func (rr *Runner) act(st Step) error {
	now := rr.now
	var ch routing.Changes
	var err error
	switch {
	case st.Config != nil:
		return rr.writeConfig(routing.Kind(st.Config.Kind), st.Config.ID, st.Config.Doc, false)
	case st.Remove != nil:
		delete(rr.docs, st.Remove.Kind+"/"+st.Remove.ID)
		ch = rr.r.RemoveConfig(routing.Kind(st.Remove.Kind), st.Remove.ID, now)
	case st.Worker != nil:
		id, _ := st.Worker["id"].(string)
		doc := map[string]any{}
		for k, v := range st.Worker {
			if k != "id" {
				doc[k] = v
			}
		}
		return rr.setConfig(routing.KindWorker, id, doc)
	case st.Job != nil:
		id, _ := st.Job["id"].(string)
		var patch map[string]any
		if patch, err = normalize(st.Job); err != nil {
			return err
		}
		_, ch, err = rr.r.UpsertJob(rr.r.Job(id), id, patch, now)
	case st.Accept != nil:
		offer := rr.offers[[2]string{st.Accept.Job, st.Accept.Worker}]
		if offer == "" {
			offer = "none"
		}
		_, _, ch, err = rr.r.Accept(st.Accept.Worker, offer, now)
	case st.Decline != nil:
		offer := rr.offers[[2]string{st.Decline.Job, st.Decline.Worker}]
		var retry time.Time
		if st.Decline.RetryAfter > 0 {
			retry = now.Add(time.Duration(st.Decline.RetryAfter))
		}
		ch, err = rr.r.Decline(st.Decline.Worker, offer, retry, now)
	case st.Complete != nil:
		ch, err = rr.r.Complete(st.Complete.Job, rr.assign[st.Complete.Job], st.Complete.Note, now)
	case st.Close != nil:
		var at time.Time
		if st.Close.CloseAfter > 0 {
			at = now.Add(time.Duration(st.Close.CloseAfter))
		}
		ch, err = rr.r.Close(st.Close.Job, rr.assign[st.Close.Job], st.Close.Disposition, st.Close.Note, at, now)
	case st.Cancel != nil:
		ch, err = rr.r.Cancel(st.Cancel.Job, st.Cancel.Note, st.Cancel.Disposition, now)
	case st.Unassign != nil:
		_, ch, err = rr.r.Unassign(st.Unassign.Job, rr.assign[st.Unassign.Job], st.Unassign.Suspend, now)
	case st.Reclassify != nil:
		ch, err = rr.r.Reclassify(st.Reclassify.Job, now)
	case st.Delete != nil:
		if err = rr.job(st.Delete.Job); err == nil {
			ch = rr.r.DeleteJob(rr.r.Job(st.Delete.Job), now)
		}
	}
	rr.record(ch)
	return err
}

func (rr *Runner) check(e *Expect, got []Decision, err error) {
	fail := func(format string, args ...any) {
		rr.mismatch = append(rr.mismatch, fmt.Sprintf("step %d (at %s): ", rr.step, fmtDuration(rr.now.Sub(Epoch)))+fmt.Sprintf(format, args...))
	}
	switch {
	case e.Error != "" && (err == nil || !strings.Contains(err.Error(), e.Error)):
		fail("want the error %q, got %v", e.Error, err)
	case e.Error == "" && err != nil:
		fail("unexpected error: %v", err)
	}
	if e.Offers != nil {
		var offers []string
		for _, d := range got {
			if d.Kind == "WorkerOfferIssued" {
				offers = append(offers, d.Job+" "+d.Worker)
			}
		}
		if strings.Join(offers, ", ") != strings.Join(e.Offers, ", ") {
			fail("offers [%s], want [%s]", strings.Join(offers, ", "), strings.Join(e.Offers, ", "))
		}
	}
	if e.Events != nil {
		var evs []string
		for i, d := range got {
			s := d.String()
			if i < len(e.Events) && !startsWithTime(e.Events[i]) {
				s = strings.SplitN(s, " ", 2)[1]
			}
			evs = append(evs, s)
		}
		if strings.Join(evs, ", ") != strings.Join(e.Events, ", ") {
			fail("events [%s], want [%s]", strings.Join(evs, ", "), strings.Join(e.Events, ", "))
		}
	}
	for job, want := range e.Status {
		got := "none"
		if j := rr.r.Job(job); j != nil {
			got = string(j.Status)
		} else {
			got = rr.finished(job)
		}
		if got != want {
			fail("job %s is %s, want %s", job, got, want)
		}
	}
	for w, want := range e.State {
		if got := rr.r.WorkerView(w, rr.r.Worker(w))["state"]; got != want {
			fail("worker %s is %v, want %s", w, got, want)
		}
	}
	for job, want := range e.Position {
		p, err := rr.r.Position(job, rr.now)
		if err != nil || p.Position != want {
			fail("job %s at position %d (%v), want %d", job, p.Position, err, want)
		}
	}
}

func startsWithTime(s string) bool {
	first, _, _ := strings.Cut(s, " ")
	_, err := time.ParseDuration(first)
	return err == nil
}

// finished is the last status a job no longer held reached, from the log.
func (rr *Runner) finished(job string) string {
	for i := len(rr.log) - 1; i >= 0; i-- {
		d := rr.log[i]
		if d.Job != job {
			continue
		}
		switch d.Kind {
		case "JobClosed":
			return "closed"
		case "JobCancelled":
			return "cancelled"
		case "JobClassificationFailed":
			return "classificationFailed"
		case "JobDeleted":
			return "deleted"
		}
	}
	return "none"
}

// ErrMismatch reports a scenario whose run differs from its expectations.
var ErrMismatch = errors.New("scenario: the run differs from the expectations")

// Format prints a decision on one line: time, kind, job, worker, offer
// and, with why, the candidates with their scores and the exclusions.
func Format(d Decision, why bool) string {
	s := d.String()
	if d.Offer != "" {
		s += " offer=" + d.Offer
	}
	if why && d.Why != nil {
		s += " mode=" + string(d.Why.Mode) + " candidates=["
		for i, c := range d.Why.Candidates {
			if i > 0 {
				s += " "
			}
			s += fmt.Sprintf("%s:%g", c.Worker, c.Score)
		}
		s += "]"
		if len(d.Why.Excluded) > 0 {
			ids := make([]string, 0, len(d.Why.Excluded))
			for id := range d.Why.Excluded {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			s += " excluded=["
			for i, id := range ids {
				if i > 0 {
					s += "; "
				}
				s += id + ": " + d.Why.Excluded[id]
			}
			s += "]"
		}
	}
	return s
}
