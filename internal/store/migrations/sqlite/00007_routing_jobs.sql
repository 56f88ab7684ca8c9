-- Job router jobs, kept as their API documents (with the router's
-- bookkeeping) and the columns list filters and restarts need. Offers are
-- not stored: after a restart queued jobs are offered anew.

-- +goose Up
CREATE TABLE routing_jobs (
    tenant_id              TEXT NOT NULL,
    id                     TEXT NOT NULL,
    status                 TEXT NOT NULL,
    queue_id               TEXT NOT NULL,
    channel_id             TEXT NOT NULL,
    classification_policy  TEXT NOT NULL,
    scheduled_at           BIGINT,
    doc                    TEXT NOT NULL,
    version                BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX routing_jobs_status ON routing_jobs(tenant_id, status);

-- +goose Down
DROP TABLE routing_jobs;
