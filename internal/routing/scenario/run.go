package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/routing"
)

// Decision is one fact of the run, at its virtual time.
type Decision struct {
	At     time.Duration // since the start
	Time   time.Time
	Kind   string
	Job    string
	Worker string
	Offer  string
	// Expires is when an issued offer expires (since the start).
	Expires time.Duration
	// Note says more of facts other than offers: the exception rule, the
	// queue and priority, why a worker was paused, what failed.
	Note string
	// Why is an issued offer's explanation: the mode, the candidates
	// ranked with their scores, the excluded workers with the reasons.
	Why  *routing.TrailEntry
	Step int
}

// Epoch is the virtual clock's default start.
var Epoch = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Runner plays a scenario against a fresh router.
type Runner struct {
	r        *routing.Router
	start    time.Time
	now      time.Time
	offers   map[[2]string]string // (job, worker) → its latest offer
	assign   map[string]string    // job → current assignment
	docs     map[string]map[string]any
	log      []Decision
	step     int
	line     int
	mismatch []string
}

// NewRunner is a runner on an empty router with deterministic ids (id-1,
// id-2, … for offers and assignments) and its clock at start.
func NewRunner(start time.Time) *Runner {
	n := 0
	rr := &Runner{offers: map[[2]string]string{}, assign: map[string]string{}, docs: map[string]map[string]any{}, start: start, now: start}
	rr.r = routing.NewRouter(func() string { n++; return fmt.Sprintf("id-%d", n) })
	return rr
}

// Router is the runner's router, for checks beyond the expectations.
func (rr *Runner) Router() *routing.Router { return rr.r }

// start is the clock's start: Start, else the first step's time when it
// is an instant, else Epoch.
func (sc *Scenario) start() time.Time {
	if sc.Start != nil {
		return *sc.Start
	}
	for _, st := range sc.Steps {
		if st.At.set {
			if !st.At.abs.IsZero() {
				return st.At.abs
			}
			break
		}
	}
	return Epoch
}

// Run plays the scenario and returns every decision and every way the run
// differs from the scenario's expectations. An action that fails without
// an expected error stops the run.
func Run(sc *Scenario) ([]Decision, []string, error) {
	rr := NewRunner(sc.start())
	if err := rr.Play(sc); err != nil {
		return rr.log, rr.mismatch, err
	}
	return rr.log, rr.mismatch, nil
}

// Play loads the scenario's configuration and plays its steps.
func (rr *Runner) Play(sc *Scenario) error {
	for _, kind := range kinds {
		docs := sc.Config[string(kind)]
		for _, id := range sorted(docs) {
			if err := rr.writeConfig(kind, id, docs[id], false); err != nil {
				return fmt.Errorf("config %s %s: %w", kind, id, err)
			}
		}
	}
	for i, st := range sc.Steps {
		rr.step, rr.line = i+1, st.Line
		if err := rr.play(st); err != nil {
			return fmt.Errorf("%s: %w", stepName(rr.step, rr.line), err)
		}
	}
	return nil
}

// Decisions are the decisions so far; Mismatches the expectations unmet.
func (rr *Runner) Decisions() []Decision { return rr.log }

// Mismatches are the expectations not met so far.
func (rr *Runner) Mismatches() []string { return rr.mismatch }

