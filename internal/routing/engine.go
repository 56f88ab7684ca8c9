package routing

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// The engine matches queued jobs to workers for one tenant. It is pure
// state and decisions: no clock (callers pass now), no I/O, not safe for
// concurrent use (its owner serialises calls, one owner per tenant). Every
// change returns the decisions it caused, each with the reason, so the
// caller can persist, publish and explain them.

// Mode is a distribution mode.
type Mode string

// Distribution modes.
const (
	LongestIdle Mode = "longestIdle"
	RoundRobin  Mode = "roundRobin"
	BestWorker  Mode = "bestWorker"
	// The Teams call-queue methods ACS lacks: attendant offers a job to
	// every eligible worker at once; serial offers in a fixed order.
	Attendant Mode = "attendant"
	Serial    Mode = "serial"
)

// Policy is how a queue's jobs are offered.
type Policy struct {
	Mode            Mode
	MinOffers       int // offers issued at once, at least
	MaxOffers       int // and at most
	OfferExpiry     time.Duration
	BypassSelectors bool
	Order           []string // serial: the workers' order
	// Score is bestWorker's scoring rule (nil: the default score);
	// Ascending ranks the lowest score first.
	Score     func(jobLabels, workerLabels map[string]any, selectors []Selector) float64
	Ascending bool
}

// Channel is what a job of a channel costs a worker.
type Channel struct {
	Cost    int
	MaxJobs int // 0 = no limit
}

// WorkerSpec is a worker's registration.
type WorkerSpec struct {
	// The fields ranking reads first (see worker).
	Available bool
	Capacity  int
	MaxOffers int // 0 = no limit on concurrent offers
	ID        string
	Channels  map[string]Channel
	Queues    []string
	Labels    map[string]any
	// WrapUp keeps a worker from new offers for a while after each job.
	WrapUp time.Duration
	// MaxMisses pauses a worker (no longer available) after that many
	// offers in a row expire unanswered: redirection on no answer (RONA).
	// 0 never pauses.
	MaxMisses int
}

// JobSpec is a job to route.
type JobSpec struct {
	ID        string
	Queue     string
	Channel   string
	Priority  int
	Labels    map[string]any
	Selectors []Selector // all must match the worker (unless the policy bypasses them)
	// Preferred is the worker to offer first when eligible (a returning
	// customer's last agent).
	Preferred string
	// Expedite puts the job ahead of every job not expedited.
	Expedite bool
	// Scores, when set, are the bestWorker scores a remote rule gave; a
	// worker without one ranks after those with one.
	Scores map[string]float64
}

// Decision kinds.
const (
	OfferIssued   = "OfferIssued"
	OfferRevoked  = "OfferRevoked"
	OfferExpired  = "OfferExpired"
	OfferDeclined = "OfferDeclined"
	JobAssigned   = "JobAssigned"
	JobCompleted  = "JobCompleted"
	WorkerPaused  = "WorkerPaused" // RONA: too many offers unanswered in a row
)

// Decision is one thing the engine decided, and why.
type Decision struct {
	Kind      string
	Job       string
	Worker    string
	Offer     string
	ExpiresAt time.Time
	Why       Explanation
}

// Explanation is the reason for an offer: who could have had it, their
// scores, and what excluded everyone else (the first few by id, and how
// many in all).
type Explanation struct {
	Mode Mode
	// Candidates are the best candidates, best first: all of them, or
	// enough for the offers made and the explanation kept.
	Candidates     []Candidate
	CandidateCount int               // all the eligible workers
	Excluded       map[string]string // worker → reason
	ExcludedCount  int
}

// Candidate is an eligible worker and its rank key.
type Candidate struct {
	Worker string  `json:"workerId"`
	Score  float64 `json:"score"`
}

// Errors of offers.
var (
	ErrOfferNotFound = errors.New("routing: no such offer")
	ErrJobTaken      = errors.New("routing: the job is already assigned")
)

type settledOffer struct{ job, worker string }

type offer struct {
	id, job, worker string
	cost            int
	expires         time.Time
}

