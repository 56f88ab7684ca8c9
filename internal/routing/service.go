package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// The service runs one router per tenant in this process. A router holds
// its tenant's live state in memory and is the only writer of its jobs;
// each call changes memory under the tenant's lock, then waits until its
// changes are committed. Commits are grouped: whoever finds no commit
// running writes everything pending, in order, in one transaction (with
// the events, through the outbox), so a burst of calls costs one commit.

// JobRecord is a job as stored.
type JobRecord struct {
	ID, Status, QueueID, ChannelID, ClassificationPolicyID string
	ScheduledAt                                            time.Time
	Doc                                                    json.RawMessage
	Version                                                int64
}

// JobFilter narrows a job list.
type JobFilter struct {
	Status, QueueID, ChannelID, ClassificationPolicyID string
	ScheduledBefore, ScheduledAfter                    time.Time
}

// JobStore persists jobs; tenant-scoped.
type JobStore interface {
	// RouterTenants lists the tenants with jobs not finished.
	RouterTenants(ctx context.Context) ([]tenant.ID, error)
	RouterJob(ctx context.Context, t tenant.ID, id string) (JobRecord, error)
	RouterJobs(ctx context.Context, t tenant.ID, f JobFilter, after string, limit int) ([]JobRecord, error)
	LiveRouterJobs(ctx context.Context, t tenant.ID) ([]JobRecord, error)
	// RouterJobIDs calls fn with the id of every stored job.
	RouterJobIDs(ctx context.Context, t tenant.ID, fn func(id string)) error
	SaveRouterJobs(ctx context.Context, t tenant.ID, jobs []JobRecord, deleted []string) error
}

// Outbox takes events inside the transaction that caused them.
type Outbox interface {
	Append(ctx context.Context, evs ...event.Event) error
}

// Service is the job router of every tenant this process serves.
type Service struct {
	config   *Config
	jobs     JobStore
	outbox   Outbox
	remote   RemoteRules
	recorder Recorder
	wanted   func(ctx context.Context, t tenant.ID, typ string, job *Job) bool
	now      func() time.Time
	log      *slog.Logger
	journal  *journalState // nil: each commit is a database transaction
	// checkpointEvery overrides checkpointInterval; negative: no
	// checkpoints but those callers ask for (tests).
	checkpointEvery time.Duration

	mu      sync.Mutex
	routers map[tenant.ID]*tenantRouter
	stopped bool
}

// utcNow is the router's clock. In UTC, a job's times read the same from
// memory as from the journal or the database (which keep UTC); and without
// the monotonic reading UTC drops, every comparison of the router's times
// is by the wall clock, which its scheduled times (closeAt, expiries,
// wrap-up ends) are stated in.
func utcNow() time.Time { return time.Now().UTC() }

// NewService wires the router service over the configuration service.
func NewService(config *Config, jobs JobStore, outbox Outbox, log *slog.Logger) *Service {
	return &Service{config: config, jobs: jobs, outbox: outbox, now: utcNow, log: log, routers: map[tenant.ID]*tenantRouter{}}
}

type pendingWrite struct {
	snapshots []*Job // encoded into jobs once, by the caller or the committer
	encoded   sync.Once
	jobs      []JobRecord
	deleted   []string
	events    []event.Event
	done      chan error
	// With a journal: the record, and where each job's encoding is in it.
	journal bool
	rec     []byte
	spans   []journalSpan
}

type tenantRouter struct {
	t   tenant.ID
	ctx context.Context // the tenant's, for event filters
	// scratch is where the runner encodes journal records (under mu).
	scratch []byte
	mu      sync.Mutex
	r       *Router
	broken  bool
	// ready is set while r is loaded and not broken (read without the
	// lock, so that a call takes the lock once, not twice).
	ready   atomic.Bool
	pending []*pendingWrite
	commit  bool // a goroutine is committing
	timer   *time.Timer
	wakeAt  time.Time
	// ids are every job id the tenant has (filled once, with a journal).
	ids     *idFilter
	filling bool
	// remote is the router's HasRemoteRules, readable without the lock.
	remote atomic.Bool
	// ops wait for the tenant's runner (see do).
	qmu     sync.Mutex
	queue   []*op
	spare   []*op
	running bool
	// With a journal, the runner's finished calls wait for the writer.
	wmu         sync.Mutex
	written     []*op
	writing     bool
	writeFailed error // until the router reloads
}

