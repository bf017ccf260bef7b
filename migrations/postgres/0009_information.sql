-- Information items contributed through the gateway (PostgreSQL): the legal ground of each
-- item, and corrections and withdrawals by the contributing organisation (GDPR art. 16, 17 and
-- 19). Keep in step with migrations/sqlite.
--
-- status: actief (the only status that is ever disclosed or counted), gecorrigeerd (replaced by
-- a newer version, whose `replaces` names it), ingetrokken (withdrawn; its content is erased).
-- Items recorded before this migration have no recorded ground (NULL).
ALTER TABLE information_items ADD COLUMN ground TEXT;
ALTER TABLE information_items ADD COLUMN status TEXT NOT NULL DEFAULT 'actief'
    CHECK (status IN ('actief', 'gecorrigeerd', 'ingetrokken'));
ALTER TABLE information_items ADD COLUMN replaces UUID REFERENCES information_items(id);
ALTER TABLE information_items ADD COLUMN changed_at TIMESTAMPTZ;
ALTER TABLE information_items ADD COLUMN change_reason TEXT;
CREATE INDEX information_items_replaces ON information_items(replaces);
