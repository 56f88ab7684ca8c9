package webhook_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/config"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/netguard"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
	"github.com/switchboard-cc/switchboard/internal/webhook"
)

const (
	nativeVersion   = "?api-version=2026-11-01"
	identityVersion = "?api-version=2023-10-01"
	// waitFor bounds every poll; deliveries normally take milliseconds.
	waitFor = 20 * time.Second
)

// ---------------------------------------------------------------------------
// A webhook receiver on loopback.

// delivery is one notification a receiver got, handshakes excluded.
type delivery struct {
	header http.Header
	body   []byte
	at     time.Time
	status int // what the receiver answered
}

// receiver is a tenant's webhook endpoint. It answers both validation
// handshakes, records every notification, and can be told to fail.
type receiver struct {
	*httptest.Server
	failures atomic.Int64 // answer this many more notifications with 500
	down     atomic.Bool  // answer every notification with 500

	mu         sync.Mutex
	got        []delivery
	handshakes int
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// CloudEvents abuse protection: allow the origin that asks.
	if r.Method == http.MethodOptions {
		rc.mu.Lock()
		rc.handshakes++
		rc.mu.Unlock()
		w.Header().Set("WebHook-Allowed-Origin", r.Header.Get("WebHook-Request-Origin"))
		w.WriteHeader(http.StatusOK)
		return
	}
	// Event Grid validation: echo the code.
	if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
		rc.mu.Lock()
		rc.handshakes++
		rc.mu.Unlock()
		code, err := validationCode(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": code})
		return
	}
	status := http.StatusOK
	if rc.down.Load() || rc.failures.Add(-1) >= 0 {
		status = http.StatusInternalServerError
	}
	rc.mu.Lock()
	rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: body, at: time.Now(), status: status})
	rc.mu.Unlock()
	w.WriteHeader(status)
}

// validationCode extracts data.validationCode from an Event Grid
// validation event.
func validationCode(body []byte) (string, error) {
	var evs []struct {
		EventType string `json:"eventType"`
		Data      struct {
			ValidationCode string `json:"validationCode"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &evs); err != nil || len(evs) != 1 {
		return "", fmt.Errorf("validation request is not an array of one event: %s", body)
	}
	if evs[0].EventType != "Microsoft.EventGrid.SubscriptionValidationEvent" || evs[0].Data.ValidationCode == "" {
		return "", fmt.Errorf("not a validation event: %s", body)
	}
	return evs[0].Data.ValidationCode, nil
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func (rc *receiver) handshakeCount() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.handshakes
}

// gotEvent is a delivered event in either schema, reduced to what tests
// compare.
type gotEvent struct {
	ID, Type, Subject, Source string
	RawID                     string // data.identity.rawId
}

func (d delivery) event(t *testing.T) gotEvent {
	t.Helper()
	var e gotEvent
	var data struct {
		Identity struct {
			RawID string `json:"rawId"`
		} `json:"identity"`
	}
	if strings.HasPrefix(d.header.Get("Content-Type"), "application/cloudevents+json") {
		var ce struct {
			ID, Type, Subject, Source string
			Data                      json.RawMessage
		}
		if err := json.Unmarshal(d.body, &ce); err != nil {
			t.Fatalf("CloudEvent body: %v: %s", err, d.body)
		}
		e = gotEvent{ID: ce.ID, Type: ce.Type, Subject: ce.Subject, Source: ce.Source}
		_ = json.Unmarshal(ce.Data, &data)
	} else {
		var evs []struct {
			ID        string          `json:"id"`
			EventType string          `json:"eventType"`
			Subject   string          `json:"subject"`
			Topic     string          `json:"topic"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(d.body, &evs); err != nil || len(evs) != 1 {
			t.Fatalf("Event Grid body is not an array of one event: %v: %s", err, d.body)
		}
		e = gotEvent{ID: evs[0].ID, Type: evs[0].EventType, Subject: evs[0].Subject, Source: evs[0].Topic}
		_ = json.Unmarshal(evs[0].Data, &data)
	}
	e.RawID = data.Identity.RawID
	return e
}

// waitEvent polls until the receiver got a successful delivery of an event
// of type typ about identity id, and returns that delivery.
func (rc *receiver) waitEvent(t *testing.T, typ, id string) delivery {
	t.Helper()
	var found delivery
	switchboardtest.Eventually(t, waitFor, func() error {
		for _, d := range rc.deliveries() {
			if e := d.event(t); d.status == http.StatusOK && e.Type == typ && e.RawID == id {
				found = d
				return nil
			}
		}
		return fmt.Errorf("no %s delivered for %s (%d deliveries so far)", typ, id, len(rc.deliveries()))
	})
	return found
}

// ---------------------------------------------------------------------------
// API helpers.

// subscribe creates a subscription and returns its id and signing secret.
func subscribe(t *testing.T, c *switchboardtest.Client, body map[string]any) (id string, secret []byte) {
	t.Helper()
	resp, raw := c.Do(t, "POST", "/eventSubscriptions"+nativeVersion, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create subscription: %d %s", resp.StatusCode, raw)
	}
	m := switchboardtest.JSON(t, raw)
	secret, err := base64.StdEncoding.DecodeString(m["signingSecret"].(string))
	if err != nil || len(secret) == 0 {
		t.Fatalf("signingSecret %q is not base64: %v", m["signingSecret"], err)
	}
	return m["id"].(string), secret
}

func createIdentity(t *testing.T, c *switchboardtest.Client) string {
	t.Helper()
	resp, raw := c.Do(t, "POST", "/identities"+identityVersion, map[string]any{})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create identity: %d %s", resp.StatusCode, raw)
	}
	return switchboardtest.JSON(t, raw)["identity"].(map[string]any)["id"].(string)
}

