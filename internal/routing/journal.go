package routing

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// On the embedded store a router's changes become durable in a journal
// first: each commit is one append of compact binary job snapshots, not a
// database transaction of JSON rows. A checkpointer stores the net effect
// (a job changed five times is written once, in its last state) and the
// events in one transaction every checkpointInterval, or at once when
// events wait; then the journal's sealed segments go. After a crash the
// segments not yet checkpointed are stored before any router loads.
// A cluster has no journal: a node's disk is not where another node looks.

// Journal is an append-only log of records in numbered segments (see
// package journal).
type Journal interface {
	Append(records ...[]byte) error
	Rotate() (sealed uint64, err error)
	Current() uint64
	Segments() ([]uint64, error)
	ReadSegment(seg uint64, fn func(record []byte) error) (torn bool, err error)
	Remove(upTo uint64) error
}

// JournalMarks remembers, in the database, the last journal segment whose
// records are stored, in the checkpoint's own transaction.
type JournalMarks interface {
	RouterJournalMark(ctx context.Context) (uint64, error)
	SetRouterJournalMark(ctx context.Context, seg uint64) error
}

const checkpointInterval = 200 * time.Millisecond

// recordFormat leads every journal record.
const recordFormat = 1

type jobKey struct {
	t  tenant.ID
	id string
}

// journaled is a job's latest journaled state: its encoding with the
// columns it is stored under, or gone. The encoding is what the database
// stores too (see decodeRecord): a checkpoint neither decodes nor
// re-encodes.
type journaled struct {
	enc     []byte
	row     JobRecord
	deleted bool
}

// journalSpan is where a job's encoding is in a write's record.
type journalSpan struct {
	start, end int
	row        JobRecord
}

func rowOf(j *Job) JobRecord {
	return JobRecord{ID: j.ID, Status: string(j.Status), QueueID: j.QueueID, ChannelID: j.ChannelID,
		ClassificationPolicyID: j.ClassificationPolicyID, ScheduledAt: j.ScheduledAt, Version: j.Version}
}

