-- The identities primary key already starts with the tenant
-- ("8:acs:<tenant>_<guid>"), so a separate tenant index only costs writes.
-- Outbox event ids are fresh UUIDs and JetStream de-duplicates by them, so
-- their unique index only costs writes too; SQLite cannot drop an inline
-- constraint, so the (transient) outbox table is rebuilt.

-- +goose Up
DROP INDEX identities_tenant;
CREATE TABLE outbox_new (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    type           TEXT NOT NULL,
    subject        TEXT NOT NULL,
    time           BIGINT NOT NULL,
    data_version   TEXT NOT NULL,
    data           BLOB NOT NULL,
    claimed_until  BIGINT
);
INSERT INTO outbox_new SELECT seq, id, tenant_id, type, subject, time, data_version, data, claimed_until FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;

-- +goose Down
CREATE INDEX identities_tenant ON identities(tenant_id);
CREATE UNIQUE INDEX outbox_id ON outbox(id);
