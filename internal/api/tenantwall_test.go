package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-cc/switchboard/internal/app"
	"github.com/switchboard-cc/switchboard/internal/event"
	"github.com/switchboard-cc/switchboard/internal/identity"
	"github.com/switchboard-cc/switchboard/internal/store/storetest"
	"github.com/switchboard-cc/switchboard/internal/switchboardtest"
	"github.com/switchboard-cc/switchboard/internal/tenant"
	"github.com/switchboard-cc/switchboard/internal/webhook"
)

// wallCase says how to aim a route that names a resource at another
// tenant's resource. Every route of the API with a path id must have one:
// TestTenantWall fails for a route it does not know.
type wallCase struct {
	resource string // identity, user, subscription, deadLetter, contact, thread, message
	body     any
	// user routes take only a user access token: tenant B's user aims them
	// at tenant A's thread.
	user bool
	// visitor user routes are a web chat customer's: the user caller is
	// B's customer (its visitor token) rather than B's identity.
	visitor bool
	// agent routes take only a logged-in person (the agent desktop): B's
	// key is turned away, and B's admin, who is also B's agent, and B's
	// plain agent aim them at A's engagements and offers.
	agent bool
	// supervisor routes are agent routes a plain agent is refused whatever
	// the id (TestSupervisorRoutesRefuseAgents); B's admin aims them.
	supervisor bool
	// upsert routes create the resource when the caller has none by that id;
	// for them the wall means: the other tenant's resource is untouched and
	// the answer is the same as for an id nobody uses.
	upsert bool
	// upsertBody is what the caller sends to create its own (default: a
	// subscription's).
	upsertBody func(b *side, hookURL string) any
}

