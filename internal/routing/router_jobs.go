package routing

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// Errors of job operations.
var (
	ErrJobNotFound = errs.NotFound("job not found")
	errUnassigns   = errs.Invalid("UnassignmentLimitReached", "a job can be unassigned at most %d times", maxUnassignments)
)

const maxUnassignments = 3

// Job returns a job the router holds (not yet closed, cancelled or failed).
func (r *Router) Job(id string) *Job { return r.jobs[id] }

// Clone copies a job, deeply, for a caller that keeps it past the next call.
func (j *Job) Clone() *Job {
	c := *j
	c.Labels, c.Tags = maps.Clone(j.Labels), maps.Clone(j.Tags)
	c.RequestedWorkerSelectors = slices.Clone(j.RequestedWorkerSelectors)
	c.AttachedWorkerSelectors = slices.Clone(j.AttachedWorkerSelectors)
	c.Notes = slices.Clone(j.Notes)
	c.FiredExceptions = slices.Clone(j.FiredExceptions)
	// Trail entries are never changed once written: sharing them is safe.
	c.Trail = slices.Clone(j.Trail)
	if j.Assignments != nil {
		c.Assignments = make(map[string]*Assignment, len(j.Assignments))
		for id, a := range j.Assignments {
			cp := *a
			c.Assignments[id] = &cp
		}
	}
	return &c
}

// readOnlyJob are the members a patch cannot set.
var readOnlyJob = []string{"status", "enqueuedAt", "assignments", "attachedWorkerSelectors", "scheduledAt", "etag", "decisions", "unassignmentCount", "closeAt", "firedExceptions", "createdAt"}

// UpsertJob creates a job or merge-patches one (cur is the job as stored,
// nil when new). It returns the job as the API shows it right after the
// write (classification and matching happen after that moment, as in ACS
// where they run asynchronously) and the job's live state.
func (r *Router) UpsertJob(cur *Job, id string, patch map[string]any, now time.Time) (*Job, Changes, error) {
	if cur == nil {
		next, err := NewJob(id, patch)
		if err != nil {
			return nil, Changes{}, err
		}
		return r.CreateJob(next, now)
	}
	next, err := mergeJob(cur, id, patch)
	if err != nil {
		return nil, Changes{}, err
	}
	if err := r.checkJobRefs(next); err != nil {
		return nil, Changes{}, err
	}
	next.scores = cur.scores
	if r.scores != nil {
		next.scores = r.scores
	}
	return r.updateJob(cur, next, now)
}

// NewJob reads a new job from its creating patch. It needs nothing of the
// router, so a caller can prepare the job before taking the router's lock
// (see CreateJob).
func NewJob(id string, patch map[string]any) (*Job, error) {
	return mergeJob(nil, id, patch)
}

// CreateJob creates a job NewJob read; like UpsertJob with no current job.
func (r *Router) CreateJob(next *Job, now time.Time) (*Job, Changes, error) {
	if err := r.checkJobRefs(next); err != nil {
		return nil, Changes{}, err
	}
	next.scores = r.scores
	next.Status, next.CreatedAt = StatusCreated, now
	return r.createJob(next, now)
}

// mergeJob merge-patches cur (nil: a new job) into the next job.
func mergeJob(cur *Job, id string, patch map[string]any) (*Job, error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	if pid, ok := patch["id"].(string); ok && pid != id {
		return nil, invalid("id", "the body's id %q differs from the path's %q", pid, id)
	}
	var doc map[string]any
	if cur != nil {
		raw, _ := json.Marshal(cur)
		doc, _ = Decode(raw)
	}
	patch = maps.Clone(patch)
	for _, k := range readOnlyJob {
		delete(patch, k)
	}
	NormalizeKinds(patch)
	doc = Merge(doc, patch)
	doc["id"] = id
	return jobFromDoc(doc)
}

