package routing

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Router events carry ACS's names and data shapes (Microsoft's samples in
// Event Grid's schema): job events name the job, its channel and labels;
// offer events the worker and the job; worker events the worker in the
// 2022 vocabulary the events kept (totalCapacity, queueAssignments,
// channelConfigurations). Every event is built from the router's state
// under its lock, when the call that caused it ends.

const eventPrefix = "Microsoft.Communication."

// Events turns facts into the tenant's Router* events.
func (r *Router) Events(t tenant.ID, facts []Fact) []event.Event {
	out := make([]event.Event, 0, len(facts))
	for _, f := range facts {
		subject, data := r.eventData(f)
		if data == nil {
			continue
		}
		raw, err := json.Marshal(data)
		if err != nil {
			continue
		}
		out = append(out, event.Event{ID: uuid.NewString(), Tenant: t, Type: eventPrefix + f.Kind, Subject: subject,
			Time: f.At.UTC(), DataVersion: "1.0", Data: raw})
	}
	return out
}

// eventSelector is a worker selector as events show it.
type eventSelector struct {
	Key            string   `json:"key"`
	LabelOperator  string   `json:"labelOperator"`
	Value          any      `json:"value"`
	TTLSeconds     *float64 `json:"ttlSeconds"` // null: never expires
	State          string   `json:"state,omitempty"`
	ExpirationTime string   `json:"expirationTime,omitempty"`
}