var wallCases = map[string]wallCase{
	"GET /identities/{id}":                      {resource: "identity"},
	"DELETE /identities/{id}":                   {resource: "identity"},
	"POST /identities/{id}/:revokeAccessTokens": {resource: "identity"},
	"POST /identities/{id}/:issueAccessToken":   {resource: "identity", body: map[string]any{"scopes": []string{"chat"}}},
	"GET /users/{id}":                           {resource: "user"},
	"PATCH /users/{id}":                         {resource: "user", body: map[string]any{"displayName": "Taken over", "role": "agent"}},
	"DELETE /users/{id}":                        {resource: "user"},
	"GET /eventSubscriptions/{id}":              {resource: "subscription"},
	"PATCH /eventSubscriptions/{id}":            {resource: "subscription", upsert: true},
	"DELETE /eventSubscriptions/{id}":           {resource: "subscription"},
	"POST /deadLetters/{id}:replay":             {resource: "deadLetter"},

	"GET /contacts/{id}":               {resource: "contact"},
	"PATCH /contacts/{id}":             {resource: "contact", body: map[string]any{"displayName": "Taken over"}},
	"DELETE /contacts/{id}":            {resource: "contact"},
	"POST /contacts/{id}/handles":      {resource: "contact", body: map[string]any{"kind": "external", "value": "stolen"}},
	"GET /contacts/{id}/conversations": {resource: "contact"},
	"POST /contacts/{id}:merge":        {resource: "contact", body: map[string]any{"sourceId": "set per side"}},

	"GET /chat/threads/{thread}":                       {resource: "thread", user: true},
	"PATCH /chat/threads/{thread}":                     {resource: "thread", user: true, body: map[string]any{"topic": "Taken over"}},
	"DELETE /chat/threads/{thread}":                    {resource: "thread", user: true},
	"POST /chat/threads/{thread}/messages":             {resource: "thread", user: true, body: map[string]any{"content": "injected"}},
	"GET /chat/threads/{thread}/messages":              {resource: "thread", user: true},
	"GET /chat/threads/{thread}/participants":          {resource: "thread", user: true},
	"POST /chat/threads/{thread}/participants/:add":    {resource: "thread", user: true, body: map[string]any{"participants": "set per side"}},
	"POST /chat/threads/{thread}/participants/:remove": {resource: "thread", user: true, body: "set per side"},
	"POST /chat/threads/{thread}/readReceipts":         {resource: "thread", user: true, body: "set per side"},
	"GET /chat/threads/{thread}/readReceipts":          {resource: "thread", user: true},
	"POST /chat/threads/{thread}/typing":               {resource: "thread", user: true, body: map[string]any{"senderDisplayName": "Eve"}},
	"POST /chat/threads/{thread}/attachments":          {resource: "thread", user: true, body: pngBytes},
	"GET /chat/threads/{thread}/messages/{message}":    {resource: "message", user: true},
	"PATCH /chat/threads/{thread}/messages/{message}":  {resource: "message", user: true, body: map[string]any{"content": "rewritten"}},
	"DELETE /chat/threads/{thread}/messages/{message}": {resource: "message", user: true},

	"GET /routing/distributionPolicies/{id}":      {resource: "distributionPolicy"},
	"PATCH /routing/distributionPolicies/{id}":    {resource: "distributionPolicy", upsert: true, upsertBody: distributionBody},
	"DELETE /routing/distributionPolicies/{id}":   {resource: "distributionPolicy"},
	"GET /routing/exceptionPolicies/{id}":         {resource: "exceptionPolicy"},
	"PATCH /routing/exceptionPolicies/{id}":       {resource: "exceptionPolicy", upsert: true, upsertBody: exceptionBody},
	"DELETE /routing/exceptionPolicies/{id}":      {resource: "exceptionPolicy"},
	"GET /routing/classificationPolicies/{id}":    {resource: "classificationPolicy"},
	"PATCH /routing/classificationPolicies/{id}":  {resource: "classificationPolicy", upsert: true, upsertBody: classificationBody},
	"DELETE /routing/classificationPolicies/{id}": {resource: "classificationPolicy"},
	"GET /routing/queues/{id}":                    {resource: "queue"},
	"PATCH /routing/queues/{id}":                  {resource: "queue", upsert: true, upsertBody: queueBody},
	"DELETE /routing/queues/{id}":                 {resource: "queue"},
	"GET /routing/workers/{id}":                   {resource: "worker"},
	"PATCH /routing/workers/{id}":                 {resource: "worker", upsert: true, upsertBody: workerBody},
	"DELETE /routing/workers/{id}":                {resource: "worker"},

	"PATCH /routing/jobs/{job}":                                  {resource: "job", upsert: true, upsertBody: jobBody},
	"GET /routing/jobs/{job}":                                    {resource: "job"},
	"DELETE /routing/jobs/{job}":                                 {resource: "job"},
	"GET /routing/jobs/{job}/position":                           {resource: "job"},
	"POST /routing/jobs/{job}:cancel":                            {resource: "job", body: map[string]any{"note": "cancelled by B"}},
	"POST /routing/jobs/{job}:reclassify":                        {resource: "job", body: map[string]any{}},
	"POST /routing/jobs/{job}/assignments/{assignment}:complete": {resource: "assignment", body: map[string]any{"note": "B"}},
	"POST /routing/jobs/{job}/assignments/{assignment}:close":    {resource: "assignment", body: map[string]any{"dispositionCode": "B"}},
	"POST /routing/jobs/{job}/assignments/{assignment}:unassign": {resource: "assignment", body: map[string]any{}},
	"POST /routing/workers/{worker}/offers/{offer}:accept":       {resource: "offer"},
	"POST /routing/workers/{worker}/offers/{offer}:decline":      {resource: "offer", body: map[string]any{}},
	"GET /routing/queues/{queue}/statistics":                     {resource: "queueStatistics"},

	"GET /bots/{bot}":      {resource: "bot"},
	"PATCH /bots/{bot}":    {resource: "bot", upsert: true, upsertBody: botBody},
	"DELETE /bots/{bot}":   {resource: "bot"},
	"PUT /bots/{bot}/flow": {resource: "bot", body: wallFlowJSON},
	"GET /bots/{bot}/flow": {resource: "bot"},

	"GET /engagements/{engagement}":            {resource: "engagement", agent: true},
	"POST /engagements/{engagement}:end":       {resource: "assignedEngagement", agent: true},
	"POST /engagements/{engagement}:wrapUp":    {resource: "assignedEngagement", agent: true, body: map[string]any{"dispositionCode": "resolved", "notes": "wrapped up by B"}},
	"POST /engagements/{engagement}:leave":     {resource: "assignedEngagement", user: true, visitor: true},
	"POST /engagements/{engagement}:rate":      {resource: "endedEngagement", user: true, visitor: true, body: map[string]any{"rating": 1, "comment": "rated by B"}},
	"POST /agent/offers/{offer}:accept":        {resource: "agentOffer", agent: true},
	"GET /engagements/{engagement}/messages":   {resource: "assignedEngagement", agent: true},
	"GET /engagements/{engagement}/history":    {resource: "assignedEngagement", agent: true},
	"GET /engagements/{engagement}/notes":      {resource: "assignedEngagement", agent: true},
	"POST /engagements/{engagement}/notes":     {resource: "assignedEngagement", agent: true, body: map[string]any{"content": "whispered by B"}},
	"POST /engagements/{engagement}:transfer":  {resource: "assignedEngagement", agent: true, body: map[string]any{"queueId": "b-queue"}},
	"POST /engagements/{engagement}:monitor":   {resource: "assignedEngagement", agent: true, supervisor: true},
	"POST /engagements/{engagement}:unmonitor": {resource: "assignedEngagement", agent: true, supervisor: true},
	"POST /engagements/{engagement}:barge":     {resource: "assignedEngagement", agent: true, supervisor: true},
	"POST /agent/offers/{offer}:decline":       {resource: "agentOffer", agent: true},
}

func jobBody(b *side, _ string) any {
	return map[string]any{"channelId": "voice", "queueId": b.ids["queue"]}
}

func workerBody(b *side, _ string) any {
	return map[string]any{"capacity": 10, "queues": []string{b.ids["queue"]}, "availableForOffers": true}
}

func distributionBody(*side, string) any {
	// Offers outlive the test: an expiry would change A's snapshot.
	return map[string]any{"name": "B's own", "offerExpiresAfterSeconds": 86400, "mode": map[string]any{"kind": "longestIdle"}}
}

func exceptionBody(*side, string) any {
	return map[string]any{"name": "B's own", "exceptionRules": []any{map[string]any{"id": "r1", "trigger": map[string]any{"kind": "waitTime", "thresholdSeconds": 60},
		"actions": []any{map[string]any{"kind": "cancel"}}}}}
}

func classificationBody(b *side, _ string) any {
	return map[string]any{"name": "B's own", "fallbackQueueId": b.ids["queue"]}
}

func queueBody(b *side, _ string) any {
	return map[string]any{"name": "B's own", "distributionPolicyId": b.ids["distributionPolicy"]}
}

// pngBytes is an attachment body: sent raw as image/png.
var pngBytes = []byte("\x89PNG\r\n\x1a\n0000")

