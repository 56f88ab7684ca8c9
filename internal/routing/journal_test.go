package routing_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Jakarta, for TestJobTimesAreUTCFromMemoryAndJournal

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/journal"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/store"
	"github.com/switchboard-cc/switchboard/internal/store/storetest"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// journaledService is a router service committing to the journal in dir
// that checkpoints only when a caller needs it, as if the process could
// die at any moment between checkpoints.
func journaledService(t *testing.T, st *store.Store, dir string, events bool) (*routing.Service, *journal.Log) {
	t.Helper()
	s := routing.NewService(routing.NewConfig(st, st), st, st, slog.New(slog.DiscardHandler))
	s.SetEventFilter(func(context.Context, tenant.ID, string, *routing.Job) bool { return events })
	routing.SetCheckpointEvery(s, -1)
	log, err := journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	if err := s.UseJournal(context.Background(), log, st); err != nil {
		t.Fatal(err)
	}
	return s, log
}

func offered(t *testing.T, s *routing.Service, ctx context.Context, job string) (worker, offer string) {
	t.Helper()
	j, err := s.GetJob(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range j.Trail {
		if e.Kind == routing.OfferIssued {
			worker, offer = e.WorkerID, e.OfferID
		}
	}
	if offer == "" {
		t.Fatalf("%s was not offered (%s)", job, j.Status)
	}
	return worker, offer
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The router's changes are durable once journaled: a process that dies
// before its checkpoint loses none of them, and the next one stores them
// before any router loads.
func TestJournalRecoversWhatWasNotCheckpointed(t *testing.T) {
	st := storetest.SQLite(t)
	dir := t.TempDir()
	ctx := tenant.With(context.Background(), "acme")
	a, _ := journaledService(t, st, dir, true)
	_, _, err := a.Upsert(ctx, routing.KindDistributionPolicy, "dp", map[string]any{"offerExpiresAfterSeconds": 600.0, "mode": map[string]any{"kind": "longestIdle"}}, 0)
	must(t, err)
	_, _, err = a.Upsert(ctx, routing.KindQueue, "q", map[string]any{"distributionPolicyId": "dp"}, 0)
	must(t, err)
	for _, w := range []string{"w1", "w2"} {
		_, _, err = a.Upsert(ctx, routing.KindWorker, w, map[string]any{"capacity": 1.0, "availableForOffers": true, "queues": []any{"q"},
			"channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 1.0}}}, 0)
		must(t, err)
	}
	job := func(id string) {
		_, _, err := a.UpsertJob(ctx, id, map[string]any{"channelId": "chat", "queueId": "q", "labels": map[string]any{"tier": "gold", "n": 7.0}}, 0)
		must(t, err)
	}
	// closed: offered, accepted, completed, closed (its worker is free again)
	job("closed")
	w, o := offered(t, a, ctx, "closed")
	aid, _, err := a.AcceptOffer(ctx, w, o)
	must(t, err)
	must(t, a.CompleteJob(ctx, "closed", aid, "done"))
	must(t, a.CloseJob(ctx, "closed", aid, "resolved", "", time.Time{}))
	// assigned: held by its worker
	job("assigned")
	holder, o := offered(t, a, ctx, "assigned")
	_, _, err = a.AcceptOffer(ctx, holder, o)
	must(t, err)
	// deleted: cancelled, then deleted
	job("deleted")
	must(t, a.CancelJob(ctx, "deleted", "", "gone"))
	must(t, a.DeleteJob(ctx, "deleted"))
	// queued: the other worker is offered it and does not answer
	job("queued")

	// Nothing reached the database yet; the service answers from the journal.
	if _, err := st.RouterJob(ctx, "acme", "closed"); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("the closed job was stored before any checkpoint: %v", err)
	}
	if j, err := a.GetJob(ctx, "closed"); err != nil || j.Status != routing.StatusClosed {
		t.Fatalf("closed job from the journal: %v %v", j, err)
	}
	if _, err := a.GetJob(ctx, "deleted"); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("deleted job: %v", err)
	}

	// The process dies in the middle of its next write.
	segs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	slices.Sort(segs)
	f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	_, _ = f.Write([]byte{200, 1, 0, 0, 9, 9}) // half a record
	f.Close()

	b, _ := journaledService(t, st, dir, true)
	want := map[string]routing.JobStatus{"closed": routing.StatusClosed, "assigned": routing.StatusAssigned, "queued": routing.StatusQueued}
	for id, status := range want {
		rec, err := st.RouterJob(ctx, "acme", id)
		if err != nil || rec.Status != string(status) {
			t.Fatalf("%s stored after recovery: %+v %v", id, rec.Status, err)
		}
	}
	if _, err := st.RouterJob(ctx, "acme", "deleted"); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("the deleted job is stored: %v", err)
	}
	closed, err := b.GetJob(ctx, "closed")
	must(t, err)
	if closed.Labels["tier"] != "gold" || closed.Labels["n"] != 7.0 || closed.DispositionCode != "resolved" || len(closed.Assignments) != 1 {
		t.Fatalf("closed job after recovery: %+v", closed)
	}
	// The new process's router holds the assignment and its capacity.
	held, err := b.GetJob(ctx, "assigned")
	must(t, err)
	for _, as := range held.Assignments {
		if as.WorkerID != holder {
			t.Fatalf("assigned to %s after recovery, want %s", as.WorkerID, holder)
		}
	}
	e, err := b.Get(ctx, routing.KindWorker, holder)
	must(t, err)
	var view struct {
		LoadRatio float64 `json:"loadRatio"`
	}
	must(t, json.Unmarshal(e.Doc, &view))
	if view.LoadRatio != 1 {
		t.Fatalf("%s has load %v after recovery though it holds a job", holder, view.LoadRatio)
	}
	jobs, err := b.ListJobs(ctx, routing.JobFilter{}, "", 10)
	must(t, err)
	if len(jobs) != 3 {
		t.Fatalf("listed %d jobs after recovery, want 3", len(jobs))
	}
	// The events the first process raised reach the outbox, once.
	entries, err := st.ClaimOutbox(ctx, time.Now(), time.Minute, 1000)
	must(t, err)
	kinds := map[string]int{}
	for _, e := range entries {
		kinds[e.Event.Type]++
	}
	for _, k := range []string{"RouterJobReceived", "RouterWorkerOfferAccepted", "RouterJobClosed", "RouterJobCancelled"} {
		if kinds["Microsoft.Communication."+k] == 0 {
			t.Errorf("no %s event in the outbox after recovery: %v", k, kinds)
		}
	}
	if kinds["Microsoft.Communication.RouterJobReceived"] != 4 {
		t.Errorf("%d RouterJobReceived events, want 4", kinds["Microsoft.Communication.RouterJobReceived"])
	}
	// Only the new process's segment is left.
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.log")); len(segs) != 1 {
		t.Fatalf("segments after recovery: %v", segs)
	}
	// A third start finds nothing to replay: the mark says it is stored.
	c, _ := journaledService(t, st, dir, true)
	// (b's own writes since its start may be there too, not any twice.)
	again, err := st.ClaimOutbox(ctx, time.Now().Add(2*time.Minute), time.Minute, 1000)
	must(t, err)
	seen := map[string]bool{}
	for _, e := range again {
		if seen[e.Event.ID] {
			t.Fatalf("event %s (%s) is in the outbox twice", e.Event.ID, e.Event.Type)
		}
		seen[e.Event.ID] = true
	}
	for _, e := range entries {
		if !seen[e.Event.ID] {
			t.Fatalf("event %s (%s) left the outbox", e.Event.ID, e.Event.Type)
		}
	}
	if j, err := c.GetJob(ctx, "queued"); err != nil || j.Status != routing.StatusQueued {
		t.Fatalf("third start: %v %v", j, err)
	}
	// Once the stored ids are read, a finished job's id is still known to
	// exist: a patch of it is no creation.
	switchboardtest.Eventually(t, 10*time.Second, func() error {
		if !routing.JobIDsKnown(c, ctx) {
			return errors.New("job ids not read yet")
		}
		return nil
	})
	if _, created, err := c.UpsertJob(ctx, "closed", map[string]any{"labels": map[string]any{"tier": "silver"}}, 0); err != nil || created {
		t.Fatalf("patching the closed job: created=%v %v", created, err)
	}
	if _, created, err := c.UpsertJob(ctx, "brand-new", map[string]any{"channelId": "chat", "queueId": "q"}, 0); err != nil || !created {
		t.Fatalf("a new job: created=%v %v", created, err)
	}
}

