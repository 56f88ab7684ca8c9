package identity

import (
	"strings"

	"github.com/switchboard-cc/switchboard/internal/errs"
)

// Identifier is the ACS CommunicationIdentifierModel: who takes part in a
// chat, a call or a job. RawID is its canonical form and round-trips
// exactly; the kind-specific member is derived from it.
type Identifier struct {
	Kind               string              `json:"kind,omitempty"`
	RawID              string              `json:"rawId,omitempty"`
	CommunicationUser  *CommunicationUser  `json:"communicationUser,omitempty"`
	PhoneNumber        *PhoneNumber        `json:"phoneNumber,omitempty"`
	MicrosoftTeamsUser *MicrosoftTeamsUser `json:"microsoftTeamsUser,omitempty"`
	MicrosoftTeamsApp  *MicrosoftTeamsApp  `json:"microsoftTeamsApp,omitempty"`
}

// CommunicationUser is an ACS user: {id}.
type CommunicationUser struct {
	ID string `json:"id"`
}

// PhoneNumber is an E.164 number: {value}.
type PhoneNumber struct {
	Value       string `json:"value"`
	IsAnonymous bool   `json:"isAnonymous,omitempty"`
}

// MicrosoftTeamsUser is kept for round-trips; Switchboard has no Teams.
type MicrosoftTeamsUser struct {
	UserID      string `json:"userId"`
	IsAnonymous bool   `json:"isAnonymous,omitempty"`
	Cloud       string `json:"cloud,omitempty"`
}

// MicrosoftTeamsApp is kept for round-trips.
type MicrosoftTeamsApp struct {
	AppID string `json:"appId"`
	Cloud string `json:"cloud,omitempty"`
}

// Identifier kinds.
const (
	KindCommunicationUser = "communicationUser"
	KindPhoneNumber       = "phoneNumber"
	KindTeamsUser         = "microsoftTeamsUser"
	KindTeamsApp          = "microsoftTeamsApp"
	KindUnknown           = "unknown"
)

// IdentifierFromRaw builds the model for a rawId, without kind (the form
// chat payloads and events use).
func IdentifierFromRaw(raw string) Identifier {
	id := Identifier{RawID: raw}
	switch kindOfRaw(raw) {
	case KindCommunicationUser:
		id.CommunicationUser = &CommunicationUser{ID: raw}
	case KindPhoneNumber:
		v := strings.TrimPrefix(raw, "4:")
		if v == "anonymous" {
			id.PhoneNumber = &PhoneNumber{Value: "", IsAnonymous: true}
		} else {
			id.PhoneNumber = &PhoneNumber{Value: v}
		}
	case KindTeamsUser:
		_, rest, _ := strings.Cut(strings.TrimPrefix(raw, "8:"), ":")
		id.MicrosoftTeamsUser = &MicrosoftTeamsUser{UserID: rest, Cloud: "public", IsAnonymous: strings.HasPrefix(raw, "8:teamsvisitor:")}
	case KindTeamsApp:
		_, rest, _ := strings.Cut(strings.TrimPrefix(raw, "28:"), ":")
		id.MicrosoftTeamsApp = &MicrosoftTeamsApp{AppID: rest, Cloud: "public"}
	}
	return id
}

func kindOfRaw(raw string) string {
	switch {
	case strings.HasPrefix(raw, "8:acs:"), strings.HasPrefix(raw, "8:spool:"),
		strings.HasPrefix(raw, "8:dod-acs:"), strings.HasPrefix(raw, "8:gcch-acs:"):
		return KindCommunicationUser
	case strings.HasPrefix(raw, "4:"):
		return KindPhoneNumber
	case strings.HasPrefix(raw, "8:orgid:"), strings.HasPrefix(raw, "8:teamsvisitor:"),
		strings.HasPrefix(raw, "8:dod:"), strings.HasPrefix(raw, "8:gcch:"):
		return KindTeamsUser
	case strings.HasPrefix(raw, "28:orgid:"), strings.HasPrefix(raw, "28:dod:"), strings.HasPrefix(raw, "28:gcch:"):
		return KindTeamsApp
	}
	return KindUnknown
}

// Raw returns the canonical rawId of a model a client sent: rawId when
// present (it must agree with the kind-specific member), else derived from
// that member.
func (id Identifier) Raw() (string, error) {
	derived := ""
	switch {
	case id.CommunicationUser != nil:
		derived = id.CommunicationUser.ID
	case id.PhoneNumber != nil:
		if id.PhoneNumber.IsAnonymous {
			derived = "4:anonymous"
		} else if id.PhoneNumber.Value != "" {
			derived = "4:" + id.PhoneNumber.Value
		}
	case id.MicrosoftTeamsUser != nil:
		derived = "8:orgid:" + id.MicrosoftTeamsUser.UserID
	case id.MicrosoftTeamsApp != nil:
		derived = "28:orgid:" + id.MicrosoftTeamsApp.AppID
	}
	raw := id.RawID
	if raw == "" {
		raw = derived
	}
	if raw == "" {
		return "", errs.Invalid("InvalidIdentifier", "a communication identifier needs rawId or a kind-specific member")
	}
	if len(raw) > 512 || strings.ContainsAny(raw, "\x00\r\n") {
		return "", errs.Invalid("InvalidIdentifier", "the communication identifier is malformed")
	}
	if id.CommunicationUser != nil && id.RawID != "" && id.CommunicationUser.ID != id.RawID {
		return "", errs.Invalid("InvalidIdentifier", "rawId %q does not match communicationUser.id %q", id.RawID, id.CommunicationUser.ID)
	}
	return raw, nil
}
