-- Full verifications of the disclosure log started from the privacy officers' console
-- (SQLite; keep in step with migrations/postgres): who started one, how far it got, and its result,
-- so the overview can say when the log was last verified in full and with what outcome.
CREATE TABLE log_verifications (
    id             TEXT PRIMARY KEY,
    started_at     TEXT NOT NULL,
    started_by_oin TEXT NOT NULL,
    started_by_sub TEXT NOT NULL,
    checked        BIGINT NOT NULL DEFAULT 0,
    total          BIGINT NOT NULL DEFAULT 0,
    finished_at    TEXT,
    outcome        TEXT CHECK (outcome IN ('intact', 'broken', 'failed')),
    detail         TEXT
);
CREATE INDEX log_verifications_started ON log_verifications(started_at);