type worker struct {
	// Ranking reads copies of the fields it needs (hotMember, kept by
	// sync). slots are the worker's channels indexed by the engine's
	// channel numbers (a lookup without a map), kept in slotBuf while few.
	slots     []chanSlot
	used      int // capacity held by offers and assignments
	wrapUntil time.Time
	idleSince time.Time
	slotBuf   [2]chanSlot
	WorkerSpec
	perChan map[string]int // jobs (offered or assigned) per channel
	offers  map[string]*offer
	misses  int
	refs    []memberRef // the copies of its hot fields in its queues' member lists
}

type chanSlot struct {
	cost, maxJobs int32
	served        bool
}

type job struct {
	JobSpec
	enqueued time.Time
	offers   map[string]*offer // by worker
	worker   string            // assigned worker
	declined map[string]time.Time
	tried    map[string]bool // serial: workers offered the job this round
	channel  int             // the engine's number for JobSpec.Channel
}

// Engine holds one tenant's routing state.
type Engine struct {
	policies map[string]Policy // by queue
	workers  map[string]*worker
	byQueue  map[string]map[string]bool // queue → the workers serving it
	jobs     map[string]*job
	queues   map[string][]*job // each queue's waiting jobs, in order (see ahead)
	// dirty are the queues where something changed that may let a job be
	// offered (a job arrived, a worker freed capacity or came back); a
	// match looks at those alone.
	dirty map[string]bool
	// wrapping are the workers in wrap-up: their queues become worth a
	// look when it ends.
	wrapping map[string]bool
	// channels numbers channel names (see worker.slots).
	channels map[string]int
	// sorted caches each queue's workers in id order.
	sorted  map[string]*queueMembers
	offers  map[string]*offer
	rrLast  map[string]string       // round robin: the worker last offered a job of each queue
	settled map[string]settledOffer // offers no longer open, so a late accept learns why
	seq     int
	// NewOfferID names offers; by default a counter (deterministic, for
	// replay).
	NewOfferID func() string
}

// NewEngine is an empty engine.
func NewEngine() *Engine {
	return &Engine{policies: map[string]Policy{}, workers: map[string]*worker{}, byQueue: map[string]map[string]bool{}, jobs: map[string]*job{},
		offers: map[string]*offer{}, rrLast: map[string]string{}, settled: map[string]settledOffer{}, queues: map[string][]*job{}, dirty: map[string]bool{}, wrapping: map[string]bool{}, sorted: map[string]*queueMembers{}, channels: map[string]int{}}
}

// SetQueue sets a queue's distribution policy.
func (e *Engine) SetQueue(id string, p Policy, now time.Time) []Decision {
	if p.MinOffers < 1 {
		p.MinOffers = 1
	}
	if p.MaxOffers < p.MinOffers {
		p.MaxOffers = p.MinOffers
	}
	e.policies[id] = p
	e.dirty[id] = true
	return e.match(now)
}

// touch marks the queues a worker serves: its capacity or availability
// changed.
func (e *Engine) touch(w *worker) {
	for _, q := range w.Queues {
		e.dirty[q] = true
	}
}

// MarkAll makes the next match look at every queue (after a change the
// engine cannot see, such as a declined job's retry time passing).
func (e *Engine) MarkAll() {
	for q := range e.queues {
		e.dirty[q] = true
	}
}

// Queued lists a queue's waiting jobs' ids in order.
func (e *Engine) Queued(queue string) []string {
	out := make([]string, len(e.queues[queue]))
	for i, j := range e.queues[queue] {
		out[i] = j.ID
	}
	return out
}

// SetWorker registers or updates a worker. Work it already holds stays;
// a worker that stops being available receives no new offers.
func (e *Engine) SetWorker(s WorkerSpec, now time.Time) []Decision {
	w, ok := e.workers[s.ID]
	if !ok {
		w = &worker{perChan: map[string]int{}, offers: map[string]*offer{}, idleSince: now}
		e.workers[s.ID] = w
	}
	if s.Available && !w.Available {
		w.idleSince = now
		w.misses = 0
	}
	for _, q := range w.Queues {
		delete(e.byQueue[q], s.ID)
		e.dropMembers(q)
	}
	for _, q := range s.Queues {
		e.dropMembers(q)
		e.dirty[q] = true
		if e.byQueue[q] == nil {
			e.byQueue[q] = map[string]bool{}
		}
		e.byQueue[q][s.ID] = true
	}
	w.WorkerSpec = s
	w.slots = w.slotBuf[:0]
	for name, c := range s.Channels {
		n := e.channelNumber(name)
		for len(w.slots) <= n {
			w.slots = append(w.slots, chanSlot{})
		}
		w.slots[n] = chanSlot{int32(c.Cost), int32(c.MaxJobs), true}
	}
	e.sync(w)
	var out []Decision
	if !s.Available {
		// Deregistering revokes the worker's pending offers.
		for _, o := range sortedOffers(w.offers) {
			out = append(out, e.drop(o, OfferRevoked))
		}
	}
	return append(out, e.match(now)...)
}

