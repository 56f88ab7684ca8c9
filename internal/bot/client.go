package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Errors Deliver returns when the bot is at fault. All of them match
// ErrBotFailed, which is what the caller tests before handing the customer
// to a person.
var (
	ErrBotFailed   = errors.New("bot failed")
	ErrTimeout     = fmt.Errorf("%w: no answer in time", ErrBotFailed)
	ErrUnavailable = fmt.Errorf("%w: unavailable", ErrBotFailed)
	ErrMalformed   = fmt.Errorf("%w: malformed answer", ErrBotFailed)
)

// StatusError is a bot's answer outside 2xx. It matches ErrUnavailable.
type StatusError struct {
	StatusCode int
}

func (e *StatusError) Error() string {
	return ErrUnavailable.Error() + ": HTTP " + strconv.Itoa(e.StatusCode)
}

func (e *StatusError) Unwrap() error { return ErrUnavailable }

func malformed(msg string) error { return fmt.Errorf("%w: %s", ErrMalformed, msg) }

func malformedErr(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
}

// Headers of a delivery. SignatureHeader and its value are exactly the
// webhook ones (internal/webhook: Sign, Verify), so a tenant verifies bots
// and webhooks with one function.
const (
	SignatureHeader  = "Switchboard-Signature"
	ActivityIDHeader = "Switchboard-Bot-Activity-Id"
)

// sign repeats webhook.Sign rather than importing it: webhook sits above the
// domain layer and pulls in NATS, which bot must not. The tests verify what
// this signs with webhook.Verify, so the two cannot drift apart unnoticed.
func sign(secret, body []byte, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Time-out bounds. A bot that needs longer answers 202 and posts later.
const (
	DefaultTimeout = 10 * time.Second
	MaxTimeout     = 30 * time.Second
)

// maxAnswer bounds what is read of an answer; larger is malformed.
const maxAnswer = 256 << 10

// Endpoint is where a tenant's bot listens and the secret deliveries are
// signed with. Timeout 0 means DefaultTimeout; more than MaxTimeout is cut
// to it.
type Endpoint struct {
	URL     string
	Secret  []byte `json:"-"`
	Timeout time.Duration
}

func (e Endpoint) timeout() time.Duration {
	switch {
	case e.Timeout <= 0:
		return DefaultTimeout
	case e.Timeout > MaxTimeout:
		return MaxTimeout
	}
	return e.Timeout
}

// String leaves the secret out, so logging an Endpoint cannot leak it.
func (e Endpoint) String() string {
	return "bot endpoint " + e.URL + " (timeout " + e.timeout().String() + ")"
}

// GoString does the same for %#v.
func (e Endpoint) GoString() string { return e.String() }

// Client delivers activities to webhook bots.
type Client struct {
	hc *http.Client
}

// NewClient wraps hc, which must be the guarded outbound client
// (netguard): a bot URL is tenant-supplied. Redirects are not followed: a
// signed activity goes only where the tenant registered it, and Go would
// turn a redirected POST into a GET without the activity anyway.
func NewClient(hc *http.Client) *Client {
	if hc == nil {
		panic("bot: NewClient needs the guarded outbound client")
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{hc: &c}
}

// Deliver posts act to the bot and returns the activities it answered with.
// A missing id or timestamp is filled in; callers that retry set their own
// id, which the bot sees in ActivityIDHeader, so it can answer a retry once.
//
// Bot failures match ErrBotFailed (ErrTimeout, ErrUnavailable with
// *StatusError for a non-2xx answer, ErrMalformed). If ctx is cancelled the
// error wraps context.Canceled instead: the bot did nothing wrong. The time-out
// is the shorter of ep's and the outbound client's.
func (c *Client) Deliver(ctx context.Context, ep Endpoint, act Activity) ([]Activity, error) {
	if act.ID == "" {
		act.ID = NewID()
	}
	if act.Timestamp.IsZero() {
		act.Timestamp = time.Now().UTC()
	}
	body, err := json.Marshal(act)
	if err != nil {
		return nil, fmt.Errorf("bot: encode %s activity: %w", act.Type, err)
	}

	rctx, cancel := context.WithTimeout(ctx, ep.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(SignatureHeader, sign(ep.Secret, body, time.Now()))
	req.Header.Set(ActivityIDHeader, act.ID)

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportErr(ctx, err)
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusNoContent:
		drain(resp.Body)
		return nil, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		drain(resp.Body)
		return nil, &StatusError{StatusCode: resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, transportErr(ctx, err)
	}
	if len(data) > maxAnswer {
		return nil, malformed("answer is over 256 KiB")
	}
	return parseAnswer(data)
}

// transportErr sorts a failed exchange: the caller giving up is not the
// bot's fault; a passed deadline is a time-out; the rest (refused, DNS,
// reset, a refused address) means the bot is unavailable. err stays wrapped
// so netguard.ErrRefused and the like remain reachable.
func transportErr(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("bot: delivery abandoned: %w", err)
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// drain reads a little of a body we do not use, so the connection can be
// reused, without letting a bot make us read much.
func drain(r io.Reader) { _, _ = io.CopyN(io.Discard, r, 4<<10) }
