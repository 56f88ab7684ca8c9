package webhook_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

// chatFixtures maps each chat event type to Microsoft's sample payload in
// ../shared/fixtures (names as the samples spell them).
var chatFixtures = map[string]string{
	"ChatThreadCreated":                        "chat_thread_created.json",
	"ChatThreadCreatedWithUser":                "chat_thread_created_withUser.json",
	"ChatThreadDeleted":                        "chat_thread_deleted.json",
	"ChatThreadWithUserDeleted":                "chat_thread_with_user_deleted.json",
	"ChatThreadPropertiesUpdated":              "chat_thread_properties_updated.json",
	"ChatThreadPropertiesUpdatedPerUser":       "chat_thread_properties_updated_per_user.json",
	"ChatThreadParticipantAdded":               "chat_thread_participant_added.json",
	"ChatThreadParticipantRemoved":             "chat_thread_participant_removed.json",
	"ChatParticipantAddedToThreadWithUser":     "chat_participant_added_to_thread_with_user.json",
	"ChatParticipantRemovedFromThreadWithUser": "chat_participant_removed_from_thread_with_user.json",
	"ChatMessageReceived":                      "chat_message_received.json",
	"ChatMessageReceivedInThread":              "chat_message_received_in_thread.json",
	"ChatMessageEdited":                        "chat_message_edited.json",
	"ChatMessageEditedInThread":                "chat_message_edited_in_thread.json",
	"ChatMessageDeleted":                       "chat_message_deleted.json",
	"ChatMessageDeletedInThread":               "chat_message_deleted_in_thread.json",
}

// readFixture reads a sample from either schema folder.
func readFixture(t *testing.T, file string) ([]byte, error) {
	t.Helper()
	root := filepath.Join(switchboardtest.FixturesDir(t), "acs", "eventgrid")
	var err error
	for _, dir := range []string{"event-grid-schema", "cloud-events-schema"} {
		var raw []byte
		if raw, err = os.ReadFile(filepath.Join(root, dir, file)); err == nil {
			return raw, nil
		}
	}
	return nil, fmt.Errorf("fixture %s not found under %s: %w", file, root, err)
}

// fixtureData loads a sample's data object.
func fixtureData(t *testing.T, file string) map[string]any {
	t.Helper()
	raw, err := readFixture(t, file)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return ev.Data
}

// deliveredEvent is an Event Grid event a receiver got.
type deliveredEvent struct {
	subject string
	data    map[string]any
}

// acsEventsByType groups the Microsoft.Communication events the receiver
// got whose type (without the prefix) starts with family.
func acsEventsByType(rc *receiver, family string) (map[string][]deliveredEvent, error) {
	byType := map[string][]deliveredEvent{}
	for _, d := range rc.deliveries() {
		var evs []struct {
			EventType string         `json:"eventType"`
			Subject   string         `json:"subject"`
			Data      map[string]any `json:"data"`
		}
		if err := json.Unmarshal(d.body, &evs); err != nil {
			return nil, err
		}
		for _, e := range evs {
			if typ, ok := strings.CutPrefix(e.EventType, "Microsoft.Communication."); ok && strings.HasPrefix(typ, family) {
				byType[typ] = append(byType[typ], deliveredEvent{e.Subject, e.Data})
			}
		}
	}
	return byType, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case bool:
		return "bool"
	}
	return "null"
}

// sameShape checks that got has every member the sample has, of the same
// JSON kind, recursively through objects. Versions are integers in ACS's
// event schema (azsystemevents: *int64) although some samples quote them.
func sameShape(t *testing.T, path string, want, got map[string]any) {
	t.Helper()
	for k, wv := range want {
		gv, ok := got[k]
		p := path + "." + k
		if !ok {
			t.Errorf("%s is missing", p)
			continue
		}
		wk, gk := jsonKind(wv), jsonKind(gv)
		if k == "version" && gk == "number" {
			continue
		}
		if wk != gk {
			t.Errorf("%s is %s, the sample has %s", p, gk, wk)
			continue
		}
		switch wv := wv.(type) {
		case map[string]any:
			if k == "metadata" || k == "properties" {
				continue // free-form maps
			}
			sameShape(t, p, wv, gv.(map[string]any))
		case []any:
			if ga := gv.([]any); len(wv) > 0 && len(ga) > 0 {
				if wo, ok := wv[0].(map[string]any); ok {
					sameShape(t, p+"[0]", wo, ga[0].(map[string]any))
				}
			}
		}
	}
}