// Submit queues a job and offers it if it can.
func (e *Engine) Submit(s JobSpec, now time.Time) ([]Decision, error) {
	if _, ok := e.jobs[s.ID]; ok {
		return nil, fmt.Errorf("routing: job %s exists", s.ID)
	}
	j := &job{JobSpec: s, enqueued: now, offers: map[string]*offer{}, declined: map[string]time.Time{}, channel: e.channelNumber(s.Channel)}
	e.jobs[s.ID] = j
	e.enqueue(j)
	return e.match(now), nil
}

// ahead orders the queue: expedited jobs first, then by priority, then
// by enqueue time.
func ahead(a, b *job) bool {
	if a.Expedite != b.Expedite {
		return a.Expedite
	}
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	return a.enqueued.Before(b.enqueued)
}

func (e *Engine) enqueue(j *job) {
	q := e.queues[j.Queue]
	i := sort.Search(len(q), func(i int) bool { return ahead(j, q[i]) })
	e.queues[j.Queue] = slices.Insert(q, i, j)
	e.dirty[j.Queue] = true
}

func (e *Engine) dequeue(j *job) {
	q := e.queues[j.Queue]
	if i := slices.Index(q, j); i >= 0 {
		e.queues[j.Queue] = slices.Delete(q, i, i+1)
	}
	if len(e.queues[j.Queue]) == 0 {
		delete(e.queues, j.Queue)
	}
}

// Accept turns a worker's offer into the assignment; the job's other
// offers are revoked. A job already assigned answers ErrJobTaken.
func (e *Engine) Accept(workerID, offerID string, now time.Time) ([]Decision, error) {
	o, ok := e.offers[offerID]
	if !ok || o.worker != workerID {
		// A late accept learns the job was taken rather than that the
		// offer is unknown — only the worker the offer was made to: anyone
		// else presenting its id learns nothing of it.
		if s, ok := e.settled[offerID]; ok && s.worker == workerID {
			if j := e.jobs[s.job]; j != nil && j.worker != "" && j.worker != workerID {
				return nil, ErrJobTaken
			}
		}
		return nil, ErrOfferNotFound
	}
	j := e.jobs[o.job]
	if j.worker != "" {
		return nil, ErrJobTaken
	}
	j.worker = workerID
	e.workers[workerID].misses = 0
	delete(e.offers, offerID)
	e.settled[offerID] = settledOffer{job: j.ID, worker: workerID}
	delete(j.offers, workerID)
	delete(e.workers[workerID].offers, offerID)
	if w := e.workers[workerID]; w.MaxOffers > 0 {
		e.touch(w) // a worker at its offer limit has room for another offer now
	}
	e.sync(e.workers[workerID])
	out := []Decision{{Kind: JobAssigned, Job: j.ID, Worker: workerID, Offer: offerID}}
	for _, other := range sortedOffers(j.offers) {
		out = append(out, e.drop(other, OfferRevoked))
	}
	e.dequeue(j)
	return append(out, e.match(now)...), nil
}

// Decline gives an offer back; the worker is not offered the job again
// before retryAt.
func (e *Engine) Decline(workerID, offerID string, retryAt, now time.Time) ([]Decision, error) {
	o, ok := e.offers[offerID]
	if !ok || o.worker != workerID {
		return nil, ErrOfferNotFound
	}
	e.jobs[o.job].declined[workerID] = retryAt
	e.workers[workerID].misses = 0 // a decline is an answer
	return append([]Decision{e.drop(o, OfferDeclined)}, e.match(now)...), nil
}

