-- Break-glass (purpose spoed) review items (SQLite; keep in step with migrations/postgres): every
-- allowed spoed read opens one, which the privacy officer must review before `due_at`; an
-- overdue item is signalled once. The stated reason is free text: it stays out of the log and
-- is erased when the case's person data is destroyed.
CREATE TABLE spoed_reviews (
    id                   BLOB PRIMARY KEY,
    disclosure_id        BLOB NOT NULL UNIQUE,
    case_id              BLOB NOT NULL,
    requester_oin        TEXT NOT NULL,
    requester_sub        TEXT NOT NULL,
    reason               TEXT,
    created_at           TEXT NOT NULL,
    due_at               TEXT NOT NULL,
    overdue_signalled_at TEXT,
    reviewed_at          TEXT,
    reviewed_by          TEXT,
    verdict              TEXT CHECK (verdict IN ('justified', 'unjustified')),
    CHECK ((reviewed_at IS NULL) = (verdict IS NULL))
);
CREATE INDEX spoed_reviews_open ON spoed_reviews(due_at) WHERE reviewed_at IS NULL;
CREATE INDEX spoed_reviews_case ON spoed_reviews(case_id);
