package engagement

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// End ends the conversation with the customer: the agent leaves the
// thread, the customer is asked for a rating, and the agent wraps up.
func (s *Service) End(ctx context.Context, p identity.PersonID, id ID) (Engagement, error) {
	e, err := s.agentEngagement(ctx, p, id, StateAssigned)
	if err != nil {
		return e, err
	}
	if err := s.Router.CompleteJob(ctx, e.Job, e.Assignment, ""); err != nil && errs.KindOf(err) != errs.KindConflict {
		return e, err
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Chat.RemoveParticipant(ctx, e.AgentIdentity, e.Thread, e.AgentIdentity); err != nil && !gone(err) {
			return err
		}
		e.State, e.UpdatedAt = StateWrapUp, s.now().UTC()
		return s.Store.UpdateEngagement(ctx, &e, e.Version)
	})
	if err != nil {
		return e, err
	}
	_ = s.notify(ctx, EventEnded, NotifyEnded, []string{e.Customer}, map[string]any{"engagementId": e.ID, "threadId": e.Thread, "rate": true})
	return e, nil
}

// WrapUp closes the agent's work on an engagement with a disposition code
// and notes; the agent's wrap-up time starts.
func (s *Service) WrapUp(ctx context.Context, p identity.PersonID, id ID, disposition, notes string) (Engagement, error) {
	if len(disposition) > 64 || len(notes) > 4000 {
		return Engagement{}, errs.Invalid("InvalidWrapUp", "dispositionCode is at most 64 characters and notes at most 4000")
	}
	if err := s.checkDisposition(ctx, disposition); err != nil {
		return Engagement{}, err
	}
	e, err := s.agentEngagement(ctx, p, id, StateAssigned, StateWrapUp)
	if err != nil {
		return e, err
	}
	if e.State == StateAssigned {
		if e, err = s.End(ctx, p, id); err != nil {
			return e, err
		}
	}
	if err := s.Router.CloseJob(ctx, e.Job, e.Assignment, disposition, notes, time.Time{}); err != nil && errs.KindOf(err) != errs.KindConflict {
		return e, err
	}
	now := s.now().UTC()
	e.State, e.Disposition, e.WrapUpNotes, e.EndedAt, e.UpdatedAt = StateEnded, disposition, notes, now, now
	return e, s.Store.UpdateEngagement(ctx, &e, e.Version)
}

// Rate stores the customer's rating of an ended conversation.
func (s *Service) Rate(ctx context.Context, caller string, id ID, rating int, comment string) (Engagement, error) {
	if rating < 1 || rating > 5 {
		return Engagement{}, errs.Invalid("InvalidRating", "rating must be 1 to 5").WithTarget("rating")
	}
	if utf8.RuneCountInString(comment) > 2000 {
		return Engagement{}, errs.Invalid("InvalidComment", "comment must be at most 2000 characters").WithTarget("comment")
	}
	e, err := s.Store.Engagement(ctx, tenant.MustFrom(ctx), id)
	if err != nil {
		return e, err
	}
	if e.Customer != caller {
		return e, errs.NotFound("engagement %s not found", id)
	}
	if e.State != StateWrapUp && e.State != StateEnded {
		return e, errs.Conflict("NotEnded", "a conversation is rated once it has ended")
	}
	if e.Rating != 0 {
		return e, errs.Conflict("AlreadyRated", "this conversation has been rated")
	}
	now := s.now().UTC()
	e.Rating, e.Comment, e.RatedAt, e.UpdatedAt = rating, strings.TrimSpace(comment), now, now
	return e, s.Store.UpdateEngagement(ctx, &e, e.Version)
}

// Notification an agent's desktop receives when the customer leaves.
const (
	EventCustomerLeft  = "Switchboard.EngagementCustomerLeft"
	NotifyCustomerLeft = "engagementCustomerLeft"
)

// Leave ends the conversation for the customer (the widget's "end chat"):
// a bot lets go, a waiting customer's job is cancelled (abandoned), and an
// agent who has it is told and goes on to wrap up.
func (s *Service) Leave(ctx context.Context, caller string, id ID) (Engagement, error) {
	mu := s.engagementLock(ctx, id)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.Store.Engagement(ctx, tenant.MustFrom(ctx), id)
	if err != nil || e.Customer != caller {
		return Engagement{}, errs.NotFound("engagement %s not found", id)
	}
	now := s.now().UTC()
	switch e.State {
	case StateBot:
		err = s.Tx.InTx(ctx, func(ctx context.Context) error {
			if err := s.Chat.RemoveParticipant(ctx, e.BotIdentity, e.Thread, e.BotIdentity); err != nil && !gone(err) {
				return err
			}
			e.State, e.EndedAt, e.UpdatedAt = StateEnded, now, now
			return s.Store.UpdateEngagement(ctx, &e, e.Version)
		})
	case StateQueued:
		if err := s.Router.CancelJob(ctx, e.Job, "the customer left", "abandoned"); err != nil && errs.KindOf(err) != errs.KindNotFound {
			return e, err
		}
		e.State, e.EndedAt, e.UpdatedAt = StateEnded, now, now
		err = s.Store.UpdateEngagement(ctx, &e, e.Version)
	case StateAssigned:
		if err := s.Router.CompleteJob(ctx, e.Job, e.Assignment, "the customer left"); err != nil && errs.KindOf(err) != errs.KindConflict {
			return e, err
		}
		err = s.Tx.InTx(ctx, func(ctx context.Context) error {
			if err := s.Chat.RemoveParticipant(ctx, e.AgentIdentity, e.Thread, e.AgentIdentity); err != nil && !gone(err) {
				return err
			}
			e.State, e.UpdatedAt = StateWrapUp, now
			return s.Store.UpdateEngagement(ctx, &e, e.Version)
		})
		if err == nil {
			_ = s.notify(ctx, EventCustomerLeft, NotifyCustomerLeft, []string{e.AgentIdentity}, map[string]any{"engagementId": e.ID, "threadId": e.Thread})
		}
	default:
		return e, errs.Conflict("InvalidState", "the conversation has already ended")
	}
	if err != nil {
		return e, err
	}
	s.positions.Delete(string(e.Tenant) + "|" + string(e.ID))
	if !e.AssignedAt.IsZero() {
		_ = s.notify(ctx, EventEnded, NotifyEnded, []string{e.Customer}, map[string]any{"engagementId": e.ID, "threadId": e.Thread, "rate": true})
	}
	return e, nil
}
