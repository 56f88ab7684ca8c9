package engagement

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/bot"
	"github.com/switchboard-cc/switchboard/internal/bot/flow"
	"github.com/switchboard-cc/switchboard/internal/contact"
	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// The service follows the tenant's chat: a web chat thread opening, or a
// customer writing with no live engagement, starts one; while a bot leads,
// each customer message is a turn of the bot. Events arrive at least once
// and in order per thread; a turn remembers the last message it took.

// EventTypes are the events the service consumes.
var EventTypes = []string{
	conversation.EventThreadCreated,
	conversation.EventMessageReceivedInThread,
	routingEvent("RouterWorkerOfferIssued"),
	routingEvent("RouterWorkerOfferAccepted"),
	routingEvent("RouterWorkerOfferDeclined"),
	routingEvent("RouterWorkerOfferExpired"),
	routingEvent("RouterWorkerOfferRevoked"),
}

func routingEvent(kind string) string { return "Microsoft.Communication." + kind }

// Wants reports whether the service consumes events of typ (the router
// writes its events only when someone does).
func Wants(typ string) bool {
	for _, t := range EventTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// WantsJob reports whether the service consumes a router event of typ
// about job: only offers of the jobs it created itself (a tenant's other
// router traffic would otherwise flow through the contact center too).
func WantsJob(typ string, job *routing.Job) bool {
	if job == nil || !Wants(typ) {
		return false
	}
	if id, _ := job.Labels["engagementId"].(string); id != "" {
		return true
	}
	return strings.HasPrefix(job.ID, "eng-")
}

type wireID struct {
	RawID string `json:"rawId"`
}

type chatEvent struct {
	ThreadID   string            `json:"threadId"`
	MessageID  string            `json:"messageId"`
	Sender     wireID            `json:"senderCommunicationIdentifier"`
	SenderName string            `json:"senderDisplayName"`
	Creator    wireID            `json:"createdByCommunicationIdentifier"`
	Body       string            `json:"messageBody"`
	Type       string            `json:"type"`
	Metadata   map[string]string `json:"metadata"`
}

// HandleEvent takes one event of the tenant's stream.
func (s *Service) HandleEvent(ctx context.Context, ev event.Event) error {
	ctx = tenant.With(ctx, ev.Tenant)
	switch ev.Type {
	case conversation.EventThreadCreated, conversation.EventMessageReceivedInThread:
		var d chatEvent
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return fmt.Errorf("engagement: %s data: %w", ev.Type, err)
		}
		mu := s.threadLock(ev.Tenant, conversation.ThreadID(d.ThreadID))
		mu.Lock()
		defer mu.Unlock()
		if ev.Type == conversation.EventThreadCreated {
			return s.threadOpened(ctx, d)
		}
		return s.customerWrote(ctx, d)
	default:
		return s.routerEvent(ctx, ev)
	}
}

func (s *Service) threadOpened(ctx context.Context, d chatEvent) error {
	if d.Metadata["channel"] != "webchat" {
		return nil
	}
	th := conversation.ThreadID(d.ThreadID)
	if _, err := s.Store.LiveEngagement(ctx, tenant.MustFrom(ctx), th); err == nil || errs.KindOf(err) != errs.KindNotFound {
		return err
	}
	_, err := s.start(ctx, th, d.Creator.RawID, d.Metadata, "")
	return err
}

