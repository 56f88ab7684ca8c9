package flow

import (
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// kind is what a step does; the key that is present decides it.
type kind int

const (
	kindSay     kind = iota // say, then next
	kindAsk                 // ask for a field and wait
	kindIntents             // wait, and match the message against intents
	kindLookup              // ask the caller to look the customer up, and wait
	kindHours               // branch on whether the business is open
	kindHandoff             // hand the conversation to a person
	kindEnd                 // end the conversation
)

var kindNames = [...]string{"a message", "an ask", "an intents", "a lookup", "a business-hours", "a handoff", "an end"}

var kindOf = map[string]kind{"ask": kindAsk, "intents": kindIntents, "lookup": kindLookup, "open": kindHours, "closed": kindHours, "handoff": kindHandoff, "end": kindEnd}

var stepKeys = [...][]string{
	kindSay:     {"say", "next"},
	kindAsk:     {"ask", "type", "pattern", "say", "retry", "attempts", "onFail", "skipIfKnown", "next"},
	kindIntents: {"intents", "say", "threshold"},
	kindLookup:  {"lookup", "returns", "say", "found", "notFound", "error"},
	kindHours:   {"open", "closed", "say"},
	kindHandoff: {"handoff", "say"},
	kindEnd:     {"end", "say"},
}

// allStepKeys is every key a step may have, for spelling suggestions.
var allStepKeys = []string{"say", "next", "ask", "type", "pattern", "retry", "attempts", "onFail", "skipIfKnown", "intents", "threshold", "lookup", "returns", "found", "notFound", "error", "open", "closed", "handoff", "end"}

// whyNoNext explains, per kind, where the flow goes instead of next.
var whyNoNext = [...]string{
	kindIntents: "each intent has its own next",
	kindLookup:  "it goes on by found, notFound and error",
	kindHours:   "it goes on by open and closed",
	kindHandoff: "the flow is over once a person has the conversation",
	kindEnd:     "the flow is over",
}

type step struct {
	name string
	key  *yaml.Node // the name, where problems with the whole step point
	kind kind
	say  []template // said on entering the step: a message, or the question
	next string

	// ask
	field       string
	ftype       fieldType
	pattern     *regexp.Regexp
	retry       []template
	attempts    int
	onFail      string // "" hands off
	skipIfKnown bool

	// intents
	intents   []*intent
	threshold float64

	// lookup
	send            []string // fields sent
	found, notFound string
	lookupFailed    string // "" hands off

	// business hours
	open, closed string

	// handoff
	handoff *handoffTarget
}

type intent struct {
	name     string
	keywords [][]string // token sequences
	examples [][]string // content tokens
	say      []template
	next     string
}

type handoffTarget struct {
	queue       string
	priority    int
	hasPriority bool
	labels      []label
}

type label struct {
	key string
	val template
}

func (p *parser) step(e entry, path string) *step {
	s := &step{name: e.key, key: e.k}
	es, ok := p.entries(e.v, path, "key")
	if !ok {
		p.graphUnsure = true
		return s
	}
	var kindKey string
	mixed := false
	for _, x := range es {
		k, ok := kindOf[x.key]
		switch {
		case !ok:
		case kindKey == "":
			kindKey, s.kind = x.key, k
		case k != s.kind:
			p.errorf(x.k, join(path, x.key), "a step does one thing: %s and %s can't be in the same step; split it in two", kindKey, x.key)
			mixed = true
		}
	}
	m := map[string]entry{}
	p.suggested = map[string]bool{}
	for _, x := range es {
		if contains(stepKeys[s.kind], x.key) {
			m[x.key] = x
			continue
		}
		if _, isKind := kindOf[x.key]; isKind {
			continue // reported above
		}
		switch {
		case x.key == "next":
			p.errorf(x.k, join(path, x.key), "next is not used in %s step: %s", kindNames[s.kind], whyNoNext[s.kind])
		case contains(allStepKeys, x.key):
			p.errorf(x.k, join(path, x.key), "%s is not used in %s step", x.key, kindNames[s.kind])
		default:
			p.suggested[p.unknownKey(x, path, allStepKeys)] = true
		}
	}
	if x, ok := m["say"]; ok {
		s.say = p.templateList(x.v, join(path, "say"))
	}
	misspeltKind := false
	for k := range p.suggested {
		_, isKind := kindOf[k]
		misspeltKind = misspeltKind || isKind
	}
	if mixed || misspeltKind {
		// What it misses depends on which thing it was meant to do.
		p.graphUnsure = true
		return s
	}
	switch s.kind {
	case kindSay:
		p.sayStep(s, e, m, path)
	case kindAsk:
		p.askStep(s, e, m, path)
	case kindIntents:
		p.intentsStep(s, m, path)
	case kindLookup:
		p.lookupStep(s, e, m, path)
	case kindHours:
		p.requireMembers(e.v, path, m, "open", "closed")
		if x, ok := m["open"]; ok {
			s.open = p.stepRef(s, x.v, join(path, "open"), true)
		}
		if x, ok := m["closed"]; ok {
			s.closed = p.stepRef(s, x.v, join(path, "closed"), true)
		}
	case kindHandoff:
		p.handoffStep(s, m["handoff"].v, join(path, "handoff"))
	case kindEnd:
		p.endStep(m["end"].v, join(path, "end"))
	}
	return s
}

// requireMembers reports missing members that lead to other steps; without
// them the graph checks would only repeat the problem.
func (p *parser) requireMembers(n *yaml.Node, path string, m map[string]entry, keys ...string) {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			p.graphUnsure = true
			if p.suggested[k] {
				continue // a misspelling of it was reported
			}
			p.errorf(n, path, "missing %s", k)
		}
	}
}