// Complete ends a job's assignment and frees the worker's capacity.
func (e *Engine) Complete(jobID string, now time.Time) ([]Decision, error) {
	j, ok := e.jobs[jobID]
	if !ok || j.worker == "" {
		return nil, fmt.Errorf("routing: job %s is not assigned", jobID)
	}
	w := e.workers[j.worker]
	if w != nil {
		e.touch(w)
		w.used -= w.Channels[j.Channel].Cost
		w.perChan[j.Channel]--
		w.wrapUntil = now.Add(w.WrapUp)
		if w.WrapUp > 0 {
			e.wrapping[w.ID] = true
		}
		if w.used == 0 {
			w.idleSince = w.wrapUntil
		}
		e.sync(w)
	}
	e.forget(j)
	return append([]Decision{{Kind: JobCompleted, Job: jobID, Worker: j.worker}}, e.match(now)...), nil
}

// forget drops a job and the record of its settled offers.
func (e *Engine) forget(j *job) {
	for id, so := range e.settled {
		if so.job == j.ID {
			delete(e.settled, id)
		}
	}
	delete(e.jobs, j.ID)
}

// Withdraw takes a job out of routing (cancelled, deleted, reclassified or
// suspended): its offers are revoked and, if assigned, its worker's
// capacity freed.
func (e *Engine) Withdraw(jobID string, now time.Time) []Decision {
	j, ok := e.jobs[jobID]
	if !ok {
		return nil
	}
	var out []Decision
	for _, o := range sortedOffers(j.offers) {
		out = append(out, e.drop(o, OfferRevoked))
	}
	if j.worker != "" {
		e.unbind(j, now)
	}
	e.dequeue(j)
	e.forget(j)
	return append(out, e.match(now)...)
}

// Unassign takes a job back from its worker and, unless suspended, queues
// it again with its original enqueue time.
func (e *Engine) Unassign(jobID string, suspend bool, now time.Time) []Decision {
	j, ok := e.jobs[jobID]
	if !ok || j.worker == "" {
		return nil
	}
	e.unbind(j, now)
	j.worker = ""
	if suspend {
		e.forget(j)
	} else {
		e.enqueue(j)
	}
	return e.match(now)
}

// unbind frees the capacity a job's worker holds for it.
func (e *Engine) unbind(j *job, now time.Time) {
	if w := e.workers[j.worker]; w != nil {
		e.touch(w)
		w.used -= w.Channels[j.Channel].Cost
		w.perChan[j.Channel]--
		if w.used == 0 {
			w.idleSince = now
		}
		e.sync(w)
	}
}

// Update changes a queued job's priority, selectors, queue or preference
// (reclassification, expired selectors) and re-matches.
func (e *Engine) Update(s JobSpec, now time.Time) []Decision {
	j, ok := e.jobs[s.ID]
	if !ok {
		return nil
	}
	queued := j.worker == ""
	var out []Decision
	if queued && (s.Queue != j.Queue || s.Channel != j.Channel) {
		// Offers made for another queue or channel (and at its cost) no
		// longer stand.
		for _, o := range sortedOffers(j.offers) {
			out = append(out, e.drop(o, OfferRevoked))
		}
	}
	if queued {
		e.dequeue(j)
	}
	j.JobSpec = s
	j.channel = e.channelNumber(s.Channel)
	if queued {
		e.enqueue(j) // marks the queue
	}
	return append(out, e.match(now)...)
}

// Restore puts back a job a worker had accepted before a restart: it holds
// the worker's capacity and is not queued.
func (e *Engine) Restore(s JobSpec, workerID string, enqueued time.Time) {
	j := &job{JobSpec: s, enqueued: enqueued, offers: map[string]*offer{}, declined: map[string]time.Time{}, worker: workerID, channel: e.channelNumber(s.Channel)}
	e.jobs[s.ID] = j
	if w := e.workers[workerID]; w != nil {
		w.used += w.Channels[s.Channel].Cost
		w.perChan[s.Channel]++
		e.sync(w)
	}
}

// SubmitAt queues a job with a given enqueue time (a restart keeps its
// place in the queue).
func (e *Engine) SubmitAt(s JobSpec, enqueued, now time.Time) ([]Decision, error) {
	if _, ok := e.jobs[s.ID]; ok {
		return nil, fmt.Errorf("routing: job %s exists", s.ID)
	}
	j := &job{JobSpec: s, enqueued: enqueued, offers: map[string]*offer{}, declined: map[string]time.Time{}, channel: e.channelNumber(s.Channel)}
	e.jobs[s.ID] = j
	e.enqueue(j)
	return e.match(now), nil
}

