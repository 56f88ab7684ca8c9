package routing

import (
	"context"
	"encoding/json"
	"time"

	"github.com/switchboard-cc/switchboard/internal/errs"
	"github.com/switchboard-cc/switchboard/internal/tenant"
)

// Entity is a stored configuration entity: its JSON document as the API
// shows it (without etag) and its version.
type Entity struct {
	Tenant    tenant.ID
	Kind      Kind
	ID        string
	Doc       json.RawMessage
	Refs      Refs
	Version   int64
	UpdatedAt time.Time
}

// ConfigStore persists configuration entities; tenant-scoped.
type ConfigStore interface {
	ConfigEntity(ctx context.Context, t tenant.ID, kind Kind, id string) (Entity, error)
	PutConfigEntity(ctx context.Context, e Entity) error
	DeleteConfigEntity(ctx context.Context, t tenant.ID, kind Kind, id string) error
	ConfigEntities(ctx context.Context, t tenant.ID, kind Kind, after string, limit int) ([]Entity, error)
	// ConfigReferrers counts entities of kind whose reference field names id.
	ConfigReferrers(ctx context.Context, t tenant.ID, kind Kind, field string, id string) (int, error)
}

// Transactor runs fn in one transaction.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Config manages policies and queues.
type Config struct {
	store ConfigStore
	tx    Transactor
	now   func() time.Time
}

// NewConfig wires the configuration service.
func NewConfig(store ConfigStore, tx Transactor) *Config {
	return &Config{store: store, tx: tx, now: time.Now}
}

// Upsert applies a merge patch to the entity (creating it when missing),
// optionally only at version ifMatch (0 = any; -1 = must exist). It reports
// whether the entity was created.
func (c *Config) Upsert(ctx context.Context, kind Kind, id string, patch map[string]any, ifMatch int64) (Entity, bool, error) {
	t := tenant.MustFrom(ctx)
	if err := ValidID(id); err != nil {
		return Entity{}, false, err
	}
	if pid, ok := patch["id"].(string); ok && pid != id {
		return Entity{}, false, invalid("id", "the body's id %q differs from the path's %q", pid, id)
	}
	var out Entity
	var created bool
	err := c.tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := c.store.ConfigEntity(ctx, t, kind, id)
		var doc map[string]any
		switch {
		case err == nil:
			if ifMatch > 0 && cur.Version != ifMatch {
				return errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "the entity changed since that ETag")
			}
			if doc, err = Decode(cur.Doc); err != nil {
				return err
			}
		case errs.KindOf(err) == errs.KindNotFound:
			if ifMatch != 0 {
				return errs.New(errs.KindPreconditionFailed, "PreconditionFailed", "no entity to match the ETag")
			}
			created = true
		default:
			return err
		}
		if _, ok := patch["presence"]; kind == KindWorker && !ok {
			// availableForOffers set through the ACS API speaks for the
			// agent: a presence that said otherwise is stale.
			if av, ok := patch["availableForOffers"].(bool); ok {
				if p, _ := doc["presence"].(map[string]any); p != nil && (p["status"] == "available") != av {
					delete(doc, "presence")
				}
			}
		}
		doc = Merge(doc, patch)
		refs, err := Prepare(kind, id, doc)
		if err != nil {
			return err
		}
		if err := c.checkRefs(ctx, t, refs); err != nil {
			return err
		}
		if err := c.checkCycles(ctx, t, kind, id, doc); err != nil {
			return err
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		out = Entity{Tenant: t, Kind: kind, ID: id, Doc: raw, Refs: refs, Version: cur.Version + 1, UpdatedAt: c.now().UTC()}
		return c.store.PutConfigEntity(ctx, out)
	})
	return out, created, err
}

func (c *Config) checkRefs(ctx context.Context, t tenant.ID, r Refs) error {
	for _, ref := range []struct {
		kind   Kind
		id     string
		target string
	}{{KindDistributionPolicy, r.DistributionPolicy, "distributionPolicyId"}, {KindExceptionPolicy, r.ExceptionPolicy, "exceptionPolicyId"}, {KindQueue, r.FallbackQueue, "fallbackQueueId"}} {
		if ref.id == "" {
			continue
		}
		if _, err := c.store.ConfigEntity(ctx, t, ref.kind, ref.id); err != nil {
			if errs.KindOf(err) == errs.KindNotFound {
				return errs.Invalid("InvalidReference", "%s %q does not exist", ref.target, ref.id).WithTarget(ref.target)
			}
			return err
		}
	}
	for _, q := range r.Queues {
		if _, err := c.store.ConfigEntity(ctx, t, KindQueue, q); err != nil {
			if errs.KindOf(err) == errs.KindNotFound {
				return errs.Invalid("InvalidReference", "queue %q does not exist", q).WithTarget("queues")
			}
			return err
		}
	}
	return nil
}

// Get returns one entity.
func (c *Config) Get(ctx context.Context, kind Kind, id string) (Entity, error) {
	return c.store.ConfigEntity(ctx, tenant.MustFrom(ctx), kind, id)
}

// List pages through a collection by id.
func (c *Config) List(ctx context.Context, kind Kind, after string, limit int) ([]Entity, error) {
	return c.store.ConfigEntities(ctx, tenant.MustFrom(ctx), kind, after, limit)
}

// Delete removes an entity nothing refers to: a policy a queue uses is a
// 400, a queue a classification policy falls back to a 409 (as ACS).
func (c *Config) Delete(ctx context.Context, kind Kind, id string) error {
	t := tenant.MustFrom(ctx)
	return c.tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := c.store.ConfigEntity(ctx, t, kind, id); err != nil {
			return err
		}
		check := func(refKind Kind, field string, e error) error {
			n, err := c.store.ConfigReferrers(ctx, t, refKind, field, id)
			if err != nil {
				return err
			}
			if n > 0 {
				return e
			}
			return nil
		}
		var err error
		switch kind {
		case KindDistributionPolicy:
			err = check(KindQueue, "distribution_policy", errs.Invalid("QueueExistsWithDistributionPolicy", "There is a queue with this distribution policy"))
		case KindExceptionPolicy:
			err = check(KindQueue, "exception_policy", errs.Invalid("QueueExistsWithExceptionPolicy", "There is a queue with this exception policy"))
		case KindQueue:
			err = check(KindClassificationPolicy, "fallback_queue", errs.Conflict("QueueIsFallback", "There is classification policy with this queue as fallback queue"))
			if err == nil {
				err = check(KindWorker, "queue", errs.Conflict("QueueHasWorkers", "There are workers assigned to this queue"))
			}
		}
		if err != nil {
			return err
		}
		return c.store.DeleteConfigEntity(ctx, t, kind, id)
	})
}
