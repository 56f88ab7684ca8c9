package routing

import (
	"sort"
	"time"
)

// JobStatus is a job's place in its life (ACS RouterJobStatus).
type JobStatus string

// Job statuses.
const (
	StatusPendingClassification JobStatus = "pendingClassification"
	StatusQueued                JobStatus = "queued"
	StatusAssigned              JobStatus = "assigned"
	StatusCompleted             JobStatus = "completed"
	StatusClosed                JobStatus = "closed"
	StatusCancelled             JobStatus = "cancelled"
	StatusClassificationFailed  JobStatus = "classificationFailed"
	StatusCreated               JobStatus = "created"
	StatusPendingSchedule       JobStatus = "pendingSchedule"
	StatusScheduled             JobStatus = "scheduled"
	StatusScheduleFailed        JobStatus = "scheduleFailed"
	StatusWaitingForActivation  JobStatus = "waitingForActivation"
)

// Terminal reports whether a job in this status can no longer change
// (other than by deletion).
func (s JobStatus) Terminal() bool {
	return s == StatusClosed || s == StatusCancelled || s == StatusClassificationFailed || s == StatusScheduleFailed
}

// WorkerSelector is a selector a job asks of its worker; with an expiry it
// widens the pool over time.
type WorkerSelector struct {
	Selector
	ExpiresAfterSeconds float64   `json:"expiresAfterSeconds,omitempty"`
	Expedite            bool      `json:"expedite,omitempty"`
	Status              string    `json:"status,omitempty"`   // active | expired (read-only)
	ExpiresAt           time.Time `json:"expiresAt,omitzero"` // read-only
}

// Assignment is a worker's accepted offer for a job.
type Assignment struct {
	AssignmentID string    `json:"assignmentId"`
	WorkerID     string    `json:"workerId,omitempty"`
	AssignedAt   time.Time `json:"assignedAt"`
	CompletedAt  time.Time `json:"completedAt,omitzero"`
	ClosedAt     time.Time `json:"closedAt,omitzero"`
}

// Note is a job note.
type Note struct {
	Message string    `json:"message"`
	AddedAt time.Time `json:"addedAt,omitzero"`
}

// MatchingMode says whether and when a job is matched.
type MatchingMode struct {
	Kind       string    `json:"kind"` // queueAndMatch | scheduleAndSuspend | suspend
	ScheduleAt time.Time `json:"scheduleAt,omitzero"`
}

// Matching modes.
const (
	QueueAndMatch      = "queueAndMatch"
	ScheduleAndSuspend = "scheduleAndSuspend"
	Suspend            = "suspend"
)

// Job is a router job as the REST API shows it (2023-11-01 vocabulary),
// with the router's bookkeeping that the API does not show.
type Job struct {
	ID                       string                 `json:"id"`
	ChannelReference         string                 `json:"channelReference,omitempty"`
	Status                   JobStatus              `json:"status"`
	EnqueuedAt               time.Time              `json:"enqueuedAt,omitzero"`
	ChannelID                string                 `json:"channelId,omitempty"`
	ClassificationPolicyID   string                 `json:"classificationPolicyId,omitempty"`
	QueueID                  string                 `json:"queueId,omitempty"`
	Priority                 int                    `json:"priority"`
	DispositionCode          string                 `json:"dispositionCode,omitempty"`
	RequestedWorkerSelectors []WorkerSelector       `json:"requestedWorkerSelectors"`
	AttachedWorkerSelectors  []WorkerSelector       `json:"attachedWorkerSelectors"`
	Labels                   map[string]any         `json:"labels"`
	Assignments              map[string]*Assignment `json:"assignments"`
	Tags                     map[string]any         `json:"tags"`
	Notes                    []Note                 `json:"notes"`
	ScheduledAt              time.Time              `json:"scheduledAt,omitzero"`
	MatchingMode             MatchingMode           `json:"matchingMode"`

	// Bookkeeping, stored but not shown.
	Unassignments int       `json:"unassignmentCount,omitempty"`
	CloseAt       time.Time `json:"closeAt,omitzero"` // a deferred close
	// FiredExceptions are the exception rules that already fired for the
	// job (each fires once per job).
	FiredExceptions []string `json:"firedExceptions,omitempty"`
	// Trail is the job's decision trail: every offer with why.
	Trail []TrailEntry `json:"decisions,omitempty"`
	// PreferredWorker is offered first when eligible (a returning
	// customer's last agent); a Switchboard addition.
	PreferredWorker string    `json:"preferredWorkerId,omitempty"`
	CreatedAt       time.Time `json:"createdAt,omitzero"`
	Version         int64     `json:"-"`
	// scores are a remote bestWorker scoring rule's answers, by worker
	// (kept in memory only: after a restart the job scores by default).
	scores map[string]float64
}

// TrailEntry is one decision about a job, with its reason.
type TrailEntry struct {
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	WorkerID string    `json:"workerId,omitempty"`
	OfferID  string    `json:"offerId,omitempty"`
	Mode     Mode      `json:"mode,omitempty"`
	// The best candidates (at most maxExplained) of CandidateCount, and
	// why others were excluded (at most maxExplained of ExcludedCount).
	Candidates     []Candidate       `json:"candidates,omitempty"`
	CandidateCount int               `json:"candidateCount,omitempty"`
	Excluded       map[string]string `json:"excluded,omitempty"`
	ExcludedCount  int               `json:"excludedCount,omitempty"`
	Note           string            `json:"note,omitempty"`
}

// maxExplained bounds an offer's explanation: a queue of hundreds of
// agents would otherwise store hundreds of names with every offer.
const maxExplained = 10

func explained(at time.Time, d Decision) TrailEntry {
	e := TrailEntry{At: at, Kind: d.Kind, WorkerID: d.Worker, OfferID: d.Offer, Mode: d.Why.Mode,
		CandidateCount: max(d.Why.CandidateCount, len(d.Why.Candidates)), ExcludedCount: max(d.Why.ExcludedCount, len(d.Why.Excluded))}
	e.Candidates = d.Why.Candidates[:min(len(d.Why.Candidates), maxExplained)]
	if len(d.Why.Excluded) <= maxExplained {
		e.Excluded = d.Why.Excluded
	} else {
		ids := make([]string, 0, len(d.Why.Excluded))
		for id := range d.Why.Excluded {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		e.Excluded = make(map[string]string, maxExplained)
		for _, id := range ids[:maxExplained] {
			e.Excluded[id] = d.Why.Excluded[id]
		}
	}
	return e
}

// Offer is a worker's offer as the API shows it on the worker.
type Offer struct {
	OfferID      string    `json:"offerId"`
	JobID        string    `json:"jobId"`
	CapacityCost int       `json:"capacityCost"`
	OfferedAt    time.Time `json:"offeredAt"`
	ExpiresAt    time.Time `json:"expiresAt"`
}

// WorkerAssignment is a job a worker holds, as the API shows it.
type WorkerAssignment struct {
	AssignmentID string    `json:"assignmentId"`
	JobID        string    `json:"jobId"`
	CapacityCost int       `json:"capacityCost"`
	AssignedAt   time.Time `json:"assignedAt"`
}
