-- The organisations whose contributed data an entry disclosed (PostgreSQL; keep in step with
-- migrations/sqlite): a partner's privacy officer reviews its own organisation's entries, which are
-- the requests it made and the disclosures of information it contributed. Filled by the log
-- writer in the append transaction; the log verification checks it against the entries.
-- Entries written before this migration name no sources (they are found by their requester).
CREATE TABLE log_sources (
    oin TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (oin, seq)
);
