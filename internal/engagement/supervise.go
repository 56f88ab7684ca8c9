package engagement

import (
	"context"
	"slices"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Staff talk about a conversation in its side thread, which the customer
// never sees: the agent's private notes and the supervisor's whispers. A
// supervisor may watch a conversation without joining it (its messages
// come to the supervisor as notifications; nothing is read on the
// customer's behalf, so no read receipt goes out), join it (barge in), or
// move it to another queue or agent.

// Notifications supervisors receive.
const (
	EventMonitored  = "Switchboard.EngagementMessage"
	NotifyMonitored = "engagementMessage"
)

// Note kinds, in the side thread messages' metadata.
const (
	NoteKind    = "note"
	WhisperKind = "whisper"
)

// staffEngagement loads an engagement a staff member may act on: its
// agent, or any supervisor.
func (s *Service) staffEngagement(ctx context.Context, p identity.Person, id ID) (Engagement, error) {
	e, err := s.Store.Engagement(ctx, tenant.MustFrom(ctx), id)
	if err != nil {
		return e, err
	}
	if e.Agent != p.ID && !p.Role.AtLeast(identity.RoleSupervisor) {
		return e, errs.NotFound("engagement %s not found", id)
	}
	return e, nil
}

// sideThread returns the engagement's side thread with raw in it, creating
// it the first time.
func (s *Service) sideThread(ctx context.Context, e *Engagement, raw, name string) (conversation.ThreadID, error) {
	if e.SideThread == "" {
		members := []conversation.ParticipantInput{{ID: raw, DisplayName: name}}
		if e.AgentIdentity != "" && e.AgentIdentity != raw {
			members = append(members, conversation.ParticipantInput{ID: e.AgentIdentity, DisplayName: e.AgentName})
		}
		th, _, err := s.Chat.CreateThread(ctx, raw, conversation.CreateThreadInput{Topic: "Notes", Participants: members,
			Metadata: map[string]string{"engagementId": string(e.ID), "kind": "side"}})
		if err != nil {
			return "", err
		}
		e.SideThread, e.SideOwner, e.UpdatedAt = th.ID, raw, s.now().UTC()
		if err := s.Store.UpdateEngagement(ctx, e, e.Version); err != nil {
			return "", err
		}
		return th.ID, nil
	}
	if _, err := s.Chat.AddParticipants(ctx, e.SideOwner, e.SideThread, []conversation.ParticipantInput{{ID: raw, DisplayName: name}}); err != nil {
		return "", err
	}
	return e.SideThread, nil
}

// AddNote posts a private note (the engagement's agent) or a whisper (a
// supervisor) that only staff see.
func (s *Service) AddNote(ctx context.Context, p identity.Person, id ID, text string) (conversation.Message, error) {
	e, err := s.staffEngagement(ctx, p, id)
	if err != nil {
		return conversation.Message{}, err
	}
	raw, err := s.StaffIdentity(ctx, p.ID)
	if err != nil {
		return conversation.Message{}, err
	}
	kind := NoteKind
	if e.Agent != p.ID {
		kind = WhisperKind
	}
	var m conversation.Message
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		side, err := s.sideThread(ctx, &e, raw, p.DisplayName)
		if err != nil {
			return err
		}
		m, err = s.Chat.SendMessage(ctx, raw, side, conversation.SendMessageInput{Content: text, SenderDisplayName: p.DisplayName,
			Metadata: map[string]string{"kind": kind, "engagementId": string(e.ID)}})
		return err
	})
	return m, err
}

// Notes lists the engagement's side thread, newest first.
func (s *Service) Notes(ctx context.Context, p identity.Person, id ID) ([]conversation.Message, error) {
	e, err := s.staffEngagement(ctx, p, id)
	if err != nil || e.SideThread == "" {
		return nil, err
	}
	return s.Chat.ListMessages(ctx, e.SideOwner, e.SideThread, conversation.MessageQuery{Limit: 200})
}

