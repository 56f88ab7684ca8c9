package flow

import (
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A template is message text with places filled in when it is said:
//
//	{{email}}            a field the flow collected (or a lookup returned)
//	{{fields.email}}     the same, spelt out
//	{{contact.name}}     what the platform knows of the customer
//	{{contact.name|Kak}} with a default for when the value is unknown
//
// Names are checked when the flow is parsed, so a typo is an error then,
// not an empty gap in a message later.
type template []segment

type segment struct {
	lit  string // literal text, when ns is ""
	ns   string // "fields" or "contact"
	name string
	def  string
}

// contactKeys are what Input.Contact may carry that templates can use.
var contactKeys = []string{"name", "email", "phone"}

var templateRef = regexp.MustCompile(`^(?:(fields|contact)\.)?([A-Za-z_][A-Za-z0-9_]*)$`)

// parseTemplate splits text into literals and places; a malformed place is
// described by the returned message.
func parseTemplate(s string) (template, string) {
	var t template
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" {
				t = append(t, segment{lit: s})
			}
			return t, ""
		}
		if i > 0 {
			t = append(t, segment{lit: s[:i]})
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Sprintf("%q has {{ without a closing }}", s[i:min(len(s), i+20)])
		}
		inner := s[i+2 : i+2+j]
		ref, def, _ := strings.Cut(inner, "|")
		ref = strings.TrimSpace(ref)
		m := templateRef.FindStringSubmatch(ref)
		if m == nil {
			return nil, fmt.Sprintf("{{%s}} is not a name: write {{field}}, {{fields.field}} or {{contact.name}}", inner)
		}
		ns := m[1]
		if ns == "" {
			ns = "fields"
		}
		t = append(t, segment{ns: ns, name: m[2], def: strings.TrimSpace(def)})
		s = s[i+2+j+2:]
	}
}

// templateAt is a parsed template with where it was written, so that its
// names can be checked once the whole flow is read.
type templateAt struct {
	t    template
	n    *yaml.Node
	path string
}

// template parses a text into a template, reporting a malformed place.
func (p *parser) template(ta textAt) (template, bool) {
	t, msg := parseTemplate(ta.s)
	if msg != "" {
		p.errorf(ta.n, ta.path, "%s", msg)
		return nil, false
	}
	p.templates = append(p.templates, templateAt{t, ta.n, ta.path})
	return t, true
}

// templates parses one text or a list of them.
func (p *parser) templateList(n *yaml.Node, path string) []template {
	var out []template
	for _, ta := range p.texts(n, path) {
		if t, ok := p.template(ta); ok {
			out = append(out, t)
		}
	}
	return out
}

// render fills a template; unknown values give the default, or nothing.
func (t template) render(fields, contact map[string]string) string {
	var b strings.Builder
	for _, s := range t {
		if s.ns == "" {
			b.WriteString(s.lit)
			continue
		}
		v := fields[s.name]
		if s.ns == "contact" {
			v = contact[s.name]
		}
		if strings.TrimSpace(v) == "" {
			v = s.def
		}
		b.WriteString(v)
	}
	return b.String()
}
