package bot

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

// keys returns the top-level member names of a JSON object.
func keys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(m))
}

func TestActivityMemberNames(t *testing.T) {
	a := hello()
	a.ServiceURL = "https://cc.example/bots/b1"
	a.ReplyToID = "prev"
	a.Attachments = []Attachment{{ContentType: "image/png", ContentURL: "https://x.example/a.png", Name: "a.png"}}
	a.SuggestedActions = &SuggestedActions{Actions: []CardAction{{Type: "imBack", Title: "Yes", Value: json.RawMessage(`"yes"`)}}}
	a.ChannelData = json.RawMessage(`{"widget":"v2"}`)
	want := []string{"attachments", "channelData", "channelId", "conversation", "from", "id", "locale", "recipient",
		"replyToId", "serviceUrl", "suggestedActions", "text", "textFormat", "timestamp", "type"}
	if got := keys(t, a); !slices.Equal(got, want) {
		t.Errorf("message members %v\nwant %v", got, want)
	}
	if got := keys(t, *a.From); !slices.Equal(got, []string{"id", "name", "role"}) {
		t.Errorf("ChannelAccount members %v", got)
	}
	if got := keys(t, a.Attachments[0]); !slices.Equal(got, []string{"contentType", "contentUrl", "name"}) {
		t.Errorf("Attachment members %v", got)
	}

	up := ConversationUpdate("19:t@thread.v2", visitor(), theBot(), []ChannelAccount{visitor()}, nil)
	if got := keys(t, up); !slices.Contains(got, "membersAdded") || slices.Contains(got, "membersRemoved") || slices.Contains(got, "text") {
		t.Errorf("conversationUpdate members %v", got)
	}
	ev, err := Event("19:t@thread.v2", visitor(), theBot(), EventHandoffCompleted, map[string]string{"agent": "Grace"})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(t, ev); !slices.Contains(got, "name") || !slices.Contains(got, "value") {
		t.Errorf("event members %v", got)
	}
	end := EndOfConversation("19:t@thread.v2", visitor(), theBot(), "completedSuccessfully")
	if end.Type != TypeEndOfConversation || !slices.Contains(keys(t, end), "code") {
		t.Errorf("endOfConversation %+v", end)
	}
	if ty := Typing("19:t@thread.v2", visitor(), theBot()); ty.Type != TypeTyping || ty.ID == "" || ty.ChannelID != ChannelWebchat {
		t.Errorf("typing %+v", ty)
	}
}

// sdkReply is what a Bot Framework SDK bot writes, members we do not carry
// included.
const sdkReply = `{
  "type": "message",
  "id": "r1",
  "timestamp": "2026-12-07T10:00:00.1234567Z",
  "localTimestamp": "2026-12-07T11:00:00.1234567+01:00",
  "serviceUrl": "https://cc.example/bots/b1",
  "channelId": "webchat",
  "from": {"id": "28:bot-1", "name": "Helper", "role": "bot"},
  "recipient": {"id": "8:acs:t_visitor", "role": "user"},
  "conversation": {"id": "19:abc@thread.v2", "isGroup": false},
  "replyToId": "m1",
  "text": "Which order is it about?",
  "textFormat": "markdown",
  "inputHint": "expectingInput",
  "entities": [{"type": "ClientCapabilities"}],
  "attachments": [{"contentType": "application/vnd.microsoft.card.hero", "content": {"title": "Orders"}}],
  "suggestedActions": {"to": ["8:acs:t_visitor"], "actions": [
    {"type": "imBack", "title": "#1042", "value": "1042"},
    {"type": "openUrl", "title": "My orders", "value": "https://shop.example/orders"}
  ]}
}`

func TestParseAnswerReadsSDKActivity(t *testing.T) {
	acts, err := parseAnswer([]byte(sdkReply))
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 1 {
		t.Fatalf("%d activities", len(acts))
	}
	a := acts[0]
	if a.Text != "Which order is it about?" || a.TextFormat != TextMarkdown || a.ReplyToID != "m1" ||
		a.From.Role != RoleBot || a.Conversation.ID != "19:abc@thread.v2" || a.Timestamp.IsZero() {
		t.Errorf("parsed %+v", a)
	}
	if len(a.Attachments) != 1 || a.Attachments[0].ContentType != "application/vnd.microsoft.card.hero" {
		t.Errorf("attachments %+v", a.Attachments)
	}
	if a.SuggestedActions == nil || len(a.SuggestedActions.Actions) != 2 || string(a.SuggestedActions.Actions[0].Value) != `"1042"` {
		t.Errorf("suggestedActions %+v", a.SuggestedActions)
	}
}

