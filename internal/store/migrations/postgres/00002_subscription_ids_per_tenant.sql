-- Subscription ids are chosen by the tenant (PATCH upsert), so they are
-- unique per tenant, not across tenants: one tenant's id must neither block
-- nor reveal another's.

-- +goose Up
ALTER TABLE webhook_subscriptions DROP CONSTRAINT webhook_subscriptions_pkey;
ALTER TABLE webhook_subscriptions ADD PRIMARY KEY (tenant_id, id);
DROP INDEX webhook_subscriptions_tenant;

-- +goose Down
ALTER TABLE webhook_subscriptions DROP CONSTRAINT webhook_subscriptions_pkey;
ALTER TABLE webhook_subscriptions ADD PRIMARY KEY (id);
CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions(tenant_id);
