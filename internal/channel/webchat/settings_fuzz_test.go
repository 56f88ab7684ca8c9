package webchat

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzSettings: settings that validate are safe to serve — they encode,
// decode to the same thing and answer Open without panicking.
func FuzzSettings(f *testing.F) {
	def, _ := json.Marshal(DefaultSettings("demo"))
	f.Add(def)
	f.Add([]byte(`{"name":"x","colors":{"primary":"#000000","background":"#ffffff","text":"#111111"},"businessHours":{"timezone":"Asia/Jakarta","weekly":{"mon":[["08:00","17:00"]]}},"uploads":{"maxBytes":1,"types":["image/png"]}}`))
	f.Add([]byte(`{"businessHours":{"timezone":"Local","weekly":{"sun":[["23:59","00:00"]]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Settings
		if json.Unmarshal(data, &s) != nil || s.Validate() != nil {
			return
		}
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Settings
		if err := json.Unmarshal(raw, &back); err != nil || back.Validate() != nil {
			t.Fatalf("valid settings did not survive a round trip: %v", err)
		}
		_ = s.BusinessHours.Open(time.Unix(1700000000, 0))
	})
}

func TestBusinessHours(t *testing.T) {
	h := Hours{Timezone: "Asia/Jakarta", Weekly: map[string][][2]string{"mon": {{"08:00", "17:00"}}}}
	// 2026-11-23 is a Monday; 02:00 UTC is 09:00 in Jakarta.
	if !h.Open(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)) {
		t.Error("closed at 09:00 on a Monday in Jakarta")
	}
	if h.Open(time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)) {
		t.Error("open at 18:00 in Jakarta")
	}
	if h.Open(time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)) {
		t.Error("open on a Tuesday with only Monday hours")
	}
	if !(Hours{Timezone: "UTC"}).Open(time.Now()) {
		t.Error("no weekly hours should mean always open")
	}
}