// Stop ends every router's timers and stores what the journal holds.
func (s *Service) Stop() {
	s.stopJournal(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	for _, tr := range s.routers {
		tr.mu.Lock()
		if tr.timer != nil {
			tr.timer.Stop()
		}
		tr.mu.Unlock()
	}
}

// SetEventFilter limits the router's events to those some consumer wants.
// A busy router raises several events per job; written to the outbox and
// relayed for nobody, they would cost more than the routing itself. job is
// the job the event is about (nil for worker events); it must not be kept.
func (s *Service) SetEventFilter(wanted func(ctx context.Context, t tenant.ID, typ string, job *Job) bool) {
	s.wanted = wanted
}

// Drop forgets a tenant's router (another node runs it now); what it held
// is stored, and a later call here loads it afresh.
func (s *Service) Drop(t tenant.ID) {
	s.mu.Lock()
	tr := s.routers[t]
	delete(s.routers, t)
	s.mu.Unlock()
	if tr == nil {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.timer != nil {
		tr.timer.Stop()
	}
	tr.broken = true
	tr.ready.Store(false)
}

// router returns the tenant's router, loading it on first use.
func (s *Service) router(ctx context.Context) (*tenantRouter, error) {
	t := tenant.MustFrom(ctx)
	s.mu.Lock()
	tr := s.routers[t]
	if tr == nil {
		tr = &tenantRouter{t: t, ids: newIDFilter(), ctx: tenant.With(context.Background(), t)}
		s.routers[t] = tr
	}
	s.mu.Unlock()
	if tr.ready.Load() {
		return tr, nil
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.r == nil || tr.broken {
		r, restored, err := s.load(ctx, t)
		if err != nil {
			return nil, err
		}
		tr.r, tr.broken = r, false
		tr.remote.Store(r.HasRemoteRules())
		tr.wmu.Lock()
		tr.writeFailed = nil
		tr.wmu.Unlock()
		if s.journal != nil && !tr.filling {
			// Only with a journal: in a cluster another node may have
			// written jobs this one has not seen.
			tr.filling = true
			go s.fillIDs(context.WithoutCancel(ctx), tr)
		}
		s.recordLoad(t, r, s.now())
		// Offers the restart made are stored and announced like any others
		// (journaled before any call's changes, which may follow them).
		if len(restored.Facts) > 0 || len(restored.Jobs) > 0 {
			w := s.record(tr, restored)
			if s.journal != nil {
				if err := s.journalBatch(tr, []*pendingWrite{w}); err != nil {
					tr.broken = true
					return nil, fmt.Errorf("routing: load: %w", err)
				}
			} else {
				tr.pending = append(tr.pending, w)
				if !tr.commit {
					tr.commit = true
					go s.flush(context.WithoutCancel(ctx), tr)
				}
			}
		}
		// Offers made while loading expire, and other timers fire, without
		// waiting for the tenant's next call.
		tr.wakeAt, tr.timer = time.Time{}, nil
		s.arm(tr)
		tr.ready.Store(true) // only now: a load that failed is tried again
	}
	return tr, nil
}

// Warm loads a tenant's router now (after a restart, or when this node
// takes the tenant over), so that its queued jobs are offered and its
// timers run before anyone calls.
func (s *Service) Warm(ctx context.Context) error {
	_, err := s.router(ctx)
	return err
}

// load builds a tenant's router from its stored configuration and jobs.
func (s *Service) load(ctx context.Context, t tenant.ID) (*Router, Changes, error) {
	// What the journal holds is stored first: the router loads from the
	// database.
	if err := s.checkpoint(ctx); err != nil {
		return nil, Changes{}, fmt.Errorf("routing: load: %w", err)
	}
	r := NewRouter(uuid.NewString)
	now := s.now()
	for _, kind := range []Kind{KindDistributionPolicy, KindClassificationPolicy, KindExceptionPolicy, KindQueue, KindWorker} {
		after := ""
		for {
			page, err := s.config.store.ConfigEntities(ctx, t, kind, after, 500)
			if err != nil {
				return nil, Changes{}, fmt.Errorf("routing: load %s: %w", kind, err)
			}
			for _, e := range page {
				doc, err := Decode(e.Doc)
				if err != nil {
					return nil, Changes{}, err
				}
				r.SetConfig(kind, e.ID, doc, now)
			}
			if len(page) < 500 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	recs, err := s.jobs.LiveRouterJobs(ctx, t)
	if err != nil {
		return nil, Changes{}, err
	}
	jobs := make([]*Job, 0, len(recs))
	for _, rec := range recs {
		j, err := decodeRecord(rec)
		if err != nil {
			return nil, Changes{}, err
		}
		jobs = append(jobs, j)
	}
	// Work in hand first: its capacity must be taken before queued jobs
	// are offered.
	held := func(j *Job) bool { return j.Status == StatusAssigned || j.Status == StatusCompleted }
	var restored Changes
	for _, pass := range []bool{true, false} {
		for _, j := range jobs {
			if held(j) == pass {
				restored.merge(r.Restore(j, now))
			}
		}
	}
	return r, restored, nil
}

// decodeRecord reads a stored job: JSON (written by a cluster's commits)
// or, on the embedded store, the journal's binary form the checkpoint
// stored as it was.
func decodeRecord(rec JobRecord) (*Job, error) {
	if len(rec.Doc) > 0 && rec.Doc[0] == jobFormat {
		j, _, err := decodeJob(rec.Doc)
		if err != nil {
			return nil, fmt.Errorf("routing: stored job %s: %w", rec.ID, err)
		}
		j.Version = rec.Version
		j.normalize()
		return j, nil
	}
	var j Job
	if err := json.Unmarshal(rec.Doc, &j); err != nil {
		return nil, fmt.Errorf("routing: stored job %s: %w", rec.ID, err)
	}
	j.Version = rec.Version
	j.normalize()
	return &j, nil
}

// record turns changes into rows and events, under the tenant's lock (the
// jobs change again after it is released).
func (s *Service) record(tr *tenantRouter, ch Changes) *pendingWrite {
	w := &pendingWrite{deleted: ch.Deleted, journal: s.journal != nil}
	if !w.journal {
		w.done = make(chan error, 1) // the committer's answer
	}
	for _, j := range ch.Jobs {
		j.Version++
		if !w.journal {
			// A copy now (the job changes again once the lock is
			// released); the committer encodes it.
			w.snapshots = append(w.snapshots, j.Clone())
		}
	}
	if w.journal {
		w.startRecord(tr.t, ch.Jobs, &tr.scratch)
	}
	facts := ch.Facts
	if s.wanted != nil && len(facts) > 0 {
		kept := facts[:0:0]
		ctx := tr.ctx
		for _, f := range facts {
			if s.wanted(ctx, tr.t, "Microsoft.Communication."+f.Kind, f.Job) {
				kept = append(kept, f)
			}
		}
		facts = kept
	}
	w.events = tr.r.Events(tr.t, facts)
	return w
}

// storeWorkers writes worker documents the router changed itself.
func (s *Service) storeWorkers(ctx context.Context, t tenant.ID, docs []map[string]any) error {
	return s.config.tx.InTx(context.WithoutCancel(ctx), func(ctx context.Context) error {
		for _, doc := range docs {
			id, _ := doc["id"].(string)
			cur, err := s.config.store.ConfigEntity(ctx, t, KindWorker, id)
			if err != nil {
				continue // deleted meanwhile
			}
			raw, err := json.Marshal(doc)
			if err != nil {
				return err
			}
			refs, _ := Prepare(KindWorker, id, cloneDoc(doc))
			e := Entity{Tenant: t, Kind: KindWorker, ID: id, Doc: raw, Refs: refs, Version: cur.Version + 1, UpdatedAt: s.now().UTC()}
			if err := s.config.store.PutConfigEntity(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

func cloneDoc(doc map[string]any) map[string]any {
	raw, _ := json.Marshal(doc)
	out, _ := Decode(raw)
	return out
}

// flush commits every pending write, in order, until none is left
// (without a journal: with one, the runner appends its batches itself).
func (s *Service) flush(ctx context.Context, tr *tenantRouter) {
	for {
		tr.mu.Lock()
		batch := tr.pending
		tr.pending = nil
		if len(batch) == 0 {
			tr.commit = false
			tr.mu.Unlock()
			return
		}
		tr.mu.Unlock()
		if err := s.commitBatch(ctx, tr, batch); err != nil {
			// Memory is ahead of the store now: reload on next use, and fail
			// every call whose changes are not stored.
			s.log.Error("routing: commit failed; the tenant's router reloads", "tenant", tr.t, "err", err)
			tr.mu.Lock()
			tr.broken = true
			tr.ready.Store(false)
			rest := tr.pending
			tr.pending = nil
			tr.commit = false
			tr.mu.Unlock()
			for _, w := range append(batch, rest...) {
				w.done <- fmt.Errorf("routing: commit: %w", err)
			}
			return
		}
		for _, w := range batch {
			w.done <- nil
		}
	}
}

// commitBatch stores a batch of writes in one database transaction.
func (s *Service) commitBatch(ctx context.Context, tr *tenantRouter, batch []*pendingWrite) error {
	for _, w := range batch {
		w.encode()
	}
	return s.config.tx.InTx(context.WithoutCancel(ctx), func(ctx context.Context) error {
		var jobs []JobRecord
		var deleted []string
		var evs []event.Event
		// A job written twice in the batch is stored once, last state.
		last := map[string]int{}
		for _, w := range batch {
			for _, j := range w.jobs {
				if i, ok := last[j.ID]; ok {
					jobs[i] = j
					continue
				}
				last[j.ID] = len(jobs)
				jobs = append(jobs, j)
			}
			deleted = append(deleted, w.deleted...)
			evs = append(evs, w.events...)
		}
		if len(deleted) > 0 {
			jobs = dropDeleted(jobs, deleted)
		}
		if err := s.jobs.SaveRouterJobs(ctx, tr.t, jobs, deleted); err != nil {
			return err
		}
		if len(evs) > 0 {
			return s.outbox.Append(ctx, evs...)
		}
		return nil
	})
}

// encode turns the write's job snapshots into rows, or finishes its
// journal record, once.
func (w *pendingWrite) encode() {
	w.encoded.Do(func() {
		if w.journal {
			w.finishRecord()
			return
		}
		for _, j := range w.snapshots {
			doc, _ := json.Marshal(j)
			w.jobs = append(w.jobs, JobRecord{ID: j.ID, Status: string(j.Status), QueueID: j.QueueID, ChannelID: j.ChannelID,
				ClassificationPolicyID: j.ClassificationPolicyID, ScheduledAt: j.ScheduledAt, Doc: doc, Version: j.Version})
		}
		w.snapshots = nil
	})
}

func dropDeleted(jobs []JobRecord, deleted []string) []JobRecord {
	gone := map[string]bool{}
	for _, id := range deleted {
		gone[id] = true
	}
	out := jobs[:0]
	for _, j := range jobs {
		if !gone[j.ID] {
			out = append(out, j)
		}
	}
	return out
}

// arm sets the tenant's timer to the router's next wake (under tr.mu).
func (s *Service) arm(tr *tenantRouter) {
	at := tr.r.NextWake()
	if at.IsZero() || (!tr.wakeAt.IsZero() && !at.Before(tr.wakeAt) && tr.timer != nil) {
		return
	}
	tr.wakeAt = at
	d := time.Until(at)
	if tr.timer != nil {
		tr.timer.Stop()
	}
	tr.timer = time.AfterFunc(max(d, 0), func() { s.tick(tr) })
}

func (s *Service) tick(tr *tenantRouter) {
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return
	}
	ctx := tenant.With(context.Background(), tr.t)
	tr.mu.Lock()
	tr.wakeAt = time.Time{}
	tr.timer = nil
	tr.mu.Unlock()
	err := s.do(ctx, func(r *Router, now time.Time) (Changes, error) { return r.Tick(now), nil })
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("routing: timer", "tenant", tr.t, "err", err)
	}
}