// jobFromDoc reads and validates a job document after a merge.
func jobFromDoc(doc map[string]any) (*Job, error) {
	if doc["priority"] == nil {
		doc["priority"] = 1.0
	}
	if p, ok := doc["priority"].(float64); !ok || p != math.Trunc(p) || p < -100 || p > 100 {
		return nil, invalid("priority", "priority is an integer from -100 to 100")
	}
	for _, k := range []string{"labels", "tags"} {
		if err := checkLabels(doc, k, ""); err != nil {
			return nil, err
		}
	}
	if mm, ok := doc["matchingMode"].(map[string]any); ok {
		switch mm["kind"] {
		case QueueAndMatch, Suspend:
		case ScheduleAndSuspend:
			if _, ok := mm["scheduleAt"].(string); !ok {
				return nil, invalid("matchingMode.scheduleAt", "scheduleAndSuspend needs scheduleAt")
			}
		default:
			return nil, invalid("matchingMode.kind", "matchingMode.kind must be queueAndMatch, scheduleAndSuspend or suspend")
		}
	} else if doc["matchingMode"] != nil {
		return nil, invalid("matchingMode", "matchingMode must be an object")
	}
	j, ok := plainJob(doc)
	if !ok {
		raw, err := json.Marshal(doc)
		if err != nil {
			return nil, invalid("", "the job is not valid JSON")
		}
		j = &Job{}
		if err := json.Unmarshal(raw, j); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return nil, invalid(te.Field, "%s must be a %s", te.Field, te.Type)
			}
			return nil, invalid("", "the job is not valid: %v", err)
		}
	}
	if j.ChannelID == "" {
		return nil, invalid("channelId", "a job needs a channelId")
	}
	if j.MatchingMode.Kind == "" {
		j.MatchingMode.Kind = QueueAndMatch
	}
	for i, s := range j.RequestedWorkerSelectors {
		if err := s.Selector.Validate(); err != nil {
			var e *errs.Error
			if errors.As(err, &e) {
				e.Target = fmt.Sprintf("requestedWorkerSelectors[%d].%s", i, e.Target)
			}
			return nil, err
		}
		if s.ExpiresAfterSeconds < 0 {
			return nil, invalid(fmt.Sprintf("requestedWorkerSelectors[%d].expiresAfterSeconds", i), "expiresAfterSeconds must not be negative")
		}
	}
	j.normalize()
	return j, nil
}

// plainJob reads a job document made only of the members most jobs have,
// with the types JSON would give them, straight into a Job; ok is false
// for anything else (another member, a differently spelt or null one, an
// unexpected type), which goes through JSON as before and reads the same.
// Going through JSON cost a new job more than routing it.
func plainJob(doc map[string]any) (*Job, bool) {
	j := &Job{}
	for k, v := range doc {
		if v == nil {
			return nil, false
		}
		var str *string
		switch k {
		case "id":
			str = &j.ID
		case "channelReference":
			str = &j.ChannelReference
		case "channelId":
			str = &j.ChannelID
		case "classificationPolicyId":
			str = &j.ClassificationPolicyID
		case "queueId":
			str = &j.QueueID
		case "dispositionCode":
			str = &j.DispositionCode
		case "preferredWorkerId":
			str = &j.PreferredWorker
		case "priority":
			p, ok := v.(float64)
			if !ok || p != math.Trunc(p) {
				return nil, false
			}
			j.Priority = int(p)
			continue
		case "labels", "tags":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if k == "labels" {
				j.Labels = maps.Clone(m)
			} else {
				j.Tags = maps.Clone(m)
			}
			continue
		case "matchingMode":
			mm, ok := v.(map[string]any)
			kind, isStr := mm["kind"].(string)
			if !ok || !isStr || len(mm) != 1 {
				return nil, false
			}
			j.MatchingMode.Kind = kind
			continue
		default:
			return nil, false
		}
		sv, ok := v.(string)
		if !ok {
			return nil, false
		}
		*str = sv
	}
	return j, true
}

func (j *Job) normalize() {
	if j.Labels == nil {
		j.Labels = map[string]any{}
	}
	if j.Tags == nil {
		j.Tags = map[string]any{}
	}
	if j.Assignments == nil {
		j.Assignments = map[string]*Assignment{}
	}
	if j.Notes == nil {
		j.Notes = []Note{}
	}
	if j.RequestedWorkerSelectors == nil {
		j.RequestedWorkerSelectors = []WorkerSelector{}
	}
	if j.AttachedWorkerSelectors == nil {
		j.AttachedWorkerSelectors = []WorkerSelector{}
	}
}

func (r *Router) checkJobRefs(j *Job) error {
	if j.QueueID == "" && j.ClassificationPolicyID == "" {
		return invalid("queueId", "a job needs a queueId or a classificationPolicyId")
	}
	if j.QueueID != "" && r.queues[j.QueueID] == nil {
		return errs.Invalid("InvalidReference", "queue %q does not exist", j.QueueID).WithTarget("queueId")
	}
	if j.ClassificationPolicyID != "" && r.classes[j.ClassificationPolicyID] == nil {
		return errs.Invalid("InvalidReference", "classification policy %q does not exist", j.ClassificationPolicyID).WithTarget("classificationPolicyId")
	}
	return nil
}