// flakyJournal fails its appends while fail is set (a full disk, say).
type flakyJournal struct {
	*journal.Log
	fail atomic.Bool
}

func (f *flakyJournal) Append(records ...[]byte) error {
	if f.fail.Load() {
		return errors.New("no space left on device")
	}
	return f.Log.Append(records...)
}

// A call whose changes cannot be journaled fails, and none of them stays:
// the router reloads from what is durable, and works on.
func TestJournalWriteFailureFailsTheCallAndReloads(t *testing.T) {
	st := storetest.SQLite(t)
	s := routing.NewService(routing.NewConfig(st, st), st, st, slog.New(slog.DiscardHandler))
	s.SetEventFilter(func(context.Context, tenant.ID, string, *routing.Job) bool { return false })
	routing.SetCheckpointEvery(s, -1)
	log, err := journal.Open(t.TempDir())
	must(t, err)
	t.Cleanup(func() { log.Close() })
	j := &flakyJournal{Log: log}
	must(t, s.UseJournal(context.Background(), j, st))
	ctx := tenant.With(context.Background(), "acme")
	_, _, err = s.Upsert(ctx, routing.KindDistributionPolicy, "dp", map[string]any{"offerExpiresAfterSeconds": 600.0, "mode": map[string]any{"kind": "longestIdle"}}, 0)
	must(t, err)
	_, _, err = s.Upsert(ctx, routing.KindQueue, "q", map[string]any{"distributionPolicyId": "dp"}, 0)
	must(t, err)
	_, _, err = s.Upsert(ctx, routing.KindWorker, "w", map[string]any{"capacity": 1.0, "availableForOffers": true, "queues": []any{"q"},
		"channels": []any{map[string]any{"channelId": "chat", "capacityCostPerJob": 1.0}}}, 0)
	must(t, err)
	_, _, err = s.UpsertJob(ctx, "kept", map[string]any{"channelId": "chat", "queueId": "q"}, 0)
	must(t, err)

	j.fail.Store(true)
	if _, _, err := s.UpsertJob(ctx, "lost", map[string]any{"channelId": "chat", "queueId": "q"}, 0); err == nil {
		t.Fatal("a creation that could not be journaled succeeded")
	}
	// The reload offers the queued job again: while that cannot be
	// journaled either, the router stays unloaded and says so.
	if _, err := s.GetJob(ctx, "kept"); err == nil {
		t.Fatal("the router loaded though the offers it makes could not be journaled")
	}
	j.fail.Store(false)

	if _, err := s.GetJob(ctx, "lost"); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("the failed creation is visible: %v", err)
	}
	if kept, err := s.GetJob(ctx, "kept"); err != nil || kept.Status != routing.StatusQueued {
		t.Fatalf("the earlier job after the reload: %v %v", kept, err)
	}
	if _, created, err := s.UpsertJob(ctx, "lost", map[string]any{"channelId": "chat", "queueId": "q"}, 0); err != nil || !created {
		t.Fatalf("creating it again: created=%v %v", created, err)
	}
}