func sorted[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
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

func cloneDoc(doc map[string]any) map[string]any {
	if doc == nil {
		return nil
	}
	out, _ := normalize(doc)
	return out
}

// writeConfig replaces a document (a config step: the whole document, as
// a recording holds it) or merges a patch into it (a worker step: as the
// API's PATCH), then checks and loads it as the API does.
func (rr *Runner) writeConfig(kind routing.Kind, id string, doc map[string]any, merge bool) error {
	if err := routing.ValidID(id); err != nil {
		return err
	}
	key := string(kind) + "/" + id
	patch, err := normalize(doc)
	if err != nil {
		return err
	}
	var base map[string]any
	if merge {
		base = cloneDoc(rr.docs[key])
		if _, ok := patch["presence"]; kind == routing.KindWorker && !ok {
			// As the API: availableForOffers set directly speaks for the
			// agent, and a presence that said otherwise is stale.
			if av, ok := patch["availableForOffers"].(bool); ok {
				if p, _ := base["presence"].(map[string]any); p != nil && (p["status"] == "available") != av {
					delete(base, "presence")
				}
			}
		}
	}
	merged := routing.Merge(base, patch)
	routing.NormalizeKinds(merged)
	refs, err := routing.Prepare(kind, id, merged)
	if err != nil {
		return err
	}
	for _, ref := range []struct {
		kind  routing.Kind
		id    string
		field string
	}{{routing.KindDistributionPolicy, refs.DistributionPolicy, "distributionPolicyId"}, {routing.KindExceptionPolicy, refs.ExceptionPolicy, "exceptionPolicyId"},
		{routing.KindQueue, refs.FallbackQueue, "fallbackQueueId"}} {
		if ref.id != "" && rr.docs[string(ref.kind)+"/"+ref.id] == nil {
			return fmt.Errorf("%s %q does not exist", ref.field, ref.id)
		}
	}
	for _, q := range refs.Queues {
		if rr.docs[string(routing.KindQueue)+"/"+q] == nil {
			return fmt.Errorf("queue %q does not exist", q)
		}
	}
	rr.docs[key] = merged
	rr.record(rr.r.SetConfig(kind, id, merged, rr.now))
	return nil
}

// removeConfig deletes a document nothing uses, as the API does.
func (rr *Runner) removeConfig(kind routing.Kind, id string) error {
	key := string(kind) + "/" + id
	if rr.docs[key] == nil {
		return fmt.Errorf("no %s %s", kind, id)
	}
	if n := rr.r.ActiveJobsUsing(kind, id); n > 0 {
		return fmt.Errorf("%s %s is used by %d live jobs", kind, id, n)
	}
	for _, other := range sorted(rr.docs) {
		okind, oid, _ := strings.Cut(other, "/")
		doc := rr.docs[other]
		uses := false
		switch {
		case kind == routing.KindDistributionPolicy && okind == string(routing.KindQueue):
			uses = doc["distributionPolicyId"] == id
		case kind == routing.KindExceptionPolicy && okind == string(routing.KindQueue):
			uses = doc["exceptionPolicyId"] == id
		case kind == routing.KindQueue && okind == string(routing.KindClassificationPolicy):
			uses = doc["fallbackQueueId"] == id
		case kind == routing.KindQueue && okind == string(routing.KindWorker):
			qs, _ := doc["queues"].([]any)
			uses = slices.Contains(qs, any(id))
		}
		if uses {
			return fmt.Errorf("%s %s is used by %s %s", kind, id, okind, oid)
		}
	}
	delete(rr.docs, key)
	rr.record(rr.r.RemoveConfig(kind, id, rr.now))
	return nil
}

// advance runs every timer due up to t, each at its own time.
func (rr *Runner) advance(t time.Time) error {
	spins := 0
	for {
		wake := rr.r.NextWake()
		if wake.IsZero() || wake.After(t) {
			break
		}
		if wake.After(rr.now) {
			rr.now, spins = wake, 0
		} else if spins++; spins > 10000 {
			return fmt.Errorf("the router's timers at %s never settle", fmtDuration(rr.now.Sub(rr.start)))
		}
		rr.record(rr.r.Tick(rr.now))
	}
	if t.After(rr.now) {
		rr.now = t
	}
	return nil
}

func (rr *Runner) record(ch routing.Changes) {
	// Workers the router changed itself (paused after missed offers) are
	// stored so, as the service does: a later patch merges into that.
	paused := map[string]string{}
	for _, doc := range ch.Workers {
		id, _ := doc["id"].(string)
		rr.docs[string(routing.KindWorker)+"/"+id] = cloneDoc(doc)
		reason, _ := doc["pausedReason"].(string)
		paused[id] = reason
	}
	for _, f := range ch.Facts {
		var offer routing.Offer
		if f.Offer != nil {
			offer = *f.Offer
		}
		d := Decision{At: f.At.Sub(rr.start), Time: f.At, Kind: strings.TrimPrefix(f.Kind, "Router"), Worker: f.Worker, Offer: offer.OfferID, Step: rr.step}
		if f.Job != nil {
			d.Job = f.Job.ID
		}
		switch f.Kind {
		case "RouterWorkerOfferIssued":
			rr.offers[[2]string{d.Job, d.Worker}] = d.Offer
			d.Expires = offer.ExpiresAt.Sub(rr.start)
			for i := len(f.Job.Trail) - 1; i >= 0; i-- {
				if e := f.Job.Trail[i]; e.OfferID == d.Offer && e.Kind == routing.OfferIssued {
					d.Why = &e
					break
				}
			}
		case "RouterWorkerOfferAccepted":
			rr.assign[d.Job] = f.Assignment
		case "RouterJobExceptionTriggered":
			d.Note = fmt.Sprintf("rule=%s queue=%s", f.Rule, f.Queue)
		case "RouterJobQueued", "RouterJobClassified":
			// Where the job stood then (an exception rule may move it later
			// in the same call).
			d.Note = fmt.Sprintf("queue=%s priority=%d", f.Queue, f.Priority)
		case "RouterJobClassificationFailed":
			d.Note = fmt.Sprintf("errors=%q", strings.Join(f.Errors, "; "))
		case "RouterJobWorkerSelectorsExpired":
			keys := make([]string, len(f.Expired))
			for i, s := range f.Expired {
				keys[i] = s.Key
			}
			d.Note = "expired=" + strings.Join(keys, ",")
		case "RouterJobCancelled", "RouterJobClosed":
			if f.Job.DispositionCode != "" {
				d.Note = "disposition=" + f.Job.DispositionCode
			}
		case "RouterWorkerDeregistered":
			if reason, ok := paused[d.Worker]; ok {
				d.Note = fmt.Sprintf("paused=%q", reason)
			}
		}
		rr.log = append(rr.log, d)
	}
}

func (rr *Runner) play(st Step) error {
	at := rr.now
	switch w := st.At; {
	case !w.set:
	case !w.abs.IsZero():
		at = w.abs
	case w.after:
		at = rr.now.Add(w.offset)
	default:
		at = rr.start.Add(w.offset)
	}
	if at.Before(rr.now) {
		return fmt.Errorf("at %s is before the previous step (%s)", st.At, fmtDuration(rr.now.Sub(rr.start)))
	}
	from := len(rr.log)
	if err := rr.advance(at); err != nil {
		return err
	}
	err := rr.act(st)
	if st.Expect != nil {
		rr.check(st.Expect, rr.log[from:], err)
	} else if err != nil {
		return err
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
		return rr.removeConfig(routing.Kind(st.Remove.Kind), st.Remove.ID)
	case st.Worker != nil:
		id, _ := st.Worker["id"].(string)
		doc := map[string]any{}
		for k, v := range st.Worker {
			if k != "id" {
				doc[k] = v
			}
		}
		return rr.writeConfig(routing.KindWorker, id, doc, true)
	case st.Job != nil:
		id, _ := st.Job["id"].(string)
		var patch map[string]any
		if patch, err = normalize(st.Job); err != nil {
			return err
		}
		_, ch, err = rr.r.UpsertJob(rr.r.Job(id), id, patch, now)
	case st.Accept != nil:
		// The worker's client answers the latest offer it was sent; the
		// router says whether it still stands.
		_, _, ch, err = rr.r.Accept(st.Accept.Worker, rr.offers[[2]string{st.Accept.Job, st.Accept.Worker}], now)
	case st.Decline != nil:
		var retry time.Time
		if st.Decline.RetryAfter > 0 {
			retry = now.Add(time.Duration(st.Decline.RetryAfter))
		}
		ch, err = rr.r.Decline(st.Decline.Worker, rr.offers[[2]string{st.Decline.Job, st.Decline.Worker}], retry, now)
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
		j := rr.r.Job(st.Delete.Job)
		if j == nil {
			return fmt.Errorf("no live job %s", st.Delete.Job)
		}
		ch = rr.r.DeleteJob(j, now)
	}
	rr.record(ch)
	return err
}

func (rr *Runner) check(e *Expect, got []Decision, err error) {
	fail := func(format string, args ...any) {
		rr.mismatch = append(rr.mismatch, fmt.Sprintf("%s, at %s: ", stepName(rr.step, rr.line), fmtDuration(rr.now.Sub(rr.start)))+fmt.Sprintf(format, args...))
	}
	switch {
	case e.Error != "" && (err == nil || !strings.Contains(err.Error(), e.Error)):
		fail("want the error %q, got %v", e.Error, err)
	case e.Error == "" && err != nil:
		fail("unexpected error: %v", err)
	}
	if e.Offers != nil {
		var offers []Decision
		for _, d := range got {
			if d.Kind == "WorkerOfferIssued" {
				offers = append(offers, d)
			}
		}
		rr.compare("offers", offers, e.Offers, func(d Decision) string { return d.Job + " " + d.Worker }, fail)
	}
	if e.Events != nil {
		rr.compare("events", got, e.Events, Decision.what, fail)
	}
	for _, job := range sorted(e.Status) {
		got := rr.status(job)
		if want := e.Status[job]; got != want {
			fail("job %s is %s, want %s", job, got, want)
		}
	}
	for _, w := range sorted(e.State) {
		if got, want := rr.r.WorkerView(w, rr.r.Worker(w))["state"], e.State[w]; got != want {
			fail("worker %s is %v, want %s", w, got, want)
		}
	}
	for _, w := range sorted(e.Load) {
		got, _ := rr.r.WorkerView(w, rr.r.Worker(w))["loadRatio"].(float64)
		if want := e.Load[w]; math.Abs(got-want) > 1e-9 {
			fail("worker %s has load %g, want %g", w, got, want)
		}
	}
	for _, job := range sorted(e.Queue) {
		got := "none"
		if j := rr.r.Job(job); j != nil {
			got = j.QueueID
		}
		if want := e.Queue[job]; got != want {
			fail("job %s is in queue %s, want %s", job, got, want)
		}
	}
	for _, job := range sorted(e.Priority) {
		if j := rr.r.Job(job); j == nil || j.Priority != e.Priority[job] {
			got := "none"
			if j != nil {
				got = fmt.Sprint(j.Priority)
			}
			fail("job %s has priority %s, want %d", job, got, e.Priority[job])
		}
	}
	for _, job := range sorted(e.Position) {
		p, err := rr.r.Position(job, rr.now)
		if want := e.Position[job]; err != nil || p.Position != want {
			fail("job %s at position %d (%v), want %d", job, p.Position, err, want)
		}
	}
}

// compare matches decisions against expected lines, each optionally
// starting with its time (since the start, or an instant).
func (rr *Runner) compare(what string, got []Decision, want []string, text func(Decision) string, fail func(string, ...any)) {
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		w := strings.TrimSpace(want[i])
		if first, rest, ok := strings.Cut(w, " "); ok {
			if off, abs, ok := expectedTime(first); ok {
				w = strings.TrimSpace(rest)
				if !abs.IsZero() && !abs.Equal(got[i].Time) || abs.IsZero() && off != got[i].At {
					same = false
				}
			}
		}
		same = same && text(got[i]) == w
	}
	if !same {
		g := make([]string, len(got))
		for i, d := range got {
			g[i] = fmtDuration(d.At) + " " + text(d)
		}
		fail("%s [%s], want [%s]", what, strings.Join(g, ", "), strings.Join(want, ", "))
	}
}

// expectedTime reads the time an expected line may start with: a
// duration with its unit (since the start) or an RFC 3339 instant.
func expectedTime(s string) (time.Duration, time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return 0, t, true
	}
	d, err := time.ParseDuration(s)
	return d, time.Time{}, err == nil
}

// status is a job's status, or for a job the router no longer holds the
// last it reached.
func (rr *Runner) status(job string) string {
	if j := rr.r.Job(job); j != nil {
		return string(j.Status)
	}
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
		case "JobSchedulingFailed":
			return "scheduleFailed"
		case "JobDeleted":
			return "deleted"
		}
	}
	return "none"
}

// ErrMismatch reports a scenario whose run differs from its expectations.
var ErrMismatch = errors.New("scenario: the run differs from the expectations")