func (s *Service) customerWrote(ctx context.Context, d chatEvent) error {
	t := tenant.MustFrom(ctx)
	th := conversation.ThreadID(d.ThreadID)
	e, err := s.Store.LiveEngagement(ctx, t, th)
	switch {
	case errs.KindOf(err) == errs.KindNotFound:
		// Only the customer's own thread of a channel we serve starts one.
		thread, err := s.Chat.GetThread(ctx, d.Sender.RawID, th)
		if err != nil || thread.Metadata["channel"] != "webchat" || thread.CreatedBy != d.Sender.RawID {
			return nil
		}
		e, err = s.start(ctx, th, d.Sender.RawID, thread.Metadata, d.MessageID)
		if err != nil || e.State != StateBot {
			return err
		}
	case err != nil:
		return err
	default:
		if err := s.relayToMonitors(ctx, &e, d); err != nil {
			return err
		}
	}
	if e.State != StateBot || d.Sender.RawID != e.Customer {
		return nil
	}
	// Events may come late or out of order (a redelivery after a crash,
	// a retry, another node): the bot takes, oldest first, every message
	// of the customer's it has not taken yet; an event whose message was
	// already taken finds nothing to do.
	pending, err := s.untaken(ctx, &e)
	if err != nil || len(pending) == 0 {
		return err
	}
	b, err := s.Store.Bot(ctx, t, e.Bot)
	if err != nil {
		return s.handoff(ctx, &e, nil, handoffReq{reason: ReasonBotFailed}, nil, pending[len(pending)-1].ID)
	}
	for _, m := range pending {
		if e.State != StateBot {
			break
		}
		var r botReply
		switch b.Kind {
		case BotFlow:
			r = s.flowTurn(ctx, &e, &b, flow.Input{Kind: flow.Message, Text: m.Content.Message})
		default:
			r = s.webhookTurn(ctx, &e, &b, s.activity(&e, &b, bot.TypeMessage, m.Content.Message, m.ID))
		}
		if err := s.apply(ctx, &e, &b, r, m.ID); err != nil {
			return err
		}
	}
	return nil
}

// untaken lists, oldest first, the customer's messages newer than the last
// one the bot took.
func (s *Service) untaken(ctx context.Context, e *Engagement) ([]conversation.Message, error) {
	msgs, err := s.Chat.ListMessages(ctx, e.Customer, e.Thread, conversation.MessageQuery{Limit: 100})
	if err != nil {
		return nil, err
	}
	var out []conversation.Message
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.Sender == e.Customer && m.DeletedAt == nil && (m.Type == conversation.TypeText || m.Type == conversation.TypeHTML) && newer(m.ID, e.LastMessage) {
			out = append(out, m)
		}
	}
	return out, nil
}

// before is the message id just before id (ids are millisecond stamps).
func before(id string) string {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return ""
	}
	return strconv.FormatInt(n-1, 10)
}

// newer compares chat message ids (millisecond stamps, as decimal text).
func newer(id, last string) bool {
	if last == "" {
		return true
	}
	if len(id) != len(last) {
		return len(id) > len(last)
	}
	return id > last
}

// start opens an engagement on a thread; the channel's bot greets, or the
// customer goes straight to the queue when no bot answers the channel.
func (s *Service) start(ctx context.Context, th conversation.ThreadID, customer string, meta map[string]string, firstMessage string) (Engagement, error) {
	t := tenant.MustFrom(ctx)
	now := s.now().UTC()
	e := Engagement{Tenant: t, ID: ID(s.newID()), Thread: th, Customer: customer, Channel: meta["channel"],
		Locale: meta["locale"], State: StateBot, CreatedAt: now, UpdatedAt: now}
	if firstMessage != "" {
		// The bot takes the message that started the engagement, and none
		// the customer wrote in earlier ones. An engagement begun by a new
		// thread takes every message in it.
		e.LastMessage = before(firstMessage)
	}
	e.Contact = contact.ID(meta["contactId"])
	b, err := s.channelBot(ctx, e.Channel, e.Locale)
	if err != nil {
		return e, err
	}
	if b == nil {
		// A tenant that set neither a bot nor a queue for the channel does
		// not run a contact center on it: the chat stays a plain chat.
		if s.Channels == nil || s.Channels.Queue(ctx, e.Channel) == "" {
			return Engagement{}, nil
		}
		e.State = StateQueued
		if err := s.Store.CreateEngagement(ctx, e); err != nil {
			return s.startedElsewhere(ctx, th, err)
		}
		e.Version = 1
		return e, s.handoff(ctx, &e, nil, handoffReq{reason: ReasonNoBot}, nil, firstMessage)
	}
	e.Bot, e.BotIdentity = b.ID, b.Identity
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.CreateEngagement(ctx, e); err != nil {
			return err
		}
		_, err := s.Chat.AddParticipants(ctx, customer, th, []conversation.ParticipantInput{{ID: b.Identity, DisplayName: b.Name,
			Metadata: map[string]string{"role": "bot"}}})
		return err
	})
	if err != nil {
		return s.startedElsewhere(ctx, th, err)
	}
	e, err = s.Store.Engagement(ctx, t, e.ID)
	if err != nil {
		return e, err
	}
	var r botReply
	switch b.Kind {
	case BotFlow:
		r = s.flowTurn(ctx, &e, b, flow.Input{Kind: flow.Start})
	default:
		r = s.webhookTurn(ctx, &e, b, s.activity(&e, b, bot.TypeConversationUpdate, "", ""))
	}
	return e, s.apply(ctx, &e, b, r, "")
}

