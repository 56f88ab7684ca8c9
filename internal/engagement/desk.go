package engagement

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// DeskSettings are what a tenant's agents work with.
type DeskSettings struct {
	CannedResponses  []CannedResponse `json:"cannedResponses"`
	DispositionCodes []Disposition    `json:"dispositionCodes"`
	// BreakReasons are the reason codes an agent picks when not available.
	BreakReasons []Disposition `json:"breakReasons"`
	// ServiceLevelSeconds is the answer time the wallboard's service level
	// counts against: the share of handed-off customers an agent took
	// within it.
	ServiceLevelSeconds int `json:"serviceLevelSeconds"`
}

// CannedResponse is a prepared reply; Shortcut finds it after "/".
type CannedResponse struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Text     string `json:"text"`
	Locale   string `json:"locale,omitempty"`
	Shortcut string `json:"shortcut,omitempty"`
}

// Disposition is a code with its label in each language.
type Disposition struct {
	Code  string            `json:"code"`
	Label map[string]string `json:"label"`
}

// DefaultDeskSettings are what a tenant that set nothing gets.
func DefaultDeskSettings() DeskSettings {
	return DeskSettings{
		CannedResponses: []CannedResponse{
			{ID: "greeting-en", Title: "Greeting", Text: "Hello! Thanks for waiting. How can I help you today?", Locale: "en", Shortcut: "hi"},
			{ID: "greeting-id", Title: "Salam", Text: "Halo! Terima kasih sudah menunggu. Ada yang bisa saya bantu?", Locale: "id", Shortcut: "halo"},
			{ID: "closing-en", Title: "Closing", Text: "Is there anything else I can help you with?", Locale: "en", Shortcut: "bye"},
			{ID: "closing-id", Title: "Penutup", Text: "Apakah ada hal lain yang bisa saya bantu?", Locale: "id", Shortcut: "tutup"},
		},
		DispositionCodes: []Disposition{
			{Code: "resolved", Label: map[string]string{"en": "Resolved", "id": "Selesai"}},
			{Code: "followUp", Label: map[string]string{"en": "Needs follow-up", "id": "Perlu tindak lanjut"}},
			{Code: "noResponse", Label: map[string]string{"en": "Customer did not respond", "id": "Pelanggan tidak merespons"}},
			{Code: "transferred", Label: map[string]string{"en": "Transferred", "id": "Dialihkan"}},
		},
		BreakReasons: []Disposition{
			{Code: "lunch", Label: map[string]string{"en": "Lunch", "id": "Makan siang"}},
			{Code: "meeting", Label: map[string]string{"en": "Meeting", "id": "Rapat"}},
			{Code: "training", Label: map[string]string{"en": "Training", "id": "Pelatihan"}},
			{Code: "other", Label: map[string]string{"en": "Other", "id": "Lainnya"}},
		},
		ServiceLevelSeconds: 20,
	}
}

// DeskStore keeps desk settings.
type DeskStore interface {
	DeskSettings(ctx context.Context, t tenant.ID) ([]byte, error) // nil when unset
	SetDeskSettings(ctx context.Context, t tenant.ID, raw []byte) error
}

var codePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (d DeskSettings) validate() error {
	if len(d.CannedResponses) > 500 || len(d.DispositionCodes) > 100 || len(d.BreakReasons) > 50 {
		return errs.Invalid("TooMany", "at most 500 canned responses, 100 disposition codes and 50 break reasons")
	}
	seen := map[string]bool{}
	for i, c := range d.CannedResponses {
		at := "cannedResponses[" + itoa(i) + "]"
		if !codePattern.MatchString(c.ID) || seen["c:"+c.ID] {
			return errs.Invalid("InvalidCannedResponse", "%s.id must be unique: letters, digits, '_', '.', '-'", at).WithTarget(at + ".id")
		}
		seen["c:"+c.ID] = true
		if t := strings.TrimSpace(c.Title); t == "" || utf8.RuneCountInString(t) > 100 {
			return errs.Invalid("InvalidCannedResponse", "%s.title must have 1 to 100 characters", at).WithTarget(at + ".title")
		}
		if strings.TrimSpace(c.Text) == "" || len(c.Text) > 4000 {
			return errs.Invalid("InvalidCannedResponse", "%s.text must have 1 to 4000 bytes", at).WithTarget(at + ".text")
		}
		if c.Shortcut != "" && !codePattern.MatchString(c.Shortcut) {
			return errs.Invalid("InvalidCannedResponse", "%s.shortcut is one word", at).WithTarget(at + ".shortcut")
		}
		if c.Locale != "" && c.Locale != "en" && c.Locale != "id" {
			return errs.Invalid("InvalidCannedResponse", "%s.locale must be en or id", at).WithTarget(at + ".locale")
		}
	}
	for name, list := range map[string][]Disposition{"dispositionCodes": d.DispositionCodes, "breakReasons": d.BreakReasons} {
		codes := map[string]bool{}
		for i, c := range list {
			at := name + "[" + itoa(i) + "]"
			if !codePattern.MatchString(c.Code) || codes[c.Code] {
				return errs.Invalid("InvalidCode", "%s.code must be unique: letters, digits, '_', '.', '-'", at).WithTarget(at + ".code")
			}
			codes[c.Code] = true
			for l, v := range c.Label {
				if (l != "en" && l != "id") || strings.TrimSpace(v) == "" || utf8.RuneCountInString(v) > 100 {
					return errs.Invalid("InvalidCode", "%s.label has en and id texts of 1 to 100 characters", at).WithTarget(at + ".label")
				}
			}
		}
	}
	if d.ServiceLevelSeconds < 1 || d.ServiceLevelSeconds > 3600 {
		return errs.Invalid("InvalidServiceLevel", "serviceLevelSeconds must be 1 to 3600").WithTarget("serviceLevelSeconds")
	}
	return nil
}

// Desk returns the tenant's desk settings.
func (s *Service) Desk(ctx context.Context) (DeskSettings, error) {
	if s.DeskStore == nil {
		return DefaultDeskSettings(), nil
	}
	raw, err := s.DeskStore.DeskSettings(ctx, tenant.MustFrom(ctx))
	if err != nil || raw == nil {
		return DefaultDeskSettings(), err
	}
	var d DeskSettings
	if err := json.Unmarshal(raw, &d); err != nil {
		return DeskSettings{}, err
	}
	return d.normalized(), nil
}

// normalized has empty lists where a document left them out.
func (d DeskSettings) normalized() DeskSettings {
	if d.CannedResponses == nil {
		d.CannedResponses = []CannedResponse{}
	}
	if d.DispositionCodes == nil {
		d.DispositionCodes = []Disposition{}
	}
	if d.BreakReasons == nil {
		d.BreakReasons = []Disposition{}
	}
	return d
}

// SetDesk replaces the tenant's desk settings.
func (s *Service) SetDesk(ctx context.Context, d DeskSettings) (DeskSettings, error) {
	d = d.normalized()
	if err := d.validate(); err != nil {
		return d, err
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return d, err
	}
	return d, s.DeskStore.SetDeskSettings(ctx, tenant.MustFrom(ctx), raw)
}

// checkDisposition refuses a code the tenant has not set (any code goes
// when it set none).
func (s *Service) checkDisposition(ctx context.Context, code string) error {
	if code == "" {
		return nil
	}
	d, err := s.Desk(ctx)
	if err != nil {
		return err
	}
	if len(d.DispositionCodes) == 0 {
		return nil
	}
	for _, c := range d.DispositionCodes {
		if c.Code == code {
			return nil
		}
	}
	return errs.Invalid("UnknownDisposition", "disposition code %q is not one of the tenant's", code).WithTarget("dispositionCode")
}
