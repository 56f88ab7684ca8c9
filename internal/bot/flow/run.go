package flow

import (
	"maps"
	"strings"
)

// State is one conversation's place in the flow. The caller stores it
// (as JSON) between messages and hands it back with the next input.
type State struct {
	Status Status `json:"status,omitempty"`
	// Step is the step the flow waits at, or ended at.
	Step string `json:"step,omitempty"`
	// Fields are the values collected by ask steps and returned by lookups.
	Fields map[string]string `json:"fields,omitempty"`
	// Attempts counts the answers refused at the current ask step.
	Attempts int `json:"attempts,omitempty"`
	// Misses counts the messages in a row the bot did not understand.
	Misses int `json:"misses,omitempty"`
	// Requested is set once the customer's request for a person has led to
	// handoff.onRequest; a second request hands off at once.
	Requested bool `json:"requested,omitempty"`
	// Via is why the flow left its own path: ReasonCustomer after
	// handoff.onRequest, ReasonNotUnderstood after fallback.next or onFail.
	// A handoff step reached on the way gives it as its reason; an intent
	// understood clears it.
	Via string `json:"via,omitempty"`
}

// Status is where a conversation stands; the zero value is not started.
type Status string

const (
	AwaitingMessage Status = "awaitingMessage" // the customer's next message
	AwaitingLookup  Status = "awaitingLookup"  // the answer to a LookupRequest
	HandedOff       Status = "handedOff"
	Ended           Status = "ended"
)

// Done reports whether the state is finished (handed off or ended).
func (st State) Done() bool { return st.Status == HandedOff || st.Status == Ended }

// InputKind says what an Input brings.
type InputKind int

const (
	Start        InputKind = iota // the conversation begins
	Message                       // the customer wrote Text
	LookupAnswer                  // the caller performed the LookupRequest: Lookup holds the result
)

// Input is one event of the conversation.
type Input struct {
	Kind    InputKind
	Text    string            // the customer's message (Message)
	Open    bool              // the business is open now
	Contact map[string]string // what is known of the customer: "name", "email", "phone"
	Lookup  LookupResult      // for LookupAnswer
}

// LookupResult is what the tenant's lookup webhook answered.
type LookupResult struct {
	Found  bool
	Fields map[string]string // returned contact data, usable in templates and labels afterwards
	Err    bool              // the webhook failed or timed out
}

// Output is what the caller must do after a Step.
type Output struct {
	Say     []string       // messages for the bot to post, in order
	Lookup  *LookupRequest // non-nil: perform it and call Step with a LookupAnswer
	Handoff *Handoff       // non-nil: hand the conversation to a person; the flow is done
	End     bool           // the flow ended without handoff
}

// LookupRequest is what to send to the tenant's lookup webhook.
type LookupRequest struct{ Fields map[string]string }

// Handoff is where and how to hand the conversation to a person.
type Handoff struct {
	Queue    string            // "" means the connection's default queue
	Priority int               // -100 to 100, as the router takes it
	Labels   map[string]string // collected fields and flow labels, for the router job
	Reason   string            // ReasonFlow, ReasonCustomer or ReasonNotUnderstood
}

// Handoff reasons, also given to the router as the label handoffReason.
const (
	ReasonFlow          = "flow"          // a handoff step on the flow's own path, or a lookup that failed with no error step
	ReasonCustomer      = "customer"      // the customer asked for a person
	ReasonNotUnderstood = "notUnderstood" // too many misses, or an ask step's attempts ran out
)

// maxHops bounds the steps run for one input. Parse refuses loops that
// never wait, so this is only a guard against a bug, not a limit a flow
// can reach: 500 steps visited once each fit within it.
const maxHops = 4 * MaxSteps

// Step advances the flow by one input. It is pure and deterministic: the
// same flow, state and input give the same result, and the state passed
// in is not modified.
//
// A Start begins at start, and is ignored once the flow has begun. A
// Message before Start begins the flow first (the greeting, then the
// answer). A Message while a lookup is pending, a LookupAnswer nobody
// asked for, and anything after Done give an empty Output.
func (f *Flow) Step(st State, in Input) (State, Output) {
	st.Fields = maps.Clone(st.Fields)
	r := &run{f: f, st: &st, in: in}
	if st.Done() {
		return st, Output{}
	}
	switch in.Kind {
	case Start:
		if st.Status == "" {
			r.goTo(f.start)
		}
	case Message:
		if st.Status == "" {
			r.goTo(f.start)
		}
		if st.Status == AwaitingMessage {
			r.message()
		}
	case LookupAnswer:
		if st.Status == AwaitingLookup {
			r.lookupAnswer()
		}
	}
	return st, r.out
}

// run is one call of Step.
type run struct {
	f   *Flow
	st  *State
	in  Input
	out Output
}

func (r *run) say(ts []template) {
	for _, t := range ts {
		if s := strings.TrimSpace(t.render(r.st.Fields, r.in.Contact)); s != "" {
			r.out.Say = append(r.out.Say, s)
		}
	}
}

func (r *run) setField(name, value string) {
	if r.st.Fields == nil {
		r.st.Fields = map[string]string{}
	}
	r.st.Fields[name] = value
}

