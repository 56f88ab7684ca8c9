-- The embedded store's router journal: the last journal segment whose
-- records are stored in routing_jobs and the outbox (written by the
-- checkpoint's own transaction, so a restart knows which segments to
-- replay). One row; a cluster has no journal and leaves it empty.

-- +goose Up
CREATE TABLE router_journal (
    name    TEXT NOT NULL PRIMARY KEY,
    segment BIGINT NOT NULL
);

-- +goose Down
DROP TABLE router_journal;
