package routing

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// The builders below turn a job, an offer or a worker document into one
// ACS Job Router event, member by member as Microsoft's samples show it
// (eventgrid/…/examples/{event-grid-schema,cloud-events-schema}/router_*.json)
// and as ACS's event schema (AzureCommunicationServices.json, the source of
// the azsystemevents SDKs) types it. They are pure: no clock, no I/O; the
// event's time is the at argument, so a replay builds the same events.
//
// Events keep the 2022 vocabulary the REST API left behind: totalCapacity,
// queueAssignments, channelConfigurations, a PascalCase jobStatus, and
// worker selectors {key, labelOperator, value, ttlSeconds, state,
// expirationTime}. Where the samples and the schema disagree the builders
// send what both expect:
//   - labels and tags are strings (the schema's map[string]string; a
//     number or boolean label would fail to decode in the typed SDKs);
//   - ttlSeconds is a number, null when the selector never expires (the
//     samples quote it; the SDKs decode a number and fail on a string);
//   - labelOperator is spelt as the samples spell it ("equal"), with the
//     event vocabulary's words: equal, notEqual, greater, less,
//     greaterThanOrEqual, lessThanOrEqual;
//   - RouterJobClassified carries the queue as queueDetails (schema,
//     CloudEvents sample) and as queueInfo (Event Grid sample);
//   - RouterJobWaitingForActivation and RouterJobSchedulingFailed carry the
//     job's selectors (samples) and the expired ones among them (schema);
//   - RouterWorkerOfferIssued and RouterWorkerOfferAccepted add the
//     schema's workerLabels and workerTags to the samples' members.

// Router event types.
const (
	EventRouterJobReceived               = "Microsoft.Communication.RouterJobReceived"
	EventRouterJobClassified             = "Microsoft.Communication.RouterJobClassified"
	EventRouterJobClassificationFailed   = "Microsoft.Communication.RouterJobClassificationFailed"
	EventRouterJobQueued                 = "Microsoft.Communication.RouterJobQueued"
	EventRouterJobCompleted              = "Microsoft.Communication.RouterJobCompleted"
	EventRouterJobClosed                 = "Microsoft.Communication.RouterJobClosed"
	EventRouterJobCancelled              = "Microsoft.Communication.RouterJobCancelled"
	EventRouterJobExceptionTriggered     = "Microsoft.Communication.RouterJobExceptionTriggered"
	EventRouterJobWorkerSelectorsExpired = "Microsoft.Communication.RouterJobWorkerSelectorsExpired"
	EventRouterJobUnassigned             = "Microsoft.Communication.RouterJobUnassigned"
	EventRouterJobWaitingForActivation   = "Microsoft.Communication.RouterJobWaitingForActivation"
	EventRouterJobSchedulingFailed       = "Microsoft.Communication.RouterJobSchedulingFailed"
	EventRouterJobDeleted                = "Microsoft.Communication.RouterJobDeleted"
	EventRouterWorkerOfferIssued         = "Microsoft.Communication.RouterWorkerOfferIssued"
	EventRouterWorkerOfferAccepted       = "Microsoft.Communication.RouterWorkerOfferAccepted"
	EventRouterWorkerOfferDeclined       = "Microsoft.Communication.RouterWorkerOfferDeclined"
	EventRouterWorkerOfferExpired        = "Microsoft.Communication.RouterWorkerOfferExpired"
	EventRouterWorkerOfferRevoked        = "Microsoft.Communication.RouterWorkerOfferRevoked"
	EventRouterWorkerRegistered          = "Microsoft.Communication.RouterWorkerRegistered"
	EventRouterWorkerUpdated             = "Microsoft.Communication.RouterWorkerUpdated"
	EventRouterWorkerDeregistered        = "Microsoft.Communication.RouterWorkerDeregistered"
	EventRouterWorkerDeleted             = "Microsoft.Communication.RouterWorkerDeleted"
)

