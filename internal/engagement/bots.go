package engagement

import (
	"context"
	"crypto/rand"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/bot/flow"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// BotID names a bot connection.
type BotID string

// BotKind is what answers for a bot.
type BotKind string

const (
	BotFlow    BotKind = "flow"    // the built-in flow interpreter
	BotWebhook BotKind = "webhook" // the tenant's own bot over HTTP
)

// Channels a bot can answer.
var botChannels = []string{"webchat"}

// Bot is a bot connected to a tenant's channels. It takes part in chats
// with its own communication identity.
type Bot struct {
	Tenant   tenant.ID `json:"-"`
	ID       BotID     `json:"id"`
	Name     string    `json:"name"`
	Kind     BotKind   `json:"kind"`
	Channels []string  `json:"channels"`
	Enabled  bool      `json:"enabled"`
	// Locale is the language the bot speaks ("en", "id"); a customer is
	// answered by the bot of their language, else by one without a locale.
	Locale string `json:"locale,omitempty"`
	// Queue is where a handoff goes unless the flow or the bot names one.
	Queue       string     `json:"handoffQueueId"`
	Identity    string     `json:"identity"`
	Webhook     *Webhook   `json:"webhook,omitempty"`
	Lookup      *Webhook   `json:"lookup,omitempty"` // the customer lookup a flow's lookup step calls
	FlowVersion int        `json:"flowVersion,omitempty"`
	Secret      []byte     `json:"-"` // signs what Switchboard sends; the bot's bearer token back
	CreatedAt   time.Time  `json:"createdOn"`
	UpdatedAt   time.Time  `json:"updatedOn"`
	Version     int64      `json:"-"`
	Deleted     *time.Time `json:"-"`
}

// Webhook is an HTTP endpoint a tenant runs.
type Webhook struct {
	URL            string  `json:"url"`
	TimeoutSeconds float64 `json:"timeoutSeconds,omitempty"`
}

func (w *Webhook) timeout() time.Duration {
	if w == nil || w.TimeoutSeconds <= 0 {
		return 10 * time.Second
	}
	return time.Duration(w.TimeoutSeconds * float64(time.Second))
}

var botIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func validWebhook(w *Webhook, target string) error {
	if w == nil {
		return nil
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errs.Invalid("InvalidUrl", "%s.url must be an absolute http(s) URL", target).WithTarget(target + ".url")
	}
	if w.TimeoutSeconds < 0 || w.TimeoutSeconds > 30 {
		return errs.Invalid("InvalidTimeout", "%s.timeoutSeconds must be between 0 and 30", target).WithTarget(target + ".timeoutSeconds")
	}
	return nil
}

func (b Bot) validate() error {
	if !botIDPattern.MatchString(string(b.ID)) {
		return errs.Invalid("InvalidBotId", "a bot id is 1-64 letters, digits, '_', '.' or '-'").WithTarget("id")
	}
	if n := strings.TrimSpace(b.Name); n == "" || len(n) > 128 {
		return errs.Invalid("InvalidName", "name must be 1-128 characters").WithTarget("name")
	}
	switch b.Kind {
	case BotFlow:
		if b.Webhook != nil {
			return errs.Invalid("InvalidBot", "a flow bot has no webhook").WithTarget("webhook")
		}
	case BotWebhook:
		if b.Webhook == nil {
			return errs.Invalid("InvalidBot", "a webhook bot needs webhook.url").WithTarget("webhook")
		}
	default:
		return errs.Invalid("InvalidBotKind", "kind must be flow or webhook").WithTarget("kind")
	}
	for _, c := range b.Channels {
		if !slices.Contains(botChannels, c) {
			return errs.Invalid("InvalidChannel", "channel %q is not one a bot can answer (%s)", c, strings.Join(botChannels, ", ")).WithTarget("channels")
		}
	}
	if b.Locale != "" && b.Locale != "en" && b.Locale != "id" {
		return errs.Invalid("InvalidLocale", "locale must be en or id").WithTarget("locale")
	}
	if len(b.Queue) > 128 {
		return errs.Invalid("InvalidQueue", "handoffQueueId is too long").WithTarget("handoffQueueId")
	}
	if err := validWebhook(b.Webhook, "webhook"); err != nil {
		return err
	}
	return validWebhook(b.Lookup, "lookup")
}

// BotInput is what an admin sets on a bot.
type BotInput struct {
	Name     *string
	Kind     BotKind
	Channels []string
	Enabled  *bool
	Locale   *string
	Queue    *string
	Webhook  **Webhook
	Lookup   **Webhook
}

// PutBot creates or changes a bot connection. A new bot gets its chat
// identity and secret; a flow bot runs nothing until a flow is set.
func (s *Service) PutBot(ctx context.Context, id BotID, in BotInput, ifVersion int64) (Bot, bool, error) {
	t := tenant.MustFrom(ctx)
	b, err := s.Store.Bot(ctx, t, id)
	created := false
	switch {
	case errs.KindOf(err) == errs.KindNotFound:
		if ifVersion != 0 {
			return Bot{}, false, errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "bot %s does not exist", id)
		}
		created = true
		b = Bot{Tenant: t, ID: id, Kind: in.Kind, Channels: []string{"webchat"}, Enabled: true, CreatedAt: s.now().UTC()}
	case err != nil:
		return Bot{}, false, err
	case ifVersion > 0 && ifVersion != b.Version:
		return Bot{}, false, errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "If-Match does not match the bot's current ETag")
	case in.Kind != "" && in.Kind != b.Kind:
		return Bot{}, false, errs.Invalid("InvalidBotKind", "a bot's kind cannot change; delete it and connect a new one").WithTarget("kind")
	}
	stored := b.Version
	if in.Name != nil {
		b.Name = strings.TrimSpace(*in.Name)
	}
	if in.Channels != nil {
		b.Channels = in.Channels
	}
	if in.Enabled != nil {
		b.Enabled = *in.Enabled
	}
	if in.Queue != nil {
		b.Queue = *in.Queue
	}
	if in.Locale != nil {
		b.Locale = *in.Locale
	}
	if in.Webhook != nil {
		b.Webhook = *in.Webhook
	}
	if in.Lookup != nil {
		b.Lookup = *in.Lookup
	}
	if err := b.validate(); err != nil {
		return Bot{}, false, err
	}
	if created {
		ident, _, err := s.Identities.CreateIdentity(ctx, "", nil)
		if err != nil {
			return Bot{}, false, err
		}
		b.Identity = string(ident.ID)
		b.Secret = make([]byte, 32)
		_, _ = rand.Read(b.Secret)
	}
	b.UpdatedAt = s.now().UTC()
	if err := s.Store.PutBot(ctx, b, stored); err != nil {
		return Bot{}, false, err
	}
	b, err = s.Store.Bot(ctx, t, id)
	return b, created, err
}

