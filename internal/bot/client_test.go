package bot

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/netguard"
	"github.com/switchboard-cc/switchboard/internal/webhook"
)

var testSecret = []byte("s3cr3t-bot-key-never-shown")

// bot starts a loopback bot answering with h and returns a client allowed
// to reach loopback, as the tests of internal/webhook do.
func bot(t *testing.T, h http.HandlerFunc) (*Client, Endpoint) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return NewClient(netguard.Config{AllowLoopback: true}.Client()),
		Endpoint{URL: srv.URL, Secret: testSecret, Timeout: 5 * time.Second}
}

// answer is a handler writing status and body.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func visitor() ChannelAccount {
	return ChannelAccount{ID: "8:acs:t_visitor", Name: "Ada", Role: RoleUser}
}
func theBot() ChannelAccount { return ChannelAccount{ID: "28:bot-1", Name: "Helper", Role: RoleBot} }

func hello() Activity {
	return MessageActivity("19:abc@thread.v2", visitor(), theBot(), "hello", "en-GB")
}

type received struct {
	header http.Header
	body   []byte
}

func TestDeliverSignsWithTheWebhookScheme(t *testing.T) {
	got := make(chan received, 1)
	c, ep := bot(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{r.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	})
	act := hello()
	act.ServiceURL = "https://cc.example/bots/bot-1"
	if _, err := c.Deliver(context.Background(), ep, act); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if id := r.header.Get(ActivityIDHeader); id != act.ID {
		t.Errorf("%s = %q, want %q", ActivityIDHeader, id, act.ID)
	}
	sig := r.header.Get(webhook.SignatureHeader)
	now := time.Now()
	if !webhook.Verify(testSecret, r.body, sig, now, 5*time.Minute) {
		t.Errorf("webhook.Verify refuses %q with the bot's secret", sig)
	}
	if webhook.Verify([]byte("another secret"), r.body, sig, now, 5*time.Minute) {
		t.Error("signature verifies with another secret")
	}
	if webhook.Verify(testSecret, append(r.body, ' '), sig, now, 5*time.Minute) {
		t.Error("signature verifies over a changed body")
	}
	var sent Activity
	if err := json.Unmarshal(r.body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Text != "hello" || sent.ServiceURL != act.ServiceURL || sent.Conversation.ID != "19:abc@thread.v2" {
		t.Errorf("bot got %+v", sent)
	}
}

func TestDeliverFillsIDAndTimestamp(t *testing.T) {
	got := make(chan received, 1)
	c, ep := bot(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{r.Header.Clone(), b}
	})
	act := hello()
	act.ID, act.Timestamp = "", time.Time{}
	if _, err := c.Deliver(context.Background(), ep, act); err != nil {
		t.Fatal(err)
	}
	r := <-got
	var sent Activity
	if err := json.Unmarshal(r.body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.ID == "" || r.header.Get(ActivityIDHeader) != sent.ID {
		t.Errorf("id %q, header %q", sent.ID, r.header.Get(ActivityIDHeader))
	}
	if sent.Timestamp.IsZero() {
		t.Error("no timestamp")
	}
}

func TestDeliverAnswerShapes(t *testing.T) {
	const one = `{"type":"message","text":"Hi, how can I help?"}`
	cases := []struct {
		name   string
		status int
		body   string
		texts  []string
	}{
		{"array", 200, `[` + one + `,{"type":"message","text":"Ask me anything."}]`, []string{"Hi, how can I help?", "Ask me anything."}},
		{"activities object", 200, `{"activities":[` + one + `]}`, []string{"Hi, how can I help?"}},
		{"single activity", 200, one, []string{"Hi, how can I help?"}},
		{"201 array", 201, `[` + one + `]`, []string{"Hi, how can I help?"}},
		{"empty array", 200, `[]`, nil},
		{"empty activities", 200, `{"activities":[]}`, nil},
		{"null activities", 200, `{"activities":null}`, nil},
		{"empty body", 200, ``, nil},
		{"blank body", 200, " \r\n", nil},
		{"202 ignores its body", 202, `not json at all`, nil},
		{"204", 204, ``, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, ep := bot(t, answer(tc.status, tc.body))
			acts, err := c.Deliver(context.Background(), ep, hello())
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, a := range acts {
				texts = append(texts, a.Text)
			}
			if fmt.Sprint(texts) != fmt.Sprint(tc.texts) {
				t.Errorf("texts %q, want %q", texts, tc.texts)
			}
		})
	}
}