// RemoveWorker forgets a worker: its offers are revoked. Jobs it holds
// keep their assignment until completed.
func (e *Engine) RemoveWorker(id string, now time.Time) []Decision {
	w, ok := e.workers[id]
	if !ok {
		return nil
	}
	var out []Decision
	for _, o := range sortedOffers(w.offers) {
		out = append(out, e.drop(o, OfferRevoked))
	}
	for _, q := range w.Queues {
		delete(e.byQueue[q], id)
		e.dropMembers(q)
	}
	delete(e.workers, id)
	return append(out, e.match(now)...)
}

// RemoveQueue forgets a queue's policy; its jobs wait unoffered.
func (e *Engine) RemoveQueue(id string) { delete(e.policies, id) }

func sortedOffers(m map[string]*offer) []*offer {
	out := make([]*offer, 0, len(m))
	for _, o := range m {
		out = append(out, o)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].id < out[b].id })
	return out
}

// Tick expires offers due by now and re-matches.
func (e *Engine) Tick(now time.Time) []Decision {
	for id := range e.wrapping {
		if w := e.workers[id]; w == nil || !now.Before(w.wrapUntil) {
			delete(e.wrapping, id)
			if w != nil {
				e.touch(w)
			}
		}
	}
	var out []Decision
	for _, o := range e.offers {
		if !now.Before(o.expires) {
			out = append(out, e.drop(o, OfferExpired))
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Offer < out[k].Offer })
	for _, d := range slices.Clone(out) {
		w := e.workers[d.Worker]
		if w == nil {
			continue
		}
		w.misses++
		if w.MaxMisses > 0 && w.misses >= w.MaxMisses && w.Available {
			w.Available = false
			e.sync(w)
			out = append(out, Decision{Kind: WorkerPaused, Worker: w.ID, Why: Explanation{Excluded: map[string]string{w.ID: fmt.Sprintf("%d offers in a row unanswered", w.misses)}}})
		}
	}
	return append(out, e.match(now)...)
}

func (e *Engine) drop(o *offer, kind string) Decision {
	e.release(o)
	return Decision{Kind: kind, Job: o.job, Worker: o.worker, Offer: o.id}
}

func (e *Engine) release(o *offer) {
	delete(e.offers, o.id)
	e.settled[o.id] = settledOffer{job: o.job, worker: o.worker}
	if j := e.jobs[o.job]; j != nil {
		delete(j.offers, o.worker)
	}
	if j := e.jobs[o.job]; j != nil {
		e.dirty[j.Queue] = true
	}
	if w := e.workers[o.worker]; w != nil {
		e.touch(w)
		delete(w.offers, o.id)
		w.used -= o.cost
		w.perChan[e.jobs[o.job].Channel]--
		e.sync(w)
	}
}

// Load is a worker's used capacity (offers and assignments), for checks.
func (e *Engine) Load(workerID string) (used, capacity int) {
	w := e.workers[workerID]
	if w == nil {
		return 0, 0
	}
	return w.used, w.Capacity
}

// Cost is what a job of the channel costs the worker.
func (e *Engine) Cost(workerID, channel string) int {
	if w := e.workers[workerID]; w != nil {
		return w.Channels[channel].Cost
	}
	return 0
}

// WrapUp is the worker's wrap-up time.
func (e *Engine) WrapUp(workerID string) time.Duration {
	if w := e.workers[workerID]; w != nil {
		return w.WrapUp
	}
	return 0
}

// Assigned returns the worker a job is assigned to, if any.
func (e *Engine) Assigned(jobID string) string {
	if j := e.jobs[jobID]; j != nil {
		return j.worker
	}
	return ""
}

