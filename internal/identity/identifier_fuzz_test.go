package identity_test

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/identity"
)

// FuzzIdentifier: any JSON a client sends as a communication identifier
// either fails with a clear error or yields a rawId that round-trips: the
// model built from it gives the same rawId back.
func FuzzIdentifier(f *testing.F) {
	for _, s := range []string{
		`{"rawId":"8:acs:t_1","communicationUser":{"id":"8:acs:t_1"}}`,
		`{"communicationUser":{"id":"8:acs:t_1"}}`,
		`{"rawId":"4:+15550001"}`,
		`{"phoneNumber":{"value":"+15550001"}}`,
		`{"phoneNumber":{"isAnonymous":true}}`,
		`{"microsoftTeamsUser":{"userId":"abc"}}`,
		`{"rawId":"8:acs:a","communicationUser":{"id":"8:acs:b"}}`,
		`{}`, `null`, `{"rawId":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var id identity.Identifier
		if json.Unmarshal(data, &id) != nil {
			return
		}
		raw, err := id.Raw()
		if err != nil {
			return
		}
		if raw == "" {
			t.Fatal("no error and no rawId")
		}
		back, err := identity.IdentifierFromRaw(raw).Raw()
		if err != nil || back != raw {
			t.Fatalf("rawId %q came back as %q (%v)", raw, back, err)
		}
	})
}