// startedElsewhere: another node (or an earlier delivery) started the
// thread's engagement first; that one goes on.
func (s *Service) startedElsewhere(ctx context.Context, th conversation.ThreadID, err error) (Engagement, error) {
	if errs.KindOf(err) != errs.KindConflict {
		return Engagement{}, err
	}
	return s.Store.LiveEngagement(ctx, tenant.MustFrom(ctx), th)
}

// botReply is what a bot's turn decided.
type botReply struct {
	say     []string
	handoff *handoffReq
	end     bool
	state   json.RawMessage
	fields  map[string]string
}

type handoffReq struct {
	queue    string
	priority int
	labels   map[string]string
	reason   string
}

func (s *Service) flowInput(ctx context.Context, e *Engagement, in flow.Input) flow.Input {
	in.Open = s.Channels == nil || s.Channels.Open(ctx, e.Channel, s.now())
	if e.Known == nil {
		e.Known = s.known(ctx, e)
	}
	in.Contact = e.Known
	return in
}

// known reads what is known of the customer, once per engagement: every
// turn of the bot would otherwise read the contact again.
func (s *Service) known(ctx context.Context, e *Engagement) map[string]string {
	out := map[string]string{}
	if s.Contacts == nil || e.Contact == "" {
		return out
	}
	c, err := s.Contacts.Get(ctx, e.Contact)
	if err != nil {
		return out
	}
	out["name"] = c.DisplayName
	for k, v := range c.Fields {
		out[k] = v
	}
	for _, h := range c.Handles {
		if _, ok := out[string(h.Kind)]; !ok && (h.Kind == "email" || h.Kind == "phone") {
			out[string(h.Kind)] = h.Value
		}
	}
	return out
}

// flowTurn runs the built-in flow with one input (lookups included).
func (s *Service) flowTurn(ctx context.Context, e *Engagement, b *Bot, in flow.Input) botReply {
	f, err := s.flowOf(ctx, *b)
	if err != nil {
		s.Log.Warn("engagement: flow unavailable; handing off", "tenant", e.Tenant, "bot", b.ID, "err", err)
		return botReply{handoff: &handoffReq{reason: ReasonBotFailed}}
	}
	var st flow.State
	if len(e.BotState) > 0 {
		if err := json.Unmarshal(e.BotState, &st); err != nil {
			return botReply{handoff: &handoffReq{reason: ReasonBotFailed}}
		}
	}
	in = s.flowInput(ctx, e, in)
	var r botReply
	// A lookup feeds its result back; a flow cannot ask more than a few in
	// one turn.
	for range 4 {
		var out flow.Output
		st, out = f.Step(st, in)
		r.say = append(r.say, out.Say...)
		if out.Lookup != nil {
			in = flow.Input{Kind: flow.LookupAnswer, Open: in.Open, Contact: in.Contact, Lookup: s.lookup(ctx, b, out.Lookup.Fields)}
			continue
		}
		if out.Handoff != nil {
			r.handoff = &handoffReq{queue: out.Handoff.Queue, priority: out.Handoff.Priority, labels: out.Handoff.Labels, reason: out.Handoff.Reason}
		}
		r.end = out.End
		break
	}
	r.state, _ = json.Marshal(st)
	r.fields = st.Fields
	return r
}