// The values of RouterWorkerUpdated's updatedWorkerProperties, in the
// order the event lists them.
const (
	WorkerPropertyAvailableForOffers    = "AvailableForOffers"
	WorkerPropertyTotalCapacity         = "TotalCapacity"
	WorkerPropertyQueueAssignments      = "QueueAssignments"
	WorkerPropertyLabels                = "Labels"
	WorkerPropertyTags                  = "Tags"
	WorkerPropertyChannelConfigurations = "ChannelConfigurations"
)

// ---------------------------------------------------------------------------
// Job events. j is the job as it stands when the event happens.

// JobReceivedEvent is RouterJobReceived: a job was created. jobStatus,
// priority and queueId are j's, so pass the job as it was received (before
// classification) when the call goes on to classify and queue it.
func JobReceivedEvent(t tenant.ID, j *Job, at time.Time) event.Event {
	return evNew(t, EventRouterJobReceived, evJobSubject(j), evJobReceived{
		evJob:                    evJobData(j),
		JobStatus:                evPascal(string(j.Status)),
		ClassificationPolicyID:   j.ClassificationPolicyID,
		Priority:                 j.Priority,
		RequestedWorkerSelectors: evSelectors(j.RequestedWorkerSelectors, at),
		ScheduledOn:              evScheduledOn(j),
		UnavailableForMatching:   evUnavailable(j),
	}, at)
}

// JobClassifiedEvent is RouterJobClassified: classification chose j's
// queue (queue is that queue's document), priority and attached selectors.
func JobClassifiedEvent(t tenant.ID, j *Job, queue map[string]any, at time.Time) event.Event {
	q := evQueueData(j.QueueID, queue)
	return evNew(t, EventRouterJobClassified, evJobSubject(j)+"/queue/"+j.QueueID, evJobClassified{
		evJob:                   evJobData(j),
		QueueDetails:            q,
		QueueInfo:               q,
		ClassificationPolicyID:  j.ClassificationPolicyID,
		Priority:                j.Priority,
		AttachedWorkerSelectors: evSelectors(j.AttachedWorkerSelectors, at),
	}, at)
}

// JobClassificationFailedEvent is RouterJobClassificationFailed, with one
// error per reason.
func JobClassificationFailedEvent(t tenant.ID, j *Job, reasons []string, at time.Time) event.Event {
	errs := make([]evError, 0, len(reasons))
	for _, r := range reasons {
		errs = append(errs, evError{Code: "ClassificationFailed", Message: r})
	}
	return evNew(t, EventRouterJobClassificationFailed,
		evJobSubject(j)+"/classificationpolicy/"+j.ClassificationPolicyID, evJobClassificationFailed{
			evJob:                  evJobData(j),
			ClassificationPolicyID: j.ClassificationPolicyID,
			Errors:                 errs,
		}, at)
}

// JobQueuedEvent is RouterJobQueued: j waits in its queue.
func JobQueuedEvent(t tenant.ID, j *Job, at time.Time) event.Event {
	return evNew(t, EventRouterJobQueued, evJobSubject(j)+"/queue/"+j.QueueID, evJobQueued{
		evJob:                    evJobData(j),
		Priority:                 j.Priority,
		RequestedWorkerSelectors: evSelectors(j.RequestedWorkerSelectors, at),
		AttachedWorkerSelectors:  evSelectors(j.AttachedWorkerSelectors, at),
	}, at)
}

// JobCompletedEvent is RouterJobCompleted: a's worker completed j.
func JobCompletedEvent(t tenant.ID, j *Job, a Assignment, at time.Time) event.Event {
	return evNew(t, EventRouterJobCompleted, evAssignmentSubject(j, a), evAssignmentData(j, a), at)
}