func (r *Router) createJob(j *Job, now time.Time) (*Job, Changes, error) {
	// A new job is received, queued and, mostly, offered at once: room
	// for those facts in one allocation (a fact is 280 bytes; most other
	// calls raise one).
	ch := Changes{Facts: make([]Fact, 0, 4)}
	r.jobs[j.ID] = j
	ch.job(j)
	for i := range j.Notes {
		if j.Notes[i].AddedAt.IsZero() {
			j.Notes[i].AddedAt = now
		}
	}
	switch j.MatchingMode.Kind {
	case ScheduleAndSuspend:
		j.Status, j.ScheduledAt = StatusScheduled, j.MatchingMode.ScheduleAt
		ch.fact(receivedFact(j, now))
		view := j.Clone()
		r.push(timer{at: j.ScheduledAt, kind: timerSchedule, key: j.ID})
		return view, ch, nil
	case Suspend:
		j.Status = StatusWaitingForActivation
		ch.fact(receivedFact(j, now))
		return j.Clone(), ch, nil
	}
	if j.ClassificationPolicyID != "" {
		j.Status = StatusPendingClassification
	} else {
		j.Status = StatusQueued
	}
	ch.fact(receivedFact(j, now))
	view := j.Clone()
	r.route(&ch, j, now)
	return view, ch, nil
}

func (r *Router) updateJob(cur, next *Job, now time.Time) (*Job, Changes, error) {
	var ch Changes
	live := r.jobs[cur.ID] == cur
	// What the router owns carries over.
	next.Status, next.EnqueuedAt, next.Assignments, next.AttachedWorkerSelectors = cur.Status, cur.EnqueuedAt, cur.Assignments, cur.AttachedWorkerSelectors
	next.ScheduledAt, next.Unassignments, next.CloseAt, next.FiredExceptions, next.Trail, next.CreatedAt, next.Version =
		cur.ScheduledAt, cur.Unassignments, cur.CloseAt, cur.FiredExceptions, cur.Trail, cur.CreatedAt, cur.Version
	for i := range next.Notes {
		if next.Notes[i].AddedAt.IsZero() {
			next.Notes[i].AddedAt = now
		}
	}
	for i := range next.RequestedWorkerSelectors {
		// A selector that is unchanged keeps its clock.
		for _, old := range cur.RequestedWorkerSelectors {
			if old.Selector.Key == next.RequestedWorkerSelectors[i].Key && same(old.Value, next.RequestedWorkerSelectors[i].Value) &&
				old.LabelOperator == next.RequestedWorkerSelectors[i].LabelOperator && old.ExpiresAfterSeconds == next.RequestedWorkerSelectors[i].ExpiresAfterSeconds {
				next.RequestedWorkerSelectors[i].Status, next.RequestedWorkerSelectors[i].ExpiresAt = old.Status, old.ExpiresAt
			}
		}
	}
	if !live {
		ch.job(next)
		return next.Clone(), ch, nil
	}
	*cur = *next
	j := cur
	ch.job(j)
	switch {
	case j.MatchingMode.Kind == QueueAndMatch && (j.Status == StatusWaitingForActivation || j.Status == StatusScheduled):
		j.Status = StatusQueued
		if j.ClassificationPolicyID != "" {
			j.Status = StatusPendingClassification
		}
		view := j.Clone()
		r.route(&ch, j, now)
		return view, ch, nil
	case j.MatchingMode.Kind == Suspend && j.Status == StatusQueued:
		r.apply(&ch, r.eng.Withdraw(j.ID, now), now)
		j.Status = StatusWaitingForActivation
	case j.Status == StatusQueued:
		r.stampSelectors(j, now)
		r.apply(&ch, r.eng.Update(r.spec(j, now), now), now)
	}
	return j.Clone(), ch, nil
}

