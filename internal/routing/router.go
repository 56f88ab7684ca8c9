package routing

import (
	"container/heap"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// The router is one tenant's job router: configuration, workers, jobs and
// the engine that matches them, advanced by explicit calls with the time
// (a virtual clock in replay and tests). Like the engine it is not safe for
// concurrent use; its owner serialises calls. Each call returns what
// changed, for the owner to persist, and the facts that became events.

// Fact is something that happened, to become an event (kind is the event
// type without its "Microsoft.Communication." prefix).
type Fact struct {
	Kind       string
	At         time.Time
	Job        *Job // the job's state right after the fact (job events)
	Worker     string
	Offer      *Offer // offer events' offer (a pointer: most facts have none, and facts are many)
	Assignment string
	Rule       string // exception rule id
	Errors     []string
	Expired    []WorkerSelector
	// WorkerBefore is the worker's previous document (RouterWorkerUpdated).
	WorkerBefore map[string]any
	// The job as it stood when received, classified, queued or when an
	// exception rule fired (the call may go on to move it before its
	// events are built).
	Status   JobStatus
	Priority int
	Queue    string
}

func receivedFact(j *Job, now time.Time) Fact {
	return Fact{Kind: "RouterJobReceived", At: now, Job: j, Status: j.Status, Priority: j.Priority, Queue: j.QueueID}
}

// Changes is what one call changed.
type Changes struct {
	Jobs    []*Job   // jobs to store (a job appears once, in its last state)
	Deleted []string // jobs to delete
	// Workers are worker documents the router changed itself (a worker
	// paused after unanswered offers).
	Workers []map[string]any
	Facts   []Fact
}

func (c *Changes) job(j *Job) {
	if !slices.Contains(c.Jobs, j) {
		c.Jobs = append(c.Jobs, j)
	}
}

func (c *Changes) fact(f Fact) { c.Facts = append(c.Facts, f) }

func (c *Changes) merge(o Changes) {
	for _, j := range o.Jobs {
		c.job(j)
	}
	c.Deleted = append(c.Deleted, o.Deleted...)
	c.Workers = append(c.Workers, o.Workers...)
	c.Facts = append(c.Facts, o.Facts...)
}

type liveOffer struct {
	Offer
	worker string
}

// Router is one tenant's routing state.
type Router struct {
	eng      *Engine
	dists    map[string]map[string]any
	classes  map[string]map[string]any
	excepts  map[string]map[string]any
	queues   map[string]map[string]any
	workers  map[string]map[string]any
	jobs     map[string]*Job // jobs not yet terminal (completed ones hold capacity until closed)
	offers   map[string]*liveOffer
	assigned map[string]map[string]*Job // worker → assignment id → job
	timers   timerHeap
	served   map[string][]time.Time // queue → when its latest jobs were assigned
	// resolved are classification policies whose remote rules were called
	// for the current call (see Service.prepareRemote).
	resolved map[string]map[string]any
	// scores are a remote scoring rule's answers for the job this call
	// writes (see Service.prepareScores).
	scores map[string]float64
	// NewID names assignments (and, through the engine, offers).
	NewID func() string
	// remote counts the policies with rules run over HTTP (classification
	// rules, bestWorker scoring): without any, a job needs no preparation.
	remote int
}

// countRemote keeps remote up to date as a policy becomes doc (nil: gone).
func (r *Router) countRemote(kind Kind, id string, doc map[string]any) {
	var before map[string]any
	isRemote := hasRemote
	switch kind {
	case KindClassificationPolicy:
		before = r.classes[id]
	case KindDistributionPolicy:
		before, isRemote = r.dists[id], remoteScoring
	default:
		return
	}
	if before != nil && isRemote(before) {
		r.remote--
	}
	if doc != nil && isRemote(doc) {
		r.remote++
	}
}

func remoteScoring(v any) bool {
	dp, _ := v.(map[string]any)
	mode, _ := dp["mode"].(map[string]any)
	rule, _ := mode["scoringRule"].(map[string]any)
	return mode["kind"] == "bestWorker" && (rule["kind"] == "function" || rule["kind"] == "webhook")
}

// HasRemoteRules reports whether some policy has a rule run over HTTP.
func (r *Router) HasRemoteRules() bool { return r.remote > 0 }

// NewRouter is an empty router; newID names offers and assignments.
func NewRouter(newID func() string) *Router {
	r := &Router{eng: NewEngine(), dists: map[string]map[string]any{}, classes: map[string]map[string]any{},
		excepts: map[string]map[string]any{}, queues: map[string]map[string]any{}, workers: map[string]map[string]any{},
		jobs: map[string]*Job{}, offers: map[string]*liveOffer{}, assigned: map[string]map[string]*Job{}, served: map[string][]time.Time{}, NewID: newID}
	r.eng.NewOfferID = newID
	return r
}

// SetConfig loads or replaces a configuration document (as stored, after
// Prepare). Workers go through SetWorker.
func (r *Router) SetConfig(kind Kind, id string, doc map[string]any, now time.Time) Changes {
	var ch Changes
	r.countRemote(kind, id, doc)
	switch kind {
	case KindDistributionPolicy:
		r.dists[id] = doc
		for _, qid := range sortedKeys(r.queues) {
			if q := r.queues[qid]; q["distributionPolicyId"] == id {
				r.apply(&ch, r.eng.SetQueue(qid, r.policy(q), now), now)
			}
		}
	case KindClassificationPolicy:
		r.classes[id] = doc
	case KindExceptionPolicy:
		r.excepts[id] = doc
		r.armWaitTimers(now)
	case KindQueue:
		r.queues[id] = doc
		r.apply(&ch, r.eng.SetQueue(id, r.policy(doc), now), now)
		r.armWaitTimers(now)
	case KindWorker:
		return r.SetWorker(id, doc, now)
	}
	return ch
}

// RemoveConfig forgets a deleted configuration document.
func (r *Router) RemoveConfig(kind Kind, id string, now time.Time) Changes {
	var ch Changes
	r.countRemote(kind, id, nil)
	switch kind {
	case KindDistributionPolicy:
		delete(r.dists, id)
	case KindClassificationPolicy:
		delete(r.classes, id)
	case KindExceptionPolicy:
		delete(r.excepts, id)
	case KindQueue:
		delete(r.queues, id)
		r.eng.RemoveQueue(id)
	case KindWorker:
		if _, ok := r.workers[id]; ok {
			delete(r.workers, id)
			r.apply(&ch, r.eng.RemoveWorker(id, now), now)
			ch.fact(Fact{Kind: "RouterWorkerDeleted", At: now, Worker: id})
		}
	}
	return ch
}

// Has reports whether a configuration document is loaded (for reference
// checks by the owner).
func (r *Router) Has(kind Kind, id string) bool {
	switch kind {
	case KindDistributionPolicy:
		return r.dists[id] != nil
	case KindClassificationPolicy:
		return r.classes[id] != nil
	case KindExceptionPolicy:
		return r.excepts[id] != nil
	case KindQueue:
		return r.queues[id] != nil
	case KindWorker:
		return r.workers[id] != nil
	}
	return false
}

// policy builds a queue's engine policy from its distribution policy.
func (r *Router) policy(queue map[string]any) Policy {
	dp := r.dists[fmt.Sprint(queue["distributionPolicyId"])]
	p := Policy{Mode: LongestIdle, OfferExpiry: 24 * time.Hour}
	if s, ok := dp["offerExpiresAfterSeconds"].(float64); ok && s > 0 {
		p.OfferExpiry = time.Duration(s * float64(time.Second))
	}
	mode, _ := dp["mode"].(map[string]any)
	if k, ok := mode["kind"].(string); ok {
		p.Mode = Mode(k)
	}
	if v, ok := mode["minConcurrentOffers"].(float64); ok {
		p.MinOffers = int(v)
	}
	if v, ok := mode["maxConcurrentOffers"].(float64); ok {
		p.MaxOffers = int(v)
	}
	p.BypassSelectors, _ = mode["bypassSelectors"].(bool)
	if rule, ok := mode["scoringRule"].(map[string]any); ok {
		p.Score = func(job, worker map[string]any, selectors []Selector) float64 {
			if v, ok := EvaluateScore(rule, job, worker); ok {
				return v
			}
			return DefaultScore(job, worker, selectors)
		}
	}
	if opts, ok := mode["scoringRuleOptions"].(map[string]any); ok {
		if desc, ok := opts["descendingOrder"].(bool); ok && !desc {
			p.Ascending = true
		}
	}
	if order, ok := mode["workerOrder"].([]any); ok {
		for _, w := range order {
			p.Order = append(p.Order, fmt.Sprint(w))
		}
	}
	return p
}

// SetWorker registers or updates a worker from its document.
func (r *Router) SetWorker(id string, doc map[string]any, now time.Time) Changes {
	var ch Changes
	before := r.workers[id]
	r.workers[id] = doc
	spec := workerSpec(id, doc)
	was := before != nil && before["availableForOffers"] == true
	// The worker's own event first, then what it caused (offers, or
	// revocations when it leaves).
	leaving := !spec.Available && was
	switch {
	case spec.Available && !was:
		ch.fact(Fact{Kind: "RouterWorkerRegistered", At: now, Worker: id})
	case leaving:
	case before != nil:
		ch.fact(Fact{Kind: "RouterWorkerUpdated", At: now, Worker: id, WorkerBefore: before})
	}
	r.apply(&ch, r.eng.SetWorker(spec, now), now)
	if leaving {
		// Its offers are revoked, then it is gone.
		ch.fact(Fact{Kind: "RouterWorkerDeregistered", At: now, Worker: id})
	}
	return ch
}

func workerSpec(id string, doc map[string]any) WorkerSpec {
	s := WorkerSpec{ID: id, Channels: map[string]Channel{}}
	if c, ok := doc["capacity"].(float64); ok {
		s.Capacity = int(c)
	}
	s.Available, _ = doc["availableForOffers"].(bool)
	s.Labels, _ = doc["labels"].(map[string]any)
	if qs, ok := doc["queues"].([]any); ok {
		for _, q := range qs {
			s.Queues = append(s.Queues, fmt.Sprint(q))
		}
	}
	if cs, ok := doc["channels"].([]any); ok {
		for _, c := range cs {
			m, _ := c.(map[string]any)
			cost, _ := m["capacityCostPerJob"].(float64)
			max, _ := m["maxNumberOfJobs"].(float64)
			s.Channels[fmt.Sprint(m["channelId"])] = Channel{Cost: int(cost), MaxJobs: int(max)}
		}
	}
	if v, ok := doc["maxConcurrentOffers"].(float64); ok {
		s.MaxOffers = int(v)
	}
	if v, ok := doc["wrapUpSeconds"].(float64); ok {
		s.WrapUp = time.Duration(v * float64(time.Second))
	}
	if v, ok := doc["maxMissedOffers"].(float64); ok {
		s.MaxMisses = int(v)
	}
	return s
}

// Worker is a worker's document as the router holds it (the router itself
// pauses workers after missed offers).
func (r *Router) Worker(id string) map[string]any { return r.workers[id] }

// WorkerView overlays a worker document with its runtime state: state,
// offers, assigned jobs and load ratio.
func (r *Router) WorkerView(id string, doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc)+4)
	for k, v := range doc {
		out[k] = v
	}
	offers := []any{}
	for _, o := range r.sortedOffers(id) {
		offers = append(offers, o.Offer)
	}
	jobs := []any{}
	cost := 0
	spec := workerSpec(id, doc)
	for _, aid := range sortedKeys(r.assigned[id]) {
		j := r.assigned[id][aid]
		c := spec.Channels[j.ChannelID].Cost
		jobs = append(jobs, WorkerAssignment{AssignmentID: aid, JobID: j.ID, CapacityCost: c, AssignedAt: j.Assignments[aid].AssignedAt})
		cost += c
	}
	out["offers"], out["assignedJobs"] = offers, jobs
	out["loadRatio"] = 0.0
	if spec.Capacity > 0 {
		out["loadRatio"] = float64(cost) / float64(spec.Capacity)
	}
	switch {
	case spec.Available:
		out["state"] = "active"
	case len(jobs) > 0:
		out["state"] = "draining"
	default:
		out["state"] = "inactive"
	}
	return out
}