// JobClosedEvent is RouterJobClosed, with j's disposition code.
func JobClosedEvent(t tenant.ID, j *Job, a Assignment, at time.Time) event.Event {
	return evNew(t, EventRouterJobClosed, evAssignmentSubject(j, a), evJobClosed{
		evJobAssignment: evAssignmentData(j, a),
		DispositionCode: j.DispositionCode,
	}, at)
}

// JobUnassignedEvent is RouterJobUnassigned: a was taken back from its
// worker.
func JobUnassignedEvent(t tenant.ID, j *Job, a Assignment, at time.Time) event.Event {
	return evNew(t, EventRouterJobUnassigned, evAssignmentSubject(j, a), evAssignmentData(j, a), at)
}

// JobCancelledEvent is RouterJobCancelled, with the cancellation's note
// and j's disposition code.
func JobCancelledEvent(t tenant.ID, j *Job, note string, at time.Time) event.Event {
	return evNew(t, EventRouterJobCancelled, evJobSubject(j)+"/disposition/"+j.DispositionCode, evJobCancelled{
		evJob:           evJobData(j),
		Note:            note,
		DispositionCode: j.DispositionCode,
	}, at)
}

// JobExceptionTriggeredEvent is RouterJobExceptionTriggered: the exception
// rule ruleID fired for j. The rule's id is both its key (the 2022 map
// key) and its id.
func JobExceptionTriggeredEvent(t tenant.ID, j *Job, ruleID string, at time.Time) event.Event {
	return evNew(t, EventRouterJobExceptionTriggered, evJobSubject(j)+"/exceptionrule/"+ruleID, evJobException{
		evJob:           evJobData(j),
		RuleKey:         ruleID,
		ExceptionRuleID: ruleID,
	}, at)
}

// JobWorkerSelectorsExpiredEvent is RouterJobWorkerSelectorsExpired: the
// requested and attached selectors given have just expired.
func JobWorkerSelectorsExpiredEvent(t tenant.ID, j *Job, requested, attached []WorkerSelector, at time.Time) event.Event {
	return evNew(t, EventRouterJobWorkerSelectorsExpired, evJobSubject(j)+"/queue/"+j.QueueID, evJobSelectorsExpired{
		evJob:                           evJobData(j),
		ExpiredRequestedWorkerSelectors: evSelectors(requested, at),
		ExpiredAttachedWorkerSelectors:  evSelectors(attached, at),
	}, at)
}

// JobWaitingForActivationEvent is RouterJobWaitingForActivation: a
// scheduled job's time came and it waits for the application to queue it.
func JobWaitingForActivationEvent(t tenant.ID, j *Job, at time.Time) event.Event {
	return evNew(t, EventRouterJobWaitingForActivation, evJobSubject(j), evJobWaiting{
		evJobSuspended:         evSuspendedData(j, at),
		UnavailableForMatching: evUnavailable(j),
	}, at)
}

// JobSchedulingFailedEvent is RouterJobSchedulingFailed, with the reason.
func JobSchedulingFailedEvent(t tenant.ID, j *Job, reason string, at time.Time) event.Event {
	return evNew(t, EventRouterJobSchedulingFailed, evJobSubject(j), evJobSchedulingFailed{
		evJobSuspended: evSuspendedData(j, at),
		FailureReason:  reason,
	}, at)
}

// JobDeletedEvent is RouterJobDeleted.
func JobDeletedEvent(t tenant.ID, j *Job, at time.Time) event.Event {
	return evNew(t, EventRouterJobDeleted, evJobSubject(j), evJobData(j), at)
}

// ---------------------------------------------------------------------------
// Offer events. worker is the worker's document (its id is doc["id"]).

// OfferIssuedEvent is RouterWorkerOfferIssued: o offers j to worker.
func OfferIssuedEvent(t tenant.ID, j *Job, worker map[string]any, o Offer, at time.Time) event.Event {
	id := evString(worker["id"])
	return evNew(t, EventRouterWorkerOfferIssued, evOfferSubject(id, j), evOfferIssued{
		evOffer:   evOfferData(id, j, o.OfferID),
		OfferedOn: evTime(o.OfferedAt),
		ExpiresOn: evTime(o.ExpiresAt),
		evParties: evPartiesData(j, worker),
	}, at)
}

