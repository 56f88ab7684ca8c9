package routing

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// codecT0 is an instant with nanoseconds, in UTC as stored jobs' times are.
var codecT0 = time.Date(2026, 3, 2, 10, 30, 0, 123456789, time.UTC)

func codecJSON(t testing.TB, j *Job) []byte {
	t.Helper()
	raw, err := json.Marshal(j)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return raw
}

// codecRoundTrip encodes j, decodes it and checks that the result is j as
// JSON sees it, with j's version.
func codecRoundTrip(t *testing.T, j *Job) *Job {
	t.Helper()
	enc := appendJob(nil, j)
	got, rest, err := decodeJob(enc)
	if err != nil {
		t.Fatalf("decodeJob: %v", err)
	}
	if len(rest) != 0 {
		t.Fatalf("decodeJob left %d bytes of a single job", len(rest))
	}
	codecSame(t, j, got)
	return got
}

func codecSame(t *testing.T, want, got *Job) {
	t.Helper()
	if w, g := codecJSON(t, want), codecJSON(t, got); !bytes.Equal(w, g) {
		t.Errorf("the decoded job differs as JSON:\nwant %s\ngot  %s", w, g)
	}
	if got.Version != want.Version {
		t.Errorf("version %d, want %d", got.Version, want.Version)
	}
}

// jobFiller sets every exported field it reaches, recursively, to a value
// of its own, so that a field the codec does not carry comes back
// different. It refuses kinds it does not know: a field of a new kind must
// be taught to it and to the codec.
type jobFiller struct {
	t *testing.T
	n int // values handed out so far
	// empty leaves every collection of plain values empty but not nil;
	// collections holding collections get one element, to reach those.
	empty bool
}

var timeType = reflect.TypeFor[time.Time]()

