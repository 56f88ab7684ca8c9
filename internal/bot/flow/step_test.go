package flow

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"
)

// testFlow has a step of every kind.
const testFlow = `version: 1
locale: en
start: welcome
labels:
  source: test
  greeted: "{{contact.name|anonymous}}"
handoff:
  queue: support
  priority: 2
  say: Passing you on.
  keywords: [supervisor]
fallback:
  say: Sorry?
  maxMisses: 2
steps:
  welcome:
    say: Hi {{contact.name|there}}!
    next: hours
  hours:
    open: menu
    closed: closed
  closed:
    say: We're closed.
    end: true
  menu:
    say: How can I help?
    intents:
      hours:
        keywords: [opening hours, open]
        examples: [when do you close]
        say: 9 to 5.
      order:
        keywords: [my order, order status]
        next: ask_email
      bye:
        keywords: [bye]
        next: bye
  ask_email:
    ask: email
    type: email
    skipIfKnown: true
    say: Your e-mail?
    retry: Not an e-mail, {{contact.name|friend}}.
    attempts: 2
    next: ask_order
  ask_order:
    ask: order
    type: order
    say: Order number?
    attempts: 2
    onFail: menu
    next: find
  find:
    say: Looking up {{order}}.
    lookup: [email, order]
    returns: [tier]
    found: found
    notFound: not_found
    error: lookup_failed
  found:
    say: "Found it: {{tier}} customer ({{fields.email}})."
    handoff:
      queue: orders
      priority: 5
      labels:
        topic: order
        source: order-bot
        tier: "{{tier}}"
  not_found:
    say: No such order.
    next: menu
  lookup_failed:
    say: Our system is down.
    handoff: true
  bye:
    say: Bye!
    end: true
`

// convo drives a flow the way the chat service does: the state goes
// through JSON between every two inputs.
type convo struct {
	t       *testing.T
	f       *Flow
	st      State
	open    bool
	contact map[string]string
}

func newConvo(t *testing.T, src string) *convo {
	return &convo{t: t, f: mustParse(t, src), open: true}
}

func (c *convo) step(in Input) Output {
	c.t.Helper()
	in.Open, in.Contact = c.open, c.contact
	st, out := c.f.Step(c.st, in)
	b, err := json.Marshal(st)
	if err != nil {
		c.t.Fatal(err)
	}
	c.st = State{}
	if err := json.Unmarshal(b, &c.st); err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *convo) start() Output           { return c.step(Input{Kind: Start}) }
func (c *convo) send(text string) Output { return c.step(Input{Kind: Message, Text: text}) }
func (c *convo) lookup(r LookupResult) Output {
	return c.step(Input{Kind: LookupAnswer, Lookup: r})
}

// says checks the messages of an output, and that it does nothing else
// unless the caller checks that.
func says(t *testing.T, out Output, want ...string) {
	t.Helper()
	if !slices.Equal(out.Say, want) {
		t.Errorf("said %q\nwant %q", out.Say, want)
	}
}

func waits(t *testing.T, c *convo, step string) {
	t.Helper()
	if c.st.Status != AwaitingMessage || c.st.Step != step {
		t.Errorf("state %+v, want waiting at %s", c.st, step)
	}
}

func handedOff(t *testing.T, out Output, queue string, priority int, reason string) *Handoff {
	t.Helper()
	h := out.Handoff
	if h == nil {
		t.Fatalf("no handoff: %+v", out)
	}
	if h.Queue != queue || h.Priority != priority || h.Reason != reason || h.Labels["handoffReason"] != reason {
		t.Errorf("handoff %+v, want queue %q priority %d reason %s", h, queue, priority, reason)
	}
	return h
}

