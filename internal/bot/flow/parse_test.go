package flow

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func mustParse(t testing.TB, src string) *Flow {
	t.Helper()
	f, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	return f
}

func problemsOf(t *testing.T, src string) []Problem {
	t.Helper()
	_, err := Parse([]byte(src))
	if err == nil {
		t.Fatalf("Parse accepted:\n%s", src)
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error is %T, not *Error: %v", err, err)
	}
	return fe.Problems
}

// markedAt finds where a test expects a problem: on the line holding
// "#!", at the first occurrence of at.
func markedAt(t *testing.T, src, at string) (line, col int) {
	t.Helper()
	if at == "" {
		return 0, 0
	}
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, "#!") {
			c := strings.Index(l, at)
			if c < 0 {
				t.Fatalf("%q not on the marked line %q", at, l)
			}
			return i + 1, c + 1
		}
	}
	t.Fatalf("no #! line in\n%s", src)
	return 0, 0
}

// TestParseMistakes: one mistake each, reported once, at its place.
func TestParseMistakes(t *testing.T) {
	for _, c := range []struct {
		name string
		src  string
		at   string // on the line marked #!; "" for no place
		path string
		msg  string // contained in the message
	}{
		{"misspelt top-level key", `
version: 1
locale: en
start: a
strat: a   #!
steps:
  a: {say: hi, end: true}
`, "strat", "strat", `unknown key "strat": did you mean "start"?`},
		{"misspelt step key is not also missing", `
version: 1
locale: en
start: a
steps:
  a:
    say: hi
    nxt: b    #!
  b: {end: true}
`, "nxt", "steps.a.nxt", `unknown key "nxt": did you mean "next"?`},
		{"misspelt kind of step", `
version: 1
locale: en
start: a
steps:
  a:
    say: bye
    hanoff: true   #!
`, "hanoff", "steps.a.hanoff", `unknown key "hanoff": did you mean "handoff"?`},
		{"unknown key far from any", `
version: 1
locale: en
start: a
steps:
  a: {say: hi, end: true, colour: red}   #!
`, "colour", "steps.a.colour", `unknown key "colour"; the keys here are say, next, ask`},
		{"key of another kind of step", `
version: 1
locale: en
start: a
steps:
  a:
    say: hi
    end: true
    retry: again   #!
`, "retry", "steps.a.retry", "retry is not used in an end step"},
		{"missing top-level member", `
version: 1   #!
start: a
steps:
  a: {say: hi, end: true}
`, "version", "", "missing locale"},
		{"missing next of an ask", `
version: 1
locale: en
start: a
steps:
  a:
    ask: email   #!
    say: E-mail?
`, "ask", "steps.a", "missing next"},
		{"missing say of a message", `
version: 1
locale: en
start: a
steps:
  a:
    next: b   #!
  b: {end: true}
`, "next", "steps.a", "missing say: the message of this step"},
		{"next to a step that does not exist", `
version: 1
locale: en
start: a
steps:
  a:
    say: hi
    next: ask_emial   #!
  ask_email: {ask: email, say: "E-mail?", next: bye}
  bye: {end: true}
`, "ask_emial", "steps.a.next", `no step named "ask_emial": did you mean "ask_email"?`},
		{"start that does not exist", `
version: 1
locale: en
start: nowhere   #!
steps:
  a: {say: hi, end: true}
`, "nowhere", "start", `no step named "nowhere"`},
		{"unreachable step", `
version: 1
locale: en
start: a
steps:
  a: {say: hi, end: true}
  b: {say: lost, next: a}   #!
`, "b", "steps.b", "step b is never reached"},
		{"loop that never waits", `
version: 1
locale: en
start: a
steps:
  a:   #!
    say: hi
    next: b
  b:
    open: a
    closed: c
  c: {end: true}
`, "a", "steps.a", "steps a → b → a go round without waiting for the customer"},
		{"lookup retried for ever", `
version: 1
locale: en
start: ask
steps:
  ask: {ask: email, type: email, say: "E-mail?", next: find}
  find:   #!
    lookup: [email]
    found: bye
    notFound: bye
    error: find
  bye: {end: true}
`, "find", "steps.find", "steps find → find go round"},
		{"bad regular expression", `
version: 1
locale: en
start: a
steps:
  a:
    ask: code
    type: regex
    pattern: "[A-Z{2}"   #!
    say: Code?
    next: b
  b: {end: true}
`, `"[A-Z`, "steps.a.pattern", "bad regular expression: missing closing ]"},
		{"regex without pattern", `
version: 1
locale: en
start: a
steps:
  a:
    ask: code   #!
    type: regex
    say: Code?
    next: b
  b: {end: true}
`, "ask", "steps.a", "missing pattern"},
		{"pattern without regex", `
version: 1
locale: en
start: a
steps:
  a:
    ask: code
    pattern: x   #!
    say: Code?
    next: b
  b: {end: true}
`, "pattern", "steps.a.pattern", "pattern is only used with type: regex"},
		{"unknown field type", `
version: 1
locale: en
start: a
steps:
  a:
    ask: email
    type: e-mail   #!
    say: E-mail?
    next: b
  b: {end: true}
`, "e-mail", "steps.a.type", `unknown field type "e-mail"; the types are name, email, phone, order, text or regex`},
		{"no way to end or hand off", `
version: 1
locale: en
start: a   #!
steps:
  a: {say: hi, next: b}
  b: {ask: x, say: "X?", onFail: a, next: a}
`, "a   #!", "start", "the flow has no way to end or hand off"},
		{"empty text", `
version: 1
locale: en
start: a
steps:
  a:
    say: ""   #!
    end: true
`, `""`, "steps.a.say", "is empty"},
		{"empty text in a list", `
version: 1
locale: en
start: a
steps:
  a:
    say: [hi, " "]   #!
    end: true
`, `" "`, "steps.a.say[1]", "is empty"},
		{"template naming no field", `
version: 1
locale: en
start: a
steps:
  a: {ask: email, say: "E-mail?", next: b}
  b:
    say: Thanks, {{emial}}   #!
    end: true
`, "Thanks", "steps.b.say", `{{emial}} names no field: a field is set by an ask step or a lookup's returns; did you mean "email"?`},
		{"template naming no contact value", `
version: 1
locale: en
start: a
steps:
  a:
    say: Hi {{contact.surname}}   #!
    end: true
`, "Hi", "steps.a.say", "{{contact.surname}} is not a contact value"},
		{"template not closed", `
version: 1
locale: en
start: a
steps:
  a:
    say: Hi {{contact.name   #!
    end: true
`, "Hi", "steps.a.say", "has {{ without a closing }}"},
		{"template in a label", `
version: 1
locale: en
start: a
labels:
  who: "{{nobody}}"   #!
steps:
  a: {say: hi, end: true}
`, `"{{`, "labels.who", "{{nobody}} names no field"},
		{"duplicate step name", `
version: 1
locale: en
start: a
steps:
  a: {say: hi, end: true}
  a: {say: again, end: true}   #!
`, "a", "steps.a", `duplicate step name "a" (first at line 6)`},
		{"duplicate key in a step", `
version: 1
locale: en
start: a
steps:
  a:
    say: hi
    say: again   #!
    end: true
`, "say", "steps.a.say", `duplicate key "say" (first at line 7)`},
		{"duplicate intent", `
version: 1
locale: en
start: a
steps:
  a:
    intents:
      hours: {keywords: [open], say: 9 to 5}
      hours: {keywords: [close], say: 5}   #!
`, "hours", "steps.a.intents.hours", `duplicate intent name "hours"`},
		{"number where a word is wanted", `
version: 1
locale: en
start: a
steps:
  a:
    say: hi
    end: true
handoff:
  queue: 42   #!
`, "42", "handoff.queue", "must be a name, not the number 42"},
		{"text where a number is wanted", `
version: 1
locale: en
start: a
steps:
  a:
    ask: x
    say: X?
    attempts: three   #!
    next: b
  b: {end: true}
`, "three", "steps.a.attempts", `must be a whole number from 1 to 20, not the text "three"`},
		{"number out of range", `
version: 1
locale: en
start: a
handoff:
  priority: 101   #!
steps:
  a: {say: hi, end: true}
`, "101", "handoff.priority", "must be a whole number from -100 to 100, not 101"},
		{"threshold out of range", `
version: 1
locale: en
start: a
steps:
  a:
    threshold: 1.5   #!
    intents: {hi: {keywords: [hi], say: hello}}
`, "1.5", "steps.a.threshold", "must be a number above 0 and at most 1, not 1.5"},
		{"text where true or false is wanted", `
version: 1
locale: en
start: a
steps:
  a:
    ask: email
    skipIfKnown: "yes"   #!
    say: E-mail?
    next: b
  b: {end: true}
`, `"yes"`, "steps.a.skipIfKnown", `must be true or false, not the text "yes"`},
		{"mapping where text is wanted", `
version: 1
locale: en
start: a
steps:
  a:
    say: {text: hi}   #!
    end: true
`, "{", "steps.a.say", "must be text, not a mapping"},
		{"list where a mapping is wanted", `
version: 1
locale: en
start: a
steps:
  - a   #!
`, "-", "steps", "must be a mapping of key: value lines, not a list"},
		{"true where text is wanted", `
version: 1
locale: en
start: a
steps:
  a:
    say: true   #!
    end: true
`, "true", "steps.a.say", "must be text, not true (true or false) (put it in quotes)"},
		{"version not a number", `
version: one   #!
locale: en
start: a
steps:
  a: {say: hi, end: true}
`, "one", "version", `version must be 1, not the text "one"`},
		{"unsupported version", `
version: 2   #!
locale: en
start: a
steps:
  a: {say: hi, end: true}
`, "2", "version", "version 2 is not supported: this server reads version 1"},
		{"unknown locale", `
version: 1
locale: fr   #!
start: a
steps:
  a: {say: hi, end: true}
`, "fr", "locale", `locale must be en (English) or id (Indonesian), not "fr"`},
		{"lookup sending a field never collected", `
version: 1
locale: en
start: a
steps:
  a:
    lookup: [email]   #!
    found: b
    notFound: b
  b: {end: true}
`, "email", "steps.a.lookup[0]", `"email" names no field`},
		{"lookup without notFound", `
version: 1
locale: en
start: a
steps:
  a:
    ask: email
    say: E-mail?
    next: b
  b:
    lookup: [email]   #!
    found: c
  c: {end: true}
`, "lookup", "steps.b", "missing notFound"},
		{"two things in one step", `
version: 1
locale: en
start: a
steps:
  a:
    ask: email
    say: E-mail?
    end: true   #!
`, "end", "steps.a.end", "a step does one thing: ask and end can't be in the same step"},
		{"step doing nothing", `
version: 1
locale: en
start: a
steps:
  a: {}   #!
`, "{", "steps.a", "a step needs say and next, or one of ask, intents"},
		{"intent without keywords or examples", `
version: 1
locale: en
start: a
steps:
  a:
    intents:
      hours: {say: 9 to 5}   #!
`, "{", "steps.a.intents.hours", "missing keywords or examples"},
		{"keyword of punctuation only", `
version: 1
locale: en
start: a
steps:
  a:
    intents:
      hours: {keywords: ["?!"], say: 9 to 5}   #!
`, `"?!"`, "steps.a.intents.hours.keywords[0]", `"?!" has no letters or digits to match`},
		{"end false", `
version: 1
locale: en
start: a
steps:
  a:
    say: hi
    end: false   #!
`, "false", "steps.a.end", "end: false ends nothing"},
		{"reserved field name", `
version: 1
locale: en
start: a
steps:
  a:
    ask: contact   #!
    say: X?
    next: b
  b: {end: true}
`, "contact", "steps.a.ask", `"contact" is reserved`},
		{"reserved label", `
version: 1
locale: en
start: a
labels:
  handoffReason: x   #!
steps:
  a: {say: hi, end: true}
`, "handoffReason", "labels.handoffReason", "handoffReason is set by the bot"},
		{"next in an intents step", `
version: 1
locale: en
start: a
steps:
  a:
    next: a   #!
    intents: {hi: {keywords: [hi], say: hello}}
`, "next", "steps.a.next", "next is not used in an intents step: each intent has its own next"},
		{"alias", `
version: 1
locale: en
start: a
x: &hi hello
steps:
  a:
    say: *hi   #!
    end: true
`, "*hi", "", "aliases (*hi) are not supported"},
		{"second document", `
version: 1
locale: en
start: a
steps:
  a: {say: hi, end: true}
---   #!
version: 1
`, "---", "", "a flow is one YAML document"},
		{"not YAML", `
version: 1
locale: en
start: a
steps:
  a: {say: hi, end: true   #!
`, "", "", "not valid YAML"},
		{"not a mapping", `- version: 1 #!`, "-", "", "must be a mapping"},
		{"empty", "# nothing\n", "", "", "the document is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ps := problemsOf(t, c.src)
			// "x: &hi" in the alias case is an unknown key too.
			if c.name == "alias" {
				ps = ps[1:]
			}
			if len(ps) != 1 {
				t.Fatalf("%d problems, want 1:\n%s", len(ps), (&Error{ps}).Error())
			}
			p := ps[0]
			line, col := markedAt(t, c.src, c.at)
			if c.name == "not YAML" {
				line = p.Line // the YAML parser's own idea of where
			}
			if p.Line != line || p.Column != col || p.Path != c.path || !strings.Contains(p.Message, c.msg) {
				t.Errorf("got  %d:%d %s: %s\nwant %d:%d %s: …%s…", p.Line, p.Column, p.Path, p.Message, line, col, c.path, c.msg)
			}
		})
	}
}

