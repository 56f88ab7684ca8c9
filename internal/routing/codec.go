package routing

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// The binary form of a Job, for the journal: every change of a job is
// encoded while the tenant's lock is held, so encoding has to be cheaper
// than encoding/json by a wide margin, and decoding (recovery, checkpoints)
// cheap enough not to matter.
//
// An encoding is a format byte, the body's length as a little-endian
// uint32, and the body: Job's fields in declaration order, nested structs
// inline. Within the body
//
//   - strings are a uvarint length and the bytes;
//   - ints are varints; floats are their 8 IEEE bits, little-endian, so
//     that every float64 (NaN payloads, -0) comes back as it was;
//   - times are a uvarint of nanoseconds+1 (0: the zero time) and, for a
//     non-zero time, a varint of Unix seconds; no zone: they decode in
//     UTC, which is what the router stamps;
//   - slices and maps are a uvarint of length+1, 0 meaning nil: JSON shows
//     a nil map or slice as null and an empty one as {} or [];
//   - map entries come in Go's iteration order, so equal jobs may encode
//     differently (sorting would cost more than the journal gains);
//   - bools and presence marks are one byte, 0 or 1;
//   - an any is a tag byte, then the payload its tag calls for.

// errCorruptJob marks input that decodeJob cannot read as a job.
var errCorruptJob = errors.New("routing: corrupt encoded job")

// jobFormat leads every encoding. Change it whenever the layout changes,
// and keep reading the old layout for as long as journals may hold it.
const jobFormat byte = 1

// jobHeader is the format byte and the body's length. The length is fixed
// width so that appendJob can fill it in after the body without moving the
// body; it lets decodeJob copy the body into a string once and cut every
// string of the job from it, one allocation instead of one per string (a
// string kept from the job keeps that copy alive, about the job's size).
const jobHeader = 5

// Tags of any values. Labels, tags and selector values come from JSON, so
// nearly all are one of the first five; the rest go through JSON and come
// back as a JSON document would (numbers as float64: an int64 beyond 2^53
// or a json.Number like "1.0" comes back as its float64).
const (
	anyNil byte = iota
	anyFalse
	anyTrue
	anyString
	anyFloat
	anyJSON
)

// The fewest bytes an element of each collection can take. decodeJob
// checks a collection's length against the input left before allocating,
// so that a corrupt length cannot ask for more memory than a small
// multiple of the input's size. They must not exceed the true minimum, or valid input
// would be refused (TestJobCodecMinimumSizes checks them).
const (
	minStringSize     = 1  // length
	minAnyEntrySize   = 2  // key, tag
	minSelectorSize   = 14 // key, operator, value tag, float, bool, status, time
	minAssignmentSize = 2  // key, presence
	minNoteSize       = 2  // message, time
	minTrailSize      = 10 // ten fields of at least a byte each
	minCandidateSize  = 9  // worker, score
	minExcludedSize   = 2  // key, reason
)