// Transcript is the customer's conversation as the customer sees it, for
// a supervisor watching or an agent looking back; reading it sends no
// read receipt.
func (s *Service) Transcript(ctx context.Context, p identity.Person, id ID) ([]conversation.Message, error) {
	e, err := s.staffEngagement(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.Chat.ListMessages(ctx, e.Customer, e.Thread, conversation.MessageQuery{Limit: 200})
}

// Monitor starts (or stops) a supervisor's silent watch of a conversation.
func (s *Service) Monitor(ctx context.Context, p identity.Person, id ID, on bool) (Engagement, error) {
	mu := s.engagementLock(ctx, id)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.staffEngagement(ctx, p, id)
	if err != nil {
		return e, err
	}
	if !p.Role.AtLeast(identity.RoleSupervisor) {
		return Engagement{}, errs.Forbidden("only supervisors monitor conversations")
	}
	raw, err := s.StaffIdentity(ctx, p.ID)
	if err != nil {
		return Engagement{}, err
	}
	has := slices.Contains(e.Monitors, raw)
	if has == on {
		return e, nil
	}
	if on {
		e.Monitors = append(e.Monitors, raw)
	} else {
		e.Monitors = slices.DeleteFunc(e.Monitors, func(m string) bool { return m == raw })
	}
	e.UpdatedAt = s.now().UTC()
	return e, s.Store.UpdateEngagement(ctx, &e, e.Version)
}

// relayToMonitors passes a message of a watched conversation on to its
// supervisors.
func (s *Service) relayToMonitors(ctx context.Context, e *Engagement, d chatEvent) error {
	if len(e.Monitors) == 0 {
		return nil
	}
	return s.notify(ctx, EventMonitored, NotifyMonitored, e.Monitors, map[string]any{
		"engagementId": e.ID, "threadId": e.Thread, "messageId": d.MessageID, "sender": d.Sender.RawID,
		"senderDisplayName": d.SenderName, "message": d.Body, "type": d.Type,
	})
}

// Barge puts a supervisor into the customer's conversation.
func (s *Service) Barge(ctx context.Context, p identity.Person, id ID) (Engagement, error) {
	mu := s.engagementLock(ctx, id)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.staffEngagement(ctx, p, id)
	if err != nil {
		return e, err
	}
	if !p.Role.AtLeast(identity.RoleSupervisor) {
		return Engagement{}, errs.Forbidden("only supervisors barge in")
	}
	raw, err := s.StaffIdentity(ctx, p.ID)
	if err != nil {
		return Engagement{}, err
	}
	if !e.State.Live() {
		return e, errs.Conflict("InvalidState", "the engagement is %s", e.State)
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.Chat.AddParticipants(ctx, e.Customer, e.Thread, []conversation.ParticipantInput{{ID: raw, DisplayName: p.DisplayName,
			Metadata: map[string]string{"role": "supervisor"}}}); err != nil {
			return err
		}
		e.Monitors = slices.DeleteFunc(e.Monitors, func(m string) bool { return m == raw })
		if !slices.Contains(e.Barged, raw) {
			e.Barged = append(e.Barged, raw)
		}
		e.UpdatedAt = s.now().UTC()
		return s.Store.UpdateEngagement(ctx, &e, e.Version)
	})
	return e, err
}

// Transfer moves a conversation to another queue or agent: the agent who
// has it (transfer) or a supervisor (reassign). A taken conversation goes
// back to waiting as a new router job; a waiting one changes its job.
func (s *Service) Transfer(ctx context.Context, by identity.Person, id ID, queue string, agent identity.PersonID) (Engagement, error) {
	if (queue == "") == (agent == "") {
		return Engagement{}, errs.Invalid("InvalidTransfer", "name either queueId or agentId")
	}
	mu := s.engagementLock(ctx, id)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.staffEngagement(ctx, by, id)
	if err != nil {
		return e, err
	}
	if e.State != StateAssigned && e.State != StateQueued {
		return e, errs.Conflict("InvalidState", "only a waiting or taken conversation moves; this one is %s", e.State)
	}
	if e.State == StateQueued && !by.Role.AtLeast(identity.RoleSupervisor) {
		return e, errs.NotFound("engagement %s not found", id)
	}
	if queue == "" {
		queue = e.Queue
	}
	patch := map[string]any{"queueId": queue}
	if agent != "" {
		patch["requestedWorkerSelectors"] = []any{map[string]any{"key": "agentId", "labelOperator": "equal", "value": string(agent)}}
	} else {
		patch["requestedWorkerSelectors"] = []any{}
	}
	if e.State == StateQueued {
		if _, _, err := s.Router.UpsertJob(ctx, e.Job, patch, 0); err != nil {
			return e, err
		}
		e.Queue, e.UpdatedAt = queue, s.now().UTC()
		return e, s.Store.UpdateEngagement(ctx, &e, e.Version)
	}
	old, err := s.Router.GetJob(ctx, e.Job)
	if err != nil {
		return e, err
	}
	if err := s.Router.CloseJob(ctx, e.Job, e.Assignment, "transferred", "", zeroTime); err != nil && errs.KindOf(err) != errs.KindConflict {
		return e, err
	}
	labels := map[string]any{}
	for k, v := range old.Labels {
		labels[k] = v
	}
	labels["handoffReason"] = ReasonTransfer
	labels["transferredFrom"] = string(e.Agent)
	patch["labels"] = labels
	patch["channelId"], patch["channelReference"], patch["priority"] = "chat", string(e.Thread), float64(old.Priority)
	next := JobID(e.ID, e.Transfers+1)
	if _, _, err := s.Router.UpsertJob(ctx, next, patch, 0); err != nil {
		return e, err
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Chat.RemoveParticipant(ctx, e.AgentIdentity, e.Thread, e.AgentIdentity); err != nil && !gone(err) {
			return err
		}
		now := s.now().UTC()
		e.Transfers++
		e.State, e.Job, e.Queue, e.HandoffReason, e.HandoffAt, e.UpdatedAt = StateQueued, next, queue, ReasonTransfer, now, now
		e.Agent, e.AgentIdentity, e.AgentName, e.Assignment, e.AssignedAt = "", "", "", "", zeroTime
		return s.Store.UpdateEngagement(ctx, &e, e.Version)
	})
	if err == nil {
		s.announcePosition(ctx, &e)
	}
	return e, err
}

// History is the engagement's customer's other conversations, newest
// first: what an agent sees of a returning customer.
func (s *Service) History(ctx context.Context, p identity.Person, id ID) ([]Engagement, error) {
	e, err := s.staffEngagement(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if e.Contact == "" {
		return []Engagement{}, nil
	}
	all, err := s.Engagements(ctx, Filter{Contact: e.Contact}, "", 50)
	if err != nil {
		return nil, err
	}
	out := []Engagement{}
	for _, o := range all {
		if o.ID != e.ID {
			out = append(out, o)
		}
	}
	return out, nil
}
