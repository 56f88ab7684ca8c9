package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
)

const (
	acsVersion    = "?api-version=2023-10-01"
	nativeVersion = "?api-version=2026-11-01"
)

func escapeID(id string) string { return strings.ReplaceAll(id, ":", "%3A") }

// createIdentity creates an identity through c, with a token when scopes
// are given, and returns its id and token.
func createIdentity(t *testing.T, c *switchboardtest.Client, scopes ...string) (id, token string) {
	t.Helper()
	body := map[string]any{}
	if len(scopes) > 0 {
		body["createTokenWithScopes"] = scopes
	}
	resp, raw := c.Do(t, "POST", "/identities"+acsVersion, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create identity via %s: %d %s", c.Base, resp.StatusCode, raw)
	}
	m := switchboardtest.JSON(t, raw)
	id = m["identity"].(map[string]any)["id"].(string)
	if tok, ok := m["accessToken"].(map[string]any); ok {
		token = tok["token"].(string)
	}
	return id, token
}

// TestCluster runs two nodes on one PostgreSQL database and one external
// NATS (a namespace of their own) and checks that they act as one service.
func TestCluster(t *testing.T) {
	opts := switchboardtest.ClusterOptions(t)
	a := switchboardtest.Start(t, opts...)
	b := switchboardtest.Start(t, opts...)
	if a.Demo.Tenant.ID != b.Demo.Tenant.ID {
		t.Fatalf("the nodes made two demo tenants: %s and %s", a.Demo.Tenant.ID, b.Demo.Tenant.ID)
	}
	ca, cb := a.Client(t), b.Client(t)

	t.Run("IdentityCreatedOnAReadableOnB", func(t *testing.T) {
		id, _ := createIdentity(t, ca)
		resp, raw := cb.Do(t, "GET", "/identities/"+escapeID(id)+acsVersion, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("get through B: %d %s", resp.StatusCode, raw)
		}
		if got := switchboardtest.JSON(t, raw)["id"]; got != id {
			t.Fatalf("B returned id %v, want %s", got, id)
		}
	})

	t.Run("TokenRevokedOnBRefusedOnA", func(t *testing.T) {
		id, token := createIdentity(t, ca, "chat")
		me := func(s *switchboardtest.Server) int {
			req, err := http.NewRequest("GET", s.HTTPURL+"/me"+nativeVersion, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, _ := ca.Send(t, req)
			return resp.StatusCode
		}
		if got := me(a); got != http.StatusOK {
			t.Fatalf("fresh token on A: %d", got)
		}
		if got := me(b); got != http.StatusOK {
			t.Fatalf("token issued on A, used on B: %d", got)
		}
		if resp, raw := cb.Do(t, "POST", "/identities/"+escapeID(id)+"/:revokeAccessTokens"+acsVersion, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke through B: %d %s", resp.StatusCode, raw)
		}
		// At once: no polling. Revocation is read from the shared database.
		if got := me(a); got != http.StatusUnauthorized {
			t.Fatalf("token revoked on B still accepted on A: %d", got)
		}
		if got := me(b); got != http.StatusUnauthorized {
			t.Fatalf("token revoked on B still accepted on B: %d", got)
		}
	})

	t.Run("WebhookDeliveredOncePerEvent", func(t *testing.T) {
		// Let the events of the identities made above finish their fan-out
		// first: one fanned out after the subscription exists is (rightly)
		// delivered to it too, and this test counts only its own.
		waitEventsFannedOut(t, a)
		hook := newHookRecorder(t)
		resp, raw := cb.Do(t, "POST", "/eventSubscriptions"+nativeVersion, map[string]any{
			"name": "cluster", "endpoint": hook.URL, "includedEventTypes": []string{identity.EventIdentityCreated},
		})
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create subscription through B: %d %s", resp.StatusCode, raw)
		}
		// Identities made through both nodes; both relays and both
		// dispatchers are running.
		var ids []string
		for i := range 6 {
			c := ca
			if i%2 == 1 {
				c = cb
			}
			id, _ := createIdentity(t, c)
			ids = append(ids, id)
		}
		switchboardtest.Eventually(t, 20*time.Second, func() error {
			for _, id := range ids {
				if hook.eventFor(id) == "" {
					return fmt.Errorf("no IdentityCreated delivered for %s", id)
				}
			}
			return nil
		})
		// A duplicate would come from a second relay or dispatcher racing the
		// first. Wait until the pipeline is quiet — outbox empty, both
		// consumers with nothing pending or unacknowledged — then count.
		js := a.App.Bus.JetStream()
		switchboardtest.Eventually(t, 20*time.Second, func() error {
			if n, _, err := a.App.Store.OutboxLag(context.Background(), time.Now()); err != nil || n != 0 {
				return fmt.Errorf("outbox holds %d events (%v)", n, err)
			}
			for stream, durable := range map[string]string{
				a.App.Bus.EventsStream():   a.App.Bus.Durable("webhook-fanout"),
				a.App.Bus.WebhooksStream(): a.App.Bus.Durable("webhook-deliver"),
			} {
				c, err := js.Consumer(context.Background(), stream, durable)
				if err != nil {
					return err
				}
				info, err := c.Info(context.Background())
				if err != nil {
					return err
				}
				if info.NumPending != 0 || info.NumAckPending != 0 || info.NumRedelivered != 0 {
					return fmt.Errorf("%s: pending %d, unacknowledged %d", durable, info.NumPending, info.NumAckPending)
				}
			}
			return nil
		})
		hook.mu.Lock()
		defer hook.mu.Unlock()
		for evID, n := range hook.deliveries {
			if n != 1 {
				t.Errorf("event %s delivered %d times", evID, n)
			}
		}
		for _, id := range ids {
			if evs := hook.byUser[id]; len(evs) != 1 {
				t.Errorf("identity %s: IdentityCreated events %v, want exactly one", id, evs)
			}
		}
		for evType, n := range hook.types {
			if evType != identity.EventIdentityCreated {
				t.Errorf("%d deliveries of %s, which the subscription filters out", n, evType)
			}
		}
	})

	t.Run("DispatchersShareDurableConsumers", func(t *testing.T) {
		ctx := context.Background()
		bus := a.App.Bus
		if ns := a.Config.NATSNamespace; bus.Namespace() != ns || bus.EventsStream() != strings.ToUpper(ns)+"_EVENTS" ||
			bus.WebhooksStream() != strings.ToUpper(ns)+"_WEBHOOKS" || bus.EventsPrefix() != ns+".evt." {
			t.Fatalf("bus names %s %s %s %s are not in the test's namespace %s", bus.Namespace(), bus.EventsStream(), bus.WebhooksStream(), bus.EventsPrefix(), ns)
		}
		// Every durable is one per cluster, whatever the number of nodes:
		// the webhook fan-out and the contact center on the events, the
		// deliveries on the webhooks.
		want := map[string][]string{
			bus.EventsStream():   {bus.Durable("engagements"), bus.Durable("webhook-fanout")},
			bus.WebhooksStream(): {bus.Durable("webhook-deliver")},
		}
		for _, stream := range []string{bus.EventsStream(), bus.WebhooksStream()} {
			st, err := bus.JetStream().Stream(ctx, stream)
			if err != nil {
				t.Fatalf("stream %s: %v", stream, err)
			}
			var names []string
			lister := st.ListConsumers(ctx)
			for ci := range lister.Info() {
				// Each node also follows the events with an ephemeral ordered
				// consumer (real-time delivery); only durables are shared.
				if ci.Config.Durable != "" {
					names = append(names, ci.Name)
				}
				if !strings.HasPrefix(ci.Name, bus.Namespace()+"-") {
					t.Errorf("consumer %s on %s is not named in namespace %s", ci.Name, stream, bus.Namespace())
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, want[stream]) {
				t.Fatalf("stream %s has consumers %v, want %v: both nodes must share each durable", stream, names, want[stream])
			}
			// Each node keeps a pull request waiting on each shared durable.
			for _, name := range names {
				switchboardtest.Eventually(t, 10*time.Second, func() error {
					c, err := st.Consumer(ctx, name)
					if err != nil {
						return err
					}
					if n := c.CachedInfo().NumWaiting; n < 2 {
						return fmt.Errorf("consumer %s has %d waiting pull requests, want one per node", name, n)
					}
					return nil
				})
			}
		}
	})

	t.Run("TenantCreatedInStoreUsableOnBoth", func(t *testing.T) {
		ctx := context.Background()
		// What `switchboard tenant create` does: the store alone, no node.
		st, err := app.OpenStore(ctx, a.Config)
		if err != nil {
			t.Fatal(err)
		}
		tn, key, err := identity.NewTenants(st, st).Create(ctx, "cluster-tenant")
		_ = st.DB().Close()
		if err != nil {
			t.Fatal(err)
		}
		cs := app.ConnectionString(a.App.Endpoint(), key)
		na, nb := a.ClientFor(t, cs), b.ClientFor(t, cs)
		// Nodes learn of new keys within a second (their key rings reload at
		// most once a second when a signature matches nothing).
		var id string
		switchboardtest.Eventually(t, 10*time.Second, func() error {
			resp, raw := na.Do(t, "POST", "/identities"+acsVersion, map[string]any{})
			if resp.StatusCode != http.StatusCreated {
				return fmt.Errorf("create through A: %d %s", resp.StatusCode, raw)
			}
			id = switchboardtest.JSON(t, raw)["identity"].(map[string]any)["id"].(string)
			return nil
		})
		if got, ok := identity.TenantOf(identity.UserID(id)); !ok || got != tn.ID {
			t.Fatalf("identity %s is not of tenant %s", id, tn.ID)
		}
		switchboardtest.Eventually(t, 10*time.Second, func() error {
			resp, raw := nb.Do(t, "GET", "/identities/"+escapeID(id)+acsVersion, nil)
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("get through B: %d %s", resp.StatusCode, raw)
			}
			return nil
		})
		// The demo tenant, on either node, does not see it.
		if resp, raw := cb.Do(t, "GET", "/identities/"+escapeID(id)+acsVersion, nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("another tenant read the identity through B: %d %s", resp.StatusCode, raw)
		}
	})
}