// match offers waiting jobs of the queues where something changed,
// highest priority and oldest first, to the workers their queue's policy
// ranks best.
func (e *Engine) match(now time.Time) []Decision {
	if len(e.dirty) == 0 {
		return nil
	}
	queues := make([]string, 0, len(e.dirty))
	for q := range e.dirty {
		if e.anyFree(q, now) {
			queues = append(queues, q)
		}
	}
	clear(e.dirty)
	var jobs []*job
	if len(queues) == 1 {
		jobs = e.queues[queues[0]]
	} else {
		sort.Strings(queues)
		for _, q := range queues {
			jobs = append(jobs, e.queues[q]...)
		}
		// A worker of several queues goes to the job first in line across
		// them (ties by id, so that a replay decides the same).
		sort.SliceStable(jobs, func(a, b int) bool {
			if ahead(jobs[a], jobs[b]) != ahead(jobs[b], jobs[a]) {
				return ahead(jobs[a], jobs[b])
			}
			return jobs[a].ID < jobs[b].ID
		})
	}
	var out []Decision
	for _, j := range jobs {
		p, ok := e.policies[j.Queue]
		if !ok {
			continue
		}
		want := p.MaxOffers - len(j.offers)
		switch p.Mode {
		case Attendant:
			want = len(e.byQueue[j.Queue]) // every eligible worker: bounded below
		case Serial:
			want = min(want, 1-len(j.offers)) // one at a time, in order
		}
		if want <= 0 {
			continue // ranking workers for a job that takes no more offers is wasted work
		}
		cands, why := e.candidates(j, p, now, max(want, maxExplained))
		if p.Mode == Serial {
			cands = j.nextInOrder(cands)
		}
		for _, c := range cands {
			if want == 0 {
				break
			}
			w := e.workers[c.Worker]
			var id string
			if e.NewOfferID != nil {
				id = e.NewOfferID()
			} else {
				e.seq++
				id = fmt.Sprintf("offer-%d", e.seq)
			}
			o := &offer{id: id, job: j.ID, worker: w.ID, cost: w.Channels[j.Channel].Cost, expires: now.Add(p.OfferExpiry)}
			e.offers[o.id] = o
			j.offers[w.ID] = o
			w.offers[o.id] = o
			w.used += o.cost
			w.perChan[j.Channel]++
			e.sync(w)
			want--
			e.rrLast[j.Queue] = w.ID
			if p.Mode == Serial {
				if j.tried == nil {
					j.tried = map[string]bool{}
				}
				j.tried[w.ID] = true
			}
			out = append(out, Decision{Kind: OfferIssued, Job: j.ID, Worker: w.ID, Offer: o.id, ExpiresAt: o.expires, Why: why})
		}
	}
	return out
}

// nextInOrder keeps, for serial distribution, the candidates not yet
// offered the job in this round; once everyone has been, a new round
// starts from the top.
func (j *job) nextInOrder(cands []Candidate) []Candidate {
	var fresh []Candidate
	for _, c := range cands {
		if !j.tried[c.Worker] {
			fresh = append(fresh, c)
		}
	}
	if len(fresh) == 0 && len(cands) > 0 {
		clear(j.tried)
		return cands
	}
	return fresh
}

// channelNumber numbers a channel name, once.
func (e *Engine) channelNumber(name string) int {
	n, ok := e.channels[name]
	if !ok {
		n = len(e.channels)
		e.channels[name] = n
	}
	return n
}

// anyFree reports whether some worker of the queue could take an offer
// now: available, out of wrap-up, with capacity and offers to spare. A
// queue without one is not worth going through job by job.
func (e *Engine) anyFree(queue string, now time.Time) bool {
	if len(e.queues[queue]) == 0 {
		return false
	}
	hot := e.memberList(queue).hot
	for i := range hot {
		if h := &hot[i]; h.available && !now.Before(h.wrapUntil) && h.used < h.capacity && (h.maxOffers == 0 || h.offers < h.maxOffers) {
			return true
		}
	}
	return false
}