func (f *jobFiller) fill(v reflect.Value, path string) {
	f.n++
	n := f.n
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(codecT0.Add(time.Duration(n)*time.Hour + time.Duration(n))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s#%d", path, n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Float64:
		v.SetFloat(float64(n) + 0.25)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Interface:
		// The fast paths and the JSON fallback in turn.
		vals := []any{
			fmt.Sprintf("%s#%d", path, n),
			float64(n) + 0.5,
			true,
			map[string]any{"n": float64(n), "s": path},
			[]any{float64(n), "x", false, nil},
		}
		v.Set(reflect.ValueOf(vals[n%len(vals)]))
	case reflect.Struct:
		for i := range v.NumField() {
			if sf := v.Type().Field(i); sf.IsExported() {
				f.fill(v.Field(i), path+"."+sf.Name)
			}
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), path)
		v.Set(p)
	case reflect.Slice:
		size := f.size(v.Type())
		s := reflect.MakeSlice(v.Type(), size, size)
		for i := range size {
			f.fill(s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		size := f.size(v.Type())
		m := reflect.MakeMapWithSize(v.Type(), size)
		for range size {
			k := reflect.New(v.Type().Key()).Elem()
			f.fill(k, path+".key")
			e := reflect.New(v.Type().Elem()).Elem()
			f.fill(e, fmt.Sprintf("%s[%v]", path, k))
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	default:
		f.t.Fatalf("%s is a %s, which the codec test cannot fill: teach it (and the codec)", path, v.Type())
	}
}

func (f *jobFiller) size(collection reflect.Type) int {
	switch {
	case !f.empty:
		return 2
	case holdsCollection(collection.Elem()):
		return 1
	}
	return 0
}

// holdsCollection reports whether values of t hold a slice or a map in an
// exported field, at any depth.
func holdsCollection(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Slice, reflect.Map:
		return true
	case reflect.Pointer:
		return holdsCollection(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if sf := t.Field(i); sf.IsExported() && holdsCollection(sf.Type) {
				return true
			}
		}
	}
	return false
}

// Every field a job stores survives, whatever its place in the job: set
// them all to values of their own and compare field by field (which also
// catches fields JSON does not show, like Version) and as JSON.
func TestJobCodecEveryField(t *testing.T) {
	for _, c := range []struct {
		name  string
		empty bool
	}{{"full", false}, {"empty collections", true}} {
		t.Run(c.name, func(t *testing.T) {
			var j Job
			f := &jobFiller{t: t, empty: c.empty}
			f.fill(reflect.ValueOf(&j).Elem(), "job")
			got := codecRoundTrip(t, &j)
			if !reflect.DeepEqual(&j, got) {
				t.Errorf("the decoded job differs:\nwant %+v\ngot  %+v", j, *got)
			}
		})
	}
	t.Run("zero", func(t *testing.T) {
		var j Job
		if got := codecRoundTrip(t, &j); !reflect.DeepEqual(&j, got) {
			t.Errorf("the zero job decodes as %+v", *got)
		}
	})
}

// codecOfferedJob is a job offered to a worker of a best-worker queue, its
// decision trail explained as fully as it gets.
func codecOfferedJob() *Job {
	cands := make([]Candidate, 10)
	for i := range cands {
		cands[i] = Candidate{Worker: fmt.Sprintf("agent-%03d", i+1), Score: 0.97 - float64(i)*0.043}
	}
	reasons := []string{"not available for offers", "in wrap-up", "has no voice channel", "at its concurrent offer limit", "does not meet the job's worker selectors"}
	excluded := make(map[string]string, 10)
	for i := range 10 {
		excluded[fmt.Sprintf("agent-%03d", 100+i)] = reasons[i%len(reasons)]
	}
	return &Job{
		ID: "8f14e45f-ceea-467f-a8f5-2d0c1b9e4a77", ChannelReference: "call-2a9d7c", Status: StatusQueued,
		EnqueuedAt: codecT0.Add(1500 * time.Millisecond), ChannelID: "voice", ClassificationPolicyID: "cp-support",
		QueueID: "support-en", Priority: 5,
		RequestedWorkerSelectors: []WorkerSelector{
			{Selector: Selector{Key: "lang", LabelOperator: Equal, Value: "en"}},
			{Selector: Selector{Key: "skill", LabelOperator: GreaterThanOrEqual, Value: 3.0}, ExpiresAfterSeconds: 60, Status: "active", ExpiresAt: codecT0.Add(time.Minute)},
		},
		AttachedWorkerSelectors: []WorkerSelector{{Selector: Selector{Key: "tier", LabelOperator: Equal, Value: "gold"}, Status: "active"}},
		Labels:                  map[string]any{"lang": "en", "product": "broadband", "tier": "gold", "value": 1250.0, "vip": true},
		Assignments:             map[string]*Assignment{},
		Tags:                    map[string]any{"crmCase": "CS-88213", "sentiment": -0.4},
		Notes:                   []Note{},
		MatchingMode:            MatchingMode{Kind: QueueAndMatch},
		Trail: []TrailEntry{{
			At: codecT0.Add(1600 * time.Millisecond), Kind: OfferIssued, WorkerID: "agent-001",
			OfferID: "0d5b7d8a-6a3e-4b52-9a8b-1f0c2e6d4b11", Mode: BestWorker,
			Candidates: cands, CandidateCount: 14, Excluded: excluded, ExcludedCount: 23,
		}},
		CreatedAt: codecT0,
		Version:   4,
	}
}

// codecAssignedJob is a job that was assigned, then brought to status.
func codecAssignedJob(status JobStatus) *Job {
	j := &Job{
		ID: "job-assigned-" + string(status), Status: status, EnqueuedAt: codecT0.Add(time.Second), ChannelID: "chat",
		QueueID: "billing", Priority: 1,
		RequestedWorkerSelectors: []WorkerSelector{}, AttachedWorkerSelectors: []WorkerSelector{},
		Labels: map[string]any{"lang": "nb"}, Tags: map[string]any{},
		Assignments: map[string]*Assignment{
			"as-1": {AssignmentID: "as-1", WorkerID: "agent-7", AssignedAt: codecT0.Add(9 * time.Second)},
		},
		Notes: []Note{
			{Message: "customer asked for a callback", AddedAt: codecT0.Add(30 * time.Second)},
			{Message: "no time given"},
		},
		MatchingMode:    MatchingMode{Kind: QueueAndMatch},
		Unassignments:   1,
		FiredExceptions: []string{"escalate-after-60s"},
		Trail: []TrailEntry{
			{At: codecT0.Add(2 * time.Second), Kind: OfferIssued, WorkerID: "agent-3", OfferID: "of-1", Mode: LongestIdle,
				Candidates: []Candidate{{Worker: "agent-3", Score: 0}}, CandidateCount: 1},
			{At: codecT0.Add(7 * time.Second), Kind: OfferExpired, WorkerID: "agent-3", OfferID: "of-1"},
			{At: codecT0.Add(9 * time.Second), Kind: JobAssigned, WorkerID: "agent-7", OfferID: "of-2"},
		},
		PreferredWorker: "agent-7",
		CreatedAt:       codecT0,
		Version:         9,
	}
	if status == StatusCompleted || status == StatusClosed {
		j.Assignments["as-1"].CompletedAt = codecT0.Add(5 * time.Minute)
	}
	if status == StatusClosed {
		j.Assignments["as-1"].ClosedAt = codecT0.Add(6 * time.Minute)
		j.DispositionCode = "resolved"
		j.CloseAt = codecT0.Add(6 * time.Minute)
	}
	return j
}

type codecCase struct {
	name string
	job  *Job
}

func codecJobs() []codecCase {
	long := strings.Repeat("a note longer than a one-byte length ", 10)
	return []codecCase{
		{"queued with labels of every kind", &Job{
			ID: "job-q", ChannelReference: "call-1", Status: StatusQueued, EnqueuedAt: codecT0.Add(time.Second),
			ChannelID: "voice", ClassificationPolicyID: "cp", QueueID: "sales", Priority: 3,
			RequestedWorkerSelectors: []WorkerSelector{}, AttachedWorkerSelectors: []WorkerSelector{},
			Labels: map[string]any{
				"lang": "en", "tier": 2.0, "vip": true, "trial": false, "unset": nil,
				"count": 3, "amount": json.Number("12.5"), "big": int64(1 << 40),
				"address": map[string]any{"city": "Tromsø", "zip": "9008", "<b>": "&"},
				"skills":  []any{"billing", 4.0, nil},
				"":        "",
			},
			Assignments: map[string]*Assignment{}, Tags: map[string]any{"crm": "sf-81", "score": 0.75},
			Notes: []Note{}, MatchingMode: MatchingMode{Kind: QueueAndMatch}, CreatedAt: codecT0, Version: 2,
		}},
		{"offered with an explained trail", codecOfferedJob()},
		{"assigned", codecAssignedJob(StatusAssigned)},
		{"completed", codecAssignedJob(StatusCompleted)},
		{"closed", codecAssignedJob(StatusClosed)},
		{"selectors", &Job{
			ID: "job-s", Status: StatusQueued, ChannelID: "voice", QueueID: "q", Priority: 1,
			RequestedWorkerSelectors: []WorkerSelector{
				{Selector: Selector{Key: "skill", LabelOperator: GreaterThan, Value: 3.5}, ExpiresAfterSeconds: 30, Expedite: true, Status: "active", ExpiresAt: codecT0.Add(30 * time.Second)},
				{Selector: Selector{Key: "remote", LabelOperator: Equal, Value: true}, ExpiresAfterSeconds: 0.125, Status: "expired", ExpiresAt: codecT0.Add(125 * time.Millisecond)},
				{Selector: Selector{Key: "lang", LabelOperator: NotEqual, Value: "de"}},
				{Selector: Selector{Key: "level", LabelOperator: LessThanOrEqual, Value: -2.0}, Expedite: true},
			},
			AttachedWorkerSelectors: []WorkerSelector{
				{Selector: Selector{Key: "senior", LabelOperator: Equal, Value: false}, ExpiresAfterSeconds: 90},
			},
			Labels: map[string]any{}, Assignments: map[string]*Assignment{}, Tags: map[string]any{}, Notes: []Note{},
			MatchingMode: MatchingMode{Kind: QueueAndMatch}, CreatedAt: codecT0, Version: 1,
		}},
		{"scheduled", &Job{
			ID: "job-sched", Status: StatusScheduled, ChannelID: "email", QueueID: "q",
			RequestedWorkerSelectors: []WorkerSelector{}, AttachedWorkerSelectors: []WorkerSelector{},
			Labels: map[string]any{}, Assignments: map[string]*Assignment{}, Tags: map[string]any{}, Notes: []Note{},
			ScheduledAt:  codecT0.Add(time.Hour),
			MatchingMode: MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: codecT0.Add(time.Hour)},
			CreatedAt:    codecT0, Version: 1,
		}},
		{"edges", &Job{
			ID: "Zoë/日本/\x00/\xff", Status: StatusCancelled, Priority: -100,
			EnqueuedAt:   time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
			ScheduledAt:  time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
			CloseAt:      time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			CreatedAt:    time.Unix(0, 0).UTC(),
			Labels:       map[string]any{"neg0": math.Copysign(0, -1), "max": math.MaxFloat64, "tiny": math.SmallestNonzeroFloat64, "bad": "\xff\xfe"},
			Assignments:  map[string]*Assignment{"gone": nil, "": {}},
			Notes:        []Note{{Message: long}},
			MatchingMode: MatchingMode{Kind: Suspend},
			Trail: []TrailEntry{{Kind: OfferRevoked, Candidates: []Candidate{}, Excluded: map[string]string{}},
				{Candidates: []Candidate{{Score: math.Copysign(0, -1)}, {Worker: "w", Score: -1e300}}, Excluded: map[string]string{"": ""}}},
			FiredExceptions: []string{},
			Unassignments:   math.MaxInt32,
			Version:         math.MaxInt64,
		}},
		{"zero", &Job{}},
	}
}

