package flow

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMatched bounds how much of a message is matched; intents are about
// what a customer asks, which fits well within it.
const maxMatched = 2000

// normalize lower-cases text, folds accents ("café" → "cafe"), drops
// apostrophes ("don't" → "dont") and turns everything else that is not a
// letter or a digit into a single space.
func normalize(s string) string {
	var b strings.Builder
	gap := false
	for _, r := range s {
		r = unicode.ToLower(r)
		switch {
		case strings.ContainsRune("'’‘`ʼ", r), unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if gap && b.Len() > 0 {
				b.WriteByte(' ')
			}
			gap = false
			if f, ok := accents[r]; ok {
				b.WriteString(f)
			} else {
				b.WriteRune(r)
			}
		default:
			gap = true
		}
	}
	return b.String()
}

// accents folds the accented Latin letters of Western and Southeast Asian
// writing; combining marks (decomposed accents) are dropped in normalize.
var accents = func() map[rune]string {
	m := map[rune]string{'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'đ': "d", 'ł': "l"}
	for base, letters := range map[string]string{
		"a": "àáâãäåāăą", "c": "çćĉċč", "e": "èéêëēĕėęě", "g": "ĝğġģ", "i": "ìíîïĩīĭįı",
		"n": "ñńņňŉ", "o": "òóôõöōŏő", "s": "śŝşšș", "t": "ţťț", "u": "ùúûüũūŭůűų",
		"y": "ýÿŷ", "z": "źżž",
	} {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()

// tokens is text as the words matched: normalised and lightly stemmed.
func tokens(s, locale string) []string {
	if len(s) > maxMatched {
		s = s[:maxMatched]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	words := strings.Fields(normalize(s))
	for i, w := range words {
		words[i] = stem(w, locale)
	}
	return words
}

// stem removes the endings that most often separate a customer's word
// from an admin's: English plurals, Indonesian -nya, -lah and -kah. It is
// applied to both sides, so a crude cut still matches like with like.
func stem(w, locale string) string {
	switch locale {
	case "en":
		switch {
		case len(w) > 4 && strings.HasSuffix(w, "ies"):
			return w[:len(w)-3] + "y"
		case len(w) > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
			return w[:len(w)-1]
		}
	case "id":
		if len(w) >= 6 {
			for _, suf := range []string{"nya", "lah", "kah"} {
				if strings.HasSuffix(w, suf) {
					return w[:len(w)-len(suf)]
				}
			}
		}
	}
	return w
}

// content drops stop words and repeats, unless nothing would be left.
func content(words []string, locale string) []string {
	var out []string
	for _, w := range words {
		if !stopWords[locale][w] && !contains(out, w) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		for _, w := range words {
			if !contains(out, w) {
				out = append(out, w)
			}
		}
	}
	return out
}

// same compares two words, forgiving one typo (a letter missing, extra,
// wrong, or two swapped) in longer words of letters.
func same(a, b string) bool {
	if a == b {
		return true
	}
	la, lb := utf8.RuneCountInString(a), utf8.RuneCountInString(b)
	if la < 5 || lb < 5 || la > 32 || lb > 32 || la-lb > 1 || lb-la > 1 {
		return false
	}
	if strings.ContainsAny(a, "0123456789") || strings.ContainsAny(b, "0123456789") {
		return false // numbers are exact: 12345 is not 12346
	}
	return oneEdit(a, b)
}

// oneEdit reports whether two different words are one edit apart, in
// time linear in their length: what differs once the common start and
// end are taken off must be one letter at most on each side, or two
// letters swapped.
func oneEdit(a, b string) bool {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	for p > 0 && p < len(a) && !utf8.RuneStart(a[p]) {
		p--
	}
	a, b = a[p:], b[p:]
	s := 0
	for s < len(a) && s < len(b) && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	for s > 0 && !utf8.RuneStart(a[len(a)-s]) {
		s--
	}
	a, b = a[:len(a)-s], b[:len(b)-s]
	na, nb := utf8.RuneCountInString(a), utf8.RuneCountInString(b)
	if na <= 1 && nb <= 1 {
		return true
	}
	if na != 2 || nb != 2 {
		return false
	}
	ra, rb := []rune(a), []rune(b)
	return ra[0] == rb[1] && ra[1] == rb[0]
}

// distance counts the edits between two words, a swap of neighbours
// being one (optimal string alignment); for spelling suggestions.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// containsSeq reports whether phrase appears in words, word for word.
func containsSeq(words, phrase []string, eq func(a, b string) bool) bool {
	for i := 0; i+len(phrase) <= len(words); i++ {
		ok := true
		for j, p := range phrase {
			if !eq(words[i+j], p) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func exact(a, b string) bool { return a == b }

// maxWords is how many words of a message are matched against intents:
// a question fits, and it bounds the work a long message causes.
const maxWords = 100

// matcher compares one message with many intents' words. A flow may hold
// thousands of them, mostly the same few; each distinct one is compared
// with the message once.
type matcher struct {
	words, content []string
	inWords        map[string]bool // memo: is the word in the message?
	inContent      map[string]bool // memo: among its content words?
}

func newMatcher(words []string, locale string) *matcher {
	words = words[:min(len(words), maxWords)]
	return &matcher{words: words, content: content(words, locale), inWords: map[string]bool{}, inContent: map[string]bool{}}
}

func (m *matcher) found(w string, in []string, memo map[string]bool) bool {
	if v, ok := memo[w]; ok {
		return v
	}
	v := false
	for _, x := range in {
		if same(x, w) {
			v = true
			break
		}
	}
	memo[w] = v
	return v
}

// hasPhrase reports whether the message holds a keyword, word for word.
func (m *matcher) hasPhrase(phrase []string) bool {
	for _, w := range phrase {
		if !m.found(w, m.words, m.inWords) {
			return false // the common case, answered from the memo
		}
	}
	return containsSeq(m.words, phrase, same)
}

// dice is the overlap of the message's and an example's content words:
// 2·common / (message words + example words), from 0 to 1.
func (m *matcher) dice(example []string) float64 {
	if len(m.content) == 0 || len(example) == 0 {
		return 0
	}
	common := 0
	for _, e := range example {
		if m.found(e, m.content, m.inContent) {
			common++
		}
	}
	return 2 * float64(common) / float64(len(m.content)+len(example))
}

// match picks the intent a message means, or -1. A keyword found in the
// message beats any example; a longer keyword beats a shorter one; then
// the best example score, if it reaches the threshold; then the intent
// written first.
func (s *step) match(msg []string, locale string) int {
	m := newMatcher(msg, locale)
	best, bestKw, bestScore := -1, 0, 0.0
	for i, in := range s.intents {
		kw := 0
		for _, k := range in.keywords {
			if len(k) > kw && m.hasPhrase(k) {
				kw = len(k)
			}
		}
		score := 0.0
		for _, ex := range in.examples {
			score = max(score, m.dice(ex))
		}
		if kw == 0 && score < s.threshold {
			continue
		}
		if best < 0 || kw > bestKw || (kw == bestKw && score > bestScore) {
			best, bestKw, bestScore = i, kw, score
		}
	}
	return best
}

// personWords recognise a customer asking for a person.
type personWords struct {
	anywhere [][]string // count wherever they are in a message
	short    [][]string // count only in a message of at most shortMessage words
}

// shortMessage: "person please", "mau ke orang" ask for a person; "is
// delivery free per person?" does not.
const shortMessage = 4

// builtinPerson are the words that ask for a person in each locale.
// Words common in other sentences ("person", "orang") only count alone.
var builtinPerson = map[string]struct{ anywhere, short []string }{
	"en": {
		anywhere: []string{"agent", "human", "operator", "representative", "customer service", "customer support",
			"real person", "live person", "talk to someone", "speak to someone", "talk with someone", "speak with someone",
			"talk to a person", "speak to a person", "talk to somebody", "speak to somebody"},
		short: []string{"person", "someone", "somebody", "staff"},
	},
	"id": {
		anywhere: []string{"agen", "manusia", "petugas", "operator", "cs", "customer service", "layanan pelanggan",
			"bicara dengan", "bicara sama", "ngomong dengan", "ngomong sama", "ngobrol dengan", "ngobrol sama", "orang asli"},
		short: []string{"orang", "seseorang", "admin", "staf"},
	},
}

func compilePersonWords(locale string, custom []string, builtin bool) personWords {
	var w personWords
	add := func(list *[][]string, phrases []string) {
		for _, ph := range phrases {
			if t := tokens(ph, locale); len(t) > 0 {
				*list = append(*list, t)
			}
		}
	}
	if builtin {
		add(&w.anywhere, builtinPerson[locale].anywhere)
		add(&w.short, builtinPerson[locale].short)
	}
	add(&w.anywhere, custom)
	return w
}

// asks reports whether a message asks for a person.
func (w personWords) asks(msg []string) bool {
	for _, ph := range w.anywhere {
		if containsSeq(msg, ph, exact) {
			return true
		}
	}
	if len(msg) <= shortMessage {
		for _, ph := range w.short {
			if containsSeq(msg, ph, exact) {
				return true
			}
		}
	}
	return false
}

// stopWords carry no topic; they are left out of example scores (never out
// of keywords). Kept in their stemmed form.
var stopWords = func() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for locale, list := range stopWordLists {
		out[locale] = map[string]bool{}
		for _, w := range strings.Fields(list) {
			out[locale][stem(w, locale)] = true
		}
	}
	return out
}()

// stopWordLists are the stop words as docs/flows.md lists them.
var stopWordLists = map[string]string{
	"en": `a an the is are am was were be been do does did i im me my you your we our us it its this that
			to of for in on at by with and or so what whats when where how who which can could would will
			should please pls there any some about have has had just want need like know tell get`,
	"id": `yang di ke dari dan atau ini itu saya aku gue kamu anda apa apakah bagaimana gimana berapa
			kapan dimana mana ada bisa bisakah mau ingin pengen tolong dong ya nih sih deh kak kakak min gan sis
			untuk dengan juga sudah udah akan adalah nya lah kah tanya mohon`,
}
