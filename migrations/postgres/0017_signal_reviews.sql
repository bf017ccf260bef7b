-- Privacy officers' reviews of anomaly signals computed from the disclosure log (PostgreSQL; keep
-- in step with migrations/sqlite). A signal is identified by its key (kind, organisation,
-- employee and day); the note is the officer's own words and stays out of the log entry.
CREATE TABLE signal_reviews (
    signal_key      TEXT PRIMARY KEY,
    reviewed_at     TIMESTAMPTZ NOT NULL,
    reviewed_by_oin TEXT NOT NULL,
    reviewed_by_sub TEXT NOT NULL,
    note            TEXT NOT NULL
);