// hookRecorder is a webhook endpoint that answers the Event Grid validation
// handshake and counts deliveries per event id.
type hookRecorder struct {
	*httptest.Server
	mu         sync.Mutex
	deliveries map[string]int      // event id → deliveries
	byUser     map[string][]string // identity id → event ids
	types      map[string]int
}

func newHookRecorder(t *testing.T) *hookRecorder {
	h := &hookRecorder{deliveries: map[string]int{}, byUser: map[string][]string{}, types: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var events []struct {
			ID        string `json:"id"`
			EventType string `json:"eventType"`
			Data      struct {
				ValidationCode string `json:"validationCode"`
				Identity       struct {
					RawID string `json:"rawId"`
				} `json:"identity"`
			} `json:"data"`
		}
		if err := json.Unmarshal(raw, &events); err != nil || len(events) != 1 {
			http.Error(w, "want an Event Grid array of one event", http.StatusBadRequest)
			return
		}
		e := events[0]
		if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
			_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": e.Data.ValidationCode})
			return
		}
		h.mu.Lock()
		h.deliveries[e.ID]++
		h.types[e.EventType]++
		if u := e.Data.Identity.RawID; u != "" && !slices.Contains(h.byUser[u], e.ID) {
			h.byUser[u] = append(h.byUser[u], e.ID)
		}
		h.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookRecorder) eventFor(userID string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if evs := h.byUser[userID]; len(evs) > 0 {
		return evs[0]
	}
	return ""
}

// waitEventsFannedOut waits until every committed event has been relayed
// and fanned out: the outbox is empty and the fan-out consumer has nothing
// pending or unacknowledged.
func waitEventsFannedOut(t *testing.T, s *switchboardtest.Server) {
	t.Helper()
	ctx := context.Background()
	bus := s.App.Bus
	st, err := bus.JetStream().Stream(ctx, bus.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	switchboardtest.Eventually(t, 20*time.Second, func() error {
		if n, _, err := s.App.Store.OutboxLag(ctx, time.Now()); err != nil || n != 0 {
			return fmt.Errorf("outbox holds %d events (%v)", n, err)
		}
		for ci := range st.ListConsumers(ctx).Info() {
			if ci.NumPending != 0 || ci.NumAckPending != 0 {
				return fmt.Errorf("consumer %s: %d pending, %d unacknowledged", ci.Name, ci.NumPending, ci.NumAckPending)
			}
		}
		return nil
	})
}
