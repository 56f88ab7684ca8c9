// Package flow is the built-in chat bot: a flow document a tenant's admin
// writes (YAML, or JSON, which is YAML too), its validator, and a pure
// interpreter that a service drives one customer message at a time.
// docs/flows.md is the format reference; in short:
//
//	version: 1
//	locale: en                    # en or id: built-in words and messages
//	start: welcome
//	handoff: {queue: support}     # where a person is found, and how asking for one is recognised
//	steps:
//	  welcome:
//	    say: "Hi {{contact.name|there}}!"
//	    next: help
//	  help:                       # waits, and matches the customer's message against intents
//	    intents:
//	      hours: {keywords: [opening hours, open], say: We're open 9 to 5.}
//	      refund: {keywords: [refund, return], next: ask_order}
//	  ask_order:                  # waits for a field, validates it, asks again
//	    ask: order
//	    type: order
//	    say: What's your order number?
//	    next: agent
//	  agent:
//	    handoff: {queue: returns, labels: {topic: refund}}
//
// Nothing here does I/O: the caller stores State between messages, performs
// the lookups a flow asks for and hands conversations to the router.
package flow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits on a document. A flow is written by hand; these only keep a
// hostile or broken upload from costing the server much.
const (
	MaxSize  = 256 << 10 // bytes
	MaxSteps = 500
)

// Version is the only format version this package reads.
const Version = 1

// Flow is a parsed, valid flow document. It is immutable and safe for
// concurrent use by any number of conversations.
type Flow struct {
	// Locale is "en" or "id" (read it, don't set it): it picks the
	// built-in words that ask for a person, the stop words, and the
	// default messages.
	Locale string
	// Name is the document's optional title.
	Name string

	start string
	steps map[string]*step
	order []string // step names in document order

	labels    []label // added to every handoff
	handoff   handoffDefaults
	fallback  fallback
	askPerson personWords
}

// handoffDefaults applies to handoffs that no handoff step describes: the
// customer asked for a person, or the bot gave up.
type handoffDefaults struct {
	queue     string
	priority  int
	say       []template
	onRequest string // step the first request for a person leads to; "" hands off at once
}

type fallback struct {
	say       []template
	maxMisses int
	next      string // "" hands off
}

// Error is every problem Parse found in a document.
type Error struct{ Problems []Problem }

// Problem is one mistake in a document, with where it is.
type Problem struct {
	Line, Column int    // 1-based; 0 when not tied to a place
	Path         string // e.g. "steps.ask_email.type"
	Message      string
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// String is "line 12, column 5: steps.ask_email.type: message".
func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ", column %d", p.Column)
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Parse reads and validates a flow document. Every problem found is
// reported, as an *Error, in the order of the document.
func Parse(src []byte) (*Flow, error) {
	if len(src) > MaxSize {
		return nil, &Error{[]Problem{{Message: fmt.Sprintf("the document is %d bytes; a flow may be at most %d (256 KiB)", len(src), MaxSize)}}}
	}
	root, problems := decode(src)
	if root == nil {
		return nil, &Error{problems}
	}
	p := &parser{problems: problems}
	p.rejectAliases(root)
	f := p.flow(root)
	if f != nil && !p.fatal {
		p.check(f)
	}
	if len(p.problems) > 0 {
		slices.SortStableFunc(p.problems, func(a, b Problem) int {
			// Problems tied to no place (the whole document) come first.
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		return nil, &Error{p.problems}
	}
	return f, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode reads the one YAML document in src. A nil node means nothing
// more can be checked.
func decode(src []byte) (root *yaml.Node, problems []Problem) {
	defer func() {
		// The YAML parser has panicked on hostile input in past versions;
		// an admin's upload must never take the server down with it.
		if r := recover(); r != nil {
			root, problems = nil, []Problem{{Message: fmt.Sprintf("the document could not be read as YAML: %v", r)}}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []Problem{{Message: "the document is empty"}}
		}
		return nil, []Problem{syntaxProblem(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		problems = append(problems, Problem{Line: extra.Line, Column: extra.Column, Message: "a flow is one YAML document: remove the \"---\" and everything after it"})
	} else if !errors.Is(err, io.EOF) {
		problems = append(problems, syntaxProblem(err))
	}
	if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
		return nil, append(problems, Problem{Message: "the document is empty"})
	}
	return doc.Content[0], problems
}

func syntaxProblem(err error) Problem {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{Line: line, Message: "not valid YAML: " + m[2]}
	}
	return Problem{Message: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}