// appendJob appends j's encoding to b.
func appendJob(b []byte, j *Job) []byte {
	b = append(b, jobFormat, 0, 0, 0, 0)
	start := len(b)
	b = appendStr(b, j.ID)
	b = appendStr(b, j.ChannelReference)
	b = appendStr(b, string(j.Status))
	b = appendTime(b, j.EnqueuedAt)
	b = appendStr(b, j.ChannelID)
	b = appendStr(b, j.ClassificationPolicyID)
	b = appendStr(b, j.QueueID)
	b = binary.AppendVarint(b, int64(j.Priority))
	b = appendStr(b, j.DispositionCode)
	b = appendSelectors(b, j.RequestedWorkerSelectors)
	b = appendSelectors(b, j.AttachedWorkerSelectors)
	b = appendAnyMap(b, j.Labels)
	b = appendCount(b, len(j.Assignments), j.Assignments == nil)
	for id, a := range j.Assignments {
		b = appendStr(b, id)
		if a == nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = appendStr(b, a.AssignmentID)
		b = appendStr(b, a.WorkerID)
		b = appendTime(b, a.AssignedAt)
		b = appendTime(b, a.CompletedAt)
		b = appendTime(b, a.ClosedAt)
	}
	b = appendAnyMap(b, j.Tags)
	b = appendCount(b, len(j.Notes), j.Notes == nil)
	for i := range j.Notes {
		b = appendStr(b, j.Notes[i].Message)
		b = appendTime(b, j.Notes[i].AddedAt)
	}
	b = appendTime(b, j.ScheduledAt)
	b = appendStr(b, j.MatchingMode.Kind)
	b = appendTime(b, j.MatchingMode.ScheduleAt)
	b = binary.AppendVarint(b, int64(j.Unassignments))
	b = appendTime(b, j.CloseAt)
	b = appendCount(b, len(j.FiredExceptions), j.FiredExceptions == nil)
	for _, s := range j.FiredExceptions {
		b = appendStr(b, s)
	}
	b = appendCount(b, len(j.Trail), j.Trail == nil)
	for i := range j.Trail {
		b = appendTrailEntry(b, &j.Trail[i])
	}
	b = appendStr(b, j.PreferredWorker)
	b = appendTime(b, j.CreatedAt)
	b = binary.AppendVarint(b, j.Version)
	n := len(b) - start
	if uint64(n) > math.MaxUint32 {
		// Unreachable for a job the API accepts; refusing beats writing a
		// length that reads back as something else.
		panic(fmt.Sprintf("routing: job %s encodes to %d bytes, more than the format allows", j.ID, n))
	}
	binary.LittleEndian.PutUint32(b[start-4:start], uint32(n))
	return b
}

func appendSelectors(b []byte, sels []WorkerSelector) []byte {
	b = appendCount(b, len(sels), sels == nil)
	for i := range sels {
		s := &sels[i]
		b = appendStr(b, s.Key)
		b = appendStr(b, string(s.LabelOperator))
		b = appendAny(b, s.Value)
		b = appendFloat(b, s.ExpiresAfterSeconds)
		b = appendBool(b, s.Expedite)
		b = appendStr(b, s.Status)
		b = appendTime(b, s.ExpiresAt)
	}
	return b
}

func appendTrailEntry(b []byte, e *TrailEntry) []byte {
	b = appendTime(b, e.At)
	b = appendStr(b, e.Kind)
	b = appendStr(b, e.WorkerID)
	b = appendStr(b, e.OfferID)
	b = appendStr(b, string(e.Mode))
	b = appendCount(b, len(e.Candidates), e.Candidates == nil)
	for _, c := range e.Candidates {
		b = appendStr(b, c.Worker)
		b = appendFloat(b, c.Score)
	}
	b = binary.AppendVarint(b, int64(e.CandidateCount))
	b = appendCount(b, len(e.Excluded), e.Excluded == nil)
	for id, reason := range e.Excluded {
		b = appendStr(b, id)
		b = appendStr(b, reason)
	}
	b = binary.AppendVarint(b, int64(e.ExcludedCount))
	b = appendStr(b, e.Note)
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendCount writes a collection's length so that nil stays apart from
// empty.
func appendCount(b []byte, n int, isNil bool) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(t.Nanosecond())+1)
	return binary.AppendVarint(b, t.Unix())
}

func appendFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendAny(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, anyNil)
	case string:
		return appendStr(append(b, anyString), x)
	case float64:
		return appendFloat(append(b, anyFloat), x)
	case bool:
		if x {
			return append(b, anyTrue)
		}
		return append(b, anyFalse)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		// A value JSON cannot hold (a channel, an infinity inside a map)
		// makes json.Marshal of the whole job fail as well, so such a job
		// was never storable; the journal keeps null rather than fail a
		// write that has no way to report it.
		return append(b, anyNil)
	}
	return appendStr(append(b, anyJSON), string(raw))
}

