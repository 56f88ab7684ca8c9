package flow

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func readDoc(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../../docs/flows.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestDocExamples: every full flow docs/flows.md shows (a yaml block
// holding "version: 1" at the start of a line) parses; the one marked as
// having mistakes fails with exactly the text block that follows it; and
// the complete flow is the English demo, word for word.
func TestDocExamples(t *testing.T) {
	doc := readDoc(t)
	blocks := regexp.MustCompile("(?s)```(yaml|text)\n(.*?)```").FindAllStringSubmatch(doc, -1)
	parsed, failed, demo := 0, 0, false
	for i, b := range blocks {
		lang, src := b[1], b[2]
		if lang != "yaml" || !regexp.MustCompile(`(?m)^version: 1$`).MatchString(src) {
			continue // a fragment of a flow
		}
		if strings.HasPrefix(src, "# a flow with mistakes") {
			_, err := Parse([]byte(src))
			if err == nil || i+1 >= len(blocks) || blocks[i+1][1] != "text" {
				t.Fatalf("the flow with mistakes: %v", err)
			}
			if want := strings.TrimSpace(blocks[i+1][2]); err.Error() != want {
				t.Errorf("the flow with mistakes gives\n%v\nthe page says\n%s", err, want)
			}
			failed++
			continue
		}
		if _, err := Parse([]byte(src)); err != nil {
			t.Errorf("%v\n%s", err, src)
		}
		if src == string(Demo("en")) {
			demo = true
		}
		parsed++
	}
	if parsed < 2 || failed != 1 || !demo {
		t.Errorf("%d flows parsed, %d with mistakes, the demo shown: %v", parsed, failed, demo)
	}
}

// TestDocWordLists: the stop words and the words that ask for a person
// are listed on the page as the code has them.
func TestDocWordLists(t *testing.T) {
	doc := strings.Join(strings.Fields(readDoc(t)), " ")
	for locale, list := range stopWordLists {
		m := regexp.MustCompile("- `" + locale + "`: ([^.]*)\\.").FindStringSubmatch(doc)
		if m == nil {
			t.Fatalf("no %s stop words on the page", locale)
		}
		if got, want := strings.Split(m[1], ", "), strings.Fields(list); !slices.Equal(got, want) {
			t.Errorf("%s stop words on the page:\n%q\nin the code:\n%q", locale, got, want)
		}
	}
	for locale, words := range builtinPerson {
		m := regexp.MustCompile("\\| `" + locale + "` \\| ([^|]*) \\| ([^|]*) \\|").FindStringSubmatch(doc)
		if m == nil {
			t.Fatalf("no %s words for a person on the page", locale)
		}
		if got := strings.Split(m[1], ", "); !slices.Equal(got, words.anywhere) {
			t.Errorf("%s anywhere: page %q, code %q", locale, got, words.anywhere)
		}
		if got := strings.Split(m[2], ", "); !slices.Equal(got, words.short) {
			t.Errorf("%s short: page %q, code %q", locale, got, words.short)
		}
	}
}