// OfferAcceptedEvent is RouterWorkerOfferAccepted: worker accepted o and
// holds j under assignmentID.
func OfferAcceptedEvent(t tenant.ID, j *Job, worker map[string]any, o Offer, assignmentID string, at time.Time) event.Event {
	id := evString(worker["id"])
	return evNew(t, EventRouterWorkerOfferAccepted, evOfferSubject(id, j), evOfferAccepted{
		evOffer:      evOfferData(id, j, o.OfferID),
		AssignmentID: assignmentID,
		evParties:    evPartiesData(j, worker),
	}, at)
}

// OfferDeclinedEvent is RouterWorkerOfferDeclined.
func OfferDeclinedEvent(t tenant.ID, j *Job, workerID string, o Offer, at time.Time) event.Event {
	return evNew(t, EventRouterWorkerOfferDeclined, evOfferSubject(workerID, j), evOfferData(workerID, j, o.OfferID), at)
}

// OfferExpiredEvent is RouterWorkerOfferExpired: o went unanswered.
func OfferExpiredEvent(t tenant.ID, j *Job, workerID string, o Offer, at time.Time) event.Event {
	return evNew(t, EventRouterWorkerOfferExpired, evOfferSubject(workerID, j), evOfferData(workerID, j, o.OfferID), at)
}

// OfferRevokedEvent is RouterWorkerOfferRevoked: o was withdrawn.
func OfferRevokedEvent(t tenant.ID, j *Job, workerID string, o Offer, at time.Time) event.Event {
	return evNew(t, EventRouterWorkerOfferRevoked, evOfferSubject(workerID, j), evOfferData(workerID, j, o.OfferID), at)
}

// ---------------------------------------------------------------------------
// Worker events. Workers are documents in the 2023-11-01 REST shape; queues
// maps queue ids to the queues' documents (for their names and labels).

// WorkerRegisteredEvent is RouterWorkerRegistered: worker became available
// for offers.
func WorkerRegisteredEvent(t tenant.ID, worker map[string]any, queues map[string]map[string]any, at time.Time) event.Event {
	d := evWorkerData(worker, queues)
	return evNew(t, EventRouterWorkerRegistered, "worker/"+d.WorkerID, d, at)
}

// WorkerUpdatedEvent is RouterWorkerUpdated: the worker's document changed
// from before to after; updatedWorkerProperties names what changed (empty
// when nothing the event shows did).
func WorkerUpdatedEvent(t tenant.ID, before, after map[string]any, queues map[string]map[string]any, at time.Time) event.Event {
	d := evWorkerData(after, queues)
	return evNew(t, EventRouterWorkerUpdated, "worker/"+d.WorkerID, evWorkerUpdated{
		evWorker:                d,
		UpdatedWorkerProperties: UpdatedWorkerProperties(before, after),
	}, at)
}

// WorkerDeregisteredEvent is RouterWorkerDeregistered: the worker is no
// longer available for offers.
func WorkerDeregisteredEvent(t tenant.ID, workerID string, at time.Time) event.Event {
	return evNew(t, EventRouterWorkerDeregistered, "worker/"+workerID, evWorkerID{WorkerID: workerID}, at)
}

// WorkerDeletedEvent is RouterWorkerDeleted.
func WorkerDeletedEvent(t tenant.ID, workerID string, at time.Time) event.Event {
	return evNew(t, EventRouterWorkerDeleted, "worker/"+workerID, evWorkerID{WorkerID: workerID}, at)
}