func deleteIdentity(t *testing.T, c *switchboardtest.Client, id string) {
	t.Helper()
	resp, raw := c.Do(t, "DELETE", "/identities/"+strings.ReplaceAll(id, ":", "%3A")+identityVersion, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete identity: %d %s", resp.StatusCode, raw)
	}
}

// listIDs returns the ids in a GET list answer ({"value": [...]}).
func listIDs(t *testing.T, c *switchboardtest.Client, path string) []string {
	t.Helper()
	resp, raw := c.Do(t, "GET", path+nativeVersion, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	var out struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, raw)
	}
	ids := []string{}
	for _, v := range out.Value {
		ids = append(ids, v.ID)
	}
	return ids
}

// errorCode is the ACS error body's error.code.
func errorCode(t *testing.T, raw []byte) string {
	t.Helper()
	var b struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("not an ACS error body: %v: %s", err, raw)
	}
	return b.Error.Code
}

// quiesce waits until the pipeline is idle: the outbox is empty and every
// consumer of the events and webhook streams has nothing pending or
// unacknowledged (a delivery waiting for its retry is unacknowledged). The
// stages are checked in pipeline order, so work moving between them while
// we look is still seen. Only after this can a test assert that something
// was NOT delivered.
func quiesce(t *testing.T, s *switchboardtest.Server) {
	t.Helper()
	ctx := context.Background()
	b := s.App.Bus
	switchboardtest.Eventually(t, waitFor, func() error {
		if n, _, err := s.App.Store.OutboxLag(ctx, time.Now()); err != nil || n != 0 {
			return fmt.Errorf("outbox holds %d events (%v)", n, err)
		}
		for _, name := range []string{b.EventsStream(), b.WebhooksStream()} {
			st, err := b.JetStream().Stream(ctx, name)
			if err != nil {
				return err
			}
			consumers := 0
			for ci := range st.ListConsumers(ctx).Info() {
				consumers++
				if ci.NumPending != 0 || ci.NumAckPending != 0 {
					return fmt.Errorf("consumer %s: %d pending, %d unacknowledged", ci.Name, ci.NumPending, ci.NumAckPending)
				}
			}
			if consumers == 0 {
				return fmt.Errorf("stream %s has no consumer", name)
			}
		}
		return nil
	})
}

// ---------------------------------------------------------------------------
// Validation handshakes.

func TestEventGridHandshake(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)

	refusing := map[string]http.HandlerFunc{
		"wrong code": func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": "not-the-code"})
		},
		"no body": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) },
		"server error": func(w http.ResponseWriter, r *http.Request) {
			// Echoes the code, but with a failure status.
			raw, _ := io.ReadAll(r.Body)
			code, _ := validationCode(raw)
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": code})
		},
	}
	for name, h := range refusing {
		t.Run(name, func(t *testing.T) {
			var asked atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked.Add(1)
				h(w, r)
			}))
			defer srv.Close()
			resp, raw := c.Do(t, "POST", "/eventSubscriptions"+nativeVersion, map[string]any{"endpoint": srv.URL})
			if resp.StatusCode != http.StatusBadRequest || errorCode(t, raw) != "EndpointValidationFailed" {
				t.Fatalf("endpoint that fails validation: %d %s, want 400 EndpointValidationFailed", resp.StatusCode, raw)
			}
			if asked.Load() == 0 {
				t.Fatal("the endpoint was never asked to validate")
			}
			if ids := listIDs(t, c, "/eventSubscriptions"); len(ids) != 0 {
				t.Fatalf("a subscription that failed validation was stored: %v", ids)
			}
			// Nor through the upsert, with an id the caller chose.
			resp, raw = c.Do(t, "PATCH", "/eventSubscriptions/mine"+nativeVersion, map[string]any{"endpoint": srv.URL})
			if resp.StatusCode != http.StatusBadRequest || errorCode(t, raw) != "EndpointValidationFailed" {
				t.Fatalf("upsert to an endpoint that fails validation: %d %s", resp.StatusCode, raw)
			}
			if resp, _ := c.Do(t, "GET", "/eventSubscriptions/mine"+nativeVersion, nil); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("the failed upsert left a subscription: %d", resp.StatusCode)
			}
		})
	}

	t.Run("echoes the code", func(t *testing.T) {
		rc := newReceiver(t)
		id, _ := subscribe(t, c, map[string]any{"name": "eg", "endpoint": rc.URL})
		if rc.handshakeCount() != 1 {
			t.Fatalf("%d handshakes, want 1", rc.handshakeCount())
		}
		if ids := listIDs(t, c, "/eventSubscriptions"); !slices.Equal(ids, []string{id}) {
			t.Fatalf("subscriptions %v, want [%s]", ids, id)
		}
		resp, raw := c.Do(t, "GET", "/eventSubscriptions/"+id+nativeVersion, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("get: %d %s", resp.StatusCode, raw)
		}
		m := switchboardtest.JSON(t, raw)
		if m["eventDeliverySchema"] != "EventGridSchema" || m["endpoint"] != rc.URL || m["name"] != "eg" {
			t.Fatalf("stored subscription %s", raw)
		}
		if _, shown := m["signingSecret"]; shown {
			t.Fatal("the signing secret must only be shown on create")
		}

		// A new endpoint must pass the handshake too; a failed one leaves
		// the subscription as it was.
		refuser := httptest.NewServer(refusing["wrong code"])
		defer refuser.Close()
		resp, raw = c.Do(t, "PATCH", "/eventSubscriptions/"+id+nativeVersion, map[string]any{"endpoint": refuser.URL})
		if resp.StatusCode != http.StatusBadRequest || errorCode(t, raw) != "EndpointValidationFailed" {
			t.Fatalf("PATCH to an endpoint that fails validation: %d %s", resp.StatusCode, raw)
		}
		_, raw = c.Do(t, "GET", "/eventSubscriptions/"+id+nativeVersion, nil)
		if m := switchboardtest.JSON(t, raw); m["endpoint"] != rc.URL || m["etag"] != `"1"` {
			t.Fatalf("a failed PATCH changed the subscription: %s", raw)
		}
	})
}