func TestStepGreetingAndFAQ(t *testing.T) {
	c := newConvo(t, string(Demo("en")))
	c.contact = map[string]string{"name": "Ana"}
	says(t, c.start(), "Hi Ana! I'm the Corner Shop assistant.", `Ask me about opening hours, delivery or returns. Our team is online too, just type "agent".`)
	waits(t, c, "help")
	says(t, c.send("When are you OPEN on Saturday?"), "We're open Monday to Friday, 9:00 to 17:00, and Saturday 9:00 to 13:00. We're closed on Sundays and public holidays.")
	out := c.send("how long does shipping take?")
	if len(out.Say) != 2 || out.Say[0][:12] != "Orders place" {
		t.Errorf("delivery answer %q", out.Say)
	}
	says(t, c.send("Can I get my money back?"), `You can return anything within 30 days, unused and in its original packaging. Reply "agent" and we'll send you a return label.`)
	waits(t, c, "help")
	out = c.send("that's all, thanks!")
	says(t, out, "You're welcome! Have a nice day.")
	if !out.End || out.Handoff != nil || !c.st.Done() || c.st.Status != Ended {
		t.Errorf("not ended: %+v %+v", out, c.st)
	}
}

func TestStepGreetingAndFAQIndonesian(t *testing.T) {
	c := newConvo(t, string(Demo("id")))
	c.open = false
	says(t, c.start(), "Halo Kak! Saya asisten virtual Toko Sudut.", "Tim kami sedang offline (kami buka Senin sampai Jumat, pukul 09.00 sampai 17.00 WIB), tapi saya tetap bisa bantu menjawab pertanyaan soal jam buka, pengiriman, dan retur.")
	for _, q := range []struct{ msg, starts string }{
		{"Jam berapa tokonya buka?", "Kami buka Senin"},
		{"ongkirnya berapa ke Surabaya?", "Pesanan yang masuk"},
		{"Pesanan saya kapan sampai ya?", "Pesanan yang masuk"}, // an example, no keyword
		{"barang saya rusak, mau retur", "Barang bisa diretur"},
		{"bisa dikembalikan tidak?", "Barang bisa diretur"},
	} {
		out := c.send(q.msg)
		if len(out.Say) == 0 || len(out.Say[0]) < len(q.starts) || out.Say[0][:len(q.starts)] != q.starts {
			t.Errorf("%q answered %q", q.msg, out.Say)
		}
	}
	out := c.send("Makasih banyak!")
	says(t, out, "Sama-sama! Senang bisa membantu. Sampai jumpa lagi.")
	if !out.End {
		t.Error("not ended")
	}
}

func TestStepFieldReaskThenHandoff(t *testing.T) {
	c := newConvo(t, testFlow)
	c.start()
	says(t, c.send("what's my order status?"), "Your e-mail?")
	waits(t, c, "ask_email")
	says(t, c.send("ana at example"), "Not an e-mail, friend.")
	if c.st.Attempts != 1 {
		t.Errorf("attempts %d", c.st.Attempts)
	}
	out := c.send("still no")
	says(t, out, "Passing you on.")
	handedOff(t, out, "support", 2, ReasonNotUnderstood)
	if !c.st.Done() {
		t.Error("not done")
	}
}

func TestStepFieldOnFail(t *testing.T) {
	c := newConvo(t, testFlow)
	c.start()
	c.send("my order")
	says(t, c.send("It's ana@example.com"), "Order number?")
	if c.st.Fields["email"] != "ana@example.com" {
		t.Errorf("fields %v", c.st.Fields)
	}
	c.send("dunno")
	says(t, c.send("no idea"), "How can I help?") // onFail: menu
	waits(t, c, "menu")
	if c.st.Attempts != 0 || c.st.Via != ReasonNotUnderstood {
		t.Errorf("state %+v", c.st)
	}
}

func TestStepKnownFieldSkipped(t *testing.T) {
	c := newConvo(t, testFlow)
	c.contact = map[string]string{"email": "Ana@Example.com"}
	c.start()
	says(t, c.send("order status"), "Order number?")
	waits(t, c, "ask_order")
	if c.st.Fields["email"] != "ana@example.com" {
		t.Errorf("fields %v", c.st.Fields)
	}

	// A known value that is not valid is asked for.
	c = newConvo(t, testFlow)
	c.contact = map[string]string{"email": "not an address"}
	c.start()
	says(t, c.send("order status"), "Your e-mail?")
}