// route classifies a job (when it has a policy) and queues it.
func (r *Router) route(ch *Changes, j *Job, now time.Time) {
	if j.ClassificationPolicyID != "" {
		j.Status = StatusPendingClassification
		if err := r.classify(j); err != nil {
			j.Status = StatusClassificationFailed
			delete(r.jobs, j.ID)
			ch.job(j)
			ch.fact(Fact{Kind: "RouterJobClassificationFailed", At: now, Job: j, Errors: []string{err.Error()}})
			return
		}
		ch.fact(Fact{Kind: "RouterJobClassified", At: now, Job: j, Queue: j.QueueID, Priority: j.Priority})
	}
	j.Status = StatusQueued
	if j.EnqueuedAt.IsZero() {
		j.EnqueuedAt = now
	}
	r.stampSelectors(j, now)
	ch.job(j)
	ch.fact(Fact{Kind: "RouterJobQueued", At: now, Job: j, Queue: j.QueueID, Priority: j.Priority})
	ds, _ := r.eng.SubmitAt(r.spec(j, now), j.EnqueuedAt, now)
	r.armExceptions(j)
	r.checkExceptions(ch, j.ID, now)
	if r.jobs[j.ID] == j && j.Status == StatusQueued {
		r.apply(ch, ds, now)
	} else {
		// An exception took the job away before its offers mattered.
		r.apply(ch, ds, now)
	}
}

func (r *Router) classify(j *Job) error {
	policy := r.classes[j.ClassificationPolicyID]
	if p := r.resolved[j.ClassificationPolicyID]; p != nil {
		policy = p
	}
	if policy == nil {
		return fmt.Errorf("classification policy %q does not exist", j.ClassificationPolicyID)
	}
	queues := make(map[string]map[string]any, len(r.queues))
	for id, q := range r.queues {
		labels, _ := q["labels"].(map[string]any)
		queues[id] = labels
	}
	c, err := Classify(policy, j.ID, j.QueueID, j.Labels, queues)
	if err != nil {
		return err
	}
	if r.queues[c.QueueID] == nil {
		return fmt.Errorf("queue %q does not exist", c.QueueID)
	}
	j.QueueID = c.QueueID
	if c.Priority != nil {
		j.Priority = int(*c.Priority)
	}
	j.AttachedWorkerSelectors = j.AttachedWorkerSelectors[:0]
	for _, s := range c.WorkerSelectors {
		j.AttachedWorkerSelectors = append(j.AttachedWorkerSelectors, WorkerSelector{Selector: s, Status: "active"})
	}
	return nil
}

// stampSelectors starts the clocks of selectors that expire.
func (r *Router) stampSelectors(j *Job, now time.Time) {
	for _, list := range [][]WorkerSelector{j.RequestedWorkerSelectors, j.AttachedWorkerSelectors} {
		for i := range list {
			s := &list[i]
			if s.Status == "" {
				s.Status = "active"
			}
			if s.ExpiresAfterSeconds > 0 && s.ExpiresAt.IsZero() {
				s.ExpiresAt = now.Add(time.Duration(s.ExpiresAfterSeconds * float64(time.Second)))
				r.push(timer{at: s.ExpiresAt, kind: timerSelector, key: j.ID})
			}
		}
	}
}

// spec is the engine's view of a job: its active selectors.
func (r *Router) spec(j *Job, now time.Time) JobSpec {
	s := JobSpec{ID: j.ID, Queue: j.QueueID, Channel: j.ChannelID, Priority: j.Priority, Labels: j.Labels, Preferred: j.PreferredWorker, Scores: j.scores}
	for _, list := range [][]WorkerSelector{j.RequestedWorkerSelectors, j.AttachedWorkerSelectors} {
		for _, ws := range list {
			if ws.Status == "expired" {
				continue
			}
			s.Selectors = append(s.Selectors, ws.Selector)
			s.Expedite = s.Expedite || ws.Expedite
		}
	}
	return s
}

func (r *Router) expireSelectors(ch *Changes, id string, now time.Time) {
	j := r.jobs[id]
	if j == nil || j.Status != StatusQueued {
		return
	}
	var expired []WorkerSelector
	for _, list := range [][]WorkerSelector{j.RequestedWorkerSelectors, j.AttachedWorkerSelectors} {
		for i := range list {
			if list[i].Status != "expired" && !list[i].ExpiresAt.IsZero() && !list[i].ExpiresAt.After(now) {
				list[i].Status = "expired"
				expired = append(expired, list[i])
			}
		}
	}
	if len(expired) == 0 {
		return
	}
	ch.job(j)
	ch.fact(Fact{Kind: "RouterJobWorkerSelectorsExpired", At: now, Job: j, Expired: expired})
	r.apply(ch, r.eng.Update(r.spec(j, now), now), now)
}

func (r *Router) exceptionPolicy(j *Job) map[string]any {
	q := r.queues[j.QueueID]
	if q == nil {
		return nil
	}
	id, _ := q["exceptionPolicyId"].(string)
	return r.excepts[id]
}