// candidates ranks the workers that may take j now, and says why the
// others may not.
func (e *Engine) candidates(j *job, p Policy, now time.Time, keep int) ([]Candidate, Explanation) {
	why := Explanation{Mode: p.Mode}
	members := e.memberList(j.Queue)
	switch p.Mode {
	case RoundRobin, BestWorker, Serial:
	default:
		if keep < len(members.hot) {
			return e.bestIdle(j, p, now, keep, members.hot)
		}
	}
	// Only the queue's workers are considered (workers elsewhere are not
	// listed as excluded: they were never candidates).
	var cands []Candidate
	var byCand []*hotMember // cands' workers, in the same order until ranked
	for i := range members.hot {
		h := &members.hot[i]
		if e.exclude(h, j, p, now, &why) {
			continue
		}
		cands = append(cands, Candidate{Worker: h.id, Score: e.score(h.w, j, p)})
		byCand = append(byCand, h)
	}
	idle := func(a, b int) bool {
		return e.workers[cands[a].Worker].idleSince.Before(e.workers[cands[b].Worker].idleSince)
	}
	switch p.Mode {
	case RoundRobin:
		// In id order, starting after the worker this queue offered last.
		sort.SliceStable(cands, func(a, b int) bool { return cands[a].Worker < cands[b].Worker })
		last := e.rrLast[j.Queue]
		start := sort.Search(len(cands), func(i int) bool { return cands[i].Worker > last })
		cands = append(cands[start:], cands[:start]...)
	case BestWorker:
		sort.SliceStable(cands, func(a, b int) bool {
			better := cands[a].Score > cands[b].Score
			if p.Ascending {
				better = cands[a].Score < cands[b].Score
			}
			return better || (cands[a].Score == cands[b].Score && idle(a, b))
		})
	case Serial:
		rank := func(id string) int {
			if i := slices.Index(p.Order, id); i >= 0 {
				return i
			}
			return len(p.Order)
		}
		sort.SliceStable(cands, func(a, b int) bool { return rank(cands[a].Worker) < rank(cands[b].Worker) })
	default:
		// Longest idle among the least loaded (ACS: lowest load ratio,
		// then idle time); the keys are read once, not per comparison.
		rs := make([]idleRank, len(cands))
		for i, h := range byCand {
			rs[i] = idleRankOf(h)
		}
		slices.SortStableFunc(rs, func(a, b idleRank) int {
			if a.load != b.load {
				return cmp.Compare(a.load, b.load)
			}
			return a.idle.Compare(b.idle)
		})
		for i := range rs {
			cands[i] = Candidate{Worker: rs[i].h.id, Score: e.score(rs[i].h.w, j, p)}
		}
	}
	// A returning customer's last agent comes first when eligible.
	if i := slices.IndexFunc(cands, func(c Candidate) bool { return c.Worker == j.Preferred }); i > 0 {
		pref := cands[i]
		cands = append([]Candidate{pref}, append(cands[:i:i], cands[i+1:]...)...)
	}
	why.Candidates, why.CandidateCount = cands, len(cands)
	return cands, why
}

// exclude reports whether w may not take j now, and notes why in the
// explanation: the reasons of the first few exclusions are spelt out, the
// rest counted (a queue of hundreds must not cost hundreds of strings per
// offer).
func (e *Engine) exclude(h *hotMember, j *job, p Policy, now time.Time, why *Explanation) bool {
	explain := len(why.Excluded) < maxExplained
	out, reason := e.excluded(h, j, p, now, explain)
	if !out {
		return false
	}
	if explain {
		if why.Excluded == nil {
			why.Excluded = make(map[string]string, maxExplained)
		}
		why.Excluded[h.id] = reason
	}
	why.ExcludedCount++
	return true
}

// idleRank is a worker's place in longest-idle order: least loaded, then
// idle longest.
type idleRank struct {
	h    *hotMember
	load float64
	idle time.Time
}

func idleRankOf(h *hotMember) idleRank {
	load := 1.0
	if h.capacity > 0 {
		load = float64(h.used) / float64(h.capacity)
	}
	return idleRank{h, load, h.idleSince}
}

func (a idleRank) before(b idleRank) bool {
	return a.load < b.load || (a.load == b.load && a.idle.Before(b.idle))
}

// bestIdle is the longest-idle ranking when only the first keep
// candidates are used (offered, or shown in the explanation): they are
// selected in one pass instead of sorting them all, in the order a stable
// sort would give, and only they are scored.
func (e *Engine) bestIdle(j *job, p Policy, now time.Time, keep int, members []hotMember) ([]Candidate, Explanation) {
	why := Explanation{Mode: p.Mode}
	var buf [maxExplained + 1]idleRank
	top := buf[:0]
	var preferred *hotMember
	for i := range members {
		h := &members[i]
		if e.exclude(h, j, p, now, &why) {
			continue
		}
		why.CandidateCount++
		if j.Preferred != "" && h.id == j.Preferred {
			preferred = h
		}
		r := idleRankOf(h)
		if len(top) == keep && !r.before(top[keep-1]) {
			continue
		}
		// After its equals: a stable sort keeps id order among them.
		i := sort.Search(len(top), func(i int) bool { return r.before(top[i]) })
		top = slices.Insert(top, i, r)
		if len(top) > keep {
			top = top[:keep]
		}
	}
	cands := make([]Candidate, 0, len(top)+1)
	if preferred != nil {
		// A returning customer's last agent comes first when eligible.
		cands = append(cands, Candidate{Worker: preferred.id, Score: e.score(preferred.w, j, p)})
	}
	for _, r := range top {
		if r.h != preferred && len(cands) < keep {
			cands = append(cands, Candidate{Worker: r.h.id, Score: e.score(r.h.w, j, p)})
		}
	}
	why.Candidates = cands
	return cands, why
}

