-- Chat (ACS Chat semantics) and the outbox column that says who sees an
-- event in real time.

-- +goose Up
ALTER TABLE outbox ADD COLUMN route BLOB;

CREATE TABLE chat_threads (
    tenant_id       TEXT NOT NULL,
    id              TEXT NOT NULL,
    topic           TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    deleted_at      BIGINT,
    metadata        TEXT,
    retention       TEXT,
    last_message_at BIGINT,
    last_seq        BIGINT NOT NULL DEFAULT 0,
    last_message_id BIGINT NOT NULL DEFAULT 0,
    version         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX chat_threads_activity ON chat_threads(tenant_id, last_message_at);

CREATE TABLE chat_participants (
    tenant_id          TEXT NOT NULL,
    thread_id          TEXT NOT NULL,
    raw_id             TEXT NOT NULL,
    display_name       TEXT,
    share_history_time BIGINT NOT NULL DEFAULT 0,
    metadata           TEXT,
    added_at           BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, thread_id, raw_id)
);
CREATE INDEX chat_participants_member ON chat_participants(tenant_id, raw_id);

CREATE TABLE chat_messages (
    tenant_id           TEXT NOT NULL,
    thread_id           TEXT NOT NULL,
    seq                 BIGINT NOT NULL,
    id                  TEXT NOT NULL,
    type                TEXT NOT NULL,
    sender              TEXT,
    sender_display_name TEXT,
    content             TEXT NOT NULL,
    metadata            TEXT,
    created_at          BIGINT NOT NULL,
    edited_at           BIGINT,
    deleted_at          BIGINT,
    version             BIGINT NOT NULL,
    -- Message ids are millisecond times that only grow within a thread, as
    -- sequence numbers do, so one key serves lookups by id and listing in
    -- order; each message then writes one B-tree, not two.
    PRIMARY KEY (tenant_id, thread_id, id)
) WITHOUT ROWID;

CREATE TABLE chat_read_receipts (
    tenant_id  TEXT NOT NULL,
    thread_id  TEXT NOT NULL,
    raw_id     TEXT NOT NULL,
    message_id TEXT NOT NULL,
    read_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, thread_id, raw_id)
);

CREATE TABLE chat_files (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    thread_id    TEXT NOT NULL,
    uploader     TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX chat_files_thread ON chat_files(tenant_id, thread_id);

-- +goose Down
DROP TABLE chat_files;
DROP TABLE chat_read_receipts;
DROP TABLE chat_messages;
DROP TABLE chat_participants;
DROP TABLE chat_threads;
ALTER TABLE outbox DROP COLUMN route;