// armExceptions sets timers for a queued job's waitTime triggers.
func (r *Router) armExceptions(j *Job) {
	rules, _ := r.exceptionPolicy(j)["exceptionRules"].([]any)
	for _, x := range rules {
		rule, _ := x.(map[string]any)
		trigger, _ := rule["trigger"].(map[string]any)
		if s, ok := trigger["thresholdSeconds"].(float64); ok && trigger["kind"] == "waitTime" {
			r.push(timer{at: j.EnqueuedAt.Add(time.Duration(s * float64(time.Second))), kind: timerWait, key: j.ID})
		}
	}
}

// armWaitTimers re-arms every queued job's exception timers after the
// policies changed.
func (r *Router) armWaitTimers(now time.Time) {
	for _, id := range sortedKeys(r.jobs) {
		if j := r.jobs[id]; j.Status == StatusQueued {
			r.armExceptions(j)
		}
	}
	_ = now
}

func (r *Router) queueLength(queue string) int { return len(r.eng.queues[queue]) }

// checkExceptions fires the job's due exception rules, once each.
func (r *Router) checkExceptions(ch *Changes, id string, now time.Time) {
	j := r.jobs[id]
	if j == nil || j.Status != StatusQueued {
		return
	}
	policy := r.exceptionPolicy(j)
	if policy == nil {
		return
	}
	fired := map[string]bool{}
	for _, f := range j.FiredExceptions {
		fired[f] = true
	}
	// The queue length a job sees is the jobs ahead of it and itself.
	acts := Exceptions(policy, ExceptionState{QueuedFor: now.Sub(j.EnqueuedAt), QueueLength: r.queueLength(j.QueueID), Fired: fired})
	for _, a := range acts {
		if !fired[a.Rule] {
			fired[a.Rule] = true
			j.FiredExceptions = append(j.FiredExceptions, a.Rule)
			ch.job(j)
			ch.fact(Fact{Kind: "RouterJobExceptionTriggered", At: now, Job: j, Rule: a.Rule, Queue: j.QueueID, Priority: j.Priority})
		}
		if r.jobs[id] != j {
			return // cancelled by an earlier action
		}
		switch a.Kind {
		case "cancel":
			note, _ := a.Fields["note"].(string)
			code, _ := a.Fields["dispositionCode"].(string)
			r.cancel(ch, j, note, code, now)
		case "manualReclassify":
			r.apply(ch, r.eng.Withdraw(j.ID, now), now)
			if q, ok := a.Fields["queueId"].(string); ok && r.queues[q] != nil {
				j.QueueID = q
			}
			if p, ok := a.Fields["priority"].(float64); ok {
				j.Priority = int(p)
			}
			if sels, err := toSelectors(a.Fields["workerSelectors"]); err == nil && sels != nil {
				j.AttachedWorkerSelectors = j.AttachedWorkerSelectors[:0]
				for _, s := range sels {
					j.AttachedWorkerSelectors = append(j.AttachedWorkerSelectors, WorkerSelector{Selector: s, Status: "active"})
				}
			}
			j.ClassificationPolicyID = ""
			r.route(ch, j, now)
		case "reclassify":
			r.apply(ch, r.eng.Withdraw(j.ID, now), now)
			if p, ok := a.Fields["classificationPolicyId"].(string); ok && r.classes[p] != nil {
				j.ClassificationPolicyID = p
			}
			if labels, ok := a.Fields["labelsToUpsert"].(map[string]any); ok {
				maps.Copy(j.Labels, labels)
			}
			r.route(ch, j, now)
		}
	}
}

// activate wakes a scheduled job: it waits for the application to queue it.
func (r *Router) activate(ch *Changes, id string, now time.Time) {
	j := r.jobs[id]
	if j == nil || j.Status != StatusScheduled {
		return
	}
	j.Status = StatusWaitingForActivation
	ch.job(j)
	ch.fact(Fact{Kind: "RouterJobWaitingForActivation", At: now, Job: j})
}

// Accept turns a worker's offer into an assignment.
func (r *Router) Accept(worker, offer string, now time.Time) (string, *Job, Changes, error) {
	var ch Changes
	if r.workers[worker] == nil {
		return "", nil, ch, errs.NotFound("worker %s not found", worker)
	}
	ds, err := r.eng.Accept(worker, offer, now)
	switch {
	case errors.Is(err, ErrJobTaken):
		return "", nil, ch, errs.Conflict("OfferAlreadyAccepted", "another worker accepted the job")
	case errors.Is(err, ErrOfferNotFound):
		return "", nil, ch, errs.NotFound("offer %s not found for worker %s", offer, worker)
	case err != nil:
		return "", nil, ch, err
	}
	r.apply(&ch, ds, now)
	for _, f := range ch.Facts {
		if f.Kind == "RouterWorkerOfferAccepted" && f.Offer != nil && f.Offer.OfferID == offer {
			return f.Assignment, f.Job, ch, nil
		}
	}
	return "", nil, ch, fmt.Errorf("routing: accepted offer %s made no assignment", offer)
}