// UpdatedWorkerProperties names the members of RouterWorkerUpdated that
// differ between two documents of a worker, in the event's order. Queues
// and channels compare as sets; labels and tags by their JSON values (a
// label that turns from 7 into "7" changed, although the event shows both
// as "7").
func UpdatedWorkerProperties(before, after map[string]any) []string {
	changed := []string{}
	if evBool(before["availableForOffers"]) != evBool(after["availableForOffers"]) {
		changed = append(changed, WorkerPropertyAvailableForOffers)
	}
	if evInt(before["capacity"]) != evInt(after["capacity"]) {
		changed = append(changed, WorkerPropertyTotalCapacity)
	}
	if !slices.Equal(evQueueSet(before), evQueueSet(after)) {
		changed = append(changed, WorkerPropertyQueueAssignments)
	}
	if evCanonical(evMap(before["labels"])) != evCanonical(evMap(after["labels"])) {
		changed = append(changed, WorkerPropertyLabels)
	}
	if evCanonical(evMap(before["tags"])) != evCanonical(evMap(after["tags"])) {
		changed = append(changed, WorkerPropertyTags)
	}
	if evCanonical(evChannelSet(before)) != evCanonical(evChannelSet(after)) {
		changed = append(changed, WorkerPropertyChannelConfigurations)
	}
	return changed
}

// ---------------------------------------------------------------------------
// Data shapes.

// evJob is what every job event carries.
type evJob struct {
	JobID            string            `json:"jobId"`
	ChannelReference string            `json:"channelReference"`
	ChannelID        string            `json:"channelId"`
	QueueID          string            `json:"queueId"`
	Labels           map[string]string `json:"labels"`
	Tags             map[string]string `json:"tags"`
}

type evJobReceived struct {
	evJob
	JobStatus                string       `json:"jobStatus"`
	ClassificationPolicyID   string       `json:"classificationPolicyId"`
	Priority                 int          `json:"priority"`
	RequestedWorkerSelectors []evSelector `json:"requestedWorkerSelectors"`
	ScheduledOn              string       `json:"scheduledOn,omitempty"`
	UnavailableForMatching   bool         `json:"unavailableForMatching"`
}

