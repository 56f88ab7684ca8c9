package flow

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// edge is a move from one step to another, as written.
type edge struct {
	from *step // nil for the flow's own members (handoff.onRequest, fallback.next)
	to   string
	n    *yaml.Node
	path string
	now  bool // taken without waiting for the customer
}

// check looks at the flow as a whole, once every step is read: names that
// point nowhere, steps nothing leads to, loops that never wait, and a
// flow with no way out.
func (p *parser) check(f *Flow) {
	if f.start != "" {
		if _, ok := f.steps[f.start]; !ok {
			p.noStep(f, p.startNode, "start", f.start)
			p.graphUnsure = true
		}
	}
	for _, e := range p.edges {
		if _, ok := f.steps[e.to]; !ok {
			p.noStep(f, e.n, e.path, e.to)
			p.graphUnsure = true
		}
	}
	p.checkNames(f)
	p.checkLoops(f)
	if p.graphUnsure || f.start == "" {
		return
	}
	reached := p.reachable(f)
	for _, name := range f.order {
		if !reached[name] {
			s := f.steps[name]
			p.errorf(s.key, "steps."+name, "step %s is never reached: no next, intent or other step leads to it (link it, or delete it)", name)
		}
	}
	for name := range reached {
		if f.steps[name].exits(f) {
			return
		}
	}
	p.errorf(p.startNode, "start", "the flow has no way to end or hand off: no step reached from start is an end or handoff step, an ask step without onFail, a lookup without error, or an intents step while fallback has no next")
}

func (p *parser) noStep(f *Flow, n *yaml.Node, path, name string) {
	if near := nearest(name, f.order); near != "" {
		p.errorf(n, path, "no step named %q: did you mean %q?", name, near)
		return
	}
	p.errorf(n, path, "no step named %q", name)
}

// checkNames makes sure templates and lookups only use fields the flow
// sets somewhere and contact values the platform has.
func (p *parser) checkNames(f *Flow) {
	known := slices.Sorted(func(yield func(string) bool) {
		for k := range p.fields {
			if !yield(k) {
				return
			}
		}
	})
	for _, ta := range p.templates {
		for _, s := range ta.t {
			switch {
			case s.ns == "contact" && !contains(contactKeys, s.name):
				p.errorf(ta.n, ta.path, "{{contact.%s}} is not a contact value; use contact.name, contact.email or contact.phone", s.name)
			case s.ns == "fields" && p.fields[s.name] == nil:
				p.unknownField(ta.n, ta.path, "{{"+s.name+"}}", s.name, known)
			}
		}
	}
	for _, r := range p.refs {
		if p.fields[r.name] == nil {
			p.unknownField(r.n, r.path, fmt.Sprintf("%q", r.name), r.name, known)
		}
	}
}

func (p *parser) unknownField(n *yaml.Node, path, what, name string, known []string) {
	msg := fmt.Sprintf("%s names no field: a field is set by an ask step or a lookup's returns", what)
	if near := nearest(name, known); near != "" {
		msg += fmt.Sprintf("; did you mean %q?", near)
	}
	p.errorf(n, path, "%s", msg)
}

// checkLoops finds steps that lead round to themselves without ever
// stopping for the customer: the interpreter would spin, or ask for
// lookups, for ever.
func (p *parser) checkLoops(f *Flow) {
	now := map[string][]string{}
	for _, e := range p.edges {
		if e.now && e.from != nil && f.steps[e.to] != nil {
			now[e.from.name] = append(now[e.from.name], e.to)
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	reported := map[string]bool{}
	var path []string
	var visit func(name string)
	visit = func(name string) {
		state[name] = onPath
		path = append(path, name)
		for _, to := range now[name] {
			switch state[to] {
			case unseen:
				visit(to)
			case onPath:
				i := slices.Index(path, to)
				loop := append(slices.Clone(path[i:]), to)
				// The same steps can loop by several moves (open and
				// closed both going back): one report is enough.
				key := slices.Clone(path[i:])
				slices.Sort(key)
				if reported[strings.Join(key, " ")] {
					continue
				}
				reported[strings.Join(key, " ")] = true
				s := f.steps[to]
				p.errorf(s.key, "steps."+to, "steps %s go round without waiting for the customer; put an ask or intents step in the loop", strings.Join(loop, " → "))
			}
		}
		path = path[:len(path)-1]
		state[name] = done
	}
	for _, name := range f.order {
		if state[name] == unseen {
			visit(name)
		}
	}
}

// reachable is every step the conversation can get to: from start, and
// from wherever the customer can ask for a person or be misunderstood.
func (p *parser) reachable(f *Flow) map[string]bool {
	out := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		if name == "" || out[name] || f.steps[name] == nil {
			return
		}
		out[name] = true
		for _, e := range p.edges {
			if e.from != nil && e.from.name == name {
				walk(e.to)
			}
		}
	}
	walk(f.start)
	for changed := true; changed; {
		n := len(out)
		for name := range out {
			s := f.steps[name]
			if s.kind == kindAsk || s.kind == kindIntents {
				walk(f.handoff.onRequest)
			}
			if s.kind == kindIntents {
				walk(f.fallback.next)
			}
		}
		changed = len(out) != n
	}
	return out
}

// exits says whether the flow can finish at this step: by itself, or by a
// handoff the bot makes when it gives up.
func (s *step) exits(f *Flow) bool {
	switch s.kind {
	case kindEnd, kindHandoff:
		return true
	case kindAsk:
		return s.onFail == ""
	case kindLookup:
		return s.lookupFailed == ""
	case kindIntents:
		return f.fallback.next == ""
	}
	return false
}