func TestJobCodecRealisticJobs(t *testing.T) {
	cases := codecJobs()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { codecRoundTrip(t, c.job) })
	}
	t.Run("back to back", func(t *testing.T) {
		buf := []byte("a journal record's head")
		head := len(buf)
		for _, c := range cases {
			buf = appendJob(buf, c.job)
		}
		rest := buf[head:]
		for _, c := range cases {
			var got *Job
			var err error
			if got, rest, err = decodeJob(rest); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			codecSame(t, c.job, got)
		}
		if len(rest) != 0 {
			t.Errorf("%d bytes left after the last job", len(rest))
		}
	})
}

// The decoded job owns its strings: whoever holds the input may reuse it.
func TestJobCodecDoesNotAliasInput(t *testing.T) {
	j := codecOfferedJob()
	enc := appendJob(nil, j)
	got, _, err := decodeJob(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := codecJSON(t, got)
	clear(enc)
	if after := codecJSON(t, got); !bytes.Equal(after, want) {
		t.Errorf("overwriting the input changed the decoded job:\n%s", after)
	}
}

func TestJobCodecTruncated(t *testing.T) {
	for _, c := range codecJobs() {
		enc := appendJob(nil, c.job)
		for i := range len(enc) {
			prefix := bytes.Clone(enc[:i])
			if _, _, err := decodeJob(prefix); !errors.Is(err, errCorruptJob) {
				t.Fatalf("%s: %d of %d bytes: error %v, want errCorruptJob", c.name, i, len(enc), err)
			}
			if i < jobHeader {
				continue
			}
			// The header's length refuses a prefix at once; with the length
			// fitted to the prefix, the body's reads must find the end.
			binary.LittleEndian.PutUint32(prefix[1:jobHeader], uint32(i-jobHeader))
			if _, _, err := decodeJob(prefix); !errors.Is(err, errCorruptJob) {
				t.Fatalf("%s: %d of %d bytes, length fitted: error %v, want errCorruptJob", c.name, i, len(enc), err)
			}
		}
	}
}

// codecSplice returns enc with enc[i] replaced by with, its header's
// length fitted.
func codecSplice(enc []byte, i int, with ...byte) []byte {
	out := append(append(bytes.Clone(enc[:i]), with...), enc[i+1:]...)
	binary.LittleEndian.PutUint32(out[1:jobHeader], uint32(len(out)-jobHeader))
	return out
}

// codecDiff is where the encodings of two jobs that differ in one place
// first differ.
func codecDiff(t *testing.T, a, b *Job) ([]byte, int) {
	t.Helper()
	ea, eb := appendJob(nil, a), appendJob(nil, b)
	for i := range min(len(ea), len(eb)) {
		if ea[i] != eb[i] {
			return ea, i
		}
	}
	t.Fatal("the encodings do not differ")
	return nil, 0
}

func TestJobCodecMalformed(t *testing.T) {
	valid := appendJob(nil, codecOfferedJob())
	bumped := bytes.Clone(valid)
	bumped[1]++
	labels, labelsAt := codecDiff(t, &Job{}, &Job{Labels: map[string]any{}})
	tag, tagAt := codecDiff(t, &Job{Labels: map[string]any{"k": false}}, &Job{Labels: map[string]any{"k": true}})
	expedite, expediteAt := codecDiff(t, &Job{RequestedWorkerSelectors: []WorkerSelector{{}}}, &Job{RequestedWorkerSelectors: []WorkerSelector{{Expedite: true}}})
	enqueued, enqueuedAt := codecDiff(t, &Job{EnqueuedAt: time.Unix(0, 5).UTC()}, &Job{})
	fallback := appendJob(nil, &Job{Labels: map[string]any{"k": []any{}}})
	fallbackAt := bytes.Index(fallback, []byte("[]"))
	cases := []struct {
		name string
		in   []byte
	}{
		{"nothing", nil},
		{"format 0", append([]byte{0}, valid[1:]...)},
		{"format 2", append([]byte{2}, valid[1:]...)},
		{"a length beyond the input", bumped},
		{"a byte after the body", codecSplice(valid, len(valid)-1, valid[len(valid)-1], 0)},
		{"an overlong uvarint", codecSplice(valid, jobHeader, bytes.Repeat([]byte{0xff}, 11)...)},
		{"a huge map", codecSplice(labels, labelsAt, binary.AppendUvarint(nil, 1<<62)...)},
		{"a map as long as the input", codecSplice(labels, labelsAt, byte(len(labels)))},
		{"an unknown value tag", codecSplice(tag, tagAt, 99)},
		{"a bool of 2", codecSplice(expedite, expediteAt, 2)},
		{"a second of nanoseconds", codecSplice(enqueued, enqueuedAt, binary.AppendUvarint(nil, 1e9+1)...)},
		{"a value that is not JSON", codecSplice(fallback, fallbackAt+1, '}')},
	}
	for _, c := range cases {
		if j, _, err := decodeJob(c.in); !errors.Is(err, errCorruptJob) {
			t.Errorf("%s: job %v, error %v; want errCorruptJob", c.name, j, err)
		}
	}
}

// The element sizes decodeJob assumes when it checks lengths must not
// exceed what the smallest element takes, or it would refuse valid input.
func TestJobCodecMinimumSizes(t *testing.T) {
	cases := []struct {
		name      string
		min       int
		none, one *Job
	}{
		{"worker selector", minSelectorSize,
			&Job{RequestedWorkerSelectors: []WorkerSelector{}}, &Job{RequestedWorkerSelectors: []WorkerSelector{{}}}},
		{"label", minAnyEntrySize, &Job{Labels: map[string]any{}}, &Job{Labels: map[string]any{"": nil}}},
		{"assignment", minAssignmentSize,
			&Job{Assignments: map[string]*Assignment{}}, &Job{Assignments: map[string]*Assignment{"": nil}}},
		{"note", minNoteSize, &Job{Notes: []Note{}}, &Job{Notes: []Note{{}}}},
		{"fired exception", minStringSize, &Job{FiredExceptions: []string{}}, &Job{FiredExceptions: []string{""}}},
		{"trail entry", minTrailSize, &Job{Trail: []TrailEntry{}}, &Job{Trail: []TrailEntry{{}}}},
		{"candidate", minCandidateSize,
			&Job{Trail: []TrailEntry{{Candidates: []Candidate{}}}}, &Job{Trail: []TrailEntry{{Candidates: []Candidate{{}}}}}},
		{"excluded worker", minExcludedSize,
			&Job{Trail: []TrailEntry{{Excluded: map[string]string{}}}}, &Job{Trail: []TrailEntry{{Excluded: map[string]string{"": ""}}}}},
	}
	for _, c := range cases {
		if size := len(appendJob(nil, c.one)) - len(appendJob(nil, c.none)); size < c.min {
			t.Errorf("the smallest %s takes %d bytes; decodeJob assumes at least %d", c.name, size, c.min)
		}
		codecRoundTrip(t, c.one)
	}
}

func FuzzDecodeJob(f *testing.F) {
	for _, c := range codecJobs() {
		f.Add(appendJob(nil, c.job))
	}
	f.Add(appendJob(appendJob(nil, codecOfferedJob()), codecAssignedJob(StatusClosed)))
	f.Fuzz(func(t *testing.T, in []byte) {
		j, rest, err := decodeJob(in)
		if err != nil {
			if !errors.Is(err, errCorruptJob) {
				t.Fatalf("error %v does not wrap errCorruptJob", err)
			}
			return
		}
		if len(rest) > len(in) || !bytes.Equal(rest, in[len(in)-len(rest):]) {
			t.Fatalf("the rest is not the input's tail")
		}
		j2, rest2, err := decodeJob(appendJob(nil, j))
		if err != nil || len(rest2) != 0 {
			t.Fatalf("a decoded job re-encodes unreadably: %v, %d bytes left", err, len(rest2))
		}
		// Fuzzed floats and times may be NaN or beyond year 9999, which
		// JSON refuses: then it must refuse both.
		a, errA := json.Marshal(j)
		b, errB := json.Marshal(j2)
		if (errA == nil) != (errB == nil) || !bytes.Equal(a, b) {
			t.Fatalf("re-encoding changed the job:\n%s (%v)\n%s (%v)", a, errA, b, errB)
		}
		if j.Version != j2.Version {
			t.Fatalf("version %d became %d", j.Version, j2.Version)
		}
	})
}

func BenchmarkJobCodec(b *testing.B) {
	j := codecOfferedJob()
	enc := appendJob(nil, j)
	raw := codecJSON(b, j)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 2*len(enc)) // a journal record's buffer
		for b.Loop() {
			buf = appendJob(buf[:0], j)
		}
		b.ReportMetric(float64(len(enc)), "B/job")
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := decodeJob(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(j); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(raw)), "B/job")
	})
	b.Run("json-unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out Job
			if err := json.Unmarshal(raw, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