type evQueue struct {
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

type evJobClassified struct {
	evJob
	QueueDetails            evQueue      `json:"queueDetails"`
	QueueInfo               evQueue      `json:"queueInfo"`
	ClassificationPolicyID  string       `json:"classificationPolicyId"`
	Priority                int          `json:"priority"`
	AttachedWorkerSelectors []evSelector `json:"attachedWorkerSelectors"`
}

// evError is ACS's AcsRouterCommunicationError.
type evError struct {
	Code       string    `json:"code"`
	Message    string    `json:"message"`
	Target     *string   `json:"target"`
	InnerError *evError  `json:"innererror"`
	Details    []evError `json:"details"`
}

type evJobClassificationFailed struct {
	evJob
	ClassificationPolicyID string    `json:"classificationPolicyId"`
	Errors                 []evError `json:"errors"`
}

type evJobQueued struct {
	evJob
	Priority                 int          `json:"priority"`
	RequestedWorkerSelectors []evSelector `json:"requestedWorkerSelectors"`
	AttachedWorkerSelectors  []evSelector `json:"attachedWorkerSelectors"`
}

type evJobAssignment struct {
	evJob
	AssignmentID string `json:"assignmentId"`
	WorkerID     string `json:"workerId"`
}

type evJobClosed struct {
	evJobAssignment
	DispositionCode string `json:"dispositionCode"`
}

type evJobCancelled struct {
	evJob
	Note            string `json:"note"`
	DispositionCode string `json:"dispositionCode"`
}

type evJobException struct {
	evJob
	RuleKey         string `json:"ruleKey"`
	ExceptionRuleID string `json:"exceptionRuleId"`
}

type evJobSelectorsExpired struct {
	evJob
	ExpiredRequestedWorkerSelectors []evSelector `json:"expiredRequestedWorkerSelectors"`
	ExpiredAttachedWorkerSelectors  []evSelector `json:"expiredAttachedWorkerSelectors"`
}

// evJobSuspended is what a scheduled job's events carry.
type evJobSuspended struct {
	evJob
	Priority                        int          `json:"priority"`
	RequestedWorkerSelectors        []evSelector `json:"requestedWorkerSelectors"`
	AttachedWorkerSelectors         []evSelector `json:"attachedWorkerSelectors"`
	ExpiredRequestedWorkerSelectors []evSelector `json:"expiredRequestedWorkerSelectors"`
	ExpiredAttachedWorkerSelectors  []evSelector `json:"expiredAttachedWorkerSelectors"`
	ScheduledOn                     string       `json:"scheduledOn,omitempty"`
}

type evJobWaiting struct {
	evJobSuspended
	UnavailableForMatching bool `json:"unavailableForMatching"`
}

type evJobSchedulingFailed struct {
	evJobSuspended
	FailureReason string `json:"failureReason"`
}

// evSelector is a worker selector as events show it.
type evSelector struct {
	Key            string   `json:"key"`
	LabelOperator  string   `json:"labelOperator"`
	Value          any      `json:"value"`
	TTLSeconds     *float64 `json:"ttlSeconds"` // null: never expires
	State          string   `json:"state"`
	ExpirationTime string   `json:"expirationTime,omitempty"`
}

// evOffer is what every offer event carries.
type evOffer struct {
	WorkerID         string `json:"workerId"`
	JobID            string `json:"jobId"`
	ChannelReference string `json:"channelReference"`
	ChannelID        string `json:"channelId"`
	QueueID          string `json:"queueId"`
	OfferID          string `json:"offerId"`
}

// evParties describes the job and the worker of an issued or accepted
// offer.
type evParties struct {
	JobPriority  int               `json:"jobPriority"`
	JobLabels    map[string]string `json:"jobLabels"`
	JobTags      map[string]string `json:"jobTags"`
	WorkerLabels map[string]string `json:"workerLabels"`
	WorkerTags   map[string]string `json:"workerTags"`
}

type evOfferIssued struct {
	evOffer
	OfferedOn string `json:"offeredOn"`
	ExpiresOn string `json:"expiresOn"`
	evParties
}

type evOfferAccepted struct {
	evOffer
	AssignmentID string `json:"assignmentId"`
	evParties
}

type evWorker struct {
	WorkerID              string            `json:"workerId"`
	TotalCapacity         int               `json:"totalCapacity"`
	QueueAssignments      []evQueue         `json:"queueAssignments"`
	Labels                map[string]string `json:"labels"`
	ChannelConfigurations []evChannel       `json:"channelConfigurations"`
	Tags                  map[string]string `json:"tags"`
}

type evChannel struct {
	ChannelID          string `json:"channelId"`
	CapacityCostPerJob int    `json:"capacityCostPerJob"`
	MaxNumberOfJobs    *int   `json:"maxNumberOfJobs,omitempty"`
}

type evWorkerUpdated struct {
	evWorker
	UpdatedWorkerProperties []string `json:"updatedWorkerProperties"`
}

type evWorkerID struct {
	WorkerID string `json:"workerId"`
}

// ---------------------------------------------------------------------------
// Builders of the shapes.

// evNew builds the event; its data holds only strings, numbers,
// booleans and lists and maps of them, so it always marshals.
func evNew(t tenant.ID, typ, subject string, data any, at time.Time) event.Event {
	e, err := event.New(t, typ, subject, data)
	if err != nil {
		panic(fmt.Sprintf("routing: %s data does not marshal: %v", typ, err))
	}
	e.Time = at.UTC()
	return e
}

func evJobSubject(j *Job) string { return "job/" + j.ID + "/channel/" + j.ChannelID }

func evAssignmentSubject(j *Job, a Assignment) string {
	return evJobSubject(j) + "/assignment/" + a.AssignmentID
}

func evOfferSubject(workerID string, j *Job) string { return "worker/" + workerID + "/job/" + j.ID }

func evJobData(j *Job) evJob {
	return evJob{JobID: j.ID, ChannelReference: j.ChannelReference, ChannelID: j.ChannelID, QueueID: j.QueueID,
		Labels: evLabels(j.Labels), Tags: evLabels(j.Tags)}
}

func evAssignmentData(j *Job, a Assignment) evJobAssignment {
	return evJobAssignment{evJob: evJobData(j), AssignmentID: a.AssignmentID, WorkerID: a.WorkerID}
}

func evSuspendedData(j *Job, at time.Time) evJobSuspended {
	return evJobSuspended{
		evJob:                           evJobData(j),
		Priority:                        j.Priority,
		RequestedWorkerSelectors:        evSelectors(j.RequestedWorkerSelectors, at),
		AttachedWorkerSelectors:         evSelectors(j.AttachedWorkerSelectors, at),
		ExpiredRequestedWorkerSelectors: evSelectors(evExpired(j.RequestedWorkerSelectors, at), at),
		ExpiredAttachedWorkerSelectors:  evSelectors(evExpired(j.AttachedWorkerSelectors, at), at),
		ScheduledOn:                     evScheduledOn(j),
	}
}

func evOfferData(workerID string, j *Job, offerID string) evOffer {
	return evOffer{WorkerID: workerID, JobID: j.ID, ChannelReference: j.ChannelReference, ChannelID: j.ChannelID,
		QueueID: j.QueueID, OfferID: offerID}
}

func evPartiesData(j *Job, worker map[string]any) evParties {
	return evParties{JobPriority: j.Priority, JobLabels: evLabels(j.Labels), JobTags: evLabels(j.Tags),
		WorkerLabels: evLabels(worker["labels"]), WorkerTags: evLabels(worker["tags"])}
}

// evQueueData is a queue as events show it: id, name and labels.
func evQueueData(id string, doc map[string]any) evQueue {
	return evQueue{ID: id, Name: evString(doc["name"]), Labels: evLabels(doc["labels"])}
}

func evWorkerData(doc map[string]any, queues map[string]map[string]any) evWorker {
	w := evWorker{WorkerID: evString(doc["id"]), TotalCapacity: evInt(doc["capacity"]), QueueAssignments: []evQueue{},
		Labels: evLabels(doc["labels"]), ChannelConfigurations: evChannels(doc), Tags: evLabels(doc["tags"])}
	seen := map[string]bool{}
	for _, q := range evStrings(doc["queues"]) {
		if !seen[q] {
			seen[q] = true
			w.QueueAssignments = append(w.QueueAssignments, evQueueData(q, queues[q]))
		}
	}
	return w
}

// evChannels are a worker's channels in its document's order.
func evChannels(doc map[string]any) []evChannel {
	out := []evChannel{}
	for _, c := range evMaps(doc["channels"]) {
		ch := evChannel{ChannelID: evString(c["channelId"]), CapacityCostPerJob: evInt(c["capacityCostPerJob"])}
		if v, ok := c["maxNumberOfJobs"]; ok && v != nil {
			n := evInt(v)
			ch.MaxNumberOfJobs = &n
		}
		out = append(out, ch)
	}
	return out
}

func evChannelSet(doc map[string]any) []evChannel {
	out := evChannels(doc)
	slices.SortFunc(out, func(a, b evChannel) int {
		switch {
		case a.ChannelID < b.ChannelID:
			return -1
		case a.ChannelID > b.ChannelID:
			return 1
		}
		return 0
	})
	return out
}

func evQueueSet(doc map[string]any) []string {
	qs := slices.Clone(evStrings(doc["queues"]))
	slices.Sort(qs)
	return slices.Compact(qs)
}

// evOperators spells REST's label operators in the events' vocabulary,
// cased as the samples case it.
var evOperators = map[LabelOperator]string{
	Equal: "equal", NotEqual: "notEqual",
	GreaterThan: "greater", LessThan: "less",
	GreaterThanOrEqual: "greaterThanOrEqual", LessThanOrEqual: "lessThanOrEqual",
}

// evSelectors renders selectors (never null: an empty list is []).
func evSelectors(list []WorkerSelector, at time.Time) []evSelector {
	out := make([]evSelector, 0, len(list))
	for _, s := range list {
		op, ok := evOperators[s.LabelOperator]
		if !ok {
			op = string(s.LabelOperator)
		}
		e := evSelector{Key: s.Key, LabelOperator: op, Value: evValue(s.Value), State: evSelectorState(s, at)}
		if s.ExpiresAfterSeconds > 0 {
			ttl := s.ExpiresAfterSeconds
			e.TTLSeconds = &ttl
		}
		if !s.ExpiresAt.IsZero() {
			e.ExpirationTime = evTime(s.ExpiresAt)
		}
		out = append(out, e)
	}
	return out
}

// evSelectorState is the selector's state: the router's when it stamped
// one, else expired once its expiry has passed.
func evSelectorState(s WorkerSelector, at time.Time) string {
	switch {
	case s.Status != "":
		return s.Status
	case !s.ExpiresAt.IsZero() && !s.ExpiresAt.After(at):
		return "expired"
	}
	return "active"
}

func evExpired(list []WorkerSelector, at time.Time) []WorkerSelector {
	var out []WorkerSelector
	for _, s := range list {
		if evSelectorState(s, at) == "expired" {
			out = append(out, s)
		}
	}
	return out
}

// evValue keeps a selector's value as JSON can carry it.
func evValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, int32, int64:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
		return x
	}
	return fmt.Sprint(v)
}