func TestParseAnswerDropsUnknownTypes(t *testing.T) {
	acts, err := parseAnswer([]byte(`[
		{"type": "trace", "name": "debug", "label": 5, "text": 7},
		{"type": "message", "text": "Hello"},
		{"type": "invoke", "value": {"x": 1}},
		{"type": "typing"},
		{"type": "messageReaction", "reactionsAdded": [{"type": "like"}]}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	var types []ActivityType
	for _, a := range acts {
		types = append(types, a.Type)
	}
	if !slices.Equal(types, []ActivityType{TypeMessage, TypeTyping}) {
		t.Errorf("kept %v", types)
	}
}

func TestParseAnswerAcceptsEdgeMessages(t *testing.T) {
	for name, body := range map[string]string{
		"text at the limit":  `{"type":"message","text":"` + strings.Repeat("é", 28*1024/2) + `"}`,
		"attachment only":    `{"type":"message","attachments":[{"contentType":"image/png","contentUrl":"https://x.example/a.png"}]}`,
		"escaped surrogate":  `{"type":"message","text":"\ud83d\ude00"}`,
		"plain format":       `{"type":"message","text":"hi","textFormat":"plain"}`,
		"event with value":   `{"type":"event","name":"order.lookup","value":[1,2]}`,
		"end of bot":         `{"type":"endOfConversation","code":"completedSuccessfully"}`,
		"handoff null value": `{"type":"event","name":"handoff.initiate","value":null}`,
		"handoff extra":      `{"type":"event","name":"handoff.initiate","value":{"queue":"q","skill":"x"},"attachments":[{"contentType":"application/json","name":"Transcript","content":{"activities":[]}}]}`,
	} {
		if acts, err := parseAnswer([]byte(body)); err != nil || len(acts) != 1 {
			t.Errorf("%s: %v, %d activities", name, err, len(acts))
		}
	}
}

func TestHandoffOf(t *testing.T) {
	acts, err := parseAnswer([]byte(`[
		{"type": "message", "text": "Let me find someone for you."},
		{"type": "event", "name": "handoff.initiate", "value": {
			"queue": "support", "priority": 5, "labels": {"language": "fr", "tier": "gold"}, "reason": "refund over limit"}},
		{"type": "event", "name": "handoff.initiate", "value": {"queue": "second"}}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	req, ok := HandoffOf(acts)
	if !ok {
		t.Fatal("no handoff found")
	}
	if req.Queue != "support" || req.Priority != 5 || req.Reason != "refund over limit" ||
		!maps.Equal(req.Labels, map[string]string{"language": "fr", "tier": "gold"}) {
		t.Errorf("handoff %+v", req)
	}

	acts, _ = parseAnswer([]byte(`{"type":"event","name":"handoff.initiate"}`))
	if req, ok := HandoffOf(acts); !ok || req.Queue != "" || req.Labels != nil {
		t.Errorf("handoff without value: %+v, %v", req, ok)
	}

	acts, _ = parseAnswer([]byte(`[{"type":"message","text":"hi"},{"type":"event","name":"handoff.status","value":{"state":"accepted"}}]`))
	if req, ok := HandoffOf(acts); ok {
		t.Errorf("found a handoff in %+v: %+v", acts, req)
	}

	// Built by hand rather than parsed: an unreadable value still asks for a person.
	bad := []Activity{{Type: TypeEvent, Name: EventHandoffInitiate, Value: json.RawMessage(`"support"`)}}
	if req, ok := HandoffOf(bad); !ok || req == nil {
		t.Errorf("unreadable value: %+v, %v", req, ok)
	}
	if _, ok := HandoffOf(nil); ok {
		t.Error("handoff in no activities")
	}
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		``, `[]`, `{}`, `null`, `{"activities":[]}`, sdkReply,
		`[{"type":"message","text":"hi"},{"type":"typing"}]`,
		`{"activities":[{"type":"event","name":"handoff.initiate","value":{"queue":"support","priority":3,"labels":{"a":"b"}}}]}`,
		`{"type":"conversationUpdate","membersAdded":[{"id":"u","role":"user"}]}`,
		`[{"type":"trace"},{"type":"message","attachments":[{"contentType":"image/png","contentUrl":"https://x.example/a"}]}]`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range malformedAnswers {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		acts, err := parseAnswer(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, ErrBotFailed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			if acts != nil {
				t.Fatalf("activities %+v came with an error", acts)
			}
			return
		}
		for _, a := range acts {
			if !a.Type.known() {
				t.Fatalf("kept type %q", a.Type)
			}
			if err := validate(a); err != nil {
				t.Fatalf("kept an invalid activity: %v", err)
			}
		}
		// What was accepted reads back the same once re-encoded, so the
		// caller can store and replay it.
		again, err := json.Marshal(struct {
			Activities []Activity `json:"activities"`
		}{acts})
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := parseAnswer(again)
		if err != nil || len(back) != len(acts) {
			t.Fatalf("re-parse of %s: %v, %d activities, want %d", again, err, len(back), len(acts))
		}
		if _, ok := HandoffOf(acts); ok != (slices.IndexFunc(acts, func(a Activity) bool {
			return a.Type == TypeEvent && a.Name == EventHandoffInitiate
		}) >= 0) {
			t.Fatal("HandoffOf disagrees with the activities")
		}
	})
}
