package flow

import (
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, refuses only with an *Error that says
// something, and a flow it accepts runs without panicking or spinning.
func FuzzParse(f *testing.F) {
	f.Add(Demo("en"))
	f.Add(Demo("id"))
	f.Add([]byte(testFlow))
	f.Add([]byte(`{"version": 1, "locale": "en", "start": "a", "steps": {"a": {"say": "hi {{x}}", "end": true}}}`))
	f.Add([]byte("version: 1\nlocale: en\nstart: a\nsteps:\n  a: {say: hi, next: b}\n  b: {open: a, closed: a}\n"))
	f.Add([]byte("x: &a [*a]\n"))
	f.Add([]byte("steps:\n  a:\n    ask: x\n    type: regex\n    pattern: '(a'\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		fl, err := Parse(src)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || len(fe.Problems) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
			for _, p := range fe.Problems {
				if p.Message == "" || p.Line < 0 || p.Column < 0 {
					t.Fatalf("problem %+v", p)
				}
			}
			return
		}
		var st State
		for _, in := range []Input{
			{Kind: Start, Open: true},
			{Kind: Message, Text: "hello"},
			{Kind: LookupAnswer, Lookup: LookupResult{Found: true}},
			{Kind: Message, Text: "a@b.co"},
			{Kind: LookupAnswer, Lookup: LookupResult{Err: true}},
			{Kind: Message, Text: "agent"},
		} {
			st, _ = fl.Step(st, in)
		}
	})
}