func (s *Service) lookup(ctx context.Context, b *Bot, fields map[string]string) flow.LookupResult {
	if b.Lookup == nil || s.Lookups == nil {
		return flow.LookupResult{Err: true}
	}
	found, out, err := s.Lookups.Lookup(ctx, bot.Endpoint{URL: b.Lookup.URL, Secret: b.Secret, Timeout: b.Lookup.timeout()}, fields)
	if err != nil {
		s.Log.Warn("engagement: customer lookup failed", "tenant", b.Tenant, "bot", b.ID, "err", err)
		return flow.LookupResult{Err: true}
	}
	return flow.LookupResult{Found: found, Fields: out}
}

func (s *Service) activity(e *Engagement, b *Bot, typ bot.ActivityType, text, id string) bot.Activity {
	from := bot.ChannelAccount{ID: e.Customer, Role: bot.RoleUser}
	to := bot.ChannelAccount{ID: b.Identity, Name: b.Name, Role: bot.RoleBot}
	var act bot.Activity
	switch typ {
	case bot.TypeMessage:
		act = bot.MessageActivity(e.Thread, from, to, text, e.Locale)
	default:
		act = bot.ConversationUpdate(e.Thread, from, to, []bot.ChannelAccount{from}, nil)
	}
	if id != "" {
		// The customer's message id: a redelivery carries the same id, so
		// the bot can answer it once.
		act.ID = string(e.ID) + ":" + id
	}
	act.ServiceURL = strings.TrimSuffix(s.PublicURL, "/") + "/botapi/" + string(e.Tenant) + "/" + string(b.ID)
	act.ChannelID = e.Channel
	return act
}

// webhookTurn delivers an activity to the tenant's bot; a bot that fails
// in any way hands the customer to a person.
func (s *Service) webhookTurn(ctx context.Context, e *Engagement, b *Bot, act bot.Activity) botReply {
	if s.Webhooks == nil || b.Webhook == nil {
		return botReply{handoff: &handoffReq{reason: ReasonBotFailed}}
	}
	acts, err := s.Webhooks.Deliver(ctx, bot.Endpoint{URL: b.Webhook.URL, Secret: b.Secret, Timeout: b.Webhook.timeout()}, act)
	if err != nil {
		s.Log.Warn("engagement: bot failed; handing off", "tenant", e.Tenant, "bot", b.ID, "err", err)
		return botReply{handoff: &handoffReq{reason: ReasonBotFailed}}
	}
	return replyOf(acts)
}

// replyOf turns a bot's answer into a reply.
func replyOf(acts []bot.Activity) botReply {
	var r botReply
	for _, a := range acts {
		switch a.Type {
		case bot.TypeMessage:
			if strings.TrimSpace(a.Text) != "" {
				r.say = append(r.say, a.Text)
			}
		case bot.TypeEndOfConversation:
			r.end = true
		}
	}
	if h, ok := bot.HandoffOf(acts); ok {
		reason := h.Reason
		if reason == "" {
			reason = ReasonFlow
		}
		r.handoff = &handoffReq{queue: h.Queue, priority: h.Priority, labels: h.Labels, reason: reason}
	}
	return r
}

// apply carries out a bot's turn: its messages and state in one
// transaction, then a handoff or the end.
func (s *Service) apply(ctx context.Context, e *Engagement, b *Bot, r botReply, lastMessage string) error {
	if r.fields != nil {
		e.Fields = r.fields
	}
	if len(r.state) > 0 {
		e.BotState = r.state
	}
	if r.handoff != nil {
		return s.handoff(ctx, e, b, *r.handoff, r.say, lastMessage)
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.botSays(ctx, e, b, r.say); err != nil {
			return err
		}
		if lastMessage != "" {
			e.LastMessage = lastMessage
		}
		if r.end {
			e.State, e.EndedAt = StateEnded, s.now().UTC()
			if err := s.Chat.RemoveParticipant(ctx, b.Identity, e.Thread, b.Identity); err != nil && !gone(err) {
				return err
			}
		}
		e.UpdatedAt = s.now().UTC()
		return s.Store.UpdateEngagement(ctx, e, e.Version)
	})
}