func TestStepLookup(t *testing.T) {
	toLookup := func(t *testing.T) *convo {
		c := newConvo(t, testFlow)
		c.contact = map[string]string{"name": "Ana", "email": "ana@example.com"}
		c.start()
		c.send("my order")
		out := c.send("#a-1234")
		says(t, out, "Looking up A-1234.")
		want := map[string]string{"email": "ana@example.com", "order": "A-1234"}
		if out.Lookup == nil || !maps.Equal(out.Lookup.Fields, want) {
			t.Fatalf("lookup %+v", out.Lookup)
		}
		if c.st.Status != AwaitingLookup || c.st.Done() {
			t.Fatalf("state %+v", c.st)
		}
		return c
	}
	t.Run("found", func(t *testing.T) {
		c := toLookup(t)
		out := c.lookup(LookupResult{Found: true, Fields: map[string]string{"tier": "gold", "customerId": "c-9"}})
		says(t, out, "Found it: gold customer (ana@example.com).")
		h := handedOff(t, out, "orders", 5, ReasonFlow)
		want := map[string]string{
			"email": "ana@example.com", "order": "A-1234", "tier": "gold", "customerId": "c-9", // collected and returned
			"source": "order-bot", "greeted": "Ana", "topic": "order", // the step's source wins over the flow's
			"handoffReason": "flow",
		}
		if !maps.Equal(h.Labels, want) {
			t.Errorf("labels %v\nwant   %v", h.Labels, want)
		}
	})
	t.Run("not found", func(t *testing.T) {
		c := toLookup(t)
		says(t, c.lookup(LookupResult{}), "No such order.", "How can I help?")
		waits(t, c, "menu")
	})
	t.Run("error", func(t *testing.T) {
		c := toLookup(t)
		out := c.lookup(LookupResult{Err: true, Found: true})
		says(t, out, "Our system is down.")
		handedOff(t, out, "support", 2, ReasonFlow)
	})
	t.Run("message while looking up", func(t *testing.T) {
		c := toLookup(t)
		st := c.st
		if out := c.send("hello?"); !reflect.DeepEqual(out, Output{}) || !reflect.DeepEqual(c.st, st) {
			t.Errorf("a message during a lookup gave %+v, %+v", out, c.st)
		}
	})
}

func TestStepBusinessHours(t *testing.T) {
	c := newConvo(t, testFlow)
	says(t, c.start(), "Hi there!", "How can I help?")
	waits(t, c, "menu")

	c = newConvo(t, testFlow)
	c.open = false
	out := c.start()
	says(t, out, "Hi there!", "We're closed.")
	if !out.End || c.st.Status != Ended || c.st.Step != "closed" {
		t.Errorf("closed: %+v %+v", out, c.st)
	}
}

func TestStepCustomerAsksForPerson(t *testing.T) {
	for _, c := range []struct {
		name string
		to   []string // messages before
		msg  string
	}{
		{"at a menu", nil, "Can I talk to a human?"},
		{"the flow's own keyword", nil, "supervisor!!"},
		{"inside a field prompt", []string{"my order"}, "just get me an agent"},
		{"after a refused answer", []string{"my order", "nope"}, "REPRESENTATIVE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cv := newConvo(t, testFlow)
			cv.start()
			for _, m := range c.to {
				cv.send(m)
			}
			out := cv.send(c.msg)
			says(t, out, "Passing you on.")
			handedOff(t, out, "support", 2, ReasonCustomer)
		})
	}
}