// Decline gives an offer back; with retryAt the job may be offered to the
// worker again from then, else never.
func (r *Router) Decline(worker, offer string, retryAt, now time.Time) (Changes, error) {
	var ch Changes
	if r.workers[worker] == nil {
		return ch, errs.NotFound("worker %s not found", worker)
	}
	if retryAt.IsZero() {
		retryAt = now.AddDate(100, 0, 0)
	}
	ds, err := r.eng.Decline(worker, offer, retryAt, now)
	if errors.Is(err, ErrOfferNotFound) {
		return ch, errs.NotFound("offer %s not found for worker %s", offer, worker)
	}
	if err != nil {
		return ch, err
	}
	r.apply(&ch, ds, now)
	if !retryAt.After(now.AddDate(50, 0, 0)) {
		r.push(timer{at: retryAt, kind: timerRematch})
	}
	return ch, nil
}

// assignment finds a live job and one of its assignments.
func (r *Router) assignment(id, aid string) (*Job, *Assignment, error) {
	j := r.jobs[id]
	if j == nil {
		return nil, nil, ErrJobNotFound
	}
	a := j.Assignments[aid]
	if a == nil {
		return nil, nil, errs.NotFound("assignment %s not found for job %s", aid, j.ID)
	}
	return j, a, nil
}

// Complete marks an assigned job done; its worker keeps the capacity until
// the job is closed (wrap-up).
func (r *Router) Complete(id, aid, note string, now time.Time) (Changes, error) {
	var ch Changes
	j, a, err := r.assignment(id, aid)
	if err != nil {
		return ch, err
	}
	if j.Status != StatusAssigned || !a.CompletedAt.IsZero() {
		return ch, errs.Invalid("InvalidJobStatus", "only an assigned job can be completed; job %s is %s", id, j.Status)
	}
	a.CompletedAt = now
	j.Status = StatusCompleted
	j.addNote(note, now)
	ch.job(j)
	ch.fact(Fact{Kind: "RouterJobCompleted", At: now, Job: j, Worker: a.WorkerID, Assignment: aid})
	return ch, nil
}

func (j *Job) addNote(note string, now time.Time) {
	if note != "" {
		j.Notes = append(j.Notes, Note{Message: note, AddedAt: now})
	}
}

// Close ends a completed (or assigned) job now or at closeAt, releasing
// its worker's capacity.
func (r *Router) Close(id, aid, disposition, note string, closeAt, now time.Time) (Changes, error) {
	var ch Changes
	j, a, err := r.assignment(id, aid)
	if err != nil {
		return ch, err
	}
	if j.Status != StatusCompleted && j.Status != StatusAssigned {
		return ch, errs.Invalid("InvalidJobStatus", "only a completed job can be closed; job %s is %s", id, j.Status)
	}
	if a.CompletedAt.IsZero() {
		a.CompletedAt = now
		j.Status = StatusCompleted
		ch.fact(Fact{Kind: "RouterJobCompleted", At: now, Job: j, Worker: a.WorkerID, Assignment: aid})
	}
	if disposition != "" {
		j.DispositionCode = disposition
	}
	j.addNote(note, now)
	ch.job(j)
	if closeAt.After(now) {
		j.CloseAt = closeAt
		r.push(timer{at: closeAt, kind: timerClose, key: id})
		return ch, nil
	}
	r.finishClose(&ch, j, now)
	return ch, nil
}

func (r *Router) finishClose(ch *Changes, j *Job, now time.Time) {
	var a *Assignment
	for _, x := range j.Assignments {
		if x.ClosedAt.IsZero() && !x.CompletedAt.IsZero() {
			a = x
		}
	}
	if a == nil {
		return
	}
	a.ClosedAt = now
	j.Status, j.CloseAt = StatusClosed, time.Time{}
	delete(r.assigned[a.WorkerID], a.AssignmentID)
	delete(r.jobs, j.ID)
	ch.job(j)
	ch.fact(Fact{Kind: "RouterJobClosed", At: now, Job: j, Worker: a.WorkerID, Assignment: a.AssignmentID})
	ds, _ := r.eng.Complete(j.ID, now)
	r.apply(ch, ds, now)
	if wrap := r.eng.WrapUp(a.WorkerID); wrap > 0 {
		r.push(timer{at: now.Add(wrap), kind: timerRematch})
	}
}

