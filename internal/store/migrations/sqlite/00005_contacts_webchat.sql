-- Contacts (customers and their handles), web chat settings and visitors,
-- and per-tenant retention policies.

-- +goose Up
CREATE TABLE contacts (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    fields       TEXT,
    search       TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE contact_handles (
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, value)
);
CREATE INDEX contact_handles_contact ON contact_handles(tenant_id, contact_id);

CREATE TABLE contact_threads (
    tenant_id  TEXT NOT NULL,
    thread_id  TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    linked_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, thread_id)
);
CREATE INDEX contact_threads_contact ON contact_threads(tenant_id, contact_id);

CREATE TABLE webchat_settings (
    tenant_id  TEXT PRIMARY KEY,
    settings   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE webchat_visitors (
    tenant_id  TEXT NOT NULL,
    identity   TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    thread_id  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, identity)
);
CREATE INDEX webchat_visitors_contact ON webchat_visitors(tenant_id, contact_id);

CREATE TABLE webchat_resume_keys (
    key_hash   TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    identity   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webchat_resume_keys_identity ON webchat_resume_keys(tenant_id, identity);

-- When a thread's own ACS retention policy (threadCreationDate) expires it.
ALTER TABLE chat_threads ADD COLUMN delete_after BIGINT;
CREATE INDEX chat_threads_delete_after ON chat_threads(delete_after);

CREATE TABLE retention_policies (
    tenant_id      TEXT PRIMARY KEY,
    retention_days INTEGER NOT NULL,
    updated_at     BIGINT NOT NULL
);

-- +goose Down
DROP TABLE retention_policies;
DROP INDEX chat_threads_delete_after;
ALTER TABLE chat_threads DROP COLUMN delete_after;
DROP TABLE webchat_resume_keys;
DROP TABLE webchat_visitors;
DROP TABLE webchat_settings;
DROP TABLE contact_threads;
DROP TABLE contact_handles;
DROP TABLE contacts;