func TestStepCustomerAsksForPersonIndonesian(t *testing.T) {
	c := newConvo(t, string(Demo("id")))
	c.start()
	// The first request leads to handoff.onRequest, which asks for the e-mail.
	says(t, c.send("mau bicara dengan agen"), "Baik, saya hubungkan dengan tim kami ya.", "Boleh minta alamat e-mail Kakak? Supaya tim kami bisa menghubungi kalau obrolannya terputus.")
	waits(t, c, "tanya_email")
	// A second request, inside the field prompt, hands off at once.
	out := c.send("saya mau ngomong sama petugas saja")
	handedOff(t, out, "support", 0, ReasonCustomer)
	says(t, out, "Saya sambungkan dengan tim kami, ya. Mereka bisa membaca obrolan ini, jadi Kakak tidak perlu mengulang pertanyaannya.")

	// Answering instead reaches the handoff step, which keeps the reason.
	c = newConvo(t, string(Demo("id")))
	c.open = false
	c.start()
	c.send("CS dong")
	out = c.send("budi@contoh.com")
	says(t, out, "Terima kasih! Tim kami sedang offline, nanti kami balas ke budi@contoh.com begitu buka (Senin sampai Jumat, pukul 09.00 sampai 17.00 WIB).")
	h := handedOff(t, out, "support", 0, ReasonCustomer)
	if h.Labels["afterHours"] != "true" || h.Labels["email"] != "budi@contoh.com" || h.Labels["source"] != "shop-bot" {
		t.Errorf("labels %v", h.Labels)
	}
}

func TestStepMissesHandoff(t *testing.T) {
	c := newConvo(t, testFlow)
	c.start()
	says(t, c.send("the weather is lovely"), "Sorry?")
	says(t, c.send("when do you close?"), "9 to 5.") // understood: the count starts again
	says(t, c.send("blue cheese"), "Sorry?")
	if c.st.Misses != 1 {
		t.Errorf("misses %d", c.st.Misses)
	}
	out := c.send("purple elephants")
	says(t, out, "Passing you on.")
	handedOff(t, out, "support", 2, ReasonNotUnderstood)
}

func TestStepMissesFallbackNext(t *testing.T) {
	c := newConvo(t, string(Demo("en")))
	c.contact = map[string]string{"email": "ana@example.com"}
	c.start()
	c.send("blue cheese")
	out := c.send("purple elephants")
	// cannot_help, then ask_email skipped (known), then team_hours → to_support.
	says(t, out, "I'm not sure I can help with that, so let me bring in a person.", "Thanks! You're next in line for our support team.")
	h := handedOff(t, out, "support", 1, ReasonNotUnderstood)
	if h.Labels["email"] != "ana@example.com" {
		t.Errorf("labels %v", h.Labels)
	}
}

func TestStepDone(t *testing.T) {
	c := newConvo(t, testFlow)
	c.start()
	out := c.send("bye")
	says(t, out, "Bye!")
	if !out.End || !c.st.Done() {
		t.Fatalf("not ended: %+v", c.st)
	}
	st := c.st
	for _, in := range []Input{{Kind: Start}, {Kind: Message, Text: "agent"}, {Kind: LookupAnswer, Lookup: LookupResult{Found: true}}} {
		got, out := c.f.Step(st, in)
		if !reflect.DeepEqual(out, Output{}) || !reflect.DeepEqual(got, st) {
			t.Errorf("after Done, %v gave %+v, %+v", in.Kind, out, got)
		}
	}
	if (State{}).Done() || (State{Status: AwaitingMessage}).Done() || !(State{Status: HandedOff}).Done() {
		t.Error("Done")
	}
}

func TestStepStartAndStray(t *testing.T) {
	c := newConvo(t, testFlow)
	c.start()
	st := c.st
	if out := c.start(); !reflect.DeepEqual(out, Output{}) || !reflect.DeepEqual(c.st, st) {
		t.Errorf("a second Start gave %+v", out)
	}
	if out := c.lookup(LookupResult{Found: true}); !reflect.DeepEqual(out, Output{}) {
		t.Errorf("a LookupAnswer nobody asked for gave %+v", out)
	}
	// A message first starts the flow, then is answered.
	c = newConvo(t, testFlow)
	says(t, c.send("opening hours?"), "Hi there!", "How can I help?", "9 to 5.")
}