func appendAnyMap(b []byte, m map[string]any) []byte {
	b = appendCount(b, len(m), m == nil)
	for k, v := range m {
		b = appendStr(b, k)
		b = appendAny(b, v)
	}
	return b
}

// decodeJob reads one job from the front of b and returns it with the rest
// of b. The job's strings share one copy of its encoding, never b itself.
func decodeJob(b []byte) (*Job, []byte, error) {
	if len(b) < jobHeader {
		return nil, nil, fmt.Errorf("%w: %d bytes, shorter than a header", errCorruptJob, len(b))
	}
	if b[0] != jobFormat {
		return nil, nil, fmt.Errorf("%w: unknown format %d", errCorruptJob, b[0])
	}
	n := binary.LittleEndian.Uint32(b[1:jobHeader])
	if uint64(n) > uint64(len(b)-jobHeader) {
		return nil, nil, fmt.Errorf("%w: a body of %d bytes, %d given", errCorruptJob, n, len(b)-jobHeader)
	}
	end := jobHeader + int(n)
	body := b[jobHeader:end]
	d := jobDecoder{b: body, s: string(body)}
	j := d.job()
	if d.err == nil && d.off != len(body) {
		d.fail("bytes after the job")
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	return j, b[end:], nil
}

// jobDecoder reads a body. Its first error sticks: every read after it
// returns a zero value (and nil for collections, whose loops then end), so
// the field-by-field code checks once, at the end.
type jobDecoder struct {
	b   []byte // the body
	s   string // the same bytes, for cutting strings from
	off int
	err error
}

func (d *jobDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at body byte %d", errCorruptJob, what, d.off)
	}
	d.off = len(d.b)
}

func (d *jobDecoder) job() *Job {
	j := &Job{}
	j.ID = d.str()
	j.ChannelReference = d.str()
	j.Status = JobStatus(d.str())
	j.EnqueuedAt = d.time()
	j.ChannelID = d.str()
	j.ClassificationPolicyID = d.str()
	j.QueueID = d.str()
	j.Priority = d.int()
	j.DispositionCode = d.str()
	j.RequestedWorkerSelectors = d.selectors()
	j.AttachedWorkerSelectors = d.selectors()
	j.Labels = d.anyMap()
	if n, isNil := d.count(minAssignmentSize); !isNil {
		j.Assignments = make(map[string]*Assignment, n)
		for range n {
			id := d.str()
			if !d.bool() {
				j.Assignments[id] = nil
				continue
			}
			a := &Assignment{}
			a.AssignmentID = d.str()
			a.WorkerID = d.str()
			a.AssignedAt = d.time()
			a.CompletedAt = d.time()
			a.ClosedAt = d.time()
			j.Assignments[id] = a
		}
	}
	j.Tags = d.anyMap()
	if n, isNil := d.count(minNoteSize); !isNil {
		j.Notes = make([]Note, n)
		for i := range j.Notes {
			j.Notes[i].Message = d.str()
			j.Notes[i].AddedAt = d.time()
		}
	}
	j.ScheduledAt = d.time()
	j.MatchingMode.Kind = d.str()
	j.MatchingMode.ScheduleAt = d.time()
	j.Unassignments = d.int()
	j.CloseAt = d.time()
	if n, isNil := d.count(minStringSize); !isNil {
		j.FiredExceptions = make([]string, n)
		for i := range j.FiredExceptions {
			j.FiredExceptions[i] = d.str()
		}
	}
	if n, isNil := d.count(minTrailSize); !isNil {
		j.Trail = make([]TrailEntry, n)
		for i := range j.Trail {
			d.trailEntry(&j.Trail[i])
		}
	}
	j.PreferredWorker = d.str()
	j.CreatedAt = d.time()
	j.Version = d.varint()
	return j
}

