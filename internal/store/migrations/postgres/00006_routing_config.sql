-- Job router configuration: distribution, classification and exception
-- policies and queues, kept as their API documents with the references
-- that deletions must check.

-- +goose Up
CREATE TABLE routing_config (
    tenant_id           TEXT NOT NULL,
    kind                TEXT NOT NULL,
    id                  TEXT NOT NULL,
    doc                 TEXT NOT NULL,
    distribution_policy TEXT,
    exception_policy    TEXT,
    fallback_queue      TEXT,
    version             BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, id)
);
CREATE INDEX routing_config_distribution ON routing_config(tenant_id, distribution_policy);
CREATE INDEX routing_config_exception ON routing_config(tenant_id, exception_policy);
CREATE INDEX routing_config_fallback ON routing_config(tenant_id, fallback_queue);

-- The queues each worker serves, for queue deletion and queue filters.
CREATE TABLE routing_worker_queues (
    tenant_id TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    queue_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, worker_id, queue_id)
);
CREATE INDEX routing_worker_queues_queue ON routing_worker_queues(tenant_id, queue_id);

-- +goose Down
DROP TABLE routing_worker_queues;
DROP TABLE routing_config;
