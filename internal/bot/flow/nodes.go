package flow

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The parser walks yaml.Node trees by hand rather than decoding into
// structs: only the nodes know lines and columns, and a hand walk can go on
// after a mistake and report the next one.
type parser struct {
	problems []Problem
	fatal    bool // the steps can't be checked as a graph (e.g. too many)

	templates []templateAt          // checked once every field is known
	refs      []refAt               // names of fields a lookup sends
	fields    map[string]*yaml.Node // every field the flow sets, where first set
	edges     []edge                // every move to a step, checked once all steps are known
	startNode *yaml.Node
	locale    string // as far as it could be read: matching depends on it

	// graphUnsure is set when a step or a move to one could not be read;
	// the reachability checks would then only repeat that problem.
	graphUnsure bool
	suggested   map[string]bool // keys of the step being read that a misspelling was taken for

	personKeywords  []string
	builtinKeywords bool
}

func (p *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	pr := Problem{Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		pr.Line, pr.Column = n.Line, n.Column
	}
	p.problems = append(p.problems, pr)
}

// rejectAliases reports every alias once. They are refused rather than
// expanded: a flow is short enough to write out, and expansion is how YAML
// documents blow up.
func (p *parser) rejectAliases(n *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		p.errorf(n, "", "aliases (*%s) are not supported: write the value out", n.Value)
		return
	}
	for _, c := range n.Content {
		p.rejectAliases(c)
	}
}

// entry is one member of a mapping.
type entry struct {
	key  string
	k, v *yaml.Node
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// entries returns a mapping's members in document order. noun names a key
// in messages ("key", "step name"); duplicates are reported and dropped.
func (p *parser) entries(n *yaml.Node, path, noun string) ([]entry, bool) {
	if n.Kind == yaml.AliasNode {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "must be a mapping of key: value lines, not %s", describe(n))
		return nil, false
	}
	seen := map[string]*yaml.Node{}
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			p.errorf(k, path, "a %s must be a plain word, not %s", noun, describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, join(path, k.Value), "duplicate %s %q (first at line %d)", noun, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, entry{k.Value, k, v})
	}
	return out, true
}

// object reads a mapping whose keys are fixed: unknown keys are reported
// with the nearest allowed one, and required ones when missing.
func (p *parser) object(n *yaml.Node, path string, allowed, required []string) (map[string]entry, bool) {
	es, ok := p.entries(n, path, "key")
	if !ok {
		return nil, false
	}
	m := map[string]entry{}
	suggested := map[string]bool{}
	for _, e := range es {
		if !contains(allowed, e.key) {
			suggested[p.unknownKey(e, path, allowed)] = true
			continue
		}
		m[e.key] = e
	}
	for _, r := range required {
		if _, ok := m[r]; !ok && !suggested[r] {
			p.errorf(n, path, "missing %s", r)
		}
	}
	return m, true
}

// unknownKey reports a key that is not allowed, and returns the allowed
// one it is likely a misspelling of, so that the caller does not also
// report that one as missing.
func (p *parser) unknownKey(e entry, path string, allowed []string) string {
	near := nearest(e.key, allowed)
	if near != "" {
		p.errorf(e.k, join(path, e.key), "unknown key %q: did you mean %q?", e.key, near)
	} else {
		p.errorf(e.k, join(path, e.key), "unknown key %q; the keys here are %s", e.key, strings.Join(allowed, ", "))
	}
	return near
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// nearest is the allowed word closest to a misspelling, if any is close:
// one edit, or a third of its length for longer words, or only in case.
func nearest(word string, allowed []string) string {
	best, bestD := "", max(2, len(word)/3+1)
	for _, a := range allowed {
		if strings.EqualFold(a, word) {
			return a
		}
		if d := distance(strings.ToLower(word), strings.ToLower(a)); d < bestD {
			best, bestD = a, d
		}
	}
	return best
}

// describe names what a node holds, for "must be X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the text %q", n.Value)
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value + " (true or false)"
	case "!!null":
		return "nothing"
	}
	return fmt.Sprintf("a %s value", n.ShortTag())
}

// word reads a name-like value: text only, never a number or a list.
func (p *parser) word(n *yaml.Node, path string) (string, bool) {
	if n.Kind == yaml.AliasNode {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errorf(n, path, "must be a name, not %s", describe(n))
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		p.errorf(n, path, "is empty")
		return "", false
	}
	return n.Value, true
}

// text reads a message or keyword: text, though a number such as a menu
// choice "1" is taken as its digits.
func (p *parser) text(n *yaml.Node, path string) (string, bool) {
	if n.Kind == yaml.AliasNode {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, path, "must be text, not %s", describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float":
	case "!!null":
		p.errorf(n, path, "is empty")
		return "", false
	default:
		p.errorf(n, path, "must be text, not %s (put it in quotes)", describe(n))
		return "", false
	}
	if strings.TrimSpace(n.Value) == "" {
		p.errorf(n, path, "is empty")
		return "", false
	}
	return n.Value, true
}

// textAt is one text of a list, with its node for later messages.
type textAt struct {
	s    string
	n    *yaml.Node
	path string
}

// texts reads one text or a list of them.
func (p *parser) texts(n *yaml.Node, path string) []textAt { return p.list(n, path, p.text) }

// words reads one name or a list of them.
func (p *parser) words(n *yaml.Node, path string) []textAt { return p.list(n, path, p.word) }

// list reads one item or a non-empty list of them with read.
func (p *parser) list(n *yaml.Node, path string, read func(*yaml.Node, string) (string, bool)) []textAt {
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			p.errorf(n, path, "is an empty list")
			return nil
		}
		var out []textAt
		for i, c := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			if s, ok := read(c, ip); ok {
				out = append(out, textAt{s, c, ip})
			}
		}
		return out
	}
	if s, ok := read(n, path); ok {
		return []textAt{{s, n, path}}
	}
	return nil
}

func (p *parser) integer(n *yaml.Node, path string, lo, hi int) (int, bool) {
	if n.Kind == yaml.AliasNode {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.errorf(n, path, "must be a whole number from %d to %d, not %s", lo, hi, describe(n))
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < lo || v > hi {
		p.errorf(n, path, "must be a whole number from %d to %d, not %s", lo, hi, n.Value)
		return 0, false
	}
	return v, true
}

// fraction reads a number in (0, 1].
func (p *parser) fraction(n *yaml.Node, path string) (float64, bool) {
	if n.Kind == yaml.AliasNode {
		return 0, false
	}
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || (tag != "!!float" && tag != "!!int") {
		p.errorf(n, path, "must be a number above 0 and at most 1, not %s", describe(n))
		return 0, false
	}
	v, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || !(v > 0 && v <= 1) {
		p.errorf(n, path, "must be a number above 0 and at most 1, not %s", n.Value)
		return 0, false
	}
	return v, true
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, bool) {
	if n.Kind == yaml.AliasNode {
		return false, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		p.errorf(n, path, "must be true or false, not %s", describe(n))
		return false, false
	}
	var v bool
	if err := n.Decode(&v); err != nil {
		p.errorf(n, path, "must be true or false, not %s", n.Value)
		return false, false
	}
	return v, true
}
