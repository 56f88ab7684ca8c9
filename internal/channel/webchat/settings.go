// Package webchat is the web chat channel: per-tenant widget settings,
// visitor sessions (anonymous or identified) tied to contacts, and the
// thread each visitor talks in.
package webchat

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-cc/switchboard/internal/conversation"
	"github.com/switchboard-cc/switchboard/internal/errs"
)

// Text is a user-facing text per locale ("en", "id", …).
type Text map[string]string

// In picks the text for locale, else English, else any.
func (t Text) In(locale string) string {
	if v, ok := t[locale]; ok {
		return v
	}
	if v, ok := t["en"]; ok {
		return v
	}
	for _, v := range t {
		return v
	}
	return ""
}

// Field is a pre-chat form field.
type Field struct {
	Name     string `json:"name"`
	Type     string `json:"type"` // text, email, tel, textarea
	Required bool   `json:"required"`
	Label    Text   `json:"label"`
}

// Colors theme the widget.
type Colors struct {
	Primary    string `json:"primary"`
	Background string `json:"background"`
	Text       string `json:"text"`
}

// Hours are opening hours in a time zone; an empty Weekly means always open.
type Hours struct {
	Timezone      string                 `json:"timezone"`
	Weekly        map[string][][2]string `json:"weekly,omitempty"`
	ClosedMessage Text                   `json:"closedMessage,omitempty"`
}

// Uploads are the attachment rules.
type Uploads struct {
	MaxBytes int64    `json:"maxBytes"`
	Types    []string `json:"types"`
}

// Settings configure a tenant's widget.
type Settings struct {
	Name          string  `json:"name"`
	Colors        Colors  `json:"colors"`
	Greeting      Text    `json:"greeting"`
	PreChatFields []Field `json:"preChatFields"`
	BusinessHours Hours   `json:"businessHours"`
	Uploads       Uploads `json:"uploads"`
	// QueueID is the router queue web chats wait in when no bot answers
	// the channel or the bot names no queue.
	QueueID string `json:"queueId,omitempty"`
}

// DefaultSettings are what a tenant that configured nothing gets.
func DefaultSettings(name string) Settings {
	return Settings{
		Name:     name,
		Colors:   Colors{Primary: "#0b5cad", Background: "#ffffff", Text: "#1b1b1b"},
		Greeting: Text{"en": "Hi! How can we help?", "id": "Hai! Ada yang bisa kami bantu?"},
		PreChatFields: []Field{
			{Name: "name", Type: "text", Required: true, Label: Text{"en": "Your name", "id": "Nama Anda"}},
			{Name: "email", Type: "email", Required: false, Label: Text{"en": "E-mail", "id": "Email"}},
		},
		BusinessHours: Hours{Timezone: "UTC", ClosedMessage: Text{
			"en": "We are closed now; leave a message and we will reply.",
			"id": "Kami sedang tutup; tinggalkan pesan dan kami akan membalas.",
		}},
		Uploads: Uploads{MaxBytes: conversation.DefaultUploadLimits.MaxBytes, Types: conversation.DefaultUploadLimits.Types},
	}
}

