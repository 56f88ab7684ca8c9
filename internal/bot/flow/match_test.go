package flow

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Hello, World!", "hello world"},
		{"  Café   crème brûlée ", "cafe creme brulee"},
		{"Cafe\u0301", "cafe"}, // decomposed accent
		{"don't", "dont"},
		{"what’s up?!", "whats up"},
		{"Ongkir-nya BERAPA??", "ongkir nya berapa"},
		{"order #A-100", "order a 100"},
		{"Straße", "strasse"},
		{"...", ""},
	} {
		if got := normalize(c.in); got != c.want {
			t.Errorf("normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTokensStem(t *testing.T) {
	for _, c := range []struct{ in, locale, want string }{
		{"Opening HOURS", "en", "opening hour"},
		{"deliveries, address, status", "en", "delivery address status"},
		{"pengirimannya berapakah", "id", "pengiriman berapa"},
		{"punya", "id", "punya"},
		{"hours", "id", "hours"}, // English endings are not cut in Indonesian
	} {
		if got := strings.Join(tokens(c.in, c.locale), " "); got != c.want {
			t.Errorf("tokens(%q, %s) = %q, want %q", c.in, c.locale, got, c.want)
		}
	}
}

func TestSame(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"delivery", "delivery", true},
		{"delivery", "delivry", true},  // one letter missing
		{"delivery", "dleivery", true}, // two letters swapped
		{"delivery", "dleivry", false}, // two edits
		{"open", "opn", false},         // short words are exact
		{"12345", "12346", false},      // numbers are exact
		{"return", "retur", true},      // Indonesian spelling
		{"closed", "close", true},
	} {
		if got := same(c.a, c.b); got != c.want {
			t.Errorf("same(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestAsksForPerson(t *testing.T) {
	en := compilePersonWords("en", []string{"supervisor"}, true)
	id := compilePersonWords("id", nil, true)
	off := compilePersonWords("en", []string{"supervisor"}, false)
	for _, c := range []struct {
		w      personWords
		locale string
		msg    string
		want   bool
	}{
		{en, "en", "Agent!", true},
		{en, "en", "can I talk to a HUMAN please", true},
		{en, "en", "I'd like to talk to someone about my order", true},
		{en, "en", "Representatives?", true},
		{en, "en", "a real person please", true},
		{en, "en", "person please", true},
		{en, "en", "is delivery free per person or per order?", false}, // "person" counts only in short messages
		{en, "en", "get me your supervisor", true},                     // the flow's own keyword
		{en, "en", "when are you open", false},
		{id, "id", "mau bicara dengan agen", true},
		{id, "id", "Tolong sambungkan ke CS", true},
		{id, "id", "bisa ngobrol sama manusia?", true},
		{id, "id", "orang dong", true},
		{id, "id", "paket untuk dua orang dikirim kapan ya", false},
		{id, "id", "petugasnya mana", true}, // -nya is cut
		{id, "id", "jam buka berapa", false},
		{off, "en", "agent", false}, // built-in words turned off
		{off, "en", "supervisor", true},
	} {
		if got := c.w.asks(tokens(c.msg, c.locale)); got != c.want {
			t.Errorf("%s asks(%q) = %v, want %v", c.locale, c.msg, got, c.want)
		}
	}
}

func TestMatchIntents(t *testing.T) {
	f := mustParse(t, `
version: 1
locale: en
start: menu
steps:
  menu:
    threshold: 0.5
    intents:
      store_hours:
        keywords: [hours, open]
        examples: [when do you close]
        say: a
      delivery_hours:
        keywords: [delivery hours]
        say: b
      delivery:
        keywords: [delivery]
        examples: [how long does shipping take]
        say: c
      first:
        keywords: [same]
        say: d
      second:
        keywords: [same]
        say: e
`)
	s := f.steps["menu"]
	for _, c := range []struct{ msg, want string }{
		{"What are your opening HOURS?", "store_hours"},
		{"what are your delivery hours", "delivery_hours"}, // the longer keyword wins
		{"how long will shipping take?", "delivery"},       // an example, without a keyword
		{"what time do you close today", "store_hours"},    // an example: close, among time and today, scores 0.5
		{"delivry please", "delivery"},                     // a typo
		{"same", "first"},                                  // a tie goes to the intent written first
		{"the weather is nice", ""},
		{"", ""},
	} {
		got := ""
		if i := s.match(tokens(c.msg, "en"), "en"); i >= 0 {
			got = s.intents[i].name
		}
		if got != c.want {
			t.Errorf("match(%q) = %q, want %q", c.msg, got, c.want)
		}
	}
}

func TestDice(t *testing.T) {
	for _, c := range []struct {
		msg, example []string
		want         float64
	}{
		{[]string{"long", "shipping", "take"}, []string{"long", "shipping", "take"}, 1},
		{[]string{"alpha", "bravo"}, []string{"bravo", "charlie"}, 0.5},
		{[]string{"alpha", "bravo"}, []string{"brvo"}, 0},          // short words are exact
		{[]string{"alpha", "bravo"}, []string{"alpah"}, 2.0 / 3.0}, // a swap is one typo
		{nil, []string{"alpha"}, 0},
	} {
		if got := newMatcher(c.msg, "en").dice(c.example); got != c.want {
			t.Errorf("dice(%q, %q) = %v, want %v", c.msg, c.example, got, c.want)
		}
	}
}

// TestOneEdit: the linear test agrees with the full edit distance.
func TestOneEdit(t *testing.T) {
	words := []string{"delivery", "delivry", "dleivery", "deliveyr", "xelivery", "deliveryy", "ddelivery",
		"delivere", "dlivery", "delivary", "deliver", "cáfe", "cafe", "café", "caféx", "cfae", "ab", "ba"}
	for _, a := range words {
		for _, b := range words {
			if a == b {
				continue
			}
			if got, want := oneEdit(a, b), distance(a, b) <= 1; got != want {
				t.Errorf("oneEdit(%q, %q) = %v, distance %d", a, b, got, distance(a, b))
			}
		}
	}
}
