package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/switchboard-cc/switchboard/internal/api"
	"github.com/switchboard-cc/switchboard/internal/bus"
	"github.com/switchboard-cc/switchboard/internal/routing"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// routerLeaseTTL is how long a dead node keeps its tenants' routers before
// another node takes them.
const routerLeaseTTL = 10 * time.Second

// routerOwners runs each tenant's router on one node of a cluster: the
// first node asked takes a lease on the tenant, the others forward the
// tenant's routing requests to it over NATS.
type routerOwners struct {
	bus    *bus.Bus
	leases *bus.Leases
	sub    *nats.Subscription
}

func (o *routerOwners) subject(node string) string { return o.bus.Namespace() + ".router." + node }

func startRouterOwners(ctx context.Context, b *bus.Bus, router *routing.Service, serve func(context.Context, api.ForwardedRequest) api.ForwardedResponse) (*routerOwners, error) {
	o := &routerOwners{bus: b}
	var err error
	o.leases, err = b.Leases(ctx, "routing-owners", uuid.NewString(), routerLeaseTTL, func(key string) {
		// Another node may run this tenant's router now: forget ours.
		router.Drop(tenant.ID(key))
	})
	if err != nil {
		return nil, err
	}
	o.sub, err = b.Conn().Subscribe(o.subject(o.leases.Node()), func(m *nats.Msg) {
		var req api.ForwardedRequest
		if err := json.Unmarshal(m.Data, &req); err != nil {
			slog.Warn("routing: malformed forwarded request", "err", err)
			return
		}
		// Each request on its own goroutine: the router groups concurrent
		// calls into one commit.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			raw, _ := json.Marshal(serve(ctx, req))
			_ = m.Respond(raw)
		}()
	})
	if err != nil {
		o.leases.Stop(ctx)
		return nil, fmt.Errorf("routing: subscribe for forwarded requests: %w", err)
	}
	return o, nil
}

func (o *routerOwners) Local(ctx context.Context, t tenant.ID) (bool, error) {
	_, mine, err := o.leases.Acquire(ctx, string(t))
	return mine, err
}

func (o *routerOwners) Forward(ctx context.Context, t tenant.ID, req api.ForwardedRequest) (api.ForwardedResponse, error) {
	holder, mine, err := o.leases.Acquire(ctx, string(t))
	if err != nil {
		return api.ForwardedResponse{}, err
	}
	if mine {
		return api.ForwardedResponse{}, fmt.Errorf("routing: tenant %s is local now", t)
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return api.ForwardedResponse{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	m, err := o.bus.Conn().RequestWithContext(ctx, o.subject(holder), raw)
	if err != nil {
		return api.ForwardedResponse{}, fmt.Errorf("routing: node %s: %w", holder, err)
	}
	var resp api.ForwardedResponse
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return resp, fmt.Errorf("routing: node %s answered: %w", holder, err)
	}
	return resp, nil
}

func (o *routerOwners) stop(ctx context.Context) {
	_ = o.sub.Unsubscribe()
	o.leases.Stop(ctx)
}
