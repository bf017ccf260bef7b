-- Policy bundles proposed by convenant administrators, with their four-eyes decisions.
-- status: proposed, rejected, active, retired (was active, may be reactivated).
CREATE TABLE policy_bundles (
    revision    TEXT PRIMARY KEY,
    bundle      BYTEA NOT NULL,
    status      TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_at TIMESTAMPTZ NOT NULL,
    decided_by  TEXT,
    decided_at  TIMESTAMPTZ,
    reason      TEXT
);