func TestCloudEventsHandshake(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)

	refusing := map[string]http.HandlerFunc{
		"no allowed origin": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) },
		"other origin": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WebHook-Allowed-Origin", "someone-else.example")
		},
		"method not allowed": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WebHook-Allowed-Origin", "*")
			w.WriteHeader(http.StatusMethodNotAllowed)
		},
	}
	for name, h := range refusing {
		t.Run(name, func(t *testing.T) {
			var options atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodOptions && r.Header.Get("WebHook-Request-Origin") != "" {
					options.Add(1)
				}
				h(w, r)
			}))
			defer srv.Close()
			resp, raw := c.Do(t, "POST", "/eventSubscriptions"+nativeVersion,
				map[string]any{"endpoint": srv.URL, "eventDeliverySchema": "CloudEventSchemaV1_0"})
			if resp.StatusCode != http.StatusBadRequest || errorCode(t, raw) != "EndpointValidationFailed" {
				t.Fatalf("endpoint that fails validation: %d %s, want 400 EndpointValidationFailed", resp.StatusCode, raw)
			}
			if options.Load() == 0 {
				t.Fatal("no OPTIONS with WebHook-Request-Origin reached the endpoint")
			}
			if ids := listIDs(t, c, "/eventSubscriptions"); len(ids) != 0 {
				t.Fatalf("a subscription that failed validation was stored: %v", ids)
			}
		})
	}

	t.Run("allows the origin", func(t *testing.T) {
		rc := newReceiver(t)
		id, _ := subscribe(t, c, map[string]any{"endpoint": rc.URL, "eventDeliverySchema": "CloudEventSchemaV1_0"})
		if rc.handshakeCount() != 1 {
			t.Fatalf("%d handshakes, want 1", rc.handshakeCount())
		}
		if ids := listIDs(t, c, "/eventSubscriptions"); !slices.Equal(ids, []string{id}) {
			t.Fatalf("subscriptions %v, want [%s]", ids, id)
		}
	})

	t.Run("allows any origin", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WebHook-Allowed-Origin", "*")
		}))
		defer srv.Close()
		subscribe(t, c, map[string]any{"endpoint": srv.URL, "eventDeliverySchema": "CloudEventSchemaV1_0"})
	})
}

// ---------------------------------------------------------------------------
// End to end: identity events through outbox, relay, fan-out and delivery.

func TestDeliveryEventGrid(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	rc := newReceiver(t)
	_, secret := subscribe(t, c, map[string]any{"name": "crm", "endpoint": rc.URL})

	id := createIdentity(t, c)
	d := rc.waitEvent(t, identity.EventIdentityCreated, id)

	if got := d.header.Get("aeg-event-type"); got != "Notification" {
		t.Errorf("aeg-event-type %q, want Notification", got)
	}
	if got := d.header.Get("aeg-delivery-count"); got != "0" {
		t.Errorf("aeg-delivery-count %q on the first attempt, want 0", got)
	}
	if got := d.header.Get("aeg-subscription-name"); got != "crm" {
		t.Errorf("aeg-subscription-name %q, want crm", got)
	}
	if mt, _, _ := mime.ParseMediaType(d.header.Get("Content-Type")); mt != "application/json" {
		t.Errorf("Content-Type %q, want application/json", d.header.Get("Content-Type"))
	}
	if !webhook.Verify(secret, d.body, d.header.Get(webhook.SignatureHeader), time.Now(), 5*time.Minute) {
		t.Errorf("signature %q does not verify with the signingSecret returned on create", d.header.Get(webhook.SignatureHeader))
	}
	if other := []byte("some other secret"); webhook.Verify(other, d.body, d.header.Get(webhook.SignatureHeader), time.Now(), 5*time.Minute) {
		t.Error("signature verifies with a secret that is not the subscription's")
	}

	// The exact Event Grid shape: an array of one event with these fields
	// and no others.
	var evs []map[string]json.RawMessage
	if err := json.Unmarshal(d.body, &evs); err != nil || len(evs) != 1 {
		t.Fatalf("body is not an array of one event: %v: %s", err, d.body)
	}
	ev := evs[0]
	wantKeys := []string{"data", "dataVersion", "eventTime", "eventType", "id", "metadataVersion", "subject", "topic"}
	if keys := slices.Sorted(maps.Keys(ev)); !slices.Equal(keys, wantKeys) {
		t.Errorf("event fields %v, want %v", keys, wantKeys)
	}
	str := func(k string) string {
		var v string
		if err := json.Unmarshal(ev[k], &v); err != nil {
			t.Errorf("%s is not a string: %s", k, ev[k])
		}
		return v
	}
	if str("eventType") != identity.EventIdentityCreated || str("metadataVersion") != "1" || str("dataVersion") == "" ||
		str("subject") != "identities/"+id || str("id") == "" {
		t.Errorf("event %s", d.body)
	}
	if got, want := str("topic"), webhook.Topic(s.Demo.Tenant.ID); got != want {
		t.Errorf("topic %q, want %q", got, want)
	}
	if at, err := time.Parse(time.RFC3339Nano, str("eventTime")); err != nil || time.Since(at) > time.Minute || time.Since(at) < -time.Minute {
		t.Errorf("eventTime %q is not a recent RFC 3339 time (%v)", str("eventTime"), err)
	}
	var data struct {
		Identity struct {
			RawID             string `json:"rawId"`
			CommunicationUser struct {
				ID string `json:"id"`
			} `json:"communicationUser"`
		} `json:"identity"`
	}
	if err := json.Unmarshal(ev["data"], &data); err != nil || data.Identity.RawID != id || data.Identity.CommunicationUser.ID != id {
		t.Errorf("data %s, want the identity %s (%v)", ev["data"], id, err)
	}

	deleteIdentity(t, c, id)
	del := rc.waitEvent(t, identity.EventIdentityDeleted, id)
	if del.event(t).ID == d.event(t).ID {
		t.Error("IdentityDeleted reuses the IdentityCreated event id")
	}
	if !webhook.Verify(secret, del.body, del.header.Get(webhook.SignatureHeader), time.Now(), 5*time.Minute) {
		t.Error("IdentityDeleted signature does not verify")
	}

	// Nothing is delivered twice when nothing failed.
	quiesce(t, s)
	seen := map[string]int{}
	for _, x := range rc.deliveries() {
		seen[x.event(t).ID]++
	}
	if len(seen) != 2 || len(rc.deliveries()) != 2 {
		t.Errorf("%d deliveries of %d events, want 2 of 2: %v", len(rc.deliveries()), len(seen), seen)
	}
}