// HasCapacity reports whether a worker could take at least one more job
// of some channel it serves.
func (r *Router) HasCapacity(id string) bool {
	used, capacity := r.eng.Load(id)
	doc := r.workers[id]
	if doc == nil {
		return false
	}
	for _, c := range workerSpec(id, doc).Channels {
		if used+c.Cost <= capacity {
			return true
		}
	}
	return false
}

func (r *Router) sortedOffers(worker string) []*liveOffer {
	var out []*liveOffer
	for _, o := range r.offers {
		if o.worker == worker {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		return out[a].OfferedAt.Before(out[b].OfferedAt) || (out[a].OfferedAt.Equal(out[b].OfferedAt) && out[a].OfferID < out[b].OfferID)
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// apply turns engine decisions into job changes and facts.
func (r *Router) apply(ch *Changes, ds []Decision, now time.Time) {
	for _, d := range ds {
		j := r.jobs[d.Job]
		switch d.Kind {
		case OfferIssued:
			if j == nil {
				continue
			}
			cost := r.eng.Cost(d.Worker, j.ChannelID)
			o := &liveOffer{Offer: Offer{OfferID: d.Offer, JobID: j.ID, CapacityCost: cost, OfferedAt: now, ExpiresAt: d.ExpiresAt}, worker: d.Worker}
			r.offers[d.Offer] = o
			r.push(timer{at: d.ExpiresAt, kind: timerOffer, key: d.Offer})
			j.trail(explained(now, d))
			ch.job(j)
			ch.fact(Fact{Kind: "RouterWorkerOfferIssued", At: now, Job: j, Worker: d.Worker, Offer: &o.Offer})
		case OfferRevoked, OfferExpired, OfferDeclined:
			o := r.offers[d.Offer]
			delete(r.offers, d.Offer)
			if o == nil || j == nil {
				continue
			}
			j.trail(TrailEntry{At: now, Kind: d.Kind, WorkerID: d.Worker, OfferID: d.Offer})
			ch.job(j)
			ch.fact(Fact{Kind: "RouterWorker" + d.Kind, At: now, Job: j, Worker: d.Worker, Offer: &o.Offer})
		case JobAssigned:
			o := r.offers[d.Offer]
			delete(r.offers, d.Offer)
			if j == nil {
				continue
			}
			aid := r.NewID()
			j.Assignments[aid] = &Assignment{AssignmentID: aid, WorkerID: d.Worker, AssignedAt: now}
			j.Status = StatusAssigned
			if r.assigned[d.Worker] == nil {
				r.assigned[d.Worker] = map[string]*Job{}
			}
			r.assigned[d.Worker][aid] = j
			r.serve(j.QueueID, now)
			j.trail(TrailEntry{At: now, Kind: d.Kind, WorkerID: d.Worker, OfferID: d.Offer})
			ch.job(j)
			var offer *Offer
			if o != nil {
				offer = &o.Offer
			}
			ch.fact(Fact{Kind: "RouterWorkerOfferAccepted", At: now, Job: j, Worker: d.Worker, Offer: offer, Assignment: aid})
		case WorkerPaused:
			doc := r.workers[d.Worker]
			if doc == nil {
				continue
			}
			paused := make(map[string]any, len(doc))
			for k, v := range doc {
				paused[k] = v
			}
			paused["availableForOffers"] = false
			paused["pausedReason"] = d.Why.Excluded[d.Worker]
			r.workers[d.Worker] = paused
			ch.Workers = append(ch.Workers, paused)
			ch.fact(Fact{Kind: "RouterWorkerDeregistered", At: now, Worker: d.Worker})
		}
	}
}

// serve records that a queue's job was assigned, for wait estimates.
func (r *Router) serve(queue string, now time.Time) {
	const window = 50
	s := append(r.served[queue], now)
	if len(s) > window {
		s = s[len(s)-window:]
	}
	r.served[queue] = s
}

// estimate is the expected wait, in minutes, of the job at position in
// queue: the position over the rate at which the queue's recent jobs were
// assigned. ok is false until the queue has a rate.
func (r *Router) estimate(queue string, position int, now time.Time) (float64, bool) {
	s := r.served[queue]
	if len(s) < 2 {
		return 0, false
	}
	span := now.Sub(s[0]).Minutes()
	if span <= 0 {
		return 0, false
	}
	perMinute := float64(len(s)) / span
	return math.Round(float64(position)/perMinute*100) / 100, true
}

func (j *Job) trail(e TrailEntry) {
	// The trail keeps the latest decisions: a job offered for hours to
	// hundreds of workers must not grow without bound.
	const maxTrail = 64
	if len(j.Trail) >= maxTrail {
		j.Trail = slices.Delete(j.Trail, 0, len(j.Trail)-maxTrail+1)
	}
	j.Trail = append(j.Trail, e)
}

// Timers: everything the router must do at a time of its own.

type timerKind int

const (
	timerOffer    timerKind = iota // an offer's expiry
	timerSelector                  // a job's worker selector expiry
	timerWait                      // a waitTime exception threshold
	timerSchedule                  // a scheduled job's activation
	timerClose                     // a deferred close
	timerRematch                   // a worker's wrap-up ends
)

type timer struct {
	at   time.Time
	kind timerKind
	key  string
}

type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

func (r *Router) push(t timer) {
	heap.Push(&r.timers, t)
	// Timers of offers answered, and of jobs gone, stay in the heap until
	// their time; when they outnumber the live ones the heap is swept, so
	// that a busy router's heap follows its live work, not its history.
	if n := len(r.timers); n > 4096 && n > 4*(len(r.offers)+len(r.jobs)) {
		live := r.timers[:0]
		for _, t := range r.timers {
			if r.timerLive(t) {
				live = append(live, t)
			}
		}
		clear(r.timers[len(live):])
		r.timers = live
		heap.Init(&r.timers)
	}
}

// timerLive reports whether a timer still has something to do.
func (r *Router) timerLive(t timer) bool {
	switch t.kind {
	case timerOffer:
		return r.offers[t.key] != nil
	case timerSelector, timerWait, timerSchedule, timerClose:
		return r.jobs[t.key] != nil
	}
	return true
}

// NextWake is when the router next has something to do (zero: nothing).
func (r *Router) NextWake() time.Time {
	if len(r.timers) == 0 {
		return time.Time{}
	}
	return r.timers[0].at
}

// Tick does what is due by now: expired offers (and the misses that pause
// workers), expired selectors, exceptions, scheduled activations, deferred
// closes, the end of wrap-ups.
func (r *Router) Tick(now time.Time) Changes {
	var ch Changes
	offersDue, rematch := false, false
	for len(r.timers) > 0 && !r.timers[0].at.After(now) {
		t := heap.Pop(&r.timers).(timer)
		switch t.kind {
		case timerOffer:
			offersDue = offersDue || r.offers[t.key] != nil
		case timerRematch:
			rematch = true
		case timerSelector:
			r.expireSelectors(&ch, t.key, now)
		case timerWait:
			r.checkExceptions(&ch, t.key, now)
		case timerSchedule:
			r.activate(&ch, t.key, now)
		case timerClose:
			if j := r.jobs[t.key]; j != nil && !j.CloseAt.IsZero() && !j.CloseAt.After(now) {
				r.finishClose(&ch, j, now)
			}
		}
	}
	switch {
	case rematch:
		// A wrap-up ended or a declined job may be offered again: the
		// engine's tick sees the first, only a full look the second.
		r.eng.MarkAll()
		r.apply(&ch, r.eng.Tick(now), now)
	case offersDue:
		r.apply(&ch, r.eng.Tick(now), now)
	}
	return ch
}
