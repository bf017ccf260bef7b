-- Units of work (PostgreSQL; keep in step with migrations/sqlite): every state-changing step
-- commits its change and its log entry in one transaction, the entry into this outbox; the
-- group-commit writer moves outbox rows into the chain (deleting them in the same transaction
-- as the append, so each is appended exactly once, by whichever instance gets there first).
CREATE TABLE log_outbox (
    id         UUID PRIMARY KEY,
    entry      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX log_outbox_created ON log_outbox(created_at);

-- Optimistic concurrency for the case table: every step that changes what the casework
-- policy decides on (phase, participants, invitations, casusregisseur) moves the version,
-- and every step re-checks the version it was decided on before it writes.
ALTER TABLE cases ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- What the registrant itself supplied about each person (sealed: naam, geboortedatum, BSN),
-- so a registration read echoes that and never what the record already knew.
CREATE TABLE registration_persons (
    case_id  UUID NOT NULL REFERENCES cases(id),
    person_id UUID NOT NULL REFERENCES persons(id),
    supplied BYTEA NOT NULL,
    PRIMARY KEY (case_id, person_id)
);

-- At most one active policy bundle, whatever two administrators do at the same moment.
CREATE UNIQUE INDEX policy_bundles_one_active ON policy_bundles(status) WHERE status = 'active';

-- The daily bulk budget, shared by every instance on this database: requests per partner
-- per hour (hours since the epoch).
CREATE TABLE request_budget (
    partner_oin TEXT NOT NULL,
    hour        BIGINT NOT NULL,
    requests    BIGINT NOT NULL,
    PRIMARY KEY (partner_oin, hour)
);
-- Carried over from the log: the last day's person-level requests (the budget was counted in
-- memory before, and refilled from the log at start).
INSERT INTO request_budget (partner_oin, hour, requests)
SELECT requester_oin, floor(extract(epoch FROM recorded_at) / 3600)::BIGINT, COUNT(*)
FROM disclosure_log
WHERE requester_oin IS NOT NULL AND event IN ('read_person', 'lookup')
  AND recorded_at >= now() - interval '1 day'
GROUP BY 1, 2;