func (d *jobDecoder) selectors() []WorkerSelector {
	n, isNil := d.count(minSelectorSize)
	if isNil {
		return nil
	}
	sels := make([]WorkerSelector, n)
	for i := range sels {
		s := &sels[i]
		s.Key = d.str()
		s.LabelOperator = LabelOperator(d.str())
		s.Value = d.any()
		s.ExpiresAfterSeconds = d.float()
		s.Expedite = d.bool()
		s.Status = d.str()
		s.ExpiresAt = d.time()
	}
	return sels
}

func (d *jobDecoder) trailEntry(e *TrailEntry) {
	e.At = d.time()
	e.Kind = d.str()
	e.WorkerID = d.str()
	e.OfferID = d.str()
	e.Mode = Mode(d.str())
	if n, isNil := d.count(minCandidateSize); !isNil {
		e.Candidates = make([]Candidate, n)
		for i := range e.Candidates {
			e.Candidates[i].Worker = d.str()
			e.Candidates[i].Score = d.float()
		}
	}
	e.CandidateCount = d.int()
	if n, isNil := d.count(minExcludedSize); !isNil {
		e.Excluded = make(map[string]string, n)
		for range n {
			id := d.str()
			e.Excluded[id] = d.str()
		}
	}
	e.ExcludedCount = d.int()
	e.Note = d.str()
}

func (d *jobDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	// Most numbers read are short lengths: one byte, no call.
	if d.off < len(d.b) && d.b[d.off] < 0x80 {
		v := d.b[d.off]
		d.off++
		return uint64(v)
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.off += n
	return v
}

func (d *jobDecoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

// int reads a varint into an int, refusing what a 32-bit int cannot hold
// rather than wrapping it.
func (d *jobDecoder) int() int {
	v := d.varint()
	if int64(int(v)) != v {
		d.fail("integer out of range")
		return 0
	}
	return int(v)
}

// count reads a collection's length (isNil for a nil one), refusing one
// that the input left could not hold at minSize bytes an element.
func (d *jobDecoder) count(minSize int) (n int, isNil bool) {
	v := d.uvarint()
	if v == 0 {
		return 0, true
	}
	if v-1 > uint64((len(d.b)-d.off)/minSize) {
		d.fail("a length beyond the input")
		return 0, true
	}
	return int(v - 1), false
}

// bytes returns the next length-prefixed bytes, aliasing the body.
func (d *jobDecoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.off) {
		d.fail("a string beyond the input")
		return nil
	}
	p := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return p
}

func (d *jobDecoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.off) {
		d.fail("a string beyond the input")
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *jobDecoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("truncated")
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *jobDecoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("a bool neither 0 nor 1")
	return false
}

func (d *jobDecoder) float() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b)-d.off < 8 {
		d.fail("truncated float")
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off:]))
	d.off += 8
	return f
}

func (d *jobDecoder) time() time.Time {
	ns := d.uvarint()
	if ns == 0 {
		return time.Time{}
	}
	if ns > 1e9 {
		d.fail("nanoseconds beyond a second")
		return time.Time{}
	}
	sec := d.varint()
	if d.err != nil {
		return time.Time{}
	}
	return time.Unix(sec, int64(ns-1)).UTC()
}

func (d *jobDecoder) any() any {
	switch d.byte() {
	case anyNil:
		return nil
	case anyFalse:
		return false
	case anyTrue:
		return true
	case anyString:
		return d.str()
	case anyFloat:
		return d.float()
	case anyJSON:
		raw := d.bytes()
		if d.err != nil {
			return nil
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			d.fail("a value that is not JSON")
			return nil
		}
		return v
	}
	d.fail("an unknown value tag")
	return nil
}

func (d *jobDecoder) anyMap() map[string]any {
	n, isNil := d.count(minAnyEntrySize)
	if isNil {
		return nil
	}
	m := make(map[string]any, n)
	for range n {
		k := d.str()
		m[k] = d.any()
	}
	return m
}