func chatCall(t *testing.T, u switchboardtest.User, method, path string, body any, want int) map[string]any {
	t.Helper()
	resp, raw := u.Do(t, method, path, body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// TestChatEventsMatchACS drives a thread through its life and checks that
// every ACS chat event arrives, thread-scoped once and user-scoped once per
// recipient, with the data shape of Microsoft's samples.
func TestChatEventsMatchACS(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	rc := newReceiver(t)
	subscribe(t, c, map[string]any{"endpoint": rc.URL})
	alice, bob, carol := c.NewUser(t), c.NewUser(t), c.NewUser(t)

	const v = "?api-version=2025-03-15"
	th := chatCall(t, alice, "POST", "/chat/threads"+v, map[string]any{"topic": "Events",
		"participants": []any{map[string]any{"communicationIdentifier": bob.Identifier(), "displayName": "Bob"}}}, 201)["chatThread"].(map[string]any)["id"].(string)
	p := "/chat/threads/" + url.PathEscape(th)
	msg := chatCall(t, alice, "POST", p+"/messages"+v, map[string]any{"content": "hello", "metadata": map[string]string{"k": "v"}}, 201)["id"].(string)
	chatCall(t, alice, "PATCH", p+"/messages/"+msg+v, map[string]any{"content": "hello again"}, 204)
	chatCall(t, alice, "DELETE", p+"/messages/"+msg+v, nil, 204)
	chatCall(t, alice, "PATCH", p+v, map[string]any{"topic": "Events (renamed)", "metadata": map[string]string{"a": "b"}}, 204)
	chatCall(t, alice, "POST", p+"/participants/:add"+v, map[string]any{"participants": []any{map[string]any{"communicationIdentifier": carol.Identifier(), "displayName": "Carol"}}}, 201)
	chatCall(t, alice, "POST", p+"/participants/:remove"+v, carol.Identifier(), 204)
	chatCall(t, alice, "DELETE", p+v, nil, 204)

	// Expected deliveries: thread events once; user-scoped ones per
	// recipient (message events skip their sender).
	want := map[string]int{
		"ChatThreadCreated": 1, "ChatThreadCreatedWithUser": 2,
		"ChatMessageReceivedInThread": 1, "ChatMessageReceived": 1,
		"ChatMessageEditedInThread": 1, "ChatMessageEdited": 1,
		"ChatMessageDeletedInThread": 1, "ChatMessageDeleted": 1,
		"ChatThreadPropertiesUpdated": 1, "ChatThreadPropertiesUpdatedPerUser": 2,
		"ChatThreadParticipantAdded": 1, "ChatParticipantAddedToThreadWithUser": 3,
		"ChatThreadParticipantRemoved": 1, "ChatParticipantRemovedFromThreadWithUser": 3,
		"ChatThreadDeleted": 1, "ChatThreadWithUserDeleted": 2,
	}
	var byType map[string][]deliveredEvent
	switchboardtest.Eventually(t, waitFor, func() error {
		var err error
		if byType, err = acsEventsByType(rc, "Chat"); err != nil {
			return err
		}
		for typ, n := range want {
			if len(byType[typ]) < n {
				return fmt.Errorf("%s: %d of %d delivered", typ, len(byType[typ]), n)
			}
		}
		return nil
	})
	for typ, n := range want {
		if len(byType[typ]) != n {
			t.Errorf("%s delivered %d times, want %d", typ, len(byType[typ]), n)
		}
		for _, g := range byType[typ] {
			sameShape(t, typ, fixtureData(t, chatFixtures[typ]), g.data)
			if g.data["threadId"] != th || !strings.HasPrefix(g.subject, "thread/"+th+"/") {
				t.Errorf("%s names thread %v, subject %s", typ, g.data["threadId"], g.subject)
			}
			if r, ok := g.data["recipientCommunicationIdentifier"].(map[string]any); ok && !strings.HasSuffix(g.subject, "/recipient/"+r["rawId"].(string)) {
				t.Errorf("%s subject %s does not end with its recipient", typ, g.subject)
			}
		}
	}
	// The one ChatMessageReceived goes to Bob, not to Alice who sent it.
	if r := byType["ChatMessageReceived"][0].data["recipientCommunicationIdentifier"].(map[string]any)["rawId"]; r != bob.ID {
		t.Errorf("ChatMessageReceived went to %v", r)
	}
	if m := byType["ChatMessageReceivedInThread"][0].data; m["messageBody"] != "hello" || m["type"] != "Text" || m["metadata"].(map[string]any)["k"] != "v" {
		t.Errorf("message event data %v", m)
	}
}