// GetBot returns a bot connection.
func (s *Service) GetBot(ctx context.Context, id BotID) (Bot, error) {
	return s.Store.Bot(ctx, tenant.MustFrom(ctx), id)
}

// Bots lists the tenant's bots.
func (s *Service) Bots(ctx context.Context) ([]Bot, error) {
	return s.Store.Bots(ctx, tenant.MustFrom(ctx))
}

// DeleteBot disconnects a bot; conversations it leads go to people.
func (s *Service) DeleteBot(ctx context.Context, id BotID) error {
	return s.Store.DeleteBot(ctx, tenant.MustFrom(ctx), id)
}

// SetFlow validates a flow document and makes it the bot's running flow as
// a new version. A document with mistakes is refused with every mistake
// and its line, and the running flow stays.
func (s *Service) SetFlow(ctx context.Context, id BotID, source []byte, by string) (Bot, error) {
	t := tenant.MustFrom(ctx)
	b, err := s.Store.Bot(ctx, t, id)
	if err != nil {
		return Bot{}, err
	}
	if b.Kind != BotFlow {
		return Bot{}, errs.Invalid("InvalidBotKind", "only a flow bot runs a flow")
	}
	f, err := flow.Parse(source)
	if err != nil {
		return Bot{}, flowError(err)
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		v, err := s.Store.AddFlow(ctx, t, id, source, by, s.now().UTC())
		if err != nil {
			return err
		}
		prev := b.Version
		b.FlowVersion = v
		b.UpdatedAt = s.now().UTC()
		return s.Store.PutBot(ctx, b, prev)
	})
	if err != nil {
		return Bot{}, err
	}
	s.flows.Store(flowKey{t, id, b.FlowVersion}, f)
	return s.Store.Bot(ctx, t, id)
}

