package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboard-cc/switchboard/internal/api"
	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// In a cluster one node runs each tenant's router. The contact center runs
// on every node (it follows the shared event stream), so its router calls
// go to that node: locally when this node holds the tenant, otherwise as
// the Job Router REST calls the owner already serves for forwarded
// requests, made on the tenant's behalf.

type clusterRouter struct {
	local  *routing.Service
	owners *routerOwners
}

const routerAPI = "?api-version=2023-11-01"

// remote reports whether another node runs the tenant's router.
func (c clusterRouter) remote(ctx context.Context) (bool, error) {
	mine, err := c.owners.Local(ctx, tenant.MustFrom(ctx))
	return !mine, err
}

// call sends one Job Router request to the owner and decodes its answer
// into out; an error answer becomes the error the local router would give.
func (c clusterRouter) call(ctx context.Context, method, path string, body, out any) error {
	var raw []byte
	header := http.Header{}
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
		header.Set("Content-Type", "application/json")
		if method == http.MethodPatch {
			header.Set("Content-Type", "application/merge-patch+json")
		}
	}
	t := tenant.MustFrom(ctx)
	resp, err := c.owners.Forward(ctx, t, api.ForwardedRequest{Method: method, URL: path, Host: "node", Header: header, Body: raw, Tenant: t})
	if err != nil {
		return errs.Wrap(err, errs.KindUnavailable, "RouterUnavailable", "the node that runs this tenant's router did not answer")
	}
	if resp.Status >= 400 {
		return routerError(resp)
	}
	if out == nil || len(resp.Body) == 0 {
		return nil
	}
	return json.Unmarshal(resp.Body, out)
}

// routerError rebuilds the error the owner answered with: its kind from the
// status, its code from the Job Router error body (the specific code in
// details when there is one).
func routerError(resp api.ForwardedResponse) error {
	var body struct {
		CommunicationError struct {
			Code, Message string
			Details       []struct{ Code, Message string }
		} `json:"communicationError"`
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(resp.Body, &body)
	code, msg := body.CommunicationError.Code, body.CommunicationError.Message
	if len(body.CommunicationError.Details) > 0 {
		code, msg = body.CommunicationError.Details[0].Code, body.CommunicationError.Details[0].Message
	}
	if code == "" {
		code, msg = body.Error.Code, body.Error.Message
	}
	kind := errs.KindInternal
	switch resp.Status {
	case http.StatusBadRequest:
		kind = errs.KindInvalid
	case http.StatusNotFound:
		kind = errs.KindNotFound
	case http.StatusConflict:
		kind = errs.KindConflict
	case http.StatusPreconditionFailed:
		kind = errs.KindPreconditionFailed
	case http.StatusTooManyRequests:
		kind = errs.KindRateLimited
	case http.StatusServiceUnavailable:
		kind = errs.KindUnavailable
	}
	return errs.New(kind, code, "%s", msg)
}

func esc(s string) string { return url.PathEscape(s) }

func (c clusterRouter) UpsertJob(ctx context.Context, id string, patch map[string]any, ifMatch int64) (*routing.Job, bool, error) {
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return nil, false, err
		}
		return c.local.UpsertJob(ctx, id, patch, ifMatch)
	}
	var j routing.Job
	return &j, false, c.call(ctx, http.MethodPatch, "/routing/jobs/"+esc(id)+routerAPI, patch, &j)
}

func (c clusterRouter) GetJob(ctx context.Context, id string) (*routing.Job, error) {
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return nil, err
		}
		return c.local.GetJob(ctx, id)
	}
	var j routing.Job
	return &j, c.call(ctx, http.MethodGet, "/routing/jobs/"+esc(id)+routerAPI, nil, &j)
}

func (c clusterRouter) JobPosition(ctx context.Context, id string) (routing.Position, error) {
	var p routing.Position
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return p, err
		}
		return c.local.JobPosition(ctx, id)
	}
	return p, c.call(ctx, http.MethodGet, "/routing/jobs/"+esc(id)+"/position"+routerAPI, nil, &p)
}

func (c clusterRouter) CancelJob(ctx context.Context, id, note, disposition string) error {
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return err
		}
		return c.local.CancelJob(ctx, id, note, disposition)
	}
	return c.call(ctx, http.MethodPost, "/routing/jobs/"+esc(id)+":cancel"+routerAPI, map[string]any{"note": note, "dispositionCode": disposition}, nil)
}

func (c clusterRouter) AcceptOffer(ctx context.Context, worker, offer string) (string, string, error) {
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return "", "", err
		}
		return c.local.AcceptOffer(ctx, worker, offer)
	}
	var out struct{ AssignmentID, JobID string }
	err := c.call(ctx, http.MethodPost, "/routing/workers/"+esc(worker)+"/offers/"+esc(offer)+":accept"+routerAPI, nil, &out)
	return out.AssignmentID, out.JobID, err
}

