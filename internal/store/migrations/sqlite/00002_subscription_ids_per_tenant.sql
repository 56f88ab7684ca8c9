-- Subscription ids are chosen by the tenant (PATCH upsert), so they are
-- unique per tenant, not across tenants: one tenant's id must neither block
-- nor reveal another's. SQLite cannot change a primary key in place, so the
-- table is rebuilt.

-- +goose Up
CREATE TABLE webhook_subscriptions_new (
    id           TEXT NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    url          TEXT NOT NULL,
    schema       TEXT NOT NULL,
    event_types  TEXT NOT NULL,
    secret       BLOB NOT NULL,
    max_attempts INTEGER NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    version      BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO webhook_subscriptions_new (id, tenant_id, name, url, schema, event_types, secret, max_attempts, created_at, updated_at, version)
    SELECT id, tenant_id, name, url, schema, event_types, secret, max_attempts, created_at, updated_at, version FROM webhook_subscriptions;
DROP TABLE webhook_subscriptions;
ALTER TABLE webhook_subscriptions_new RENAME TO webhook_subscriptions;

-- +goose Down
CREATE TABLE webhook_subscriptions_old (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    url          TEXT NOT NULL,
    schema       TEXT NOT NULL,
    event_types  TEXT NOT NULL,
    secret       BLOB NOT NULL,
    max_attempts INTEGER NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    version      BIGINT NOT NULL DEFAULT 1
);
INSERT INTO webhook_subscriptions_old (id, tenant_id, name, url, schema, event_types, secret, max_attempts, created_at, updated_at, version)
    SELECT id, tenant_id, name, url, schema, event_types, secret, max_attempts, created_at, updated_at, version FROM webhook_subscriptions;
DROP TABLE webhook_subscriptions;
ALTER TABLE webhook_subscriptions_old RENAME TO webhook_subscriptions;
CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions(tenant_id);
