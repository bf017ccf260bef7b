-- Partner requests per day (UTC), outcome, partner and purpose (PostgreSQL; keep in step with
-- migrations/sqlite): the privacy officers' overview reads a few thousand of these instead of
-- grouping every entry of the period. The log writer adds to it in the append transaction, so
-- it always matches the entries; it is a convenience beside the log, not part of what is
-- hashed or verified. Events of the privacy office, administrators and the gateway itself
-- (stats::OFFICE_EVENTS) are not counted.
CREATE TABLE log_daily (
    day           TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    requester_oin TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (day, outcome, requester_oin, purpose)
);

INSERT INTO log_daily (day, outcome, requester_oin, purpose, n)
SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), outcome, COALESCE(requester_oin, ''), COALESCE(purpose, ''), COUNT(*)
FROM disclosure_log
WHERE event NOT IN ('review_log', 'access_report', 'console_session', 'spoed_reviewed',
                    'spoed_review_overdue', 'policy_change', 'registry_change', 'case_destroyed',
                    'embargo', 'signal_reviewed')
GROUP BY 1, 2, 3, 4;
