-- The privacy officers' overview counts requests per day, outcome, partner and purpose over a
-- period (PostgreSQL; keep in step with migrations/sqlite). Entries are wide (the canonical JSON), so a
-- scan of the table reads every entry's text; this covering index answers those counts from
-- the index alone.
CREATE INDEX disclosure_log_overview ON disclosure_log(recorded_at, event, outcome, requester_oin, purpose);
