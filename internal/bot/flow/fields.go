package flow

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// fieldType is what an ask step accepts. Each type also takes the value out
// of a sentence ("my e-mail is ana@example.com") and tidies it.
type fieldType int

const (
	fieldText fieldType = iota
	fieldName
	fieldEmail
	fieldPhone
	fieldOrder
	fieldRegex
)

var fieldTypes = map[string]fieldType{"text": fieldText, "name": fieldName, "email": fieldEmail, "phone": fieldPhone, "order": fieldOrder, "regex": fieldRegex}

var fieldTypeNames = []string{"name", "email", "phone", "order", "text", "regex"}

// maxText bounds a text answer; longer ones are cut, not refused, since
// the customer meant them.
const maxText = 1000

var (
	emailRe = regexp.MustCompile(`^[a-z0-9.!#$%&'*+/=?^_{|}~-]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,63}$`)
	phoneRe = regexp.MustCompile(`\+?[0-9][0-9 ().\-]{4,}[0-9]`)
	orderRe = regexp.MustCompile(`^[A-Z0-9][A-Z0-9/_-]{1,30}[A-Z0-9]$`)
)

// namePrefixes are how people introduce their name; the rest is the name.
var namePrefixes = map[string][]string{
	"en": {"my name is ", "my name's ", "i am ", "i'm ", "i’m ", "im ", "this is ", "it's ", "its ", "call me "},
	"id": {"nama saya ", "namaku ", "nama aku ", "nama gue ", "saya ", "aku ", "panggil saja ", "panggil "},
}

// accept validates an answer for an ask step, giving the value to store.
func (s *step) accept(text, locale string) (string, bool) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", false
	}
	switch s.ftype {
	case fieldName:
		return acceptName(text, locale)
	case fieldEmail:
		return acceptEmail(text)
	case fieldPhone:
		return acceptPhone(text)
	case fieldOrder:
		return acceptOrder(text)
	case fieldRegex:
		if s.pattern == nil || !s.pattern.MatchString(text) {
			return "", false
		}
		return text, true
	}
	if utf8.RuneCountInString(text) > maxText {
		text = string([]rune(text)[:maxText])
	}
	return text, true
}

// acceptName takes 1 to 100 characters of letters, spaces and . ' -,
// after an introduction such as "my name is".
func acceptName(text, locale string) (string, bool) {
	for _, pre := range namePrefixes[locale] {
		if len(text) > len(pre) && strings.EqualFold(text[:len(pre)], pre) {
			text = strings.TrimSpace(text[len(pre):])
			break
		}
	}
	text = strings.Join(strings.Fields(strings.TrimRight(text, ".!")), " ")
	n, letters := 0, 0
	for _, r := range text {
		n++
		switch {
		case unicode.IsLetter(r) || unicode.Is(unicode.Mn, r):
			letters++
		case r == ' ' || r == '.' || r == '\'' || r == '’' || r == '-':
		default:
			return "", false
		}
	}
	if letters == 0 || n > 100 {
		return "", false
	}
	return text, true
}

// acceptEmail finds the one word that is an e-mail address; lower case.
func acceptEmail(text string) (string, bool) {
	for _, w := range strings.Fields(strings.ToLower(text)) {
		w = strings.Trim(w, `.,;:!?()<>[]"'`)
		if strings.HasPrefix(w, "mailto:") {
			w = w[len("mailto:"):]
		}
		if len(w) <= 254 && emailRe.MatchString(w) {
			return w, true
		}
	}
	return "", false
}

// acceptPhone finds 7 to 15 digits, spaced or not, with an optional
// leading +; it keeps the + and the digits.
func acceptPhone(text string) (string, bool) {
	m := phoneRe.FindString(text)
	if m == "" {
		return "", false
	}
	var b strings.Builder
	if strings.HasPrefix(m, "+") {
		b.WriteByte('+')
	}
	digits := 0
	for _, r := range m {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
			digits++
		}
	}
	if digits < 7 || digits > 15 {
		return "", false
	}
	return b.String(), true
}

// acceptOrder finds a word of 3 to 32 letters, digits, - / _ holding at
// least one digit ("#A-10023" gives A-10023); upper case.
func acceptOrder(text string) (string, bool) {
	for _, w := range strings.Fields(strings.ToUpper(text)) {
		w = strings.Trim(w, `.,;:!?()<>[]"'#`)
		if orderRe.MatchString(w) && strings.ContainsAny(w, "0123456789") {
			return w, true
		}
	}
	return "", false
}