// FlowSource returns a version of a bot's flow (0: the running one).
func (s *Service) FlowSource(ctx context.Context, id BotID, version int) ([]byte, int, error) {
	t := tenant.MustFrom(ctx)
	if version == 0 {
		b, err := s.Store.Bot(ctx, t, id)
		if err != nil {
			return nil, 0, err
		}
		if b.FlowVersion == 0 {
			return nil, 0, errs.NotFound("bot %s has no flow yet", id)
		}
		version = b.FlowVersion
	}
	src, err := s.Store.Flow(ctx, t, id, version)
	return src, version, err
}

// InvalidFlow is the error a refused flow document gives: every problem,
// each with its line and column.
type InvalidFlow struct {
	Err      *errs.Error
	Problems []flow.Problem
}

func (e *InvalidFlow) Error() string { return e.Err.Error() }
func (e *InvalidFlow) Unwrap() error { return e.Err }

func flowError(err error) error {
	fe, ok := err.(*flow.Error)
	if !ok {
		return errs.Invalid("InvalidFlow", "%v", err)
	}
	msg := "the flow has mistakes"
	if len(fe.Problems) > 0 {
		p := fe.Problems[0]
		msg = "line " + itoa(p.Line) + ": " + p.Message
		if len(fe.Problems) > 1 {
			msg += " (and " + itoa(len(fe.Problems)-1) + " more)"
		}
	}
	return &InvalidFlow{Err: errs.Invalid("InvalidFlow", "%s", msg), Problems: fe.Problems}
}

type flowKey struct {
	t       tenant.ID
	bot     BotID
	version int
}

// flowOf returns the bot's running flow, parsed once per version.
func (s *Service) flowOf(ctx context.Context, b Bot) (*flow.Flow, error) {
	if b.FlowVersion == 0 {
		return nil, errs.New(errs.KindUnavailable, "NoFlow", "bot %s has no flow", b.ID)
	}
	k := flowKey{b.Tenant, b.ID, b.FlowVersion}
	if f, ok := s.flows.Load(k); ok {
		return f.(*flow.Flow), nil
	}
	src, err := s.Store.Flow(ctx, b.Tenant, b.ID, b.FlowVersion)
	if err != nil {
		return nil, err
	}
	f, err := flow.Parse(src)
	if err != nil {
		return nil, err
	}
	s.flows.Store(k, f)
	return f, nil
}

// channelBot is the enabled bot that answers a channel in the customer's
// language: one of that locale, else one without a locale, else any; ties
// go to the id that sorts first.
func (s *Service) channelBot(ctx context.Context, channel, locale string) (*Bot, error) {
	bots, err := s.Store.Bots(ctx, tenant.MustFrom(ctx))
	if err != nil {
		return nil, err
	}
	lang, _, _ := strings.Cut(locale, "-")
	var best *Bot
	rank := func(b Bot) int {
		switch b.Locale {
		case lang:
			return 0
		case "":
			return 1
		}
		return 2
	}
	for i := range bots {
		b := bots[i]
		if !b.Enabled || !slices.Contains(b.Channels, channel) || (b.Kind == BotFlow && b.FlowVersion == 0) {
			continue
		}
		if best == nil || rank(b) < rank(*best) {
			best = &b
		}
	}
	return best, nil
}