// publicRoutes name a tenant or carry their own proof instead of an id
// the caller's credentials scope; the subtests named here prove their wall.
var publicRoutes = map[string]string{
	"GET /webchat/{tenant}/config":                                                      "public widget settings by tenant name; see \"web chat sessions stay in their tenant\"",
	"POST /webchat/{tenant}/sessions":                                                   "creates a visitor of the named tenant; see \"web chat sessions stay in their tenant\"",
	"GET /files/{tenant}/{file}":                                                        "signed links; see \"file links are bound to their tenant and file\"",
	"POST /botapi/{tenant}/{bot}/v3/conversations/{conversation}/activities":            "a bot's own secret; see \"bots answer in their own tenant's conversations only\"",
	"POST /botapi/{tenant}/{bot}/v3/conversations/{conversation}/activities/{activity}": "a bot's own secret; see \"bots answer in their own tenant's conversations only\"",
}

// listCases are the collection routes; each must show a tenant only its own
// items. GET routes without an id must be here or in notLists.
var listCases = map[string]string{
	"GET /routing/distributionPolicies":   "distributionPolicy",
	"GET /routing/exceptionPolicies":      "exceptionPolicy",
	"GET /routing/classificationPolicies": "classificationPolicy",
	"GET /routing/queues":                 "queue",
	"GET /routing/workers":                "worker",
	"GET /routing/jobs":                   "job",
	"GET /contacts":                       "contact",
	"GET /users":                          "user",
	"GET /eventSubscriptions":             "subscription",
	"GET /deadLetters":                    "deadLetter",
	"GET /chat/threads":                   "thread",
	"GET /bots":                           "bot",
	"GET /engagements":                    "engagement",
}

var notLists = map[string]string{
	"GET /me":               "describes the caller's own token",
	"GET /auth/session":     "describes the caller's own session",
	"GET /webchat/settings": "the caller's own tenant's settings",
	"GET /retentionPolicy":  "the caller's own tenant's policy",
	// agentDesktopWall proves these show nothing of another tenant.
	"GET /agent/offers":      "the offers the calling agent holds",
	"GET /agent/engagements": "the calling agent's engagements",
	// positionWall proves another tenant's thread is as unknown as an
	// unused one.
	"GET /webchat/position": "the calling customer's own place in the queue",
	"GET /desk/settings":    "the caller's own tenant's settings",
	"GET /agent/colleagues": "the caller's own tenant's staff; see the colleagues check in engagements_test.go",
	"GET /agent/queues":     "the caller's own tenant's queues; built from tenant-scoped lists",
	"GET /wallboard":        "the caller's own tenant's queues; built from tenant-scoped lists",
}