// score ranks a candidate for bestWorker. A scoring rule (Policy.Score)
// decides when the policy has one; otherwise ACS's default: how well the
// worker meets the job's selectors, averaged (an equality met counts 1; a
// comparison counts 1/(1+e^-x) for x the worker's margin relative to the
// value), and, for a job without selectors, the number of the job's labels
// the worker shares.
func (e *Engine) score(w *worker, j *job, p Policy) float64 {
	if p.Mode != BestWorker {
		return 0
	}
	if j.Scores != nil {
		if v, ok := j.Scores[w.ID]; ok {
			return v
		}
		if p.Ascending {
			return math.Inf(1)
		}
		return math.Inf(-1)
	}
	if p.Score != nil {
		return p.Score(j.Labels, w.Labels, j.Selectors)
	}
	return DefaultScore(j.Labels, w.Labels, j.Selectors)
}

// DefaultScore is bestWorker's score without a scoring rule.
func DefaultScore(jobLabels, workerLabels map[string]any, selectors []Selector) float64 {
	if len(selectors) == 0 {
		n := 0
		for k, v := range jobLabels {
			if wv, ok := workerLabels[k]; ok && same(v, wv) {
				n++
			}
		}
		return float64(n)
	}
	total := 0.0
	for _, s := range selectors {
		v, ok := workerLabels[s.Key]
		if !ok {
			continue
		}
		want, wantNum := s.Value.(float64)
		got, gotNum := v.(float64)
		switch s.LabelOperator {
		case GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual:
			if !wantNum || !gotNum || !s.Matches(workerLabels) {
				continue
			}
			x := got - want
			if s.LabelOperator == LessThan || s.LabelOperator == LessThanOrEqual {
				x = want - got
			}
			if want != 0 {
				x /= math.Abs(want)
			}
			total += 1 / (1 + math.Exp(-x))
		default:
			if s.Matches(workerLabels) {
				total++
			}
		}
	}
	return total / float64(len(selectors))
}

// excluded says whether the worker h copies may not be offered j now and,
// when explain is set, why. It reads the worker itself only for what the
// copy leaves out (the job's own offers and declines, per-channel job
// limits, selectors), which the usual new job does not need.
func (e *Engine) excluded(h *hotMember, j *job, p Policy, now time.Time, explain bool) (bool, string) {
	sl := h.slot(j.channel)
	switch {
	case !h.available:
		return true, "not available for offers"
	case now.Before(h.wrapUntil):
		return true, "in wrap-up"
	case !sl.served:
		return true, "has no " + j.Channel + " channel"
	case len(j.offers) > 0 && j.offers[h.id] != nil:
		return true, "already holds an offer for the job"
	case len(j.declined) > 0 && now.Before(j.declined[h.id]):
		return true, "declined the job"
	case h.used+int(sl.cost) > h.capacity:
		if !explain {
			return true, ""
		}
		return true, fmt.Sprintf("capacity %d/%d cannot take %d more", h.used, h.capacity, sl.cost)
	case sl.maxJobs > 0 && h.w.perChan[j.Channel] >= int(sl.maxJobs):
		if !explain {
			return true, ""
		}
		return true, fmt.Sprintf("at its %d %s jobs", sl.maxJobs, j.Channel)
	case h.maxOffers > 0 && h.offers >= h.maxOffers:
		return true, "at its concurrent offer limit"
	case !p.BypassSelectors && len(j.Selectors) > 0 && !MatchesAll(j.Selectors, h.w.Labels):
		return true, "does not meet the job's worker selectors"
	}
	return false, ""
}
