package flow

import (
	"regexp"
	"strings"
	"testing"
)

func TestAccept(t *testing.T) {
	code := &step{ftype: fieldRegex, pattern: regexp.MustCompile(`^(?:[A-Z]{2}\d{4})$`)}
	for _, c := range []struct {
		t      fieldType
		s      *step
		locale string
		in     string
		want   string // "" for refused
	}{
		{t: fieldName, in: "Ana María", want: "Ana María"},
		{t: fieldName, in: "my name is John O'Neil.", want: "John O'Neil"},
		{t: fieldName, locale: "id", in: "Nama saya Budi Santoso", want: "Budi Santoso"},
		{t: fieldName, in: "12345"},
		{t: fieldName, in: "john@example.com"},
		{t: fieldName, in: strings.Repeat("a", 101)},
		{t: fieldEmail, in: "Ana@Example.COM", want: "ana@example.com"},
		{t: fieldEmail, in: "sure, it's <ana.b+shop@mail.example.co.id>.", want: "ana.b+shop@mail.example.co.id"},
		{t: fieldEmail, in: "ana@example"},
		{t: fieldEmail, in: "ana at example dot com"},
		{t: fieldEmail, in: "@example.com"},
		{t: fieldPhone, in: "0812-3456-7890", want: "081234567890"},
		{t: fieldPhone, in: "my number is +62 812 3456 789", want: "+628123456789"},
		{t: fieldPhone, in: "(021) 555 0199", want: "0215550199"},
		{t: fieldPhone, in: "12 34"},
		{t: fieldPhone, in: "1234567890123456"},
		{t: fieldOrder, in: "#A-10023", want: "A-10023"},
		{t: fieldOrder, in: "it's order 88412, thanks", want: "88412"},
		{t: fieldOrder, in: "no idea"},
		{t: fieldOrder, in: "12"},
		{t: fieldText, in: "  my parcel is late  ", want: "my parcel is late"},
		{t: fieldText, in: "   "},
		{t: fieldText, in: strings.Repeat("é", maxText+5), want: strings.Repeat("é", maxText)},
		{s: code, in: "AB1234", want: "AB1234"},
		{s: code, in: "AB12345"}, // the pattern must match the whole answer
		{s: code, in: "xAB1234"},
	} {
		s := c.s
		if s == nil {
			s = &step{ftype: c.t}
		}
		locale := c.locale
		if locale == "" {
			locale = "en"
		}
		got, ok := s.accept(c.in, locale)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("type %d accept(%q) = %q, %v; want %q", s.ftype, c.in, got, ok, c.want)
		}
	}
}

func TestTemplate(t *testing.T) {
	tm, msg := parseTemplate("Hi {{contact.name|there}}, {{ email }} / {{fields.order}}!")
	if msg != "" {
		t.Fatal(msg)
	}
	got := tm.render(map[string]string{"email": "a@b.co"}, nil)
	if got != "Hi there, a@b.co / !" {
		t.Errorf("render: %q", got)
	}
	got = tm.render(map[string]string{"email": "a@b.co", "order": "A1"}, map[string]string{"name": "Ana"})
	if got != "Hi Ana, a@b.co / A1!" {
		t.Errorf("render: %q", got)
	}
	for _, bad := range []string{"Hi {{name", "{{}}", "{{lookup.x}}", "{{a b}}", "{{contact.}}"} {
		if _, msg := parseTemplate(bad); msg == "" {
			t.Errorf("parseTemplate(%q) accepted", bad)
		}
	}
}