// goTo enters a step and runs on until one waits or the flow is over.
func (r *run) goTo(name string) {
	for hops := 0; hops < maxHops; hops++ {
		s := r.f.steps[name]
		if s == nil {
			// Only when the flow was replaced mid-conversation by one
			// without the stored step: a person is better than a dead end.
			r.handoff(ReasonFlow)
			return
		}
		r.st.Step, r.st.Attempts = name, 0
		if s.kind == kindAsk && s.skipIfKnown {
			if v, ok := r.known(s); ok {
				r.setField(s.field, v)
				name = s.next
				continue
			}
		}
		r.say(s.say)
		switch s.kind {
		case kindSay:
			name = s.next
		case kindHours:
			name = s.closed
			if r.in.Open {
				name = s.open
			}
		case kindAsk, kindIntents:
			r.st.Status = AwaitingMessage
			return
		case kindLookup:
			req := &LookupRequest{Fields: map[string]string{}}
			for _, k := range s.send {
				if v := r.st.Fields[k]; v != "" {
					req.Fields[k] = v
				}
			}
			r.out.Lookup = req
			r.st.Status = AwaitingLookup
			return
		case kindHandoff:
			h := s.handoff
			queue, prio := h.queue, h.priority
			if queue == "" {
				queue = r.f.handoff.queue
			}
			if !h.hasPriority {
				prio = r.f.handoff.priority
			}
			reason := ReasonFlow
			if r.st.Via != "" {
				reason = r.st.Via
			}
			r.finishHandoff(queue, prio, h.labels, reason)
			return
		case kindEnd:
			r.st.Status = Ended
			r.out.End = true
			return
		}
	}
	r.handoff(ReasonFlow)
}

// known is the value an ask step may skip to: a field already collected,
// else the contact value of the same name, if it is valid.
func (r *run) known(s *step) (string, bool) {
	for _, v := range []string{r.st.Fields[s.field], r.in.Contact[s.field]} {
		if v == "" {
			continue
		}
		if v, ok := s.accept(v, r.f.Locale); ok {
			return v, true
		}
	}
	return "", false
}

// message handles the customer's message at the step that waits for it.
func (r *run) message() {
	s := r.f.steps[r.st.Step]
	if s == nil || (s.kind != kindAsk && s.kind != kindIntents) {
		r.handoff(ReasonFlow)
		return
	}
	words := tokens(r.in.Text, r.f.Locale)
	words = words[:min(len(words), maxWords)]
	if r.f.askPerson.asks(words) {
		if r.f.handoff.onRequest != "" && !r.st.Requested {
			r.st.Requested, r.st.Misses, r.st.Via = true, 0, ReasonCustomer
			r.goTo(r.f.handoff.onRequest)
			return
		}
		r.handoff(ReasonCustomer)
		return
	}
	if s.kind == kindAsk {
		r.answer(s)
		return
	}
	i := s.match(words, r.f.Locale)
	if i < 0 {
		r.miss()
		return
	}
	r.st.Misses, r.st.Via = 0, ""
	in := s.intents[i]
	r.say(in.say)
	if in.next != "" {
		r.goTo(in.next)
	}
}

func (r *run) answer(s *step) {
	v, ok := s.accept(r.in.Text, r.f.Locale)
	if ok {
		r.setField(s.field, v)
		r.st.Misses = 0
		r.goTo(s.next)
		return
	}
	r.st.Attempts++
	if r.st.Attempts < s.attempts {
		if len(s.retry) > 0 {
			r.say(s.retry)
		} else {
			r.out.Say = append(r.out.Say, defaultRetry(r.f.Locale, s.ftype))
		}
		return
	}
	if s.onFail != "" {
		r.st.Via = ReasonNotUnderstood
		r.goTo(s.onFail)
		return
	}
	r.handoff(ReasonNotUnderstood)
}

func (r *run) miss() {
	r.st.Misses++
	if r.st.Misses < r.f.fallback.maxMisses {
		if len(r.f.fallback.say) > 0 {
			r.say(r.f.fallback.say)
		} else {
			r.out.Say = append(r.out.Say, defaultMessages[r.f.Locale].miss)
		}
		return
	}
	r.st.Misses = 0
	if r.f.fallback.next != "" {
		r.st.Via = ReasonNotUnderstood
		r.goTo(r.f.fallback.next)
		return
	}
	r.handoff(ReasonNotUnderstood)
}

func (r *run) lookupAnswer() {
	s := r.f.steps[r.st.Step]
	if s == nil || s.kind != kindLookup {
		r.handoff(ReasonFlow)
		return
	}
	res := r.in.Lookup
	switch {
	case res.Err && s.lookupFailed == "":
		r.handoff(ReasonFlow)
	case res.Err:
		r.goTo(s.lookupFailed)
	case res.Found:
		for k, v := range res.Fields {
			r.setField(k, v)
		}
		r.goTo(s.found)
	default:
		r.goTo(s.notFound)
	}
}

// handoff hands off as the flow's handoff member says: for the customer's
// request, or when the bot gives up.
func (r *run) handoff(reason string) {
	if len(r.f.handoff.say) > 0 {
		r.say(r.f.handoff.say)
	} else {
		r.out.Say = append(r.out.Say, defaultMessages[r.f.Locale].handoff)
	}
	r.finishHandoff(r.f.handoff.queue, r.f.handoff.priority, nil, reason)
}

// finishHandoff labels the job: collected fields, then the flow's labels,
// then the step's, then handoffReason; a later one wins a name.
func (r *run) finishHandoff(queue string, priority int, stepLabels []label, reason string) {
	labels := maps.Clone(r.st.Fields)
	if labels == nil {
		labels = map[string]string{}
	}
	for _, ls := range [][]label{r.f.labels, stepLabels} {
		for _, l := range ls {
			labels[l.key] = l.val.render(r.st.Fields, r.in.Contact)
		}
	}
	labels["handoffReason"] = reason
	r.out.Handoff = &Handoff{Queue: queue, Priority: priority, Labels: labels, Reason: reason}
	r.st.Status = HandedOff
}