func TestDeliveryCloudEvents(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	rc := newReceiver(t)
	_, secret := subscribe(t, c, map[string]any{"endpoint": rc.URL, "eventDeliverySchema": "CloudEventSchemaV1_0"})

	id := createIdentity(t, c)
	d := rc.waitEvent(t, identity.EventIdentityCreated, id)
	if mt, _, _ := mime.ParseMediaType(d.header.Get("Content-Type")); mt != "application/cloudevents+json" {
		t.Errorf("Content-Type %q, want application/cloudevents+json (structured mode)", d.header.Get("Content-Type"))
	}
	if !webhook.Verify(secret, d.body, d.header.Get(webhook.SignatureHeader), time.Now(), 5*time.Minute) {
		t.Error("signature does not verify with the signingSecret returned on create")
	}
	var ce map[string]json.RawMessage
	if err := json.Unmarshal(d.body, &ce); err != nil {
		t.Fatalf("body is not one JSON object: %v: %s", err, d.body)
	}
	wantKeys := []string{"data", "datacontenttype", "id", "source", "specversion", "subject", "time", "type"}
	if keys := slices.Sorted(maps.Keys(ce)); !slices.Equal(keys, wantKeys) {
		t.Errorf("CloudEvent attributes %v, want %v", keys, wantKeys)
	}
	str := func(k string) string {
		var v string
		_ = json.Unmarshal(ce[k], &v)
		return v
	}
	if str("specversion") != "1.0" || str("type") != identity.EventIdentityCreated || str("subject") != "identities/"+id ||
		str("source") != webhook.Topic(s.Demo.Tenant.ID) || str("datacontenttype") != "application/json" || str("id") == "" {
		t.Errorf("CloudEvent %s", d.body)
	}
	if _, err := time.Parse(time.RFC3339Nano, str("time")); err != nil {
		t.Errorf("time %q: %v", str("time"), err)
	}

	deleteIdentity(t, c, id)
	rc.waitEvent(t, identity.EventIdentityDeleted, id)
}

func TestIncludedEventTypes(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	deletedOnly, all := newReceiver(t), newReceiver(t)
	// Types compare case-insensitively, as Event Grid filters do.
	subscribe(t, c, map[string]any{"endpoint": deletedOnly.URL, "includedEventTypes": []string{strings.ToLower(identity.EventIdentityDeleted)}})
	subscribe(t, c, map[string]any{"endpoint": all.URL})

	id := createIdentity(t, c)
	all.waitEvent(t, identity.EventIdentityCreated, id)
	deleteIdentity(t, c, id)
	deletedOnly.waitEvent(t, identity.EventIdentityDeleted, id)
	all.waitEvent(t, identity.EventIdentityDeleted, id)

	// Absence: once nothing is left in flight, nothing more can arrive.
	quiesce(t, s)
	for _, d := range deletedOnly.deliveries() {
		if typ := d.event(t).Type; typ != identity.EventIdentityDeleted {
			t.Errorf("the IdentityDeleted-only subscription received %s", typ)
		}
	}
	if n := len(deletedOnly.deliveries()); n != 1 {
		t.Errorf("the IdentityDeleted-only subscription got %d deliveries, want 1", n)
	}
	if n := len(all.deliveries()); n != 2 {
		t.Errorf("the unfiltered subscription got %d deliveries, want 2", n)
	}
}

// TestSubscriptionChangesWhileEventsFlow changes subscriptions back to back
// while the tenant's events keep the fan-out busy. Each change must take
// effect for every event committed after the API call returned. (It caught
// a fan-out that cached a subscription list it had loaded just before a
// change, hiding the change until the next one.) The race is timing-bound,
// so the test repeats it for a few seconds.
func TestSubscriptionChangesWhileEventsFlow(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	const never = "Switchboard.NeverEmitted"
	// Many subscriptions make each load of the list slower, the window wider.
	var others []string
	for range 30 {
		id, _ := subscribe(t, c, map[string]any{"endpoint": newReceiver(t).URL, "includedEventTypes": []string{never}})
		others = append(others, id)
	}
	rc := newReceiver(t)
	target, _ := subscribe(t, c, map[string]any{"endpoint": rc.URL, "includedEventTypes": []string{never}})
	patch := func(id string, body map[string]any) {
		t.Helper()
		if resp, raw := c.Do(t, "PATCH", "/eventSubscriptions/"+id+nativeVersion, body); resp.StatusCode != http.StatusOK {
			t.Fatalf("patch %s: %d %s", id, resp.StatusCode, raw)
		}
	}

	// Background traffic: IdentityCreated events, which no subscription
	// wants, but each one makes the fan-out read the subscriptions.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if resp, err := c.HTTP.Do(c.Request("POST", "/identities"+identityVersion, map[string]any{})); err == nil {
					resp.Body.Close()
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()

	for i, start := 0, time.Now(); time.Since(start) < 3*time.Second; i++ {
		// One change invalidates the cache and sets loads going; the next,
		// right after it, is the one that must not be lost.
		patch(others[i%len(others)], map[string]any{"name": fmt.Sprint(i)})
		patch(target, map[string]any{"includedEventTypes": []string{identity.EventIdentityDeleted}})
		id := createIdentity(t, c)
		deleteIdentity(t, c, id)
		rc.waitEvent(t, identity.EventIdentityDeleted, id)
		patch(target, map[string]any{"includedEventTypes": []string{never}})
	}
}

