package routing

import (
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Events turns facts into the tenant's Router* events (events.go builds
// each with ACS's shape). They are built under the router's lock when the
// call that caused them ends, from the router's state then; a job's state
// at reception is carried by its fact.
func (r *Router) Events(t tenant.ID, facts []Fact) []event.Event {
	out := make([]event.Event, 0, len(facts))
	for _, f := range facts {
		if e, ok := r.event(t, f); ok {
			out = append(out, e)
		}
	}
	return out
}

func (r *Router) event(t tenant.ID, f Fact) (event.Event, bool) {
	at, j := f.At, f.Job
	asg := Assignment{AssignmentID: f.Assignment, WorkerID: f.Worker}
	if f.Queue != "" && f.Kind != "RouterJobReceived" {
		// Queued or classified where the fact says: an exception rule may
		// have moved the job later in the same call.
		then := *j
		then.QueueID, then.Priority = f.Queue, f.Priority
		j = &then
	}
	switch f.Kind {
	case "RouterJobReceived":
		received := *j
		received.Status, received.Priority, received.QueueID = f.Status, f.Priority, f.Queue
		return JobReceivedEvent(t, &received, at), true
	case "RouterJobClassified":
		return JobClassifiedEvent(t, j, r.queues[j.QueueID], at), true
	case "RouterJobClassificationFailed":
		return JobClassificationFailedEvent(t, j, f.Errors, at), true
	case "RouterJobQueued":
		return JobQueuedEvent(t, j, at), true
	case "RouterJobCompleted":
		return JobCompletedEvent(t, j, asg, at), true
	case "RouterJobClosed":
		return JobClosedEvent(t, j, asg, at), true
	case "RouterJobUnassigned":
		return JobUnassignedEvent(t, j, asg, at), true
	case "RouterJobCancelled":
		note := ""
		if len(j.Notes) > 0 {
			note = j.Notes[len(j.Notes)-1].Message
		}
		return JobCancelledEvent(t, j, note, at), true
	case "RouterJobExceptionTriggered":
		return JobExceptionTriggeredEvent(t, j, f.Rule, at), true
	case "RouterJobWorkerSelectorsExpired":
		var requested, attached []WorkerSelector
		for _, s := range f.Expired {
			if containsSelector(j.AttachedWorkerSelectors, s) {
				attached = append(attached, s)
			} else {
				requested = append(requested, s)
			}
		}
		return JobWorkerSelectorsExpiredEvent(t, j, requested, attached, at), true
	case "RouterJobWaitingForActivation":
		return JobWaitingForActivationEvent(t, j, at), true
	case "RouterJobDeleted":
		return JobDeletedEvent(t, j, at), true
	case "RouterWorkerOfferIssued":
		return OfferIssuedEvent(t, j, r.workers[f.Worker], f.offer(), at), true
	case "RouterWorkerOfferAccepted":
		return OfferAcceptedEvent(t, j, r.workers[f.Worker], f.offer(), f.Assignment, at), true
	case "RouterWorkerOfferDeclined":
		return OfferDeclinedEvent(t, j, f.Worker, f.offer(), at), true
	case "RouterWorkerOfferExpired":
		return OfferExpiredEvent(t, j, f.Worker, f.offer(), at), true
	case "RouterWorkerOfferRevoked":
		return OfferRevokedEvent(t, j, f.Worker, f.offer(), at), true
	case "RouterWorkerRegistered":
		return WorkerRegisteredEvent(t, r.workers[f.Worker], r.queues, at), true
	case "RouterWorkerUpdated":
		return WorkerUpdatedEvent(t, f.WorkerBefore, r.workers[f.Worker], r.queues, at), true
	case "RouterWorkerDeregistered":
		return WorkerDeregisteredEvent(t, f.Worker, at), true
	case "RouterWorkerDeleted":
		return WorkerDeletedEvent(t, f.Worker, at), true
	}
	return event.Event{}, false
}

func containsSelector(list []WorkerSelector, s WorkerSelector) bool {
	for _, x := range list {
		if x.Key == s.Key && x.LabelOperator == s.LabelOperator && same(x.Value, s.Value) && x.ExpiresAt.Equal(s.ExpiresAt) {
			return true
		}
	}
	return false
}

// offer is the fact's offer (zero when it has none).
func (f Fact) offer() Offer {
	if f.Offer == nil {
		return Offer{}
	}
	return *f.Offer
}
