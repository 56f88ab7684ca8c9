-- +goose Up
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE access_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    secret      BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX access_keys_tenant ON access_keys(tenant_id);

CREATE TABLE server_secrets (
    name   TEXT PRIMARY KEY,
    value  BYTEA NOT NULL
);

CREATE TABLE identities (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    custom_id             TEXT,
    created_at            BIGINT NOT NULL,
    last_token_issued_at  BIGINT,
    token_epoch           BIGINT NOT NULL DEFAULT 0,
    deleted_at            BIGINT
);
CREATE INDEX identities_tenant ON identities(tenant_id);
CREATE UNIQUE INDEX identities_custom ON identities(tenant_id, custom_id) WHERE custom_id IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    username       TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    version        BIGINT NOT NULL DEFAULT 1,
    UNIQUE (tenant_id, username)
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions(expires_at);

CREATE TABLE idempotency (
    tenant_id   TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    headers     TEXT NOT NULL,
    body        BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_created ON idempotency(created_at);

CREATE TABLE outbox (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    tenant_id      TEXT NOT NULL,
    type           TEXT NOT NULL,
    subject        TEXT NOT NULL,
    time           BIGINT NOT NULL,
    data_version   TEXT NOT NULL,
    data           BYTEA NOT NULL,
    claimed_until  BIGINT
);

CREATE TABLE webhook_subscriptions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    url          TEXT NOT NULL,
    schema       TEXT NOT NULL,
    event_types  TEXT NOT NULL,
    secret       BYTEA NOT NULL,
    max_attempts INTEGER NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    version      BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions(tenant_id);

CREATE TABLE dead_letters (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    subscription_id  TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event            BYTEA NOT NULL,
    attempts         INTEGER NOT NULL,
    last_error       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    replayed_at      BIGINT
);
CREATE INDEX dead_letters_tenant ON dead_letters(tenant_id, created_at);

-- +goose Down
DROP TABLE dead_letters;
DROP TABLE webhook_subscriptions;
DROP TABLE outbox;
DROP TABLE idempotency;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE identities;
DROP TABLE server_secrets;
DROP TABLE access_keys;
DROP TABLE tenants;