func TestStepTemplating(t *testing.T) {
	f := mustParse(t, `version: 1
locale: en
start: name
steps:
  name:
    ask: name
    type: name
    say: "Hi {{contact.name|there}}, who am I talking to?"
    next: bye
  bye:
    say: ["Thanks {{name}} ({{contact.email|no e-mail}}).", "{{fields.name}}"]
    end: true
`)
	st, out := f.Step(State{}, Input{Kind: Start, Contact: map[string]string{"name": "  "}})
	says(t, out, "Hi there, who am I talking to?")
	_, out = f.Step(st, Input{Kind: Message, Text: "I'm Ana María", Contact: map[string]string{"email": "a@b.co"}})
	says(t, out, "Thanks Ana María (a@b.co).", "Ana María")
}

func TestStepUnknownStoredStep(t *testing.T) {
	f := mustParse(t, testFlow)
	// The flow was edited and the step the conversation waited at is gone.
	_, out := f.Step(State{Status: AwaitingMessage, Step: "gone"}, Input{Kind: Message, Text: "hello"})
	handedOff(t, out, "support", 2, ReasonFlow)
}

// TestStepPure: the state passed in is not changed, and the same inputs
// give the same results.
func TestStepPure(t *testing.T) {
	f := mustParse(t, testFlow)
	st0, _ := f.Step(State{}, Input{Kind: Start, Open: true})
	st1, _ := f.Step(st0, Input{Kind: Message, Text: "order status", Open: true})
	before := State{Status: st1.Status, Step: st1.Step, Fields: maps.Clone(st1.Fields)}
	inA := Input{Kind: Message, Text: "ana@example.com", Open: true}
	a1, outA1 := f.Step(st1, inA)
	a2, outA2 := f.Step(st1, inA)
	if !reflect.DeepEqual(a1, a2) || !reflect.DeepEqual(outA1, outA2) {
		t.Error("not deterministic")
	}
	if !reflect.DeepEqual(st1.Fields, before.Fields) || st1.Step != before.Step {
		t.Errorf("state changed: %+v", st1)
	}
	if a1.Fields["email"] == "" {
		t.Error("email not collected")
	}
}

// TestStateJSONRoundTrip: a conversation stored mid-flow (fields
// collected, one refused answer, then a lookup pending) goes on the
// same after JSON as without it.
func TestStateJSONRoundTrip(t *testing.T) {
	f := mustParse(t, testFlow)
	in := func(k InputKind, text string) Input { return Input{Kind: k, Text: text, Open: true} }
	var st State
	for _, i := range []Input{in(Start, ""), in(Message, "order status"), in(Message, "ana@example.com"), in(Message, "bad")} {
		st, _ = f.Step(st, i)
	}
	if st.Attempts != 1 || st.Step != "ask_order" || st.Fields["email"] == "" {
		t.Fatalf("not mid-flow: %+v", st)
	}
	found := Input{Kind: LookupAnswer, Lookup: LookupResult{Found: true, Fields: map[string]string{"tier": "silver"}}}
	var out Output
	for _, next := range []Input{in(Message, "A-77"), found} {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		var back State
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, st) {
			t.Fatalf("round trip: %+v\n%+v\n%s", back, st, b)
		}
		s1, o1 := f.Step(st, next)
		s2, o2 := f.Step(back, next)
		if !reflect.DeepEqual(s1, s2) || !reflect.DeepEqual(o1, o2) {
			t.Errorf("diverged: %+v %+v\n%+v %+v", s1, o1, s2, o2)
		}
		st, out = s2, o2
	}
	if out.Handoff == nil || out.Handoff.Labels["order"] != "A-77" || out.Handoff.Labels["tier"] != "silver" {
		t.Errorf("after JSON: %+v", out)
	}
}