// malformedAnswers are answers Deliver must refuse, by what is wrong.
var malformedAnswers = map[string]string{
	"not JSON":                      `Hello!`,
	"truncated JSON":                `[{"type":"message","text":"hi"}`,
	"JSON string":                   `"hi"`,
	"JSON number":                   `42`,
	"JSON null":                     `null`,
	"activities not an array":       `{"activities":{"type":"message","text":"hi"}}`,
	"element not an object":         `[1]`,
	"null element":                  `[null]`,
	"no type":                       `[{"text":"hi"}]`,
	"empty type":                    `{"type":"","text":"hi"}`,
	"type not a string":             `{"type":7,"text":"hi"}`,
	"text not a string":             `{"type":"message","text":7}`,
	"from not an object":            `{"type":"message","text":"hi","from":"bot"}`,
	"membersAdded not an array":     `{"type":"conversationUpdate","membersAdded":{"id":"x"}}`,
	"timestamp not a time":          `{"type":"message","text":"hi","timestamp":"yesterday"}`,
	"message without text":          `{"type":"message"}`,
	"message with blank text":       `{"type":"message","text":"  \n"}`,
	"text too long":                 `{"type":"message","text":"` + strings.Repeat("a", 28*1024+1) + `"}`,
	"invalid UTF-8":                 "{\"type\":\"message\",\"text\":\"caf\xe9\"}",
	"textFormat xml":                `{"type":"message","text":"<b>hi</b>","textFormat":"xml"}`,
	"attachment without type":       `{"type":"message","attachments":[{"contentUrl":"https://x.example/a.png"}]}`,
	"attachment without content":    `{"type":"message","attachments":[{"contentType":"image/png"}]}`,
	"attachment with relative URL":  `{"type":"message","attachments":[{"contentType":"image/png","contentUrl":"/a.png"}]}`,
	"attachment with file URL":      `{"type":"message","attachments":[{"contentType":"image/png","contentUrl":"file:///etc/passwd"}]}`,
	"too many attachments":          `{"type":"message","attachments":[` + strings.TrimSuffix(strings.Repeat(`{"contentType":"image/png","contentUrl":"https://x.example/a.png"},`, 11), ",") + `]}`,
	"suggested action without type": `{"type":"message","text":"Pick one","suggestedActions":{"actions":[{"title":"Yes"}]}}`,
	"event without name":            `{"type":"event","value":{}}`,
	"handoff value not an object":   `{"type":"event","name":"handoff.initiate","value":"support"}`,
	"handoff labels not strings":    `{"type":"event","name":"handoff.initiate","value":{"labels":{"tier":3}}}`,
	"handoff priority not integer":  `{"type":"event","name":"handoff.initiate","value":{"priority":1.5}}`,
	"handoff priority out of range": `{"type":"event","name":"handoff.initiate","value":{"priority":101}}`,
	"handoff queue not a string":    `{"type":"event","name":"handoff.initiate","value":{"queue":5}}`,
	"one bad among good":            `[{"type":"message","text":"hi"},{"type":"message"}]`,
}

func TestDeliverRefusesMalformedAnswers(t *testing.T) {
	for name, body := range malformedAnswers {
		t.Run(name, func(t *testing.T) {
			c, ep := bot(t, answer(200, body))
			acts, err := c.Deliver(context.Background(), ep, hello())
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, ErrBotFailed) {
				t.Fatalf("err = %v (activities %+v), want ErrMalformed", err, acts)
			}
			if errors.Is(err, ErrTimeout) || errors.Is(err, ErrUnavailable) {
				t.Errorf("%v also matches another kind", err)
			}
			if acts != nil {
				t.Errorf("activities %+v came with the error", acts)
			}
		})
	}
}

func TestDeliverAnswerSizeLimit(t *testing.T) {
	const msg = `[{"type":"message","text":"hi"}]`
	atLimit := msg + strings.Repeat(" ", maxAnswer-len(msg))
	c, ep := bot(t, answer(200, atLimit))
	if acts, err := c.Deliver(context.Background(), ep, hello()); err != nil || len(acts) != 1 {
		t.Fatalf("answer of exactly 256 KiB: %v, %d activities", err, len(acts))
	}
	c, ep = bot(t, answer(200, atLimit+" "))
	_, err := c.Deliver(context.Background(), ep, hello())
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("answer over 256 KiB: err = %v, want ErrMalformed", err)
	}
}

func TestDeliverStatusErrors(t *testing.T) {
	for _, code := range []int{400, 401, 404, 429, 500, 503} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			c, ep := bot(t, answer(code, `[{"type":"message","text":"ignored"}]`))
			_, err := c.Deliver(context.Background(), ep, hello())
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != code {
				t.Fatalf("err = %v, want *StatusError %d", err, code)
			}
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrBotFailed) {
				t.Errorf("%v does not match ErrUnavailable and ErrBotFailed", err)
			}
		})
	}
}

func TestDeliverDoesNotFollowRedirects(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(target.Close)
	c, ep := bot(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	})
	_, err := c.Deliver(context.Background(), ep, hello())
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, want *StatusError 307", err)
	}
	if hits.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

func TestDeliverConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := NewClient(netguard.Config{AllowLoopback: true}.Client())
	_, err = c.Deliver(context.Background(), Endpoint{URL: "http://" + addr + "/bot", Secret: testSecret}, hello())
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrBotFailed) || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	var se *StatusError
	if errors.As(err, &se) {
		t.Errorf("a refused connection has a status %d", se.StatusCode)
	}
}

func TestDeliverRefusedAddressIsUnavailable(t *testing.T) {
	_, ep := bot(t, answer(200, `[]`))
	c := NewClient(netguard.Config{}.Client()) // loopback not allowed
	_, err := c.Deliver(context.Background(), ep, hello())
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, netguard.ErrRefused) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping netguard.ErrRefused", err)
	}
}

func TestDeliverBadURLIsUnavailable(t *testing.T) {
	c := NewClient(netguard.Config{AllowLoopback: true}.Client())
	for _, u := range []string{"", "://nope", "ftp://bot.example/x"} {
		_, err := c.Deliver(context.Background(), Endpoint{URL: u, Secret: testSecret}, hello())
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("URL %q: err = %v, want ErrUnavailable", u, err)
		}
	}
}

// blockingBot is a bot that never answers: it holds each request until the
// client goes away or the test ends. It reads the body first, because only
// then does the server notice a client hanging up. The release is
// registered after the server's Close, so it runs first.
func blockingBot(t *testing.T, started chan<- struct{}) (*Client, Endpoint) {
	t.Helper()
	release := make(chan struct{})
	c, ep := bot(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if started != nil {
			started <- struct{}{}
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	return c, ep
}

func TestDeliverTimeout(t *testing.T) {
	c, ep := blockingBot(t, nil)
	ep.Timeout = 50 * time.Millisecond
	_, err := c.Deliver(context.Background(), ep, hello())
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrBotFailed) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrTimeout only", err)
	}
}

func TestDeliverTimeoutWhileReadingTheAnswer(t *testing.T) {
	release := make(chan struct{})
	c, ep := bot(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `[{"type":"message",`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	ep.Timeout = 50 * time.Millisecond
	_, err := c.Deliver(context.Background(), ep, hello())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
}

func TestDeliverCallerCancelIsNotABotFailure(t *testing.T) {
	started := make(chan struct{}, 1)
	c, ep := blockingBot(t, started)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Deliver(ctx, ep, hello())
		done <- err
	}()
	<-started
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrBotFailed) {
		t.Fatalf("err = %v, want context.Canceled and no ErrBotFailed", err)
	}
}

func TestEndpointTimeoutBounds(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		0:                DefaultTimeout,
		-time.Second:     DefaultTimeout,
		5 * time.Second:  5 * time.Second,
		30 * time.Second: 30 * time.Second,
		time.Minute:      MaxTimeout,
	} {
		if got := (Endpoint{Timeout: in}).timeout(); got != want {
			t.Errorf("Timeout %v → %v, want %v", in, got, want)
		}
	}
}

func TestSecretNeverInErrors(t *testing.T) {
	secretForms := []string{string(testSecret), hex.EncodeToString(testSecret), fmt.Sprint(testSecret)}
	check := func(what, s string) {
		t.Helper()
		for _, f := range secretForms {
			if strings.Contains(s, f) {
				t.Errorf("%s shows the secret: %s", what, s)
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	bots := map[string]func() (*Client, Endpoint){
		"500":       func() (*Client, Endpoint) { return bot(t, answer(500, string(testSecret))) },
		"malformed": func() (*Client, Endpoint) { return bot(t, answer(200, `[{"type":"message","text":5}]`)) },
		"timeout":   func() (*Client, Endpoint) { return blockingBot(t, nil) },
	}
	for name, start := range bots {
		c, ep := start()
		ep.Timeout = 50 * time.Millisecond
		_, err := c.Deliver(context.Background(), ep, hello())
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		check(name, err.Error())
		check(name+" %+v", fmt.Sprintf("%+v", err))
	}
	c := NewClient(netguard.Config{AllowLoopback: true}.Client())
	for _, u := range []string{closed, "://bad"} {
		_, err := c.Deliver(context.Background(), Endpoint{URL: u, Secret: testSecret}, hello())
		if err == nil {
			t.Fatalf("%s: no error", u)
		}
		check(u, err.Error())
	}
	ep := Endpoint{URL: "https://bot.example/hook", Secret: testSecret}
	check("%v", fmt.Sprintf("%v", ep))
	check("%+v", fmt.Sprintf("%+v", ep))
	check("%#v", fmt.Sprintf("%#v", ep))
	b, _ := json.Marshal(ep)
	check("JSON", string(b))
}

func TestNewClientRefusesNil(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewClient(nil) did not panic")
		}
	}()
	NewClient(nil)
}