func (c clusterRouter) DeclineOffer(ctx context.Context, worker, offer string, retryAt time.Time) error {
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return err
		}
		return c.local.DeclineOffer(ctx, worker, offer, retryAt)
	}
	body := map[string]any{}
	if !retryAt.IsZero() {
		body["retryOfferAt"] = retryAt.UTC().Format(time.RFC3339Nano)
	}
	return c.call(ctx, http.MethodPost, "/routing/workers/"+esc(worker)+"/offers/"+esc(offer)+":decline"+routerAPI, body, nil)
}

func (c clusterRouter) CompleteJob(ctx context.Context, id, assignment, note string) error {
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return err
		}
		return c.local.CompleteJob(ctx, id, assignment, note)
	}
	return c.call(ctx, http.MethodPost, "/routing/jobs/"+esc(id)+"/assignments/"+esc(assignment)+":complete"+routerAPI, map[string]any{"note": note}, nil)
}

func (c clusterRouter) CloseJob(ctx context.Context, id, assignment, disposition, note string, closeAt time.Time) error {
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return err
		}
		return c.local.CloseJob(ctx, id, assignment, disposition, note, closeAt)
	}
	body := map[string]any{"dispositionCode": disposition, "note": note}
	if !closeAt.IsZero() {
		body["closeAt"] = closeAt.UTC().Format(time.RFC3339Nano)
	}
	return c.call(ctx, http.MethodPost, "/routing/jobs/"+esc(id)+"/assignments/"+esc(assignment)+":close"+routerAPI, body, nil)
}

func (c clusterRouter) UnassignJob(ctx context.Context, id, assignment string, suspend bool) (int, error) {
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return 0, err
		}
		return c.local.UnassignJob(ctx, id, assignment, suspend)
	}
	var out struct {
		UnassignmentCount int `json:"unassignmentCount"`
	}
	err := c.call(ctx, http.MethodPost, "/routing/jobs/"+esc(id)+"/assignments/"+esc(assignment)+":unassign"+routerAPI, map[string]any{"suspendMatching": suspend}, &out)
	return out.UnassignmentCount, err
}

// entity reads a configuration document the owner answered with.
func entity(id string, raw json.RawMessage) routing.Entity {
	return routing.Entity{ID: id, Doc: raw}
}

func (c clusterRouter) Upsert(ctx context.Context, kind routing.Kind, id string, patch map[string]any, ifMatch int64) (routing.Entity, bool, error) {
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return routing.Entity{}, false, err
		}
		return c.local.Upsert(ctx, kind, id, patch, ifMatch)
	}
	var raw json.RawMessage
	err := c.call(ctx, http.MethodPatch, "/routing/"+string(kind)+"/"+esc(id)+routerAPI, patch, &raw)
	return entity(id, raw), false, err
}

func (c clusterRouter) Get(ctx context.Context, kind routing.Kind, id string) (routing.Entity, error) {
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return routing.Entity{}, err
		}
		return c.local.Get(ctx, kind, id)
	}
	var raw json.RawMessage
	err := c.call(ctx, http.MethodGet, "/routing/"+string(kind)+"/"+esc(id)+routerAPI, nil, &raw)
	return entity(id, raw), err
}

// List answers the whole collection at the first call (the owner pages it
// by continuation token, not by id) and nothing after it.
func (c clusterRouter) List(ctx context.Context, kind routing.Kind, after string, limit int) ([]routing.Entity, error) {
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return nil, err
		}
		return c.local.List(ctx, kind, after, limit)
	}
	if after != "" {
		return nil, nil
	}
	var out []routing.Entity
	next := "/routing/" + string(kind) + routerAPI + "&maxpagesize=500"
	for next != "" {
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink *string           `json:"nextLink"`
		}
		if err := c.call(ctx, http.MethodGet, next, nil, &page); err != nil {
			return nil, err
		}
		for _, raw := range page.Value {
			var id struct{ ID string }
			_ = json.Unmarshal(raw, &id)
			out = append(out, entity(id.ID, raw))
		}
		next = ""
		if page.NextLink != nil && *page.NextLink != "" {
			u, err := url.Parse(*page.NextLink)
			if err != nil {
				return nil, fmt.Errorf("routing: next link %q: %w", *page.NextLink, err)
			}
			next = u.RequestURI()
		}
	}
	return out, nil
}

func (c clusterRouter) QueueStatistics(ctx context.Context, id string) (routing.QueueStatistics, error) {
	var st routing.QueueStatistics
	if far, err := c.remote(ctx); err != nil || !far {
		if err != nil {
			return st, err
		}
		return c.local.QueueStatistics(ctx, id)
	}
	return st, c.call(ctx, http.MethodGet, "/routing/queues/"+esc(id)+"/statistics"+routerAPI, nil, &st)
}