// serviceWithQueue is a journaled service whose tenant has queue q and no
// worker.
func serviceWithQueue(t *testing.T) (*routing.Service, context.Context) {
	t.Helper()
	ctx := tenant.With(context.Background(), "acme")
	s, _ := journaledService(t, storetest.SQLite(t), t.TempDir(), false)
	_, _, err := s.Upsert(ctx, routing.KindDistributionPolicy, "dp", map[string]any{"offerExpiresAfterSeconds": 60.0, "mode": map[string]any{"kind": "longestIdle"}}, 0)
	must(t, err)
	_, _, err = s.Upsert(ctx, routing.KindQueue, "q", map[string]any{"distributionPolicyId": "dp"}, 0)
	must(t, err)
	return s, ctx
}

// A read of a job the journal holds answers from the journal: it does not
// wait while the router runs a batch.
func TestJournaledReadDoesNotWaitForTheRouter(t *testing.T) {
	s, ctx := serviceWithQueue(t)
	_, _, err := s.UpsertJob(ctx, "j1", map[string]any{"channelId": "chat", "queueId": "q", "priority": 3.0}, 0)
	must(t, err)
	release, err := routing.HoldRouter(s, ctx)
	must(t, err)
	defer release()
	got := make(chan *routing.Job, 1)
	go func() {
		j, err := s.GetJob(ctx, "j1")
		if err != nil {
			t.Error(err)
		}
		got <- j
	}()
	select {
	case j := <-got:
		if j == nil || j.Priority != 3 || j.Version != 1 {
			t.Fatalf("the journaled job: %+v", j)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GetJob waited for the router's lock")
	}
}

// A job's times are in UTC whether read from the router's memory or from
// the journal, whatever the host's zone: the same document either way. The
// test runs itself again in a process whose zone is Asia/Jakarta (the zone
// is read once, at start).
func TestJobTimesAreUTCFromMemoryAndJournal(t *testing.T) {
	if os.Getenv("SB_TEST_ZONE_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestJobTimesAreUTCFromMemoryAndJournal$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SB_TEST_ZONE_CHILD=1", "TZ=Asia/Jakarta")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	if _, off := time.Now().Zone(); off != 7*3600 {
		t.Fatalf("the child's zone is %d s from UTC, not Asia/Jakarta's", off)
	}
	s, ctx := serviceWithQueue(t)
	_, _, err := s.UpsertJob(ctx, "j1", map[string]any{"channelId": "chat", "queueId": "q"}, 0)
	must(t, err)
	fromJournal, err := s.GetJob(ctx, "j1")
	must(t, err)
	// A list checkpoints: the next read finds the queued job in memory.
	_, err = s.ListJobs(ctx, routing.JobFilter{}, "", 10)
	must(t, err)
	fromMemory, err := s.GetJob(ctx, "j1")
	must(t, err)
	for _, j := range []*routing.Job{fromJournal, fromMemory} {
		if j.EnqueuedAt.Location() != time.UTC || j.CreatedAt.Location() != time.UTC {
			t.Fatalf("times not in UTC: enqueued %v, created %v", j.EnqueuedAt, j.CreatedAt)
		}
	}
	a, _ := json.Marshal(fromJournal)
	b, _ := json.Marshal(fromMemory)
	if string(a) != string(b) {
		t.Fatalf("the journal's job\n%s\nthe router's\n%s", a, b)
	}
}
