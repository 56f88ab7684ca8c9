package engagement

import (
	"context"
	"errors"
	"math"
	"strings"

	"github.com/switchboard-cc/switchboard/internal/bot"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Real-time notifications the service sends (event types and the names
// clients receive them under).
const (
	EventQueuePosition  = "Switchboard.EngagementQueuePosition"
	NotifyQueuePosition = "engagementQueuePosition"
	EventEnded          = "Switchboard.EngagementEnded"
	NotifyEnded         = "engagementEnded"
)

// handoff hands the customer to a person: the router job first (its id is
// the engagement's, so a repeat after a crash finds the same job), then,
// in one transaction, the bot's last words, the bot leaving and the
// engagement queued.
func (s *Service) handoff(ctx context.Context, e *Engagement, b *Bot, h handoffReq, say []string, lastMessage string) error {
	queue := h.queue
	if queue == "" && b != nil {
		queue = b.Queue
	}
	if queue == "" && s.Channels != nil {
		queue = s.Channels.Queue(ctx, e.Channel)
	}
	if queue == "" {
		return errs.Invalid("NoQueue", "no queue takes %s conversations: set the bot's handoffQueueId or the channel's queue", e.Channel)
	}
	job := JobID(e.ID, e.Transfers)
	labels := map[string]any{}
	for k, v := range e.Fields {
		labels[labelKey(k)] = v
	}
	for k, v := range h.labels {
		labels[labelKey(k)] = v
	}
	labels["engagementId"] = string(e.ID)
	labels["threadId"] = string(e.Thread)
	labels["channel"] = e.Channel
	labels["handoffReason"] = h.reason
	if e.Contact != "" {
		labels["contactId"] = string(e.Contact)
	}
	if e.Locale != "" {
		labels["locale"] = e.Locale
	}
	patch := map[string]any{"channelId": "chat", "queueId": queue, "priority": float64(h.priority),
		"channelReference": string(e.Thread), "labels": labels}
	if _, _, err := s.Router.UpsertJob(ctx, job, patch, 0); err != nil {
		return err
	}
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		if e.State == StateBot && e.BotIdentity != "" {
			if b != nil {
				if err := s.botSays(ctx, e, b, say); err != nil {
					return err
				}
			}
			if err := s.Chat.RemoveParticipant(ctx, e.BotIdentity, e.Thread, e.BotIdentity); err != nil && !gone(err) {
				return err
			}
		}
		if lastMessage != "" {
			e.LastMessage = lastMessage
		}
		now := s.now().UTC()
		e.State, e.Queue, e.Job, e.HandoffReason, e.HandoffAt, e.UpdatedAt = StateQueued, queue, job, h.reason, now, now
		return s.Store.UpdateEngagement(ctx, e, e.Version)
	})
	if err != nil {
		return err
	}
	if b != nil && b.Kind == BotWebhook && h.reason != ReasonBotFailed {
		s.tellBot(e, b, queue, h.reason)
	}
	s.announcePosition(ctx, e)
	return nil
}

// tellBot lets a webhook bot know the conversation went to people, so it
// stops; best effort, and apart from the customer's line.
func (s *Service) tellBot(e *Engagement, b *Bot, queue, reason string) {
	if s.Webhooks == nil || b.Webhook == nil {
		return
	}
	act, err := bot.Event(e.Thread, bot.ChannelAccount{ID: e.Customer, Role: bot.RoleUser}, bot.ChannelAccount{ID: b.Identity, Name: b.Name, Role: bot.RoleBot},
		bot.EventHandoffCompleted, map[string]string{"queue": queue, "reason": reason})
	if err != nil {
		return
	}
	act.ChannelID = e.Channel
	ep := bot.Endpoint{URL: b.Webhook.URL, Secret: b.Secret, Timeout: b.Webhook.timeout()}
	s.ticker.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bot.MaxTimeout)
		defer cancel()
		if _, err := s.Webhooks.Deliver(ctx, ep, act); err != nil {
			s.Log.Info("engagement: bot not told of the handoff", "tenant", e.Tenant, "bot", b.ID, "err", err)
		}
	})
}

// labelKey keeps a collected field usable as a router label key.
func labelKey(k string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == ' ' {
			return '_'
		}
		return r
	}, k)
}

// Position is where a waiting customer stands.
type Position struct {
	EngagementID         ID     `json:"engagementId"`
	ThreadID             string `json:"threadId"`
	State                State  `json:"state"`
	Position             int    `json:"position,omitempty"`
	QueueLength          int    `json:"queueLength,omitempty"`
	EstimatedWaitMinutes *int   `json:"estimatedWaitMinutes,omitempty"`
}

// position reads a queued engagement's place from the router.
func (s *Service) position(ctx context.Context, e *Engagement) (Position, error) {
	p := Position{EngagementID: e.ID, ThreadID: string(e.Thread), State: e.State}
	if e.State != StateQueued {
		return p, nil
	}
	rp, err := s.Router.JobPosition(ctx, e.Job)
	if err != nil {
		var coded *errs.Error
		if errs.KindOf(err) == errs.KindNotFound || (errors.As(err, &coded) && coded.Code == "InvalidJobStatus") {
			// Offered or taken meanwhile: no longer in the line.
			return p, nil
		}
		return p, err
	}
	p.Position, p.QueueLength = rp.Position, rp.QueueLength
	if rp.EstimatedWaitTimeMinutes != nil {
		m := int(math.Ceil(*rp.EstimatedWaitTimeMinutes))
		p.EstimatedWaitMinutes = &m
	}
	return p, nil
}

// announcePosition tells the customer where they stand, when it changed.
func (s *Service) announcePosition(ctx context.Context, e *Engagement) {
	p, err := s.position(ctx, e)
	if err != nil || p.Position == 0 {
		return
	}
	key := string(e.Tenant) + "|" + string(e.ID)
	wait := -1
	if p.EstimatedWaitMinutes != nil {
		wait = *p.EstimatedWaitMinutes
	}
	sig := [2]int{p.Position, wait}
	if prev, ok := s.positions.Load(key); ok && prev.([2]int) == sig {
		return
	}
	s.positions.Store(key, sig)
	if err := s.notify(ctx, EventQueuePosition, NotifyQueuePosition, []string{e.Customer}, p); err != nil {
		s.Log.Warn("engagement: announce queue position", "tenant", e.Tenant, "err", err)
	}
}

// CustomerPosition is the waiting customer's own view of their place.
func (s *Service) CustomerPosition(ctx context.Context, caller string, thread string) (Position, error) {
	e, err := s.Store.LiveEngagement(ctx, tenant.MustFrom(ctx), conversation.ThreadID(thread))
	if err != nil {
		return Position{}, err
	}
	if e.Customer != caller {
		return Position{}, errs.Forbidden("only the customer of this conversation may ask")
	}
	return s.position(ctx, &e)
}

// RefreshPositions announces every waiting customer's place anew; the
// app calls it every few seconds.
func (s *Service) RefreshPositions(ctx context.Context) error {
	after := ""
	for {
		page, err := s.Store.QueuedEngagements(ctx, after, 200)
		if err != nil {
			return err
		}
		for i := range page {
			e := page[i]
			tctx := tenant.With(ctx, e.Tenant)
			if s.Owns != nil && !s.Owns(tctx, e.Tenant) {
				continue // another node tells this tenant's customers
			}
			s.announcePosition(tctx, &e)
		}
		if len(page) < 200 {
			return nil
		}
		after = string(page[len(page)-1].Tenant) + "|" + string(page[len(page)-1].ID)
	}
}