var (
	colorRe    = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	fieldRe    = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,31}$`)
	clockRe    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	days       = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	localeRe   = regexp.MustCompile(`^[a-z]{2}(-[A-Z]{2})?$`)
	fieldTypes = map[string]bool{"text": true, "email": true, "tel": true, "textarea": true}
	// uploadTypes are the types a tenant may allow: ones a browser shows
	// without running code (no html, svg or scripts).
	uploadTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
		"application/pdf": true, "text/plain": true, "text/csv": true, "application/zip": true,
		"application/msword": true, "application/vnd.openxmlformats-officedocument.wordprocessingml.document": true,
		"application/vnd.ms-excel": true, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": true}
)

// MaxUploadBytes is the most a tenant may allow per file.
const MaxUploadBytes = 50 << 20

func invalid(target, format string, args ...any) error {
	return errs.Invalid("InvalidSettings", format, args...).WithTarget(target)
}

func validText(t Text, target string, max int) error {
	for loc, v := range t {
		if !localeRe.MatchString(loc) {
			return invalid(target, "%s: %q is not a locale like en or id", target, loc)
		}
		if utf8.RuneCountInString(v) > max {
			return invalid(target, "%s.%s must be at most %d characters", target, loc, max)
		}
	}
	return nil
}

// Validate checks settings a tenant sends.
func (s Settings) Validate() error {
	if s.Name == "" || utf8.RuneCountInString(s.Name) > 80 {
		return invalid("name", "name must have 1 to 80 characters")
	}
	if len(s.QueueID) > 128 {
		return invalid("queueId", "queueId must have at most 128 characters")
	}
	for target, c := range map[string]string{"colors.primary": s.Colors.Primary, "colors.background": s.Colors.Background, "colors.text": s.Colors.Text} {
		if !colorRe.MatchString(c) {
			return invalid(target, "%s must be a colour like #0b5cad", target)
		}
	}
	if err := validText(s.Greeting, "greeting", 500); err != nil {
		return err
	}
	if len(s.PreChatFields) > 10 {
		return invalid("preChatFields", "at most 10 pre-chat fields")
	}
	seen := map[string]bool{}
	for i, f := range s.PreChatFields {
		target := fmt.Sprintf("preChatFields[%d]", i)
		if !fieldRe.MatchString(f.Name) || seen[f.Name] {
			return invalid(target, "%s.name must be a unique identifier", target)
		}
		seen[f.Name] = true
		if !fieldTypes[f.Type] {
			return invalid(target, "%s.type must be text, email, tel or textarea", target)
		}
		if err := validText(f.Label, target+".label", 80); err != nil {
			return err
		}
	}
	if _, err := time.LoadLocation(s.BusinessHours.Timezone); err != nil || s.BusinessHours.Timezone == "" {
		return invalid("businessHours.timezone", "businessHours.timezone must be an IANA zone like Asia/Jakarta")
	}
	for day, spans := range s.BusinessHours.Weekly {
		if !contains(days, day) {
			return invalid("businessHours.weekly", "weekly days are sun, mon, tue, wed, thu, fri, sat")
		}
		for _, sp := range spans {
			if !clockRe.MatchString(sp[0]) || !clockRe.MatchString(sp[1]) || sp[0] >= sp[1] {
				return invalid("businessHours.weekly", "%s: spans are [\"HH:MM\", \"HH:MM\"] with the start first", day)
			}
		}
	}
	if err := validText(s.BusinessHours.ClosedMessage, "businessHours.closedMessage", 500); err != nil {
		return err
	}
	if s.Uploads.MaxBytes < 1 || s.Uploads.MaxBytes > MaxUploadBytes {
		return invalid("uploads.maxBytes", "uploads.maxBytes must be between 1 and %d", MaxUploadBytes)
	}
	for _, ty := range s.Uploads.Types {
		if !uploadTypes[ty] {
			return invalid("uploads.types", "%q cannot be allowed: only images, PDF, plain text, CSV, ZIP and office documents are", ty)
		}
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Open reports whether the business is open at now.
func (h Hours) Open(now time.Time) bool {
	if len(h.Weekly) == 0 {
		return true
	}
	loc, err := time.LoadLocation(h.Timezone)
	if err != nil {
		return true
	}
	local := now.In(loc)
	clock := local.Format("15:04")
	for _, sp := range h.Weekly[days[local.Weekday()]] {
		if clock >= sp[0] && clock < sp[1] {
			return true
		}
	}
	return false
}

// Limits are the upload rules as the chat service takes them.
func (s Settings) Limits() conversation.UploadLimits {
	return conversation.UploadLimits{MaxBytes: s.Uploads.MaxBytes, Types: s.Uploads.Types}
}

// normalizeLocale maps "id-ID" or "en_US" to "id" / "en".
func normalizeLocale(l string) string {
	l = strings.ToLower(strings.ReplaceAll(l, "_", "-"))
	if i := strings.IndexByte(l, '-'); i > 0 {
		l = l[:i]
	}
	if len(l) != 2 {
		return "en"
	}
	return l
}
