-- Where a bundle came from: 'proposal' (proposed through the admin API, four-eyes) or
-- 'starting_policy' (the policy directory the gateway first started with, recorded then so
-- that a rollback to it is always possible). Keep in step with the other backend.
ALTER TABLE policy_bundles ADD COLUMN source TEXT NOT NULL DEFAULT 'proposal'
    CHECK (source IN ('proposal', 'starting_policy'));
