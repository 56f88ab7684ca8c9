-- The contact center's engagements (one customer conversation from the
-- first message to the end, bot part and agent part), the bots tenants
-- connect to their channels with the flows they run, and the chat identity
-- of each agent and supervisor.

-- +goose Up
CREATE TABLE engagements (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    thread_id  TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    customer   TEXT NOT NULL,
    state      TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    queue_id   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    doc        TEXT NOT NULL,
    version    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX engagements_thread ON engagements(tenant_id, thread_id, state);
-- One live engagement per thread, whichever node starts it first.
CREATE UNIQUE INDEX engagements_live_thread ON engagements(tenant_id, thread_id) WHERE state <> 'ended';
CREATE INDEX engagements_state ON engagements(tenant_id, state);
CREATE INDEX engagements_agent ON engagements(tenant_id, agent_id, state);
CREATE INDEX engagements_contact ON engagements(tenant_id, contact_id, created_at);
CREATE INDEX engagements_customer ON engagements(tenant_id, customer);

CREATE TABLE bots (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    doc        TEXT NOT NULL,
    secret     BYTEA,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE bot_flows (
    tenant_id  TEXT NOT NULL,
    bot_id     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    source     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, bot_id, version)
);

CREATE TABLE staff_identities (
    tenant_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    identity  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, person_id)
);

-- What agents work with: canned responses, disposition codes, the service
-- level target; one document per tenant.
CREATE TABLE desk_settings (
    tenant_id  TEXT NOT NULL PRIMARY KEY,
    doc        TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE desk_settings;
DROP TABLE staff_identities;
DROP TABLE bot_flows;
DROP TABLE bots;
DROP TABLE engagements;