type journalState struct {
	log   Journal
	marks JournalMarks

	// mu orders appends with the maps below: what a segment holds is
	// exactly what the maps gained while it was current.
	mu       sync.Mutex
	recent   map[jobKey]journaled
	flushing map[jobKey]journaled // being checkpointed
	events   []event.Event

	ckMu sync.Mutex // one checkpoint at a time
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// UseJournal makes the service commit to j and checkpoint to the database.
// It first stores whatever a previous run journaled and did not
// checkpoint, so it must be called before any router is used.
func (s *Service) UseJournal(ctx context.Context, j Journal, marks JournalMarks) error {
	js := &journalState{log: j, marks: marks, recent: map[jobKey]journaled{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.journal = js
	if err := s.recover(ctx); err != nil {
		s.journal = nil
		return err
	}
	if s.checkpointEvery >= 0 {
		go s.checkpointLoop(js)
	} else {
		close(js.done)
	}
	return nil
}

// recover stores the records of segments a previous run did not
// checkpoint.
func (s *Service) recover(ctx context.Context) error {
	js := s.journal
	mark, err := js.marks.RouterJournalMark(ctx)
	if err != nil {
		return fmt.Errorf("routing: journal mark: %w", err)
	}
	segs, err := js.log.Segments()
	if err != nil {
		return err
	}
	cur := js.log.Current()
	records := 0
	for _, seg := range segs {
		if seg <= mark || seg >= cur {
			continue
		}
		torn, err := js.log.ReadSegment(seg, func(rec []byte) error {
			records++
			return js.apply(rec)
		})
		if err != nil {
			return fmt.Errorf("routing: journal segment %d: %w", seg, err)
		}
		if torn {
			// The write the process died in; nobody was told it happened.
			s.log.Warn("routing: journal segment ends in an incomplete record", "segment", seg)
		}
	}
	if records > 0 {
		s.log.Info("routing: storing the journal of the previous run", "records", records)
		if err := s.checkpoint(ctx); err != nil {
			return err
		}
	}
	// Every segment before the current one is stored now (or empty).
	return js.log.Remove(cur - 1)
}

// apply adds one journal record's changes to the maps (recovery).
func (js *journalState) apply(rec []byte) error {
	bad := func(what string) error { return fmt.Errorf("routing: journal record: %s", what) }
	if len(rec) == 0 || rec[0] != recordFormat {
		return bad("unknown format")
	}
	b := rec[1:]
	t, b, ok := readString(b)
	if !ok {
		return bad("tenant")
	}
	n, b, ok := readCount(b)
	if !ok {
		return bad("job count")
	}
	for range n {
		start := b
		j, rest, err := decodeJob(b)
		if err != nil {
			return err
		}
		js.recent[jobKey{tenant.ID(t), j.ID}] = journaled{enc: start[:len(start)-len(rest)], row: rowOf(j)}
		b = rest
	}
	if n, b, ok = readCount(b); !ok {
		return bad("deleted count")
	}
	for range n {
		var id string
		if id, b, ok = readString(b); !ok {
			return bad("deleted id")
		}
		js.recent[jobKey{tenant.ID(t), id}] = journaled{deleted: true}
	}
	if n, b, ok = readCount(b); !ok {
		return bad("event count")
	}
	for range n {
		var raw string
		if raw, b, ok = readString(b); !ok {
			return bad("event")
		}
		var ev event.Event
		if err := json.Unmarshal([]byte(raw), &ev); err != nil {
			return fmt.Errorf("routing: journal event: %w", err)
		}
		js.events = append(js.events, ev)
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	return nil
}

func readCount(b []byte) (int, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return 0, nil, false
	}
	return int(n), b[k:], true
}

func readString(b []byte) (string, []byte, bool) {
	n, b, ok := readCount(b)
	if !ok || n > len(b) {
		return "", nil, false
	}
	return string(b[:n]), b[n:], true
}

// startRecord begins a write's record with its jobs and deletions, under
// the tenant's lock (the jobs change again once it is released): encoding
// them there costs less than copying them. It encodes into the tenant's
// scratch buffer and keeps an exact copy (the record lives until the
// checkpoint; a buffer sized by guess was a quarter unused).
func (w *pendingWrite) startRecord(t tenant.ID, jobs []*Job, scratch *[]byte) {
	b := (*scratch)[:0]
	b = append(b, recordFormat)
	b = appendStr(b, string(t))
	b = binary.AppendUvarint(b, uint64(len(jobs)))
	w.spans = make([]journalSpan, 0, len(jobs))
	for _, j := range jobs {
		start := len(b)
		b = appendJob(b, j)
		w.spans = append(w.spans, journalSpan{start, len(b), rowOf(j)})
	}
	b = binary.AppendUvarint(b, uint64(len(w.deleted)))
	for _, id := range w.deleted {
		b = appendStr(b, id)
	}
	// Room for the event count (one byte when there are none).
	w.rec = append(make([]byte, 0, len(b)+1), b...)
	if cap(b) <= 1<<20 {
		*scratch = b
	}
}

// finishRecord adds the events, outside the lock.
func (w *pendingWrite) finishRecord() {
	b := binary.AppendUvarint(w.rec, uint64(len(w.events)))
	for _, ev := range w.events {
		raw, _ := json.Marshal(ev)
		b = binary.AppendUvarint(b, uint64(len(raw)))
		b = append(b, raw...)
	}
	w.rec = b
}

// journalBatch makes a batch of writes durable, in order, with one append.
func (s *Service) journalBatch(tr *tenantRouter, batch []*pendingWrite) error {
	js := s.journal
	recs := make([][]byte, len(batch))
	events := false
	for i, w := range batch {
		w.encode()
		recs[i] = w.rec
		events = events || len(w.events) > 0
	}
	js.mu.Lock()
	if err := js.log.Append(recs...); err != nil {
		js.mu.Unlock()
		return err
	}
	for _, w := range batch {
		for _, sp := range w.spans {
			js.recent[jobKey{tr.t, sp.row.ID}] = journaled{enc: w.rec[sp.start:sp.end:sp.end], row: sp.row}
		}
		for _, id := range w.deleted {
			js.recent[jobKey{tr.t, id}] = journaled{deleted: true}
		}
		js.events = append(js.events, w.events...)
	}
	js.mu.Unlock()
	if events {
		// Events wait for the checkpoint that stores them in the outbox:
		// it runs now, not at the next tick.
		select {
		case js.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// journaledJob is a job's latest state not yet checkpointed; ok is false
// when the journal holds nothing newer than the database.
func (s *Service) journaledJob(t tenant.ID, id string) (*Job, bool, error) {
	js := s.journal
	if js == nil {
		return nil, false, nil
	}
	js.mu.Lock()
	e, ok := js.recent[jobKey{t, id}]
	if !ok {
		e, ok = js.flushing[jobKey{t, id}]
	}
	js.mu.Unlock()
	switch {
	case !ok:
		return nil, false, nil
	case e.deleted:
		return nil, true, errs.NotFound("job %s not found", id)
	}
	j, _, err := decodeJob(e.enc)
	return j, true, err
}

func (s *Service) checkpointLoop(js *journalState) {
	defer close(js.done)
	every := checkpointInterval
	if s.checkpointEvery > 0 {
		every = s.checkpointEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-js.stop:
			return
		case <-tick.C:
		case <-js.kick:
		}
		if err := s.checkpoint(context.Background()); err != nil {
			s.log.Error("routing: checkpoint", "err", err)
		}
	}
}

// stopJournal ends the checkpointer and stores what is left.
func (s *Service) stopJournal(ctx context.Context) {
	js := s.journal
	if js == nil {
		return
	}
	select {
	case <-js.stop:
		return
	default:
	}
	close(js.stop)
	<-js.done
	if err := s.checkpoint(ctx); err != nil {
		s.log.Error("routing: last checkpoint", "err", err)
	}
}

// checkpoint stores everything journaled so far; callers that read the
// database (lists, a router loading) call it first.
func (s *Service) checkpoint(ctx context.Context) error {
	js := s.journal
	if js == nil {
		return nil
	}
	js.ckMu.Lock()
	defer js.ckMu.Unlock()
	js.mu.Lock()
	if len(js.recent) == 0 && len(js.events) == 0 {
		js.mu.Unlock()
		return nil
	}
	sealed, err := js.log.Rotate()
	if err != nil {
		js.mu.Unlock()
		return err
	}
	flushing, evs := js.recent, js.events
	js.flushing, js.recent, js.events = flushing, make(map[jobKey]journaled, len(flushing)), nil
	js.mu.Unlock()

	err = s.storeJournaled(context.WithoutCancel(ctx), flushing, evs, sealed)

	js.mu.Lock()
	if err != nil {
		// Kept for the next checkpoint, under anything newer.
		for k, v := range flushing {
			if _, ok := js.recent[k]; !ok {
				js.recent[k] = v
			}
		}
		js.events = append(evs, js.events...)
	}
	js.flushing = nil
	js.mu.Unlock()
	if err != nil {
		return err
	}
	return js.log.Remove(sealed)
}

// storeJournaled writes jobs' last states, deletions and events, and the
// journal mark, in one transaction.
func (s *Service) storeJournaled(ctx context.Context, entries map[jobKey]journaled, evs []event.Event, mark uint64) error {
	type tenantRows struct {
		jobs    []JobRecord
		deleted []string
	}
	byTenant := map[tenant.ID]*tenantRows{}
	for k, e := range entries {
		rows := byTenant[k.t]
		if rows == nil {
			rows = &tenantRows{}
			byTenant[k.t] = rows
		}
		if e.deleted {
			rows.deleted = append(rows.deleted, k.id)
			continue
		}
		row := e.row
		row.Doc = e.enc
		rows.jobs = append(rows.jobs, row)
	}
	return s.config.tx.InTx(ctx, func(ctx context.Context) error {
		for t, rows := range byTenant {
			// In slices, letting other goroutines run between them: a
			// checkpoint is tens of milliseconds of work, and the journal's
			// writer, which answers the router's callers, must not wait
			// for all of it.
			jobs := rows.jobs
			for len(jobs) > 0 {
				n := min(len(jobs), 64)
				if err := s.jobs.SaveRouterJobs(ctx, t, jobs[:n], nil); err != nil {
					return err
				}
				jobs = jobs[n:]
				runtime.Gosched()
			}
			if err := s.jobs.SaveRouterJobs(ctx, t, nil, rows.deleted); err != nil {
				return err
			}
		}
		if len(evs) > 0 {
			if err := s.outbox.Append(ctx, evs...); err != nil {
				return err
			}
		}
		return s.journal.marks.SetRouterJournalMark(ctx, mark)
	})
}
