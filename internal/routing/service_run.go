package routing

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// A tenant's calls are run one batch at a time by a runner, under one hold
// of the tenant's lock per batch: the first caller to find none running
// runs its own call (and whatever queued meanwhile) itself, and hands the
// queue to a runner goroutine if more arrived; that one runs until the
// queue is empty. Other callers only wait. Taking the lock call by call
// made the lock pass from caller to caller (each pass a wake-up and a
// trip through the scheduler) and left cores idle while calls queued; a
// batch costs one pass and, with the journal, one write. A quiet router
// costs no hand-over at all: the caller runs and journals its own call.

type op struct {
	ctx  context.Context
	fn   func(r *Router, now time.Time) (Changes, error)
	err  error
	w    *pendingWrite // nil: nothing to store
	done chan struct{}
}

var errReloading = errs.New(errs.KindUnavailable, "RouterReloading", "the router is reloading; try again")

// do runs fn on the tenant's router and waits until what it changed is
// committed.
func (s *Service) do(ctx context.Context, fn func(r *Router, now time.Time) (Changes, error)) error {
	tr, err := s.router(ctx)
	if err != nil {
		return err
	}
	o := &op{ctx: ctx, fn: fn, done: make(chan struct{})}
	tr.qmu.Lock()
	tr.queue = append(tr.queue, o)
	lead := !tr.running
	tr.running = true
	tr.qmu.Unlock()
	if lead {
		s.runOps(tr, true)
	}
	<-o.done
	if o.w != nil && !o.w.journal {
		// The committer stores it apart (a database transaction).
		o.w.encode()
		if cerr := <-o.w.done; cerr != nil {
			return cerr
		}
	}
	return o.err
}

// runOps runs queued calls until none is left; a caller running them
// (caller) runs one batch and leaves the rest to a goroutine.
func (s *Service) runOps(tr *tenantRouter, caller bool) {
	for {
		tr.qmu.Lock()
		batch := tr.queue
		tr.queue, tr.spare = tr.spare[:0], nil
		if len(batch) == 0 {
			tr.running = false
			tr.qmu.Unlock()
			return
		}
		tr.qmu.Unlock()
		s.runBatch(tr, batch)
		tr.qmu.Lock()
		clear(batch)
		tr.spare = batch
		more := len(tr.queue) > 0
		if !more {
			tr.running = false
		}
		tr.qmu.Unlock()
		if !more {
			return
		}
		if caller {
			go s.runOps(tr, false)
			return
		}
	}
}

// runBatch runs a batch of calls in order and stores what they changed:
// with the journal, in one append before any caller is answered; without
// it, through the committer.
func (s *Service) runBatch(tr *tenantRouter, batch []*op) {
	var writes []*pendingWrite
	tr.mu.Lock()
	for _, o := range batch {
		if tr.broken {
			o.err = errReloading
			continue
		}
		ch, err := o.fn(tr.r, s.now())
		o.err = err
		if err != nil && len(ch.Facts) == 0 && len(ch.Jobs) == 0 {
			continue
		}
		if len(ch.Workers) > 0 {
			// Workers the router paused are written now, under the lock,
			// like every other write of a worker: none can overtake another.
			if werr := s.storeWorkers(o.ctx, tr.t, ch.Workers); werr != nil {
				s.log.Error("routing: store paused workers", "tenant", tr.t, "err", werr)
			}
		}
		o.w = s.record(tr, ch)
		writes = append(writes, o.w)
	}
	s.arm(tr)
	tr.remote.Store(tr.r.HasRemoteRules())
	if s.journal == nil && len(writes) > 0 {
		tr.pending = append(tr.pending, writes...)
		lead := !tr.commit
		tr.commit = true
		if lead {
			// The committer runs apart: under steady load it keeps
			// committing what later batches queue meanwhile.
			go s.flush(context.WithoutCancel(batch[0].ctx), tr)
		}
	}
	tr.mu.Unlock()
	if s.journal == nil || len(writes) == 0 {
		for _, o := range batch {
			close(o.done)
		}
		return
	}
	tr.wmu.Lock()
	tr.written = append(tr.written, batch...)
	if tr.writing {
		tr.wmu.Unlock()
		return // behind the writer, in order
	}
	tr.writing = true
	tr.wmu.Unlock()
	tr.qmu.Lock()
	busy := len(tr.queue) > 0
	tr.qmu.Unlock()
	if busy {
		// The writer appends while this runner goes on with the next
		// batch.
		go s.writeOps(tr)
		return
	}
	s.writeOps(tr)
}

// writeOps journals the batches the runner finished, in order, each time
// all of those waiting in one append, and answers their callers. Before
// each append it lets the goroutines ready to run go first: callers with
// their next call, the runner with its next batch. What they queue
// meanwhile joins this append or the next batch instead of costing a write
// call and a wake-up of its own (group commit; in the lifecycle benchmark
// 5 % less CPU per job, interleaved runs). With nothing else
// ready, the yield returns at once.
func (s *Service) writeOps(tr *tenantRouter) {
	var writes []*pendingWrite
	for {
		runtime.Gosched()
		tr.wmu.Lock()
		ops := tr.written
		tr.written = nil
		failed := tr.writeFailed
		if len(ops) == 0 {
			tr.writing = false
			tr.wmu.Unlock()
			return
		}
		tr.wmu.Unlock()
		writes = writes[:0]
		for _, o := range ops {
			if o.w != nil {
				writes = append(writes, o.w)
			}
		}
		err := failed
		if err == nil {
			err = s.journalBatch(tr, writes)
		}
		if err != nil {
			s.failOps(tr, ops, err)
			continue
		}
		for _, o := range ops {
			close(o.done)
		}
	}
}

// failOps answers calls whose changes could not be journaled. Memory is
// ahead of the store: the router reloads on next use, and until it has,
// nothing the runner did after them is journaled either (that would
// store later changes without the earlier ones).
func (s *Service) failOps(tr *tenantRouter, ops []*op, err error) {
	tr.wmu.Lock()
	first := tr.writeFailed == nil
	tr.writeFailed = err
	tr.wmu.Unlock()
	if first {
		s.log.Error("routing: journal write failed; the tenant's router reloads", "tenant", tr.t, "err", err)
		tr.mu.Lock()
		tr.broken = true
		tr.ready.Store(false)
		tr.mu.Unlock()
	}
	for _, o := range ops {
		if o.w != nil {
			o.err = fmt.Errorf("routing: commit: %w", err)
		}
		close(o.done)
	}
}