func (s *Service) botSays(ctx context.Context, e *Engagement, b *Bot, say []string) error {
	for _, text := range say {
		if _, err := s.Chat.SendMessage(ctx, b.Identity, e.Thread, conversation.SendMessageInput{Content: text, SenderDisplayName: b.Name,
			Metadata: map[string]string{"engagementId": string(e.ID), "role": "bot"}}); err != nil {
			return err
		}
	}
	return nil
}

// gone reports an error that means the participant or thread is already
// not there (a repeated step after a crash).
func gone(err error) bool {
	k := errs.KindOf(err)
	return k == errs.KindNotFound || k == errs.KindForbidden || errors.Is(err, errs.KindNotFound)
}

// BotActivities takes what a webhook bot posts through the API later (it
// answered 202 to a delivery): its messages, a handoff or the end, in the
// conversation it still leads.
func (s *Service) BotActivities(ctx context.Context, id BotID, secret []byte, thread conversation.ThreadID, acts []bot.Activity) error {
	t := tenant.MustFrom(ctx)
	b, err := s.Store.Bot(ctx, t, id)
	if err != nil || subtle.ConstantTimeCompare(b.Secret, secret) != 1 {
		return errs.Unauthenticated("InvalidBotCredentials", "the bot id or secret is wrong")
	}
	mu := s.threadLock(t, thread)
	mu.Lock()
	defer mu.Unlock()
	e, err := s.Store.LiveEngagement(ctx, t, thread)
	if err != nil || e.Bot != id {
		return errs.NotFound("no conversation of this bot has that id")
	}
	if e.State != StateBot {
		return errs.Conflict("HandedOff", "the conversation has left the bot (%s)", e.State)
	}
	return s.apply(ctx, &e, &b, replyOf(acts), "")
}

// CustomerTyping passes a customer's typing on to a webhook bot that leads
// the conversation (at most one typing activity every few seconds; best
// effort, and never in the customer's way).
func (s *Service) CustomerTyping(ctx context.Context, ev event.Event) {
	ctx = tenant.With(ctx, ev.Tenant)
	var d chatEvent
	if json.Unmarshal(ev.Data, &d) != nil || d.ThreadID == "" {
		return
	}
	e, err := s.Store.LiveEngagement(ctx, ev.Tenant, conversation.ThreadID(d.ThreadID))
	if err != nil || e.State != StateBot || d.Sender.RawID != e.Customer {
		return
	}
	key := string(ev.Tenant) + "|" + string(e.ID)
	now := s.now()
	if last, ok := s.typing.Load(key); ok && now.Sub(last.(time.Time)) < typingEvery {
		return
	}
	s.typing.Store(key, now)
	b, err := s.Store.Bot(ctx, ev.Tenant, e.Bot)
	if err != nil || b.Kind != BotWebhook || b.Webhook == nil || s.Webhooks == nil {
		return
	}
	act := bot.Typing(e.Thread, bot.ChannelAccount{ID: e.Customer, Role: bot.RoleUser}, bot.ChannelAccount{ID: b.Identity, Name: b.Name, Role: bot.RoleBot})
	act.ChannelID = e.Channel
	ep := bot.Endpoint{URL: b.Webhook.URL, Secret: b.Secret, Timeout: b.Webhook.timeout()}
	s.ticker.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bot.MaxTimeout)
		defer cancel()
		_, _ = s.Webhooks.Deliver(ctx, ep, act)
	})
}

// typingEvery spaces the typing activities a bot gets.
const typingEvery = 3 * time.Second