// hookServer answers Event Grid and CloudEvents validation and accepts
// every delivery.
func hookServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			w.Header().Set("WebHook-Allowed-Origin", "*")
			return
		}
		var evs []struct {
			EventType string `json:"eventType"`
			Data      struct {
				ValidationCode string `json:"validationCode"`
			} `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&evs)
		if len(evs) == 1 && evs[0].EventType == "Microsoft.EventGrid.SubscriptionValidationEvent" {
			_ = json.NewEncoder(w).Encode(map[string]string{"validationResponse": evs[0].Data.ValidationCode})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// side is one tenant's view: its signed client, an admin session, and one
// resource of each kind; for the contact center (see openContactCenter) a
// plain agent's session and its web chat customers.
type side struct {
	name     string
	tenant   tenant.ID
	c        *switchboardtest.Client
	admin    *session
	ids      map[string]string
	token    string
	agent    *session
	visitors map[string]visitor
}

func makeSide(t *testing.T, s *switchboardtest.Server, name string, c *switchboardtest.Client, tn tenant.ID, adminPassword, hookURL string) *side {
	t.Helper()
	ctx := context.Background()
	sd := &side{name: name, tenant: tn, c: c, ids: map[string]string{}}
	if name != "demo" {
		if _, err := s.App.People.Create(tenant.With(ctx, tn), identity.NewPerson{Username: "admin", Role: identity.RoleAdmin, Password: adminPassword}); err != nil {
			t.Fatal(err)
		}
	}
	sd.admin = loginAt(t, &http.Client{Timeout: 30 * time.Second}, s.HTTPURL, name, "admin", adminPassword)
	sd.ids["identity"], sd.token = createIdentity(t, c)
	sd.ids["user"] = createUser(t, c, name+"-agent", "agent", "long-enough-1")["id"].(string)
	subID := name + "-sub-" + uuid.NewString()[:8]
	resp, body := c.Do(t, "PATCH", "/eventSubscriptions/"+subID+nv, map[string]any{"endpoint": hookURL, "name": name + " hook", "includedEventTypes": []string{"Switchboard.Nothing"}})
	wantStatus(t, resp, body, http.StatusCreated)
	sd.ids["subscription"] = subID
	dl := webhook.DeadLetter{ID: webhook.DeadLetterID(uuid.NewString()), Tenant: tn, Subscription: webhook.SubscriptionID(subID),
		Event:    event.Event{ID: uuid.NewString(), Tenant: tn, Type: "Switchboard.Test", Subject: "wall", Time: time.Now().UTC(), DataVersion: "1.0", Data: json.RawMessage(`{"n":1}`)},
		Attempts: 1, LastError: "test", CreatedAt: time.Now().UTC()}
	if err := s.App.Store.AddDeadLetter(ctx, dl); err != nil {
		t.Fatal(err)
	}
	sd.ids["deadLetter"] = string(dl.ID)

	// A conversation: a thread owned by the side's identity, a message, a
	// read receipt and an attachment; and a contact.
	resp, body = sd.bearer(t, s, "POST", "/chat/threads"+chatv, map[string]any{"topic": name + " thread"})
	wantStatus(t, resp, body, http.StatusCreated)
	sd.ids["thread"] = switchboardtest.JSON(t, body)["chatThread"].(map[string]any)["id"].(string)
	resp, body = sd.bearer(t, s, "POST", "/chat/threads/"+url.PathEscape(sd.ids["thread"])+"/messages"+chatv, map[string]any{"content": name + " says hi"})
	wantStatus(t, resp, body, http.StatusCreated)
	sd.ids["message"] = switchboardtest.JSON(t, body)["id"].(string)
	resp, body = sd.bearer(t, s, "POST", "/chat/threads/"+url.PathEscape(sd.ids["thread"])+"/readReceipts"+chatv, map[string]any{"chatMessageId": sd.ids["message"]})
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = sd.bearer(t, s, "POST", "/chat/threads/"+url.PathEscape(sd.ids["thread"])+"/attachments"+nv+"&name=a.png", sideFile(name))
	wantStatus(t, resp, body, http.StatusCreated)
	sd.ids["fileURL"] = switchboardtest.JSON(t, body)["url"].(string)
	resp, body = c.Do(t, "POST", "/contacts"+nv, map[string]any{"displayName": name + " customer", "handles": []map[string]string{{"kind": "external", "value": name + "-crm-1"}}})
	wantStatus(t, resp, body, http.StatusCreated)
	sd.ids["contact"] = switchboardtest.JSON(t, body)["id"].(string)

	// Job router configuration: one of each, the queue and the
	// classification policy referring to the others.
	rv := "?api-version=2023-11-01"
	for _, e := range []struct{ kind, res, id string }{
		{"distributionPolicies", "distributionPolicy", name + "-dp"}, {"exceptionPolicies", "exceptionPolicy", name + "-ep"},
		{"queues", "queue", name + "-q"}, {"classificationPolicies", "classificationPolicy", name + "-cp"}, {"workers", "worker", name + "-w"},
	} {
		var b any
		switch e.res {
		case "distributionPolicy":
			b = distributionBody(sd, "")
		case "exceptionPolicy":
			b = exceptionBody(sd, "")
		case "queue":
			b = map[string]any{"distributionPolicyId": sd.ids["distributionPolicy"], "exceptionPolicyId": sd.ids["exceptionPolicy"]}
		case "classificationPolicy":
			b = classificationBody(sd, "")
		case "worker":
			b = workerBody(sd, "")
		}
		req := c.Request("PATCH", "/routing/"+e.kind+"/"+e.id+rv, b)
		req.Header.Set("Content-Type", "application/merge-patch+json")
		resp, body := c.Send(t, req)
		wantStatus(t, resp, body, http.StatusCreated)
		sd.ids[e.res] = e.id
	}
	// Jobs: one waiting (no worker takes voice), one offered to a worker
	// and not answered, one accepted.
	put := func(path string, body any) []byte {
		req := c.Request("PATCH", path+rv, body)
		req.Header.Set("Content-Type", "application/merge-patch+json")
		resp, raw := c.Send(t, req)
		wantStatus(t, resp, raw, http.StatusCreated)
		return raw
	}
	for _, ch := range []string{"offered", "assigned"} {
		put("/routing/workers/"+name+"-"+ch, map[string]any{"capacity": 1, "queues": []string{sd.ids["queue"]}, "availableForOffers": true,
			"channels": []any{map[string]any{"channelId": ch, "capacityCostPerJob": 1}}})
		put("/routing/jobs/"+name+"-"+ch+"-job", map[string]any{"channelId": ch, "queueId": sd.ids["queue"]})
		resp, raw := c.Do(t, "GET", "/routing/workers/"+name+"-"+ch+rv, nil)
		wantStatus(t, resp, raw, http.StatusOK)
		var w struct{ Offers []struct{ OfferID string } }
		_ = json.Unmarshal(raw, &w)
		if len(w.Offers) != 1 {
			t.Fatalf("%s's %s worker has offers %s", name, ch, raw)
		}
		sd.ids[ch+"Worker"], sd.ids[ch+"Offer"] = name+"-"+ch, w.Offers[0].OfferID
	}
	sd.ids["job"] = name + "-job"
	put("/routing/jobs/"+sd.ids["job"], map[string]any{"channelId": "voice", "queueId": sd.ids["queue"]})
	resp, body = c.Do(t, "POST", "/routing/workers/"+sd.ids["assignedWorker"]+"/offers/"+sd.ids["assignedOffer"]+":accept"+rv, nil)
	wantStatus(t, resp, body, http.StatusOK)
	sd.ids["assignedJob"], sd.ids["assignment"] = name+"-assigned-job", switchboardtest.JSON(t, body)["assignmentId"].(string)
	sd.ids["offerWorker"], sd.ids["offer"] = sd.ids["offeredWorker"], sd.ids["offeredOffer"]
	sd.ids["queueStatistics"] = sd.ids["queue"]
	sd.openContactCenter(t, s)
	return sd
}

// bearer calls the API as the side's identity; a []byte body goes raw as
// image/png (attachments).
func (sd *side) bearer(t *testing.T, s *switchboardtest.Server, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	req := newRequest(t, method, s.HTTPURL+path, body)
	if _, raw := body.([]byte); raw {
		req.Header.Set("Content-Type", "image/png")
	}
	req.Header.Set("Authorization", "Bearer "+sd.token)
	for _, m := range mods {
		m(req)
	}
	return send(t, http.DefaultClient, req)
}

// snapshot is what a tenant sees of its own resources; a cross-tenant call
// must not change it.
func (sd *side) snapshot(t *testing.T, s *switchboardtest.Server) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{
		"/identities/" + escape(sd.ids["identity"]) + idv,
		"/users/" + sd.ids["user"] + nv,
		"/eventSubscriptions/" + sd.ids["subscription"] + nv,
		"/deadLetters" + nv,
	} {
		resp, body := sd.c.Do(t, "GET", p, nil)
		wantStatus(t, resp, body, 200)
		b.Write(body)
	}
	th := "/chat/threads/" + url.PathEscape(sd.ids["thread"])
	for _, p := range []string{th + chatv, th + "/messages" + chatv, th + "/participants" + chatv, th + "/readReceipts" + chatv} {
		resp, body := sd.bearer(t, s, "GET", p, nil)
		wantStatus(t, resp, body, 200)
		b.Write(stripVolatile(body))
	}
	resp, body := sd.c.Do(t, "GET", "/contacts/"+sd.ids["contact"]+nv, nil)
	wantStatus(t, resp, body, 200)
	b.Write(body)
	for _, kr := range [][2]string{{"distributionPolicies", "distributionPolicy"}, {"exceptionPolicies", "exceptionPolicy"}, {"queues", "queue"}, {"classificationPolicies", "classificationPolicy"}, {"workers", "worker"},
		{"jobs", "job"}, {"jobs", "assignedJob"}, {"jobs", "offered-job"}, {"workers", "offerWorker"}, {"workers", "assignedWorker"}} {
		if kr[1] == "offered-job" {
			kr[1] = "offeredJob"
			sd.ids["offeredJob"] = sd.ids["offerWorker"] + "-job"
		}
		resp, body := sd.c.Do(t, "GET", "/routing/"+kr[0]+"/"+sd.ids[kr[1]]+"?api-version=2023-11-01", nil)
		wantStatus(t, resp, body, 200)
		b.Write(body)
	}
	resp, body = send(t, http.DefaultClient, newRequest(t, "GET", sd.ids["fileURL"], nil))
	wantStatus(t, resp, body, 200)
	b.Write(body)
	b.WriteString(sd.centerSnapshot(t))
	// The identity's token still works: it was neither revoked nor deleted.
	req := newRequest(t, "GET", s.HTTPURL+"/me"+nv, nil)
	req.Header.Set("Authorization", "Bearer "+sd.token)
	resp, body = send(t, http.DefaultClient, req)
	wantStatus(t, resp, body, 200)
	b.Write(body)
	return b.String()
}

// stripVolatile drops signed links (fresh signatures each time) from a
// snapshot.
func stripVolatile(body []byte) []byte {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return body
	}
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			for k, val := range x {
				if k == "url" || k == "previewUrl" {
					delete(x, k)
					continue
				}
				x[k] = walk(val)
			}
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		}
		return x
	}
	out, _ := json.Marshal(walk(v))
	return out
}

// pathFor fills a route's ids.
func pathFor(route string, ids map[string]string) string {
	r := strings.NewReplacer("{id}", escape(ids["id"]), "{thread}", url.PathEscape(ids["thread"]), "{message}", ids["message"],
		"{job}", ids["job"], "{assignment}", ids["assignment"], "{worker}", ids["worker"], "{offer}", url.PathEscape(ids["offer"]), "{queue}", ids["queue"],
		"{bot}", url.PathEscape(ids["bot"]), "{engagement}", url.PathEscape(ids["engagement"]))
	return r.Replace(route)
}

// idsFor names the resource of a side (or unused ones) in a route.
func idsFor(resource string, ids map[string]string) map[string]string {
	switch resource {
	case "thread":
		return map[string]string{"thread": ids["thread"]}
	case "message":
		return map[string]string{"thread": ids["thread"], "message": ids["message"]}
	case "job":
		return map[string]string{"job": ids["job"]}
	case "assignment":
		return map[string]string{"job": or(ids["assignedJob"], ids["assignment"]), "assignment": ids["assignment"]}
	case "offer":
		return map[string]string{"worker": or(ids["offerWorker"], ids["offer"]), "offer": ids["offer"]}
	case "queueStatistics":
		return map[string]string{"queue": ids["queueStatistics"]}
	case "bot":
		return map[string]string{"bot": ids["bot"]}
	case "engagement", "assignedEngagement", "endedEngagement":
		return map[string]string{"engagement": ids[resource]}
	case "agentOffer":
		return map[string]string{"offer": ids["agentOffer"]}
	}
	return map[string]string{"id": ids[resource]}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func versionFor(path string) string {
	switch {
	case strings.HasPrefix(path, "/identities"):
		return idv
	case strings.HasPrefix(path, "/routing/"):
		return "?api-version=2023-11-01"
	case strings.HasSuffix(path, "/attachments"):
		return nv + "&name=a.png"
	case strings.HasPrefix(path, "/chat/"):
		return chatv
	}
	return nv
}

func TestTenantWall(t *testing.T) { testTenantWall(t) }

// The same wall on PostgreSQL, whose schema and migrations are separate.
func TestTenantWallPostgres(t *testing.T) {
	testTenantWall(t, switchboardtest.WithPostgres(storetest.FreshPostgres(t)))
}

func testTenantWall(t *testing.T, opts ...switchboardtest.Option) {
	s := switchboardtest.Start(t, opts...)
	ctx := context.Background()
	hook := hookServer(t)

	// Every route with a path id, and every list, is covered.
	routes := map[string]bool{}
	for _, rt := range s.App.API.Routes() {
		key := rt.Method + " " + rt.Path
		routes[key] = true
		if _, ok := publicRoutes[key]; ok {
			continue
		}
		if strings.Contains(rt.Path, "{") {
			if _, ok := wallCases[key]; !ok {
				t.Errorf("route %s takes an id but has no tenant-wall case: add it to wallCases", key)
			}
		} else if rt.Method == "GET" {
			_, list := listCases[key]
			_, other := notLists[key]
			if !list && !other {
				t.Errorf("GET route %s has no tenant-wall list case: add it to listCases or notLists", key)
			}
		}
	}
	for key := range wallCases {
		if !routes[key] {
			t.Errorf("wallCases names %s, which is not a route", key)
		}
	}
	for key := range listCases {
		if !routes[key] {
			t.Errorf("listCases names %s, which is not a route", key)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	a := makeSide(t, s, "demo", s.Client(t), s.Demo.Tenant.ID, "demo-admin-1", hook.URL)
	bt, bk, err := s.App.Tenants.Create(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	b := makeSide(t, s, "other", s.ClientFor(t, app.ConnectionString(s.App.Endpoint(), bk)), bt.ID, "other-admin-1", hook.URL)
	aBefore := a.snapshot(t, s)

	// Tenant B aims every id route at tenant A's resources, signed with its
	// key and through its admin session. The answer must be the one for an
	// id nobody has, and never touch A's resource.
	type caller struct {
		name string
		do   func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte)
	}
	callers := []caller{
		{"hmac", func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
			var raw []byte
			if body != nil {
				raw, _ = json.Marshal(body)
			}
			req, _ := http.NewRequest(method, b.c.Base+path, bytes.NewReader(raw))
			if raw != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			for _, m := range mods {
				m(req)
			}
			b.c.Sign(req, raw)
			return b.c.Send(t, req)
		}},
		{"session", func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
			return b.admin.do(t, method, path, body, mods...)
		}},
		{"user", func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
			return b.bearer(t, s, method, path, body, mods...)
		}},
		{"agent", func(t *testing.T, method, path string, body any, mods ...func(*http.Request)) (*http.Response, []byte) {
			return b.agent.do(t, method, path, body, mods...)
		}},
	}
	bWrong := wrongCredentials(b)
	// Bodies that name the other side's things.
	sideBody := func(key string, body any) any {
		switch key {
		case "POST /chat/threads/{thread}/participants/:add":
			return map[string]any{"participants": []any{map[string]any{"communicationIdentifier": map[string]any{"rawId": b.ids["identity"]}}}}
		case "POST /chat/threads/{thread}/participants/:remove":
			return map[string]any{"rawId": a.ids["identity"]}
		case "POST /chat/threads/{thread}/readReceipts":
			return map[string]any{"chatMessageId": a.ids["message"]}
		case "POST /contacts/{id}:merge":
			return map[string]any{"sourceId": b.ids["contact"]}
		}
		return body
	}
	keys := make([]string, 0, len(wallCases))
	for k := range wallCases {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		wc := wallCases[key]
		method, route, _ := strings.Cut(key, " ")
		for _, cl := range callers {
			if cl.name == "session" && (strings.HasPrefix(route, "/identities") || (strings.HasPrefix(route, "/routing/") && !routerConfig(route))) {
				continue // the Identity API and Job Router jobs and offers take only access keys
			}
			if cl.name == "user" && !wc.user {
				continue // user tokens open chat only; see "user tokens stay in their tenant"
			}
			if cl.name == "agent" && (!wc.agent || wc.supervisor) {
				continue // a plain agent's session opens the desktop only
			}
			do := cl.do
			if cl.name == "user" && wc.visitor {
				do = b.visitorCall(s, "ended")
			}
			t.Run(key+"/"+cl.name, func(t *testing.T) {
				body := sideBody(key, wc.body)
				if wc.upsert {
					body = map[string]any{"endpoint": hook.URL, "name": "B's own"}
					if wc.upsertBody != nil {
						body = wc.upsertBody(b, hook.URL)
					}
				}
				theirs := pathFor(route, idsFor(wc.resource, a.ids)) + versionFor(route)
				unused := map[string]string{}
				for _, r := range []string{"thread", "message", wc.resource} {
					unused[r] = unusedID(r, b.tenant)
				}
				nobodys := pathFor(route, idsFor(wc.resource, unused)) + versionFor(route)
				if (wc.user && cl.name != "user") || (wc.agent && cl.name == "hmac") {
					// Chat takes only user tokens: B's key and admin session
					// are turned away, at A's thread as at B's own; the agent
					// desktop takes only a session, and turns B's key away.
					for _, p := range []string{theirs, pathFor(route, idsFor(wc.resource, b.ids)) + versionFor(route)} {
						wantTurnedAway(t, bWrong[cl.name], method, p, body)
					}
				} else if wc.upsert {
					// A conditional update of A's subscription fails exactly as
					// for an id nobody has.
					r1, b1 := do(t, method, theirs, body, withHeader("If-Match", `"1"`))
					r2, b2 := do(t, method, nobodys, body, withHeader("If-Match", `"1"`))
					e1 := wantAnyError(t, route, r1, b1, http.StatusPreconditionFailed, "")
					e2 := wantAnyError(t, route, r2, b2, http.StatusPreconditionFailed, "")
					if e1.Error.Code != e2.Error.Code {
						t.Fatalf("A's id answers %s, an unused id %s", e1.Error.Code, e2.Error.Code)
					}
					// An unconditional upsert creates B's own subscription.
					r1, b1 = do(t, method, theirs, body)
					wantStatus(t, r1, b1, http.StatusCreated)
					// B's own: named so, or (workers have no name) serving B's queue.
					if m := switchboardtest.JSON(t, b1); m["name"] != "B's own" && !strings.Contains(string(b1), `"queues":["`+b.ids["queue"]+`"]`) && m["queueId"] != b.ids["queue"] {
						t.Fatalf("B's upsert answered %s", b1)
					}
					resp, got := b.c.Do(t, "DELETE", theirs, nil)
					wantStatus(t, resp, got, http.StatusNoContent)
				} else {
					wantLikeUnused(t, route, do, method, theirs, nobodys, body, a)
					if wc.resource == "message" {
						// A's message id names nothing in B's own thread either.
						own := func(message string) string {
							return pathFor(route, map[string]string{"thread": b.ids["thread"], "message": message}) + versionFor(route)
						}
						wantLikeUnused(t, route, do, method, own(a.ids["message"]), own(unused["message"]), body, a)
					}
				}
				if got := a.snapshot(t, s); got != aBefore {
					t.Fatalf("tenant B changed tenant A's resources:\nbefore %s\nafter  %s", aBefore, got)
				}
			})
		}
	}

	// Lists show each tenant its own items only, on every page, whichever
	// cursor is presented.
	for route, res := range listCases {
		path := strings.TrimPrefix(route, "GET ")
		for _, sd := range []*side{a, b} {
			other := a
			if sd == a {
				other = b
			}
			t.Run("list "+path+"/"+sd.name, func(t *testing.T) {
				// A cursor naming the other tenant's item only moves the
				// start within this tenant's own items.
				fromTheirs := "&continuationToken=" + theirCursor(res, other)
				for _, q := range []string{"", "&maxpagesize=1", fromTheirs} {
					next := path + versionFor(path) + q
					var seen []string
					for next != "" {
						resp, body := sd.page(t, s, next)
						wantStatus(t, resp, body, 200)
						for _, theirs := range append(other.listed(res), string(other.tenant)) {
							if strings.Contains(string(body), theirs) {
								t.Fatalf("%s's list shows %s's items: %s", sd.name, other.name, body)
							}
						}
						var page struct {
							Value    []map[string]any `json:"value"`
							NextLink *string          `json:"nextLink"`
						}
						_ = json.Unmarshal(body, &page)
						for _, v := range page.Value {
							seen = append(seen, v["id"].(string))
						}
						next = ""
						if page.NextLink != nil {
							next = pathOf(t, *page.NextLink)
						}
					}
					if q != fromTheirs && !slices.Contains(seen, sd.ids[res]) {
						t.Fatalf("%s's list lacks its own %s %s (saw %v)", sd.name, res, sd.ids[res], seen)
					}
				}
				// The session view agrees (the Job Router takes access keys
				// only; chat, user tokens only; engagements, sessions only).
				if strings.HasPrefix(path, "/routing/") {
					return
				}
				if sessionOnly(path) {
					wantTurnedAway(t, wrongCredentials(sd)["hmac"], "GET", path+versionFor(path), nil)
					return
				}
				if strings.HasPrefix(path, "/chat/") {
					for _, do := range wrongCredentials(sd) {
						wantTurnedAway(t, do, "GET", path+versionFor(path), nil)
					}
					return
				}
				resp, body := sd.admin.do(t, "GET", path+nv, nil)
				wantStatus(t, resp, body, 200)
				if strings.Contains(string(body), other.ids[res]) {
					t.Fatalf("%s's session list shows %s's items", sd.name, other.name)
				}
			})
		}
	}

	t.Run("agent desktops show their own tenant's work only", func(t *testing.T) { agentDesktopWall(t, a, b) })

	t.Run("a waiting customer's place stays in its tenant", func(t *testing.T) { positionWall(t, s, a, b) })
	t.Run("bots answer in their own tenant's conversations only", func(t *testing.T) { botAPIWall(t, s, a, b, aBefore) })

	t.Run("user tokens stay in their tenant", func(t *testing.T) {
		me := func(token string) (*http.Response, []byte) {
			req := newRequest(t, "GET", s.HTTPURL+"/me"+nv, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			return send(t, http.DefaultClient, req)
		}
		resp, body := me(a.token)
		wantStatus(t, resp, body, 200)
		if got := switchboardtest.JSON(t, body)["identity"].(map[string]any)["rawId"]; got != a.ids["identity"] {
			t.Fatalf("A's token is %v", got)
		}
		// Rewriting the token's tenant (resourceId) to B breaks its signature.
		parts := strings.Split(a.token, ".")
		claims, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		forged := strings.ReplaceAll(string(claims), string(a.tenant), string(b.tenant))
		if forged == string(claims) {
			t.Fatal("A's token does not name its tenant")
		}
		token := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
		resp, body = me(token)
		wantError(t, resp, body, http.StatusUnauthorized, "InvalidAccessToken")
		// A user token opens none of B's (or A's) admin routes.
		for _, p := range []string{"/users" + nv, "/eventSubscriptions" + nv, "/deadLetters" + nv, "/users/" + b.ids["user"] + nv} {
			req := newRequest(t, "GET", s.HTTPURL+p, nil)
			req.Header.Set("Authorization", "Bearer "+a.token)
			resp, body := send(t, http.DefaultClient, req)
			wantError(t, resp, body, http.StatusUnauthorized, "")
		}
		// A session of A cannot be used with B's resources either.
		resp, body = a.admin.do(t, "GET", "/users/"+b.ids["user"]+nv, nil)
		wantError(t, resp, body, http.StatusNotFound, "NotFound")
	})

	t.Run("chat participants stay in their tenant", func(t *testing.T) { chatParticipantWall(t, s, a, b) })

	t.Run("contacts merge only within their tenant", func(t *testing.T) {
		resp, body := b.c.Do(t, "POST", "/contacts/"+b.ids["contact"]+":merge"+nv, map[string]any{"sourceId": a.ids["contact"]})
		wantError(t, resp, body, http.StatusNotFound, "NotFound")
		// A's external id is free in B: handles are per tenant.
		resp, body = b.c.Do(t, "POST", "/contacts/"+b.ids["contact"]+"/handles"+nv, map[string]any{"kind": "external", "value": "demo-crm-1"})
		wantStatus(t, resp, body, http.StatusOK)
		resp, body = b.c.Do(t, "GET", "/contacts"+nv+"&q=demo", nil)
		wantStatus(t, resp, body, http.StatusOK)
		if strings.Contains(string(body), a.ids["contact"]) {
			t.Fatalf("B's search finds A's contact: %s", body)
		}
	})

	t.Run("file links are bound to their tenant and file", func(t *testing.T) { fileLinkWall(t, s, a, b) })

	t.Run("web chat sessions stay in their tenant", func(t *testing.T) {
		resp, body := send(t, http.DefaultClient, newRequest(t, "POST", s.HTTPURL+"/webchat/other/sessions"+nv, map[string]any{"displayName": "Visitor of B"}))
		wantStatus(t, resp, body, http.StatusCreated)
		v := switchboardtest.JSON(t, body)
		if tn, _ := identity.TenantOf(identity.UserID(v["identity"].(map[string]any)["rawId"].(string))); tn != b.tenant {
			t.Fatalf("a session at /webchat/other made an identity of %s", tn)
		}
		req := newRequest(t, "GET", s.HTTPURL+"/chat/threads/"+url.PathEscape(a.ids["thread"])+chatv, nil)
		req.Header.Set("Authorization", "Bearer "+v["token"].(string))
		resp, body = send(t, http.DefaultClient, req)
		wantError(t, resp, body, http.StatusNotFound, "NotFound")
		// B's resume key means nothing at A's widget.
		resp, body = send(t, http.DefaultClient, newRequest(t, "POST", s.HTTPURL+"/webchat/demo/sessions"+nv, map[string]any{"resumeKey": v["resumeKey"]}))
		wantError(t, resp, body, http.StatusUnauthorized, "InvalidResumeKey")
		resp, body = send(t, http.DefaultClient, newRequest(t, "GET", s.HTTPURL+"/webchat/other/config"+nv, nil))
		wantStatus(t, resp, body, http.StatusOK)
		if switchboardtest.JSON(t, body)["tenant"] != "other" {
			t.Fatalf("config of other: %s", body)
		}
	})

	t.Run("logins are per tenant", func(t *testing.T) {
		resp, body := send(t, http.DefaultClient, newRequest(t, "POST", s.HTTPURL+"/auth/login"+nv,
			map[string]string{"tenant": "other", "username": "demo-agent", "password": "long-enough-1"}))
		wantError(t, resp, body, http.StatusUnauthorized, "InvalidCredentials")
	})

	t.Run("repeatability ids are per tenant", func(t *testing.T) {
		key := uuid.NewString()
		first := time.Now().UTC().Format(http.TimeFormat)
		body := map[string]any{"createTokenWithScopes": []string{"chat"}}
		r1, b1 := a.c.Send(t, repeatable(a.c, "/identities"+idv, body, key, first))
		wantStatus(t, r1, b1, http.StatusCreated)
		r2, b2 := b.c.Send(t, repeatable(b.c, "/identities"+idv, body, key, first))
		wantStatus(t, r2, b2, http.StatusCreated)
		if bytes.Equal(b1, b2) {
			t.Fatal("tenant B was replayed tenant A's answer")
		}
		id := switchboardtest.JSON(t, b2)["identity"].(map[string]any)["id"].(string)
		if tn, _ := identity.TenantOf(identity.UserID(id)); tn != b.tenant {
			t.Fatalf("B's repeatable create made %s", id)
		}
	})

	if got := a.snapshot(t, s); got != aBefore {
		t.Fatalf("tenant A's resources changed:\nbefore %s\nafter  %s", aBefore, got)
	}
	if got := userCount(t, s, a.tenant); got != 5 {
		t.Fatalf("tenant A has %d users, want the 4 demo users and its agent", got)
	}
}

// unusedID is an id of the resource's form that nobody has.
func unusedID(resource string, tn tenant.ID) string {
	switch resource {
	case "identity":
		return string(identity.NewUserID(tn, uuid.NewString()))
	case "thread":
		return "19:" + strings.ReplaceAll(uuid.NewString(), "-", "") + "@thread.v2"
	case "message":
		// Message ids are creation times in milliseconds; a year ago
		// nobody wrote.
		return strconv.FormatInt(time.Now().AddDate(-1, 0, 0).UnixMilli(), 10)
	case "subscription":
		return "unused-" + uuid.NewString()[:8]
	}
	return uuid.NewString()
}

// wantAnyError is wantError for any route: the Job Router answers in its own
// envelope ({"communicationError": …}, target = the path), which is made
// comparable here by leaving the target out.
func wantAnyError(t *testing.T, route string, resp *http.Response, body []byte, status int, code string) apiError {
	t.Helper()
	if !strings.HasPrefix(route, "/routing/") {
		return wantError(t, resp, body, status, code)
	}
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	var env struct {
		CommunicationError struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"communicationError"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.CommunicationError.Code == "" {
		t.Fatalf("not a Job Router error body: %s", body)
	}
	if code != "" && env.CommunicationError.Code != code {
		t.Fatalf("error code %q, want %q: %s", env.CommunicationError.Code, code, body)
	}
	var e apiError
	e.Error.Code = env.CommunicationError.Code
	return e
}

// routerConfig tells the Job Router configuration routes, which an admin's
// session may call too (the admin pages).
func routerConfig(route string) bool {
	for _, kind := range []string{"distributionPolicies", "classificationPolicies", "exceptionPolicies", "queues", "workers"} {
		if rest, ok := strings.CutPrefix(route, "/routing/"+kind); ok && (rest == "" || rest == "/{id}") {
			return true
		}
	}
	return false
}
