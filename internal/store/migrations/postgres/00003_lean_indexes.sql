-- See the SQLite migration of the same name: both indexes only cost writes.

-- +goose Up
DROP INDEX identities_tenant;
ALTER TABLE outbox DROP CONSTRAINT outbox_id_key;

-- +goose Down
CREATE INDEX identities_tenant ON identities(tenant_id);
ALTER TABLE outbox ADD CONSTRAINT outbox_id_key UNIQUE (id);