// evLabels renders labels or tags as the events type them: strings
// (numbers in their shortest form, booleans as true/false).
func evLabels(v any) map[string]string {
	out := map[string]string{}
	switch m := v.(type) {
	case map[string]string:
		for k, s := range m {
			out[k] = s
		}
	case map[string]any:
		for k, x := range m {
			switch x := x.(type) {
			case nil:
			case string:
				out[k] = x
			case bool:
				out[k] = strconv.FormatBool(x)
			case float64:
				out[k] = strconv.FormatFloat(x, 'f', -1, 64)
			default:
				out[k] = fmt.Sprint(x)
			}
		}
	}
	return out
}

// evPascal is a camelCase status as RouterJobReceived spells it.
func evPascal(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// evUnavailable reports whether j is kept from matching (suspended, or
// scheduled to be suspended).
func evUnavailable(j *Job) bool {
	return j.MatchingMode.Kind == Suspend || j.MatchingMode.Kind == ScheduleAndSuspend
}

func evScheduledOn(j *Job) string {
	at := j.ScheduledAt
	if at.IsZero() {
		at = j.MatchingMode.ScheduleAt
	}
	if at.IsZero() {
		return ""
	}
	return evTime(at)
}

func evTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func evString(v any) string {
	s, _ := v.(string)
	return s
}

func evBool(v any) bool {
	b, _ := v.(bool)
	return b
}

// evInt reads a whole number from a document (JSON numbers decode as
// float64; documents built in Go may hold ints).
func evInt(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	case int64:
		return int(x)
	case json.Number:
		n, _ := x.Float64()
		return int(n)
	}
	return 0
}

func evStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func evMaps(v any) []map[string]any {
	switch x := v.(type) {
	case []map[string]any:
		return x
	case []any:
		out := make([]map[string]any, 0, len(x))
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// evMap is a labels or tags member, {} when absent.
func evMap(v any) any {
	switch m := v.(type) {
	case map[string]any:
		if m != nil {
			return m
		}
	case map[string]string:
		if m != nil {
			return m
		}
	}
	return map[string]any{}
}

// evCanonical is v's JSON (map keys sorted), for comparing.
func evCanonical(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