// Cancel ends a job that is not finished.
func (r *Router) Cancel(id, note, disposition string, now time.Time) (Changes, error) {
	var ch Changes
	j := r.jobs[id]
	if j == nil {
		return ch, ErrJobNotFound
	}
	if j.Status == StatusCompleted {
		return ch, errs.Invalid("InvalidJobStatus", "a completed job is closed, not cancelled")
	}
	r.cancel(&ch, j, note, disposition, now)
	return ch, nil
}

func (r *Router) cancel(ch *Changes, j *Job, note, disposition string, now time.Time) {
	if disposition == "" {
		disposition = "Cancelled"
	}
	r.apply(ch, r.eng.Withdraw(j.ID, now), now)
	for aid, a := range j.Assignments {
		delete(r.assigned[a.WorkerID], aid)
		if a.ClosedAt.IsZero() {
			a.ClosedAt = now // the worker no longer holds it
		}
	}
	j.Status, j.DispositionCode = StatusCancelled, disposition
	j.addNote(note, now)
	delete(r.jobs, j.ID)
	ch.job(j)
	ch.fact(Fact{Kind: "RouterJobCancelled", At: now, Job: j})
}

// Unassign takes an assigned job back from its worker (at most three
// times); it is queued again unless suspend.
func (r *Router) Unassign(id, aid string, suspend bool, now time.Time) (int, Changes, error) {
	var ch Changes
	j, a, err := r.assignment(id, aid)
	if err != nil {
		return 0, ch, err
	}
	if j.Status != StatusAssigned {
		return 0, ch, errs.Invalid("InvalidJobStatus", "only an assigned job can be unassigned; job %s is %s", id, j.Status)
	}
	if j.Unassignments >= maxUnassignments {
		return 0, ch, errUnassigns
	}
	j.Unassignments++
	delete(j.Assignments, aid)
	delete(r.assigned[a.WorkerID], aid)
	ch.job(j)
	ch.fact(Fact{Kind: "RouterJobUnassigned", At: now, Job: j, Worker: a.WorkerID, Assignment: aid})
	if suspend {
		j.Status = StatusWaitingForActivation
		j.MatchingMode = MatchingMode{Kind: Suspend}
	} else {
		j.Status = StatusQueued
		ch.fact(Fact{Kind: "RouterJobQueued", At: now, Job: j, Queue: j.QueueID, Priority: j.Priority})
	}
	r.apply(&ch, r.eng.Unassign(id, suspend, now), now)
	return j.Unassignments, ch, nil
}

// Reclassify runs a queued job's classification again.
func (r *Router) Reclassify(id string, now time.Time) (Changes, error) {
	var ch Changes
	j := r.jobs[id]
	if j == nil {
		return ch, ErrJobNotFound
	}
	if j.Status != StatusQueued && j.Status != StatusPendingClassification {
		return ch, errs.Invalid("InvalidJobStatus", "only a queued job can be reclassified; job %s is %s", id, j.Status)
	}
	// The job keeps its place in time: reclassifying is no reason to wait
	// longer.
	r.apply(&ch, r.eng.Withdraw(id, now), now)
	r.route(&ch, j, now)
	return ch, nil
}

// DeleteJob removes a job and every trace of it (j as stored when the
// router no longer holds it).
func (r *Router) DeleteJob(j *Job, now time.Time) Changes {
	var ch Changes
	if live := r.jobs[j.ID]; live != nil {
		r.apply(&ch, r.eng.Withdraw(j.ID, now), now)
		for aid, a := range live.Assignments {
			delete(r.assigned[a.WorkerID], aid)
		}
		delete(r.jobs, j.ID)
		j = live
	}
	ch.Jobs = slices.DeleteFunc(ch.Jobs, func(x *Job) bool { return x.ID == j.ID })
	ch.Deleted = append(ch.Deleted, j.ID)
	ch.fact(Fact{Kind: "RouterJobDeleted", At: now, Job: j})
	return ch
}