func (p *parser) sayStep(s *step, e entry, m map[string]entry, path string) {
	_, hasSay := m["say"]
	x, hasNext := m["next"]
	if !hasNext {
		p.graphUnsure = true
	}
	switch {
	case p.suggested["say"] || p.suggested["next"]:
		// a misspelling was reported
	case !hasSay && !hasNext:
		p.errorf(e.v, path, "a step needs say and next, or one of ask, intents, lookup, open and closed, handoff or end")
	case !hasSay:
		p.errorf(e.v, path, "missing say: the message of this step")
	case !hasNext:
		p.errorf(e.v, path, "missing next: the step that follows this message")
	}
	if hasNext {
		s.next = p.stepRef(s, x.v, join(path, "next"), true)
	}
}

func (p *parser) askStep(s *step, e entry, m map[string]entry, path string) {
	if ta := p.words(m["ask"].v, join(path, "ask")); len(ta) == 1 {
		s.field, _ = p.fieldDef(ta[0])
	} else if len(ta) > 1 {
		p.errorf(m["ask"].v, join(path, "ask"), "an ask step collects one field; write one name")
	}
	if _, ok := m["say"]; !ok && !p.suggested["say"] {
		p.errorf(e.v, path, "missing say: the question to ask")
	}
	s.ftype = fieldText
	if x, ok := m["type"]; ok {
		if v, ok := p.word(x.v, join(path, "type")); ok {
			if t, ok := fieldTypes[v]; ok {
				s.ftype = t
			} else {
				p.errorf(x.v, join(path, "type"), "unknown field type %q; the types are %s", v, describeList(fieldTypeNames))
			}
		}
	}
	x, hasPattern := m["pattern"]
	switch {
	case hasPattern && s.ftype != fieldRegex:
		p.errorf(x.k, join(path, "pattern"), "pattern is only used with type: regex")
	case hasPattern:
		if v, ok := p.text(x.v, join(path, "pattern")); ok {
			// Compiled alone first, so that the message shows what the
			// admin wrote rather than the anchored form.
			if _, err := regexp.Compile(v); err != nil {
				p.errorf(x.v, join(path, "pattern"), "bad regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			} else {
				s.pattern = regexp.MustCompile(`^(?:` + v + `)$`)
			}
		}
	case s.ftype == fieldRegex:
		p.errorf(e.v, path, "missing pattern: the regular expression for type: regex")
	}
	if x, ok := m["retry"]; ok {
		s.retry = p.templateList(x.v, join(path, "retry"))
	}
	s.attempts = defaultAttempts
	if x, ok := m["attempts"]; ok {
		if v, ok := p.integer(x.v, join(path, "attempts"), 1, 20); ok {
			s.attempts = v
		}
	}
	if x, ok := m["skipIfKnown"]; ok {
		s.skipIfKnown, _ = p.boolean(x.v, join(path, "skipIfKnown"))
	}
	if x, ok := m["onFail"]; ok {
		s.onFail = p.stepRef(s, x.v, join(path, "onFail"), false)
	}
	p.requireMembers(e.v, path, m, "next")
	if x, ok := m["next"]; ok {
		s.next = p.stepRef(s, x.v, join(path, "next"), s.skipIfKnown)
	}
}

var intentKeys = []string{"keywords", "examples", "say", "next"}

func (p *parser) intentsStep(s *step, m map[string]entry, path string) {
	ip := join(path, "intents")
	s.threshold = defaultThreshold
	if x, ok := m["threshold"]; ok {
		if v, ok := p.fraction(x.v, join(path, "threshold")); ok {
			s.threshold = v
		}
	}
	es, ok := p.entries(m["intents"].v, ip, "intent name")
	if !ok {
		return
	}
	if len(es) == 0 {
		p.errorf(m["intents"].v, ip, "an intents step needs at least one intent")
	}
	for _, e := range es {
		path := join(ip, e.key)
		if !stepName.MatchString(e.key) {
			p.errorf(e.k, path, "intent name %q: use letters, digits, _ and - (at most 64)", e.key)
			continue
		}
		im, ok := p.object(e.v, path, intentKeys, nil)
		if !ok {
			continue
		}
		in := &intent{name: e.key}
		_, hasKw := im["keywords"]
		_, hasEx := im["examples"]
		if !hasKw && !hasEx {
			p.errorf(e.v, path, "missing keywords or examples: what a customer might write")
		}
		if x, ok := im["keywords"]; ok {
			in.keywords = p.phrases(x.v, join(path, "keywords"))
		}
		if x, ok := im["examples"]; ok {
			for _, ph := range p.phrases(x.v, join(path, "examples")) {
				in.examples = append(in.examples, content(ph, p.locale))
			}
		}
		_, hasSay := im["say"]
		_, hasNext := im["next"]
		if !hasSay && !hasNext {
			p.errorf(e.v, path, "missing say or next: what the bot does when this intent matches")
		}
		if x, ok := im["say"]; ok {
			in.say = p.templateList(x.v, join(path, "say"))
		}
		if x, ok := im["next"]; ok {
			in.next = p.stepRef(s, x.v, join(path, "next"), false)
		}
		s.intents = append(s.intents, in)
	}
}

// phrases reads keywords or examples as the token sequences matched.
func (p *parser) phrases(n *yaml.Node, path string) [][]string {
	var out [][]string
	for _, ta := range p.texts(n, path) {
		t := tokens(ta.s, p.locale)
		if len(t) == 0 {
			p.errorf(ta.n, ta.path, "%q has no letters or digits to match", ta.s)
			continue
		}
		out = append(out, t)
	}
	return out
}

func (p *parser) lookupStep(s *step, e entry, m map[string]entry, path string) {
	for _, ta := range p.words(m["lookup"].v, join(path, "lookup")) {
		p.refs = append(p.refs, refAt{ta.s, ta.n, ta.path})
		s.send = append(s.send, ta.s)
	}
	if x, ok := m["returns"]; ok {
		for _, ta := range p.words(x.v, join(path, "returns")) {
			p.fieldDef(ta)
		}
	}
	p.requireMembers(e.v, path, m, "found", "notFound")
	if x, ok := m["found"]; ok {
		s.found = p.stepRef(s, x.v, join(path, "found"), true)
	}
	if x, ok := m["notFound"]; ok {
		s.notFound = p.stepRef(s, x.v, join(path, "notFound"), true)
	}
	if x, ok := m["error"]; ok {
		s.lookupFailed = p.stepRef(s, x.v, join(path, "error"), true)
	}
}

// handoffStep reads handoff: true, or handoff: {queue, priority, labels}.
func (p *parser) handoffStep(s *step, n *yaml.Node, path string) {
	s.handoff = &handoffTarget{}
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		return
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool":
		if v, ok := p.boolean(n, path); ok && !v {
			p.errorf(n, path, "handoff: false hands nothing off; write handoff: true, or handoff: {queue: …}")
		}
		return
	}
	m, ok := p.object(n, path, []string{"queue", "priority", "labels"}, nil)
	if !ok {
		return
	}
	if x, ok := m["queue"]; ok {
		s.handoff.queue, _ = p.word(x.v, join(path, "queue"))
	}
	if x, ok := m["priority"]; ok {
		s.handoff.priority, s.handoff.hasPriority = p.integer(x.v, join(path, "priority"), -100, 100)
	}
	if x, ok := m["labels"]; ok {
		s.handoff.labels = p.labels(x.v, join(path, "labels"))
	}
}

func (p *parser) endStep(n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if v, ok := p.boolean(n, path); ok && !v {
		p.errorf(n, path, "end: false ends nothing; write end: true")
	}
}
