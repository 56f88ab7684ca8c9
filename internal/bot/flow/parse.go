package flow

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var topKeys = []string{"version", "locale", "name", "start", "labels", "handoff", "fallback", "steps"}

// Names admins choose. Field names appear in templates, so they are
// identifiers; step names may also use dashes.
var (
	stepName    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$`)
	fieldNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	labelName   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)
)

// Defaults of the optional members.
const (
	defaultAttempts  = 3
	defaultMisses    = 3
	defaultThreshold = 0.5
)

// flow reads the whole document into a Flow, reporting what is wrong on
// the way; the graph checks come after, in check.
func (p *parser) flow(root *yaml.Node) *Flow {
	top, ok := p.object(root, "", topKeys, []string{"version", "locale", "start", "steps"})
	if !ok {
		return nil
	}
	f := &Flow{steps: map[string]*step{}, fallback: fallback{maxMisses: defaultMisses}}
	p.fields = map[string]*yaml.Node{}
	p.builtinKeywords = true
	if e, ok := top["version"]; ok && e.v.Kind != yaml.AliasNode {
		switch {
		case e.v.Kind != yaml.ScalarNode || e.v.ShortTag() != "!!int":
			p.errorf(e.v, "version", "version must be %d, not %s", Version, describe(e.v))
		case e.v.Value != strconv.Itoa(Version):
			p.errorf(e.v, "version", "version %s is not supported: this server reads version %d", e.v.Value, Version)
		}
	}
	if e, ok := top["locale"]; ok {
		if v, ok := p.word(e.v, "locale"); ok {
			if v != "en" && v != "id" {
				p.errorf(e.v, "locale", "locale must be en (English) or id (Indonesian), not %q", v)
			}
			f.Locale, p.locale = v, v
		}
	}
	if e, ok := top["name"]; ok {
		f.Name, _ = p.text(e.v, "name")
	}
	if e, ok := top["labels"]; ok {
		f.labels = p.labels(e.v, "labels")
	}
	if e, ok := top["handoff"]; ok {
		p.handoffDefaults(f, e.v)
	}
	if e, ok := top["fallback"]; ok {
		p.fallback(f, e.v)
	}
	if e, ok := top["steps"]; ok {
		p.steps(f, e.v)
	}
	if e, ok := top["start"]; ok {
		if v, ok := p.word(e.v, "start"); ok {
			f.start = v
			p.startNode = e.v
		}
	}
	f.askPerson = compilePersonWords(f.Locale, p.personKeywords, p.builtinKeywords)
	return f
}

func (p *parser) labels(n *yaml.Node, path string) []label {
	es, ok := p.entries(n, path, "label")
	if !ok {
		return nil
	}
	var out []label
	for _, e := range es {
		lp := join(path, e.key)
		switch {
		case !labelName.MatchString(e.key):
			p.errorf(e.k, lp, "label %q: use letters, digits, _, . and - (at most 64)", e.key)
		case e.key == "handoffReason":
			p.errorf(e.k, lp, "handoffReason is set by the bot; choose another label")
		default:
			if s, ok := p.text(e.v, lp); ok {
				if t, ok := p.template(textAt{s, e.v, lp}); ok {
					out = append(out, label{e.key, t})
				}
			}
		}
	}
	return out
}

var handoffKeys = []string{"queue", "priority", "say", "keywords", "builtinKeywords", "onRequest"}

func (p *parser) handoffDefaults(f *Flow, n *yaml.Node) {
	m, ok := p.object(n, "handoff", handoffKeys, nil)
	if !ok {
		return
	}
	if e, ok := m["queue"]; ok {
		f.handoff.queue, _ = p.word(e.v, "handoff.queue")
	}
	if e, ok := m["priority"]; ok {
		f.handoff.priority, _ = p.integer(e.v, "handoff.priority", -100, 100)
	}
	if e, ok := m["say"]; ok {
		f.handoff.say = p.templateList(e.v, "handoff.say")
	}
	if e, ok := m["keywords"]; ok {
		for _, ta := range p.texts(e.v, "handoff.keywords") {
			if len(tokens(ta.s, "")) == 0 {
				p.errorf(ta.n, ta.path, "%q has no letters or digits to match", ta.s)
				continue
			}
			p.personKeywords = append(p.personKeywords, ta.s)
		}
	}
	if e, ok := m["builtinKeywords"]; ok {
		if v, ok := p.boolean(e.v, "handoff.builtinKeywords"); ok {
			p.builtinKeywords = v
		}
	}
	if e, ok := m["onRequest"]; ok {
		f.handoff.onRequest = p.stepRef(nil, e.v, "handoff.onRequest", false)
	}
}

var fallbackKeys = []string{"say", "maxMisses", "next"}

func (p *parser) fallback(f *Flow, n *yaml.Node) {
	m, ok := p.object(n, "fallback", fallbackKeys, nil)
	if !ok {
		return
	}
	if e, ok := m["say"]; ok {
		f.fallback.say = p.templateList(e.v, "fallback.say")
	}
	if e, ok := m["maxMisses"]; ok {
		if v, ok := p.integer(e.v, "fallback.maxMisses", 1, 20); ok {
			f.fallback.maxMisses = v
		}
	}
	if e, ok := m["next"]; ok {
		f.fallback.next = p.stepRef(nil, e.v, "fallback.next", false)
	}
}

func (p *parser) steps(f *Flow, n *yaml.Node) {
	if n.Kind == yaml.MappingNode && len(n.Content)/2 > MaxSteps {
		p.errorf(n, "steps", "%d steps; a flow may have at most %d", len(n.Content)/2, MaxSteps)
		p.fatal = true
		return
	}
	es, ok := p.entries(n, "steps", "step name")
	if !ok {
		p.fatal = true
		return
	}
	if len(es) == 0 {
		p.errorf(n, "steps", "a flow needs at least one step")
		p.fatal = true
		return
	}
	for _, e := range es {
		path := join("steps", e.key)
		if !stepName.MatchString(e.key) {
			p.errorf(e.k, path, "step name %q: use letters, digits, _ and - (at most 64)", e.key)
			continue
		}
		s := p.step(e, path)
		f.steps[e.key] = s
		f.order = append(f.order, e.key)
	}
}

// stepRef reads the name of a step to go to. from is the step it leaves
// (nil for the flow's own members); now says the move happens without
// waiting for the customer, which matters to the loop check.
func (p *parser) stepRef(from *step, n *yaml.Node, path string, now bool) string {
	name, ok := p.word(n, path)
	if !ok {
		return ""
	}
	p.edges = append(p.edges, edge{from: from, to: name, n: n, path: path, now: now})
	return name
}

// fieldDef records a field the flow sets, by an ask step or a lookup.
func (p *parser) fieldDef(ta textAt) (string, bool) {
	if !fieldNameRe.MatchString(ta.s) {
		p.errorf(ta.n, ta.path, "field name %q: use letters, digits and _, not starting with a digit (at most 64)", ta.s)
		return "", false
	}
	if ta.s == "fields" || ta.s == "contact" {
		p.errorf(ta.n, ta.path, "%q is reserved for templates; choose another field name", ta.s)
		return "", false
	}
	if _, ok := p.fields[ta.s]; !ok {
		p.fields[ta.s] = ta.n
	}
	return ta.s, true
}

// refAt is a field name used, to be checked against those set.
type refAt struct {
	name string
	n    *yaml.Node
	path string
}

func describeList(list []string) string {
	if len(list) == 1 {
		return list[0]
	}
	return fmt.Sprintf("%s or %s", strings.Join(list[:len(list)-1], ", "), list[len(list)-1])
}
