package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Topic is the Event Grid topic / CloudEvents source of a tenant's events.
func Topic(t tenant.ID) string {
	return "/switchboard/tenants/" + string(t) + "/providers/Microsoft.Communication/communicationServices/" + string(t)
}

type eventGridEvent struct {
	ID              string          `json:"id"`
	Topic           string          `json:"topic"`
	Subject         string          `json:"subject"`
	Data            json.RawMessage `json:"data"`
	EventType       string          `json:"eventType"`
	DataVersion     string          `json:"dataVersion"`
	MetadataVersion string          `json:"metadataVersion"`
	EventTime       string          `json:"eventTime"`
}

type cloudEvent struct {
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Subject         string          `json:"subject,omitempty"`
	Type            string          `json:"type"`
	Time            string          `json:"time"`
	SpecVersion     string          `json:"specversion"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// Envelope renders e as the subscription's schema expects: an Event Grid
// array of one event, or one structured-mode CloudEvent.
func Envelope(schema Schema, e event.Event) (body []byte, contentType string) {
	ts := e.Time.UTC().Format(time.RFC3339Nano)
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	if schema == SchemaCloudEvents {
		body, _ = json.Marshal(cloudEvent{ID: e.ID, Source: Topic(e.Tenant), Subject: e.Subject, Type: e.Type, Time: ts,
			SpecVersion: "1.0", DataContentType: "application/json", Data: data})
		return body, "application/cloudevents+json; charset=utf-8"
	}
	body, _ = json.Marshal([]eventGridEvent{{ID: e.ID, Topic: Topic(e.Tenant), Subject: e.Subject, Data: data, EventType: e.Type,
		DataVersion: e.DataVersion, MetadataVersion: "1", EventTime: ts}})
	return body, "application/json; charset=utf-8"
}

// SignatureHeader carries the delivery signature: "t=<unix>,v1=<hex>" where
// v1 is HMAC-SHA256(secret, "<unix>." + body). Receivers recompute it and
// reject old timestamps to stop replays.
const SignatureHeader = "Switchboard-Signature"

// Sign returns the SignatureHeader value for body at time now.
func Sign(secret, body []byte, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a SignatureHeader value against body, accepting timestamps
// within tolerance of now. It is what a receiver runs.
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) bool {
	var ts, sig string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if sig == "" {
				sig = v
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return false
	}
	want, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	got, _ := hex.DecodeString(mac(secret, ts, body))
	return hmac.Equal(got, want)
}
