package conversation

import (
	"context"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// AddParticipants adds (or updates) participants; each one added posts a
// participantAdded system message and a ChatThreadParticipantAdded event.
func (s *Service) AddParticipants(ctx context.Context, caller string, id ThreadID, in []ParticipantInput) ([]InvalidParticipant, error) {
	t := tenant.MustFrom(ctx)
	if len(in) == 0 {
		return nil, errs.Invalid("InvalidParticipants", "participants must not be empty").WithTarget("participants")
	}
	if len(in) > MaxParticipants {
		return nil, errs.Invalid("TooManyParticipants", "a chat thread has at most %d participants", MaxParticipants).WithTarget("participants")
	}
	var bad []InvalidParticipant
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		th, _, err := s.member(ctx, caller, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		var ps []Participant
		ps, bad, err = s.checkParticipants(ctx, in, now)
		if err != nil || len(ps) == 0 {
			return err
		}
		existing, err := s.store.ParticipantIDs(ctx, t, id)
		if err != nil {
			return err
		}
		members := map[string]bool{}
		for _, m := range existing {
			members[m] = true
		}
		fresh := 0
		for _, p := range ps {
			if !members[p.ID] {
				fresh++
			}
		}
		if len(existing)+fresh > MaxParticipants {
			return errs.Invalid("TooManyParticipants", "a chat thread has at most %d participants", MaxParticipants).WithTarget("participants")
		}
		if err := s.store.AddParticipants(ctx, t, id, ps); err != nil {
			return err
		}
		audience := existing
		for _, p := range ps {
			if !members[p.ID] {
				audience = append(audience, p.ID)
			}
		}
		version := max(now.UnixMilli(), th.Version+1)
		th.Version = version
		if err := s.store.UpdateThread(ctx, th); err != nil {
			return err
		}
		clientPs := make([]ClientParticipant, len(ps))
		for i, p := range ps {
			clientPs[i] = clientParticipant(p)
			ev, err := newEvent(t, EventThreadParticipantAdded, "thread/"+string(id)+"/participantadded/"+p.ID, map[string]any{
				"time":                           rfc3339(now),
				"addedByCommunicationIdentifier": wire(caller),
				"participantAdded":               participantProps(p),
				"createTime":                     rfc3339(th.CreatedAt),
				"version":                        version,
				"threadId":                       string(id),
				"transactionId":                  transactionID(),
			}, audience, "", nil)
			if err != nil {
				return err
			}
			if i == len(ps)-1 {
				// One client notification for the whole batch, as the SDK's
				// participantsAdded carries a list.
				ev, err = withNotify(ev, ClientParticipantsAdded, map[string]any{
					"threadId": string(id), "version": itoa(version), "addedOn": rfc3339(now),
					"addedBy": ClientParticipant{ID: wire(caller)}, "participantsAdded": clientPs,
				})
				if err != nil {
					return err
				}
			}
			if err := s.outbox.Append(ctx, ev); err != nil {
				return err
			}
		}
		return s.systemMessage(ctx, id, now, TypeParticipantAdded, Content{Participants: ps, Initiator: caller})
	})
	return bad, err
}

// RemoveParticipant removes a participant; from that moment the removed
// identity can read nothing more of the thread.
func (s *Service) RemoveParticipant(ctx context.Context, caller string, id ThreadID, who string) error {
	t := tenant.MustFrom(ctx)
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		th, _, err := s.member(ctx, caller, id)
		if err != nil {
			return err
		}
		p, err := s.store.Participant(ctx, t, id, who)
		if err != nil {
			if errs.KindOf(err) == errs.KindNotFound {
				return errs.NotFound("%s is not a participant of chat thread %s", who, id)
			}
			return err
		}
		audience, err := s.store.ParticipantIDs(ctx, t, id)
		if err != nil {
			return err
		}
		if err := s.store.RemoveParticipant(ctx, t, id, who); err != nil {
			return err
		}
		now := s.now().UTC()
		version := max(now.UnixMilli(), th.Version+1)
		th.Version = version
		if err := s.store.UpdateThread(ctx, th); err != nil {
			return err
		}
		ev, err := newEvent(t, EventThreadParticipantRemoved, "thread/"+string(id)+"/participantremoved/"+who, map[string]any{
			"time":                             rfc3339(now),
			"removedByCommunicationIdentifier": wire(caller),
			"participantRemoved":               participantProps(p),
			"createTime":                       rfc3339(th.CreatedAt),
			"version":                          version,
			"threadId":                         string(id),
			"transactionId":                    transactionID(),
		}, audience, ClientParticipantsRemove, map[string]any{
			"threadId": string(id), "version": itoa(version), "removedOn": rfc3339(now),
			"removedBy": ClientParticipant{ID: wire(caller)}, "participantsRemoved": []ClientParticipant{clientParticipant(p)},
		})
		if err != nil {
			return err
		}
		if err := s.outbox.Append(ctx, ev); err != nil {
			return err
		}
		return s.systemMessage(ctx, id, now, TypeParticipantRemoved, Content{Participants: []Participant{p}, Initiator: caller})
	})
}

// ListParticipants pages through a thread's participants.
func (s *Service) ListParticipants(ctx context.Context, caller string, id ThreadID, skip, limit int) ([]Participant, error) {
	if _, _, err := s.member(ctx, caller, id); err != nil {
		return nil, err
	}
	return s.store.Participants(ctx, tenant.MustFrom(ctx), id, skip, limit)
}
