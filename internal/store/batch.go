package store

import (
	"context"
	"fmt"
	"sync"
)

// SQLite commits one transaction at a time, and each commit costs far more
// than the few rows a request writes. The batcher groups the transactions
// that arrive together into one SQLite transaction, each in its own
// savepoint: a failing one rolls back alone, a failed commit fails them all.
// Callers see exactly the semantics of their own transaction.

const maxBatch = 64

type batchJob struct {
	ctx  context.Context
	fn   func(ctx context.Context) error
	done chan error
}

type batcher struct {
	db   *DB
	jobs chan *batchJob
	stop chan struct{}
	wg   sync.WaitGroup
}

func newBatcher(db *DB) *batcher {
	b := &batcher{db: db, jobs: make(chan *batchJob, 1024), stop: make(chan struct{})}
	b.wg.Add(1)
	go b.run()
	return b
}

func (b *batcher) close() {
	close(b.stop)
	b.wg.Wait()
}

// do queues fn and waits for its batch to commit.
func (b *batcher) do(ctx context.Context, fn func(ctx context.Context) error) error {
	job := &batchJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case b.jobs <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stop:
		return fmt.Errorf("store: closed")
	}
	// Once queued the job runs even if ctx ends meanwhile (its statements
	// then fail and it rolls back alone), so its outcome is always known.
	return <-job.done
}

func (b *batcher) run() {
	defer b.wg.Done()
	batch := make([]*batchJob, 0, maxBatch)
	for {
		select {
		case <-b.stop:
			// Jobs already queued still run: shutdown must not lose accepted work.
			for {
				select {
				case j := <-b.jobs:
					b.commit([]*batchJob{j})
				default:
					return
				}
			}
		case j := <-b.jobs:
			batch = append(batch[:0], j)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		b.commit(batch)
	}
}

func (b *batcher) commit(batch []*batchJob) {
	results := make([]error, len(batch))
	fail := func(err error) {
		for _, j := range batch {
			j.done <- err
		}
	}
	tx, err := b.db.w.BeginTx(context.Background(), nil)
	if err != nil {
		fail(fmt.Errorf("store: begin: %w", err))
		return
	}
	appended := false
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := tx.Exec("SAVEPOINT job"); err != nil {
			_ = tx.Rollback()
			fail(fmt.Errorf("store: savepoint: %w", err))
			return
		}
		st := &txState{tx: tx}
		results[i] = runJob(context.WithValue(j.ctx, txKey{}, st), j.fn)
		if results[i] != nil {
			_, err = tx.Exec("ROLLBACK TO job")
			if err == nil {
				_, err = tx.Exec("RELEASE job")
			}
		} else {
			appended = appended || st.appended
			_, err = tx.Exec("RELEASE job")
		}
		if err != nil {
			_ = tx.Rollback()
			fail(fmt.Errorf("store: savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("store: commit: %w", err))
		return
	}
	if appended {
		b.db.outboxWritten()
	}
	for i, j := range batch {
		j.done <- results[i]
	}
}

// runJob turns a panic in one job into that job's error, so it cannot take
// the batch (or the process) down with it.
func runJob(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: transaction panicked: %v", p)
		}
	}()
	return fn(ctx)
}