func eventSelectors(list []WorkerSelector) []eventSelector {
	out := make([]eventSelector, 0, len(list))
	for _, s := range list {
		e := eventSelector{Key: s.Key, LabelOperator: string(s.LabelOperator), Value: s.Value, State: s.Status}
		if s.ExpiresAfterSeconds > 0 {
			ttl := s.ExpiresAfterSeconds
			e.TTLSeconds = &ttl
		}
		if !s.ExpiresAt.IsZero() {
			e.ExpirationTime = s.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
		out = append(out, e)
	}
	return out
}

// pascal is a job status as RouterJobReceived spells it.
func pascal(s JobStatus) string {
	if s == "" {
		return ""
	}
	return string(s[0]-'a'+'A') + string(s[1:])
}

func (r *Router) eventData(f Fact) (string, map[string]any) {
	if f.Job == nil {
		return r.workerEvent(f)
	}
	j := f.Job
	base := "job/" + j.ID + "/channel/" + j.ChannelID
	d := map[string]any{"jobId": j.ID, "channelReference": j.ChannelReference, "channelId": j.ChannelID, "labels": orEmpty(j.Labels), "tags": orEmpty(j.Tags)}
	switch f.Kind {
	case "RouterJobReceived":
		d["jobStatus"] = pascal(f.Status)
		d["classificationPolicyId"] = j.ClassificationPolicyID
		d["queueId"] = f.Queue
		d["priority"] = f.Priority
		d["requestedWorkerSelectors"] = eventSelectors(j.RequestedWorkerSelectors)
		d["unavailableForMatching"] = j.MatchingMode.Kind != QueueAndMatch
		if !j.ScheduledAt.IsZero() {
			d["scheduledOn"] = j.ScheduledAt.UTC().Format(time.RFC3339Nano)
		}
		return base, d
	case "RouterJobClassified":
		q := r.queues[j.QueueID]
		name, _ := q["name"].(string)
		labels, _ := q["labels"].(map[string]any)
		d["queueInfo"] = map[string]any{"id": j.QueueID, "name": name, "labels": orEmpty(labels)}
		d["classificationPolicyId"], d["queueId"], d["priority"] = j.ClassificationPolicyID, j.QueueID, j.Priority
		d["attachedWorkerSelectors"] = eventSelectors(j.AttachedWorkerSelectors)
		return base + "/queue/" + j.QueueID, d
	case "RouterJobClassificationFailed":
		errs := make([]map[string]any, 0, len(f.Errors))
		for _, e := range f.Errors {
			errs = append(errs, map[string]any{"code": "ClassificationFailed", "message": e, "target": nil, "innererror": nil, "details": nil})
		}
		d["errors"], d["classificationPolicyId"] = errs, j.ClassificationPolicyID
		return base + "/classificationpolicy/" + j.ClassificationPolicyID, d
	case "RouterJobQueued":
		d["queueId"], d["priority"] = j.QueueID, j.Priority
		d["requestedWorkerSelectors"], d["attachedWorkerSelectors"] = eventSelectors(j.RequestedWorkerSelectors), eventSelectors(j.AttachedWorkerSelectors)
		return base + "/queue/" + j.QueueID, d
	case "RouterJobCompleted", "RouterJobUnassigned":
		d["queueId"], d["assignmentId"], d["workerId"] = j.QueueID, f.Assignment, f.Worker
		return base + "/assignment/" + f.Assignment, d
	case "RouterJobClosed":
		d["queueId"], d["assignmentId"], d["workerId"], d["dispositionCode"] = j.QueueID, f.Assignment, f.Worker, j.DispositionCode
		return base + "/assignment/" + f.Assignment, d
	case "RouterJobCancelled":
		note := ""
		if len(j.Notes) > 0 {
			note = j.Notes[len(j.Notes)-1].Message
		}
		d["note"], d["dispositionCode"], d["queueId"] = note, j.DispositionCode, j.QueueID
		return base + "/disposition/" + j.DispositionCode, d
	case "RouterJobExceptionTriggered":
		d["ruleKey"], d["exceptionRuleId"] = f.Rule, f.Rule
		return base + "/exceptionrule/" + f.Rule, d
	case "RouterJobWorkerSelectorsExpired":
		var req, att []WorkerSelector
		for _, s := range f.Expired {
			if containsSelector(j.AttachedWorkerSelectors, s) {
				att = append(att, s)
			} else {
				req = append(req, s)
			}
		}
		d["queueId"] = j.QueueID
		d["expiredRequestedWorkerSelectors"], d["expiredAttachedWorkerSelectors"] = eventSelectors(req), eventSelectors(att)
		return base + "/queue/" + j.QueueID, d
	case "RouterJobWaitingForActivation":
		d["queueId"], d["priority"] = j.QueueID, j.Priority
		d["requestedWorkerSelectors"], d["attachedWorkerSelectors"] = eventSelectors(j.RequestedWorkerSelectors), eventSelectors(j.AttachedWorkerSelectors)
		d["unavailableForMatching"] = true
		if !j.ScheduledAt.IsZero() {
			d["scheduledOn"] = j.ScheduledAt.UTC().Format(time.RFC3339Nano)
		}
		return base, d
	case "RouterJobDeleted":
		d["queueId"] = j.QueueID
		return base, d
	case "RouterWorkerOfferIssued", "RouterWorkerOfferAccepted", "RouterWorkerOfferDeclined", "RouterWorkerOfferExpired", "RouterWorkerOfferRevoked":
		o := map[string]any{"workerId": f.Worker, "jobId": j.ID, "channelReference": j.ChannelReference, "channelId": j.ChannelID,
			"queueId": j.QueueID, "offerId": f.Offer.OfferID}
		switch f.Kind {
		case "RouterWorkerOfferIssued":
			o["offeredOn"], o["expiresOn"] = f.Offer.OfferedAt.UTC().Format(time.RFC3339Nano), f.Offer.ExpiresAt.UTC().Format(time.RFC3339Nano)
			fallthrough
		case "RouterWorkerOfferAccepted":
			o["jobPriority"], o["jobLabels"], o["jobTags"] = j.Priority, orEmpty(j.Labels), orEmpty(j.Tags)
			w := r.workers[f.Worker]
			wl, _ := w["labels"].(map[string]any)
			wt, _ := w["tags"].(map[string]any)
			o["workerLabels"], o["workerTags"] = orEmpty(wl), orEmpty(wt)
			if f.Kind == "RouterWorkerOfferAccepted" {
				o["assignmentId"] = f.Assignment
			}
		}
		return "worker/" + f.Worker + "/job/" + j.ID, o
	}
	return "", nil
}

func containsSelector(list []WorkerSelector, s WorkerSelector) bool {
	for _, x := range list {
		if x.Key == s.Key && x.LabelOperator == s.LabelOperator && same(x.Value, s.Value) && x.ExpiresAt.Equal(s.ExpiresAt) {
			return true
		}
	}
	return false
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// workerEvent builds the worker events from the worker's document.
func (r *Router) workerEvent(f Fact) (string, map[string]any) {
	subject := "worker/" + f.Worker
	switch f.Kind {
	case "RouterWorkerDeregistered", "RouterWorkerDeleted":
		return subject, map[string]any{"workerId": f.Worker}
	case "RouterWorkerRegistered", "RouterWorkerUpdated":
	default:
		return "", nil
	}
	doc := r.workers[f.Worker]
	d := r.workerData(f.Worker, doc)
	if f.Kind == "RouterWorkerUpdated" {
		before := r.workerData(f.Worker, f.WorkerBefore)
		changed := []string{}
		for _, p := range []struct{ name, key string }{{"AvailableForOffers", "availableForOffers"}, {"TotalCapacity", "totalCapacity"},
			{"QueueAssignments", "queueAssignments"}, {"Labels", "labels"}, {"Tags", "tags"}, {"ChannelConfigurations", "channelConfigurations"}} {
			if !reflect.DeepEqual(jsonOf(before[p.key]), jsonOf(d[p.key])) {
				changed = append(changed, p.name)
			}
		}
		d["updatedWorkerProperties"] = changed
	}
	return subject, d
}

func (r *Router) workerData(id string, doc map[string]any) map[string]any {
	spec := workerSpec(id, doc)
	queues := make([]map[string]any, 0, len(spec.Queues))
	for _, q := range spec.Queues {
		qd := r.queues[q]
		name, _ := qd["name"].(string)
		labels, _ := qd["labels"].(map[string]any)
		queues = append(queues, map[string]any{"id": q, "name": name, "labels": orEmpty(labels)})
	}
	channels := make([]map[string]any, 0, len(spec.Channels))
	for _, c := range sortedKeys(spec.Channels) {
		ch := map[string]any{"channelId": c, "capacityCostPerJob": spec.Channels[c].Cost}
		if spec.Channels[c].MaxJobs > 0 {
			ch["maxNumberOfJobs"] = spec.Channels[c].MaxJobs
		}
		channels = append(channels, ch)
	}
	labels, _ := doc["labels"].(map[string]any)
	tags, _ := doc["tags"].(map[string]any)
	return map[string]any{"workerId": id, "totalCapacity": spec.Capacity, "queueAssignments": queues, "labels": orEmpty(labels),
		"channelConfigurations": channels, "tags": orEmpty(tags), "availableForOffers": spec.Available}
}

func jsonOf(v any) string {
	raw, _ := json.Marshal(v)
	return fmt.Sprint(string(raw))
}