// TestParseReportsAll: every mistake of a document is reported, in the
// order of the document, one per line of Error().
func TestParseReportsAll(t *testing.T) {
	src := `version: 1
locale: en
start: welcome
steps:
  welcome:
    say: Hi {{contact.nam}}!
    next: ask_mail
  ask_email:
    ask: email
    type: mail
    say: E-mail?
    atempts: 3
    next: done
  done:
    say: ""
    end: true
  lost:
    say: nobody comes here
    next: done
`
	ps := problemsOf(t, src)
	want := []string{
		"line 6, column 10: steps.welcome.say: {{contact.nam}} is not a contact value; use contact.name, contact.email or contact.phone",
		`line 7, column 11: steps.welcome.next: no step named "ask_mail": did you mean "ask_email"?`,
		`line 10, column 11: steps.ask_email.type: unknown field type "mail"; the types are name, email, phone, order, text or regex`,
		`line 12, column 5: steps.ask_email.atempts: unknown key "atempts": did you mean "attempts"?`,
		"line 15, column 10: steps.done.say: is empty",
	}
	_, err := Parse([]byte(src))
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	if len(ps) != len(want) {
		t.Errorf("%d problems", len(ps))
	}
}

// TestParseReachability: with the moves all readable, unreachable steps
// and the loop are both reported.
func TestParseReachability(t *testing.T) {
	src := `version: 1
locale: en
start: a
steps:
  a: {say: hi, next: b}
  b: {open: c, closed: c}
  c: {say: x, next: b}
  d: {say: lost, next: e}
  e: {end: true}
`
	_, err := Parse([]byte(src))
	want := strings.Join([]string{
		"line 3, column 8: start: the flow has no way to end or hand off: no step reached from start is an end or handoff step, an ask step without onFail, a lookup without error, or an intents step while fallback has no next",
		"line 6, column 3: steps.b: steps b → c → b go round without waiting for the customer; put an ask or intents step in the loop",
		"line 8, column 3: steps.d: step d is never reached: no next, intent or other step leads to it (link it, or delete it)",
		"line 9, column 3: steps.e: step e is never reached: no next, intent or other step leads to it (link it, or delete it)",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// TestParseReachedByHandoffAndFallback: steps only handoff.onRequest or
// fallback.next lead to are reachable, once a step waits for the customer.
func TestParseReachedByHandoffAndFallback(t *testing.T) {
	mustParse(t, `version: 1
locale: en
start: menu
handoff: {onRequest: person}
fallback: {next: sorry}
steps:
  menu:
    intents: {hi: {keywords: [hi], say: hello}}
  person: {say: OK, handoff: true}
  sorry: {say: Sorry, end: true}
`)
}

func TestParseLimits(t *testing.T) {
	big := "version: 1\nlocale: en\nstart: a\nname: \"" + strings.Repeat("x", MaxSize) + "\"\nsteps:\n  a: {say: hi, end: true}\n"
	ps := problemsOf(t, big)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "256 KiB") {
		t.Errorf("too big: %v", ps)
	}
	var b strings.Builder
	b.WriteString("version: 1\nlocale: en\nstart: s0\nsteps:\n")
	for i := 0; i <= MaxSteps; i++ {
		fmt.Fprintf(&b, "  s%d: {say: hi, next: s%d}\n", i, i+1)
	}
	ps = problemsOf(t, b.String())
	if len(ps) != 1 || ps[0].Path != "steps" || ps[0].Message != "501 steps; a flow may have at most 500" {
		t.Errorf("too many steps: %v", ps)
	}
}

func TestParseDemos(t *testing.T) {
	for _, locale := range []string{"en", "id"} {
		f := mustParse(t, string(Demo(locale)))
		if f.Locale != locale {
			t.Errorf("%s demo has locale %q", locale, f.Locale)
		}
	}
	if Demo("fr") != nil {
		t.Error("a demo for fr")
	}
}

// TestParseJSON: the same flow written in JSON parses, and errors point
// into the JSON text.
func TestParseJSON(t *testing.T) {
	src := `{
  "version": 1,
  "locale": "en",
  "start": "ask",
  "steps": {
    "ask": {"ask": "email", "type": "email", "say": "E-mail?", "next": "bye"},
    "bye": {"say": "Thanks, {{email}}!", "end": true}
  }
}`
	f := mustParse(t, src)
	st, out := f.Step(State{}, Input{Kind: Start})
	_, out = f.Step(st, Input{Kind: Message, Text: "ana@example.com"})
	if !out.End || len(out.Say) != 1 || out.Say[0] != "Thanks, ana@example.com!" {
		t.Errorf("JSON flow ran to %+v", out)
	}
	bad := strings.Replace(src, `"type": "email"`, `"type": "mail"`, 1)
	ps := problemsOf(t, bad)
	if len(ps) != 1 || ps[0].Line != 6 || ps[0].Column != 37 || ps[0].Path != "steps.ask.type" {
		t.Errorf("JSON problem: %+v", ps)
	}
}

func TestParseDefaults(t *testing.T) {
	f := mustParse(t, `version: 1
locale: id
start: a
steps:
  a:
    ask: x
    say: X?
    next: b
  b:
    say: Bye
    handoff:
`)
	a := f.steps["a"]
	if a.ftype != fieldText || a.attempts != defaultAttempts || a.onFail != "" || f.fallback.maxMisses != defaultMisses {
		t.Errorf("defaults: %+v", a)
	}
	if len(f.askPerson.anywhere) == 0 {
		t.Error("built-in words for a person are off by default")
	}
}

func TestProblemString(t *testing.T) {
	for _, c := range []struct {
		p    Problem
		want string
	}{
		{Problem{Line: 3, Column: 7, Path: "steps.a", Message: "m"}, "line 3, column 7: steps.a: m"},
		{Problem{Line: 3, Message: "m"}, "line 3: m"},
		{Problem{Message: "m"}, "m"},
	} {
		if got := c.p.String(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}