// ---------------------------------------------------------------------------
// Retries and dead letters.

func TestRetriesWithBackoff(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	rc := newReceiver(t)
	const failures = 3
	rc.failures.Store(failures)
	_, secret := subscribe(t, c, map[string]any{"endpoint": rc.URL, "includedEventTypes": []string{identity.EventIdentityCreated}})

	id := createIdentity(t, c)
	rc.waitEvent(t, identity.EventIdentityCreated, id)
	quiesce(t, s)

	got := rc.deliveries()
	if len(got) != failures+1 {
		t.Fatalf("%d attempts, want %d (%d failures, then success)", len(got), failures+1, failures)
	}
	first := got[0].event(t).ID
	base := s.Config.Webhooks.RetryBase
	for i, d := range got {
		if e := d.event(t); e.ID != first || e.RawID != id {
			t.Errorf("attempt %d delivered event %s (identity %s), want the same event %s", i+1, e.ID, e.RawID, first)
		}
		if !webhook.Verify(secret, d.body, d.header.Get(webhook.SignatureHeader), time.Now(), 5*time.Minute) {
			t.Errorf("attempt %d: signature does not verify", i+1)
		}
		if got, want := d.header.Get("aeg-delivery-count"), fmt.Sprint(i); got != want {
			t.Errorf("attempt %d: aeg-delivery-count %q, want %q", i+1, got, want)
		}
		wantStatus := http.StatusInternalServerError
		if i == failures {
			wantStatus = http.StatusOK
		}
		if d.status != wantStatus {
			t.Errorf("attempt %d answered %d, want %d", i+1, d.status, wantStatus)
		}
		// Back-off doubles from the base. The gap between attempts can only
		// be longer than the delay, so the lower bound is safe to assert.
		if i > 0 {
			want := min(base<<(i-1), s.Config.Webhooks.RetryMax)
			if gap := d.at.Sub(got[i-1].at); gap < want {
				t.Errorf("attempt %d came %s after attempt %d, want at least %s", i+1, gap, i, want)
			}
		}
	}
	if dls := listIDs(t, c, "/deadLetters"); len(dls) != 0 {
		t.Errorf("a delivery that succeeded in the end was dead-lettered: %v", dls)
	}
}

type deadLetterJSON struct {
	ID               string  `json:"id"`
	SubscriptionID   string  `json:"subscriptionId"`
	EventID          string  `json:"eventId"`
	EventType        string  `json:"eventType"`
	Subject          string  `json:"subject"`
	DeliveryAttempts int     `json:"deliveryAttempts"`
	LastError        string  `json:"lastError"`
	DeadLetteredOn   string  `json:"deadLetteredOn"`
	ReplayedOn       *string `json:"replayedOn"`
}