// Position is a queued job's place in its queue.
type Position struct {
	JobID                    string   `json:"jobId"`
	Position                 int      `json:"position"`
	QueueID                  string   `json:"queueId"`
	QueueLength              int      `json:"queueLength"`
	EstimatedWaitTimeMinutes *float64 `json:"estimatedWaitTimeMinutes,omitempty"`
}

// Position says where a queued job stands and, once the queue has served
// jobs, how long it may still wait.
func (r *Router) Position(id string, now time.Time) (Position, error) {
	j := r.jobs[id]
	if j == nil {
		return Position{}, ErrJobNotFound
	}
	if j.Status != StatusQueued {
		return Position{}, errs.Invalid("InvalidJobStatus", "job %s is %s, not queued", id, j.Status)
	}
	p := Position{JobID: id, QueueID: j.QueueID, QueueLength: r.queueLength(j.QueueID)}
	for i, q := range r.eng.queues[j.QueueID] {
		if q.ID == id {
			p.Position = i + 1
			break
		}
	}
	if m, ok := r.estimate(j.QueueID, p.Position, now); ok {
		p.EstimatedWaitTimeMinutes = &m
	}
	return p, nil
}

// QueueStatistics is a queue's live statistics.
type QueueStatistics struct {
	QueueID                   string             `json:"queueId"`
	Length                    int                `json:"length"`
	EstimatedWaitTimeMinutes  map[string]float64 `json:"estimatedWaitTimeMinutes,omitempty"`
	LongestJobWaitTimeMinutes float64            `json:"longestJobWaitTimeMinutes"`
}

// QueueStatistics reports a queue's length and longest wait.
func (r *Router) QueueStatistics(id string, now time.Time) (QueueStatistics, error) {
	if r.queues[id] == nil {
		return QueueStatistics{}, errs.NotFound("queue %s not found", id)
	}
	s := QueueStatistics{QueueID: id}
	last := map[int]int{} // priority → position of its last job
	for _, q := range r.eng.queues[id] {
		s.Length++
		last[q.Priority] = s.Length
		if w := now.Sub(q.enqueued).Minutes(); w > s.LongestJobWaitTimeMinutes {
			s.LongestJobWaitTimeMinutes = w
		}
	}
	// A job arriving now at a priority waits behind that priority's last.
	for prio, pos := range last {
		if m, ok := r.estimate(id, pos+1, now); ok {
			if s.EstimatedWaitTimeMinutes == nil {
				s.EstimatedWaitTimeMinutes = map[string]float64{}
			}
			s.EstimatedWaitTimeMinutes[strconv.Itoa(prio)] = m
		}
	}
	return s, nil
}

// Restore puts back a stored job after a restart (configuration and
// workers first). Offers are not restored: queued jobs are offered anew.
func (r *Router) Restore(j *Job, now time.Time) Changes {
	var ch Changes
	j.normalize()
	r.jobs[j.ID] = j
	switch j.Status {
	case StatusQueued:
		ds, _ := r.eng.SubmitAt(r.spec(j, now), j.EnqueuedAt, now)
		for _, list := range [][]WorkerSelector{j.RequestedWorkerSelectors, j.AttachedWorkerSelectors} {
			for _, s := range list {
				if !s.ExpiresAt.IsZero() && s.Status != "expired" {
					r.push(timer{at: s.ExpiresAt, kind: timerSelector, key: j.ID})
				}
			}
		}
		r.armExceptions(j)
		r.apply(&ch, ds, now)
	case StatusAssigned, StatusCompleted:
		for aid, a := range j.Assignments {
			if a.ClosedAt.IsZero() {
				r.eng.Restore(r.spec(j, now), a.WorkerID, j.EnqueuedAt)
				if r.assigned[a.WorkerID] == nil {
					r.assigned[a.WorkerID] = map[string]*Job{}
				}
				r.assigned[a.WorkerID][aid] = j
			}
		}
		if !j.CloseAt.IsZero() {
			r.push(timer{at: j.CloseAt, kind: timerClose, key: j.ID})
		}
	case StatusScheduled:
		r.push(timer{at: j.ScheduledAt, kind: timerSchedule, key: j.ID})
	case StatusPendingClassification:
		r.route(&ch, j, now)
	}
	return ch
}

// ActiveJobsUsing counts live jobs that use a queue or classification
// policy (deleting either is refused while any do).
func (r *Router) ActiveJobsUsing(kind Kind, id string) int {
	n := 0
	for _, j := range r.jobs {
		if (kind == KindQueue && j.QueueID == id) || (kind == KindClassificationPolicy && j.ClassificationPolicyID == id) {
			n++
		}
	}
	return n
}