func deadLetters(t *testing.T, c *switchboardtest.Client) []deadLetterJSON {
	t.Helper()
	resp, raw := c.Do(t, "GET", "/deadLetters"+nativeVersion, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list dead letters: %d %s", resp.StatusCode, raw)
	}
	var out struct {
		Value []deadLetterJSON `json:"value"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("dead letters: %v: %s", err, raw)
	}
	return out.Value
}

func TestDeadLetterAndReplay(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	rc := newReceiver(t)
	rc.down.Store(true)
	subID, secret := subscribe(t, c, map[string]any{"endpoint": rc.URL, "maxDeliveryAttempts": 2,
		"includedEventTypes": []string{identity.EventIdentityCreated}})

	id := createIdentity(t, c)
	var dl deadLetterJSON
	switchboardtest.Eventually(t, waitFor, func() error {
		dls := deadLetters(t, c)
		if len(dls) == 0 {
			return errors.New("nothing dead-lettered yet")
		}
		dl = dls[0]
		return nil
	})
	quiesce(t, s)
	if dls := deadLetters(t, c); len(dls) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dls))
	}
	attempts := rc.deliveries()
	if len(attempts) != 2 {
		t.Fatalf("%d attempts before dead-lettering, want maxDeliveryAttempts=2", len(attempts))
	}
	eventID := attempts[0].event(t).ID
	if dl.DeliveryAttempts != 2 || dl.SubscriptionID != subID || dl.EventID != eventID ||
		dl.EventType != identity.EventIdentityCreated || dl.Subject != "identities/"+id || dl.ReplayedOn != nil {
		t.Fatalf("dead letter %+v; want 2 attempts of event %s to subscription %s, not replayed", dl, eventID, subID)
	}
	if !strings.Contains(dl.LastError, "500") {
		t.Errorf("lastError %q does not say what the endpoint answered", dl.LastError)
	}

	// The receiver is fixed; the replay delivers the same event again.
	rc.down.Store(false)
	resp, raw := c.Do(t, "POST", "/deadLetters/"+dl.ID+":replay"+nativeVersion, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("replay: %d %s", resp.StatusCode, raw)
	}
	d := rc.waitEvent(t, identity.EventIdentityCreated, id)
	if got := d.event(t).ID; got != eventID {
		t.Fatalf("replay delivered event %s, want the dead-lettered %s", got, eventID)
	}
	if !webhook.Verify(secret, d.body, d.header.Get(webhook.SignatureHeader), time.Now(), 5*time.Minute) {
		t.Error("the replayed delivery's signature does not verify")
	}
	dls := deadLetters(t, c)
	if len(dls) != 1 || dls[0].ReplayedOn == nil {
		t.Fatalf("after replay: %+v, want replayedOn set", dls)
	}
	if at, err := time.Parse(time.RFC3339Nano, *dls[0].ReplayedOn); err != nil || time.Since(at) > time.Minute {
		t.Errorf("replayedOn %q is not a recent time (%v)", *dls[0].ReplayedOn, err)
	}

	if resp, raw := c.Do(t, "POST", "/deadLetters/no-such-letter:replay"+nativeVersion, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("replay of an unknown dead letter: %d %s, want 404", resp.StatusCode, raw)
	}
	// A dead letter outlives its subscription, but cannot be replayed to it.
	if resp, _ := c.Do(t, "DELETE", "/eventSubscriptions/"+subID+nativeVersion, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete subscription: %d", resp.StatusCode)
	}
	if resp, raw := c.Do(t, "POST", "/deadLetters/"+dl.ID+":replay"+nativeVersion, nil); resp.StatusCode != http.StatusConflict || errorCode(t, raw) != "SubscriptionDeleted" {
		t.Errorf("replay to a deleted subscription: %d %s, want 409 SubscriptionDeleted", resp.StatusCode, raw)
	}
}

// TestDeleteDropsQueuedDeliveries: deliveries waiting for a retry go with
// their subscription, neither delivered nor dead-lettered.
func TestDeleteDropsQueuedDeliveries(t *testing.T) {
	s := switchboardtest.Start(t)
	c := s.Client(t)
	rc := newReceiver(t)
	rc.down.Store(true)
	subID, _ := subscribe(t, c, map[string]any{"endpoint": rc.URL, "maxDeliveryAttempts": 30,
		"includedEventTypes": []string{identity.EventIdentityCreated}})
	createIdentity(t, c)
	switchboardtest.Eventually(t, waitFor, func() error {
		if n := len(rc.deliveries()); n < 2 {
			return fmt.Errorf("%d attempts so far", n)
		}
		return nil
	})
	if resp, raw := c.Do(t, "DELETE", "/eventSubscriptions/"+subID+nativeVersion, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete subscription: %d %s", resp.StatusCode, raw)
	}
	// At most the attempt already under way when the delete landed.
	n := len(rc.deliveries())
	rc.down.Store(false)
	quiesce(t, s)
	if got := len(rc.deliveries()); got > n+1 {
		t.Errorf("%d attempts after the subscription was deleted", got-n)
	}
	if dls := deadLetters(t, c); len(dls) != 0 {
		t.Errorf("deliveries of a deleted subscription were dead-lettered: %+v", dls)
	}
	if resp, _ := c.Do(t, "GET", "/eventSubscriptions/"+subID+nativeVersion, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted subscription still readable: %d", resp.StatusCode)
	}
}

// ---------------------------------------------------------------------------
// Tenant walls.

func TestTenantWalls(t *testing.T) {
	s := switchboardtest.Start(t)
	ctx := context.Background()
	ca := s.Client(t)
	other, key, err := s.App.Tenants.Create(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	cb := s.ClientFor(t, app.ConnectionString(s.App.Endpoint(), key))
	// The node's key ring learns the new key on the first signature it
	// cannot match (at most once a second).
	switchboardtest.Eventually(t, waitFor, func() error {
		if resp, raw := cb.Do(t, "GET", "/eventSubscriptions"+nativeVersion, nil); resp.StatusCode != http.StatusOK {
			return fmt.Errorf("tenant B's key: %d %s", resp.StatusCode, raw)
		}
		return nil
	})

	ra, rb := newReceiver(t), newReceiver(t)
	subA, _ := subscribe(t, ca, map[string]any{"name": "a", "endpoint": ra.URL})
	subB, _ := subscribe(t, cb, map[string]any{"name": "b", "endpoint": rb.URL})

	idA, idB := createIdentity(t, ca), createIdentity(t, cb)
	ra.waitEvent(t, identity.EventIdentityCreated, idA)
	rb.waitEvent(t, identity.EventIdentityCreated, idB)
	quiesce(t, s)
	for _, x := range []struct {
		name string
		rc   *receiver
		id   string
		t    tenant.ID
	}{{"A", ra, idA, s.Demo.Tenant.ID}, {"B", rb, idB, other.ID}} {
		got := x.rc.deliveries()
		if len(got) != 1 {
			t.Errorf("tenant %s's receiver got %d deliveries, want only its own one", x.name, len(got))
		}
		for _, d := range got {
			if e := d.event(t); e.RawID != x.id || e.Source != webhook.Topic(x.t) {
				t.Errorf("tenant %s's receiver got identity %s of topic %s", x.name, e.RawID, e.Source)
			}
		}
	}

	// B sees none of A's subscriptions, and A none of B's.
	if ids := listIDs(t, cb, "/eventSubscriptions"); !slices.Equal(ids, []string{subB}) {
		t.Errorf("tenant B lists %v, want only [%s]", ids, subB)
	}
	if ids := listIDs(t, ca, "/eventSubscriptions"); !slices.Equal(ids, []string{subA}) {
		t.Errorf("tenant A lists %v, want only [%s]", ids, subA)
	}
	path := "/eventSubscriptions/" + subA + nativeVersion
	if resp, raw := cb.Do(t, "GET", path, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("B read A's subscription: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := cb.Do(t, "DELETE", path, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("B deleted A's subscription: %d %s", resp.StatusCode, raw)
	}
	// PATCH is a merge-patch upsert and subscription ids are the tenant's
	// own: a conditional update finds nothing of B's by that id (412, as
	// for any id B does not have), and an unconditional one creates B's own
	// subscription under the same id, leaving A's as it was.
	req := cb.Request("PATCH", path, map[string]any{"name": "hijacked"})
	req.Header.Set("If-Match", `"1"`)
	if resp, raw := cb.Send(t, req); resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("B's conditional PATCH of A's subscription: %d %s, want 412", resp.StatusCode, raw)
	}
	resp, raw := cb.Do(t, "PATCH", path, map[string]any{"name": "b-twin", "endpoint": rb.URL})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("B's upsert of an id A also uses: %d %s, want 201 (B's own subscription)", resp.StatusCode, raw)
	}
	resp, raw = ca.Do(t, "GET", path, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("A's subscription after B's attempts: %d %s", resp.StatusCode, raw)
	}
	if m := switchboardtest.JSON(t, raw); m["name"] != "a" || m["endpoint"] != ra.URL || m["etag"] != `"1"` {
		t.Errorf("B changed A's subscription: %s", raw)
	}
	if ids := listIDs(t, ca, "/eventSubscriptions"); !slices.Equal(ids, []string{subA}) {
		t.Errorf("after B's upsert A lists %v, want only [%s]", ids, subA)
	}
	// Two subscriptions with one id, one per tenant: each tenant's events
	// reach its own only (rb now has two subscriptions of B's).
	idA2, idB2 := createIdentity(t, ca), createIdentity(t, cb)
	ra.waitEvent(t, identity.EventIdentityCreated, idA2)
	rb.waitEvent(t, identity.EventIdentityCreated, idB2)
	quiesce(t, s)
	if n := len(ra.deliveries()); n != 2 {
		t.Errorf("tenant A's receiver got %d deliveries, want 2", n)
	}
	if n := len(rb.deliveries()); n != 3 {
		t.Errorf("tenant B's receiver got %d deliveries, want 3 (one, then one per subscription)", n)
	}
	for name, x := range map[string]struct {
		rc *receiver
		t  tenant.ID
	}{"A": {ra, s.Demo.Tenant.ID}, "B": {rb, other.ID}} {
		for _, d := range x.rc.deliveries() {
			if e := d.event(t); e.Source != webhook.Topic(x.t) {
				t.Errorf("tenant %s's receiver got identity %s of topic %s", name, e.RawID, e.Source)
			}
		}
	}
	if resp, _ := cb.Do(t, "DELETE", path, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("B deleting its own subscription: %d", resp.StatusCode)
	}
	if resp, _ := ca.Do(t, "GET", path, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("B deleting its own subscription took A's: %d", resp.StatusCode)
	}

	// Dead letters are walled too.
	ra.down.Store(true)
	resp, raw = ca.Do(t, "PATCH", path, map[string]any{"maxDeliveryAttempts": 1})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("A lowers its attempts: %d %s", resp.StatusCode, raw)
	}
	idA3 := createIdentity(t, ca)
	var dlA string
	switchboardtest.Eventually(t, waitFor, func() error {
		for _, dl := range deadLetters(t, ca) {
			if dl.Subject == "identities/"+idA3 {
				dlA = dl.ID
				return nil
			}
		}
		return errors.New("A's delivery not dead-lettered yet")
	})
	if dls := deadLetters(t, cb); len(dls) != 0 {
		t.Errorf("B lists A's dead letters: %+v", dls)
	}
	if resp, raw := cb.Do(t, "POST", "/deadLetters/"+dlA+":replay"+nativeVersion, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("B replayed A's dead letter: %d %s", resp.StatusCode, raw)
	}
}

// ---------------------------------------------------------------------------
// Unit tests: envelopes, signatures, the outbound guard.

func TestEnvelopeShapes(t *testing.T) {
	at := time.Date(2026, 11, 1, 8, 30, 0, 123456789, time.FixedZone("WIB", 7*3600))
	e := event.Event{ID: "ev-1", Tenant: "t-1", Type: "Switchboard.IdentityCreated", Subject: "identities/x",
		Time: at, DataVersion: "1.0", Data: json.RawMessage(`{"k":"v"}`)}

	body, ct := webhook.Envelope(webhook.SchemaEventGrid, e)
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
		t.Errorf("Event Grid content type %q", ct)
	}
	want := `[{"id":"ev-1","topic":"` + webhook.Topic("t-1") + `","subject":"identities/x","data":{"k":"v"},` +
		`"eventType":"Switchboard.IdentityCreated","dataVersion":"1.0","metadataVersion":"1","eventTime":"2026-11-01T01:30:00.123456789Z"}]`
	if string(body) != want {
		t.Errorf("Event Grid envelope\n got %s\nwant %s", body, want)
	}

	body, ct = webhook.Envelope(webhook.SchemaCloudEvents, e)
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/cloudevents+json" {
		t.Errorf("CloudEvents content type %q", ct)
	}
	want = `{"id":"ev-1","source":"` + webhook.Topic("t-1") + `","subject":"identities/x","type":"Switchboard.IdentityCreated",` +
		`"time":"2026-11-01T01:30:00.123456789Z","specversion":"1.0","datacontenttype":"application/json","data":{"k":"v"}}`
	if string(body) != want {
		t.Errorf("CloudEvents envelope\n got %s\nwant %s", body, want)
	}

	// No data still yields valid JSON with an object for data.
	e.Data = nil
	for _, schema := range []webhook.Schema{webhook.SchemaEventGrid, webhook.SchemaCloudEvents} {
		body, _ := webhook.Envelope(schema, e)
		if !json.Valid(body) || !strings.Contains(string(body), `"data":{}`) {
			t.Errorf("%s envelope of an event without data: %s", schema, body)
		}
	}
	if got := webhook.Topic("t-1"); !strings.Contains(got, "t-1") || !strings.HasPrefix(got, "/") {
		t.Errorf("topic %q does not name the tenant", got)
	}
}

func TestSignAndVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`[{"id":"1"}]`)
	now := time.Unix(1_800_000_000, 0)
	const tol = 5 * time.Minute
	sig := webhook.Sign(secret, body, now)
	if !strings.HasPrefix(sig, "t=1800000000,v1=") {
		t.Fatalf("signature header %q, want t=<unix>,v1=<hex>", sig)
	}
	if !webhook.Verify(secret, body, sig, now, tol) {
		t.Fatal("a fresh signature does not verify")
	}
	if !webhook.Verify(secret, body, sig, now.Add(tol-time.Second), tol) {
		t.Error("a signature within the tolerance is rejected")
	}
	// Receivers may see the parts in another order or spaced out.
	ts, v1, _ := strings.Cut(sig, ",")
	if !webhook.Verify(secret, body, v1+", "+ts, now, tol) {
		t.Error("a signature with its parts reordered is rejected")
	}

	for name, c := range map[string]struct {
		secret, body []byte
		header       string
		now          time.Time
	}{
		"tampered body":        {secret, []byte(`[{"id":"2"}]`), sig, now},
		"body with extra byte": {secret, append(append([]byte{}, body...), '\n'), sig, now},
		"other secret":         {[]byte("another secret"), body, sig, now},
		"old timestamp":        {secret, body, sig, now.Add(tol + time.Second)},
		"future timestamp":     {secret, body, sig, now.Add(-tol - time.Second)},
		"replayed old header":  {secret, body, webhook.Sign(secret, body, now.Add(-time.Hour)), now},
		"timestamp swapped":    {secret, body, "t=1800000001," + v1, now},
		"empty header":         {secret, body, "", now},
		"no v1":                {secret, body, ts, now},
		"no t":                 {secret, body, v1, now},
		"non-hex signature":    {secret, body, ts + ",v1=zz", now},
		"non-numeric t":        {secret, body, "t=soon," + v1, now},
		"truncated signature":  {secret, body, sig[:len(sig)-2], now},
	} {
		if webhook.Verify(c.secret, c.body, c.header, c.now, tol) {
			t.Errorf("%s: Verify accepted %q", name, c.header)
		}
	}
}

func TestNetguardAllowed(t *testing.T) {
	refusedByDefault := []string{
		"127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", // loopback, also IPv4-mapped
		"10.0.0.1", "172.16.0.1", "192.168.1.1", "fc00::1", "fd00:ec2::254", // private, AWS IPv6 metadata
		"169.254.169.254", "fe80::1", // link-local, cloud metadata
		"100.64.0.1", "100.100.100.200", // carrier NAT, Alibaba metadata
		"0.0.0.0", "::", "224.0.0.1", "ff02::1", // unspecified, multicast
	}
	for _, s := range refusedByDefault {
		if (netguard.Config{}).Allowed(netip.MustParseAddr(s)) {
			t.Errorf("%s allowed by default", s)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"} {
		if !(netguard.Config{}).Allowed(netip.MustParseAddr(s)) {
			t.Errorf("public %s refused", s)
		}
	}
	loop := netguard.Config{AllowLoopback: true}
	if !loop.Allowed(netip.MustParseAddr("127.0.0.1")) || !loop.Allowed(netip.MustParseAddr("::1")) {
		t.Error("AllowLoopback does not allow loopback")
	}
	if loop.Allowed(netip.MustParseAddr("10.0.0.1")) || loop.Allowed(netip.MustParseAddr("169.254.169.254")) {
		t.Error("AllowLoopback also allows private addresses")
	}
	priv := netguard.Config{AllowPrivate: true}
	if !priv.Allowed(netip.MustParseAddr("192.168.1.1")) || priv.Allowed(netip.MustParseAddr("127.0.0.1")) {
		t.Error("AllowPrivate must allow private and only private")
	}
}

func TestNetguardClient(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	// The check runs after name resolution: "localhost" is loopback too.
	for _, u := range []string{srv.URL, localhost} {
		resp, err := netguard.Config{}.Client().Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s succeeded with loopback refused", u)
		} else if !errors.Is(err, netguard.ErrRefused) {
			t.Errorf("GET %s: %v, want ErrRefused", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatal("a refused request reached the server")
	}
	resp, err := netguard.Config{AllowLoopback: true}.Client().Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with loopback allowed: %v", err)
	}
	resp.Body.Close()

	// Redirects are dialled through the same check: from an allowed
	// address into a refused range (the metadata service, a private
	// network) fails before any connection is made.
	for _, target := range []string{"http://169.254.169.254/latest/meta-data/", "http://10.255.255.1/"} {
		redirector := httptest.NewServer(http.RedirectHandler(target, http.StatusFound))
		resp, err := netguard.Config{AllowLoopback: true}.Client().Get(redirector.URL)
		redirector.Close()
		if err == nil {
			resp.Body.Close()
			t.Errorf("redirect to %s followed", target)
		} else if !errors.Is(err, netguard.ErrRefused) {
			t.Errorf("redirect to %s: %v, want ErrRefused", target, err)
		}
	}
}

// TestWebhookToLoopbackRefused runs a node as operators do by default:
// loopback not allowed. A subscription to 127.0.0.1 fails validation and the
// receiver never hears from the server.
func TestWebhookToLoopbackRefused(t *testing.T) {
	s := switchboardtest.Start(t, switchboardtest.WithConfig(func(c *config.Config) { c.Outbound.AllowLoopback = false }))
	c := s.Client(t)
	rc := newReceiver(t)
	for _, endpoint := range []string{rc.URL, strings.Replace(rc.URL, "127.0.0.1", "localhost", 1)} {
		for _, schema := range []string{"EventGridSchema", "CloudEventSchemaV1_0"} {
			resp, raw := c.Do(t, "POST", "/eventSubscriptions"+nativeVersion, map[string]any{"endpoint": endpoint, "eventDeliverySchema": schema})
			if resp.StatusCode != http.StatusBadRequest || errorCode(t, raw) != "EndpointValidationFailed" {
				t.Errorf("%s subscription to %s: %d %s, want 400 EndpointValidationFailed", schema, endpoint, resp.StatusCode, raw)
			}
		}
	}
	if n := rc.handshakeCount() + len(rc.deliveries()); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
	if ids := listIDs(t, c, "/eventSubscriptions"); len(ids) != 0 {
		t.Fatalf("refused subscriptions were stored: %v", ids)
	}
}
