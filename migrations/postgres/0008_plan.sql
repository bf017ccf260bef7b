-- The plan van aanpak (PostgreSQL): who made each afspraak and when it last changed, the
-- monitoring notes on afspraken, and the case's escalation history on the AVE ladder (levels
-- 1-4, op- en afschalen). Keep in step with migrations/sqlite.

-- Who made the afspraak (NULL for afspraken from before this migration) and when its status,
-- due date or notes last changed (NULL: never since creation).
ALTER TABLE afspraken ADD COLUMN created_by_oin TEXT REFERENCES partners(oin);
ALTER TABLE afspraken ADD COLUMN updated_at TIMESTAMPTZ;
CREATE INDEX afspraken_case ON afspraken(case_id, created_at);

-- Monitoring notes on an afspraak (free text: destroyed with the case at retention).
CREATE TABLE afspraak_notes (
    id             UUID PRIMARY KEY,
    afspraak_id    UUID NOT NULL REFERENCES afspraken(id),
    case_id        UUID NOT NULL REFERENCES cases(id),
    note           TEXT NOT NULL,
    written_by_oin TEXT NOT NULL REFERENCES partners(oin),
    written_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX afspraak_notes_afspraak ON afspraak_notes(afspraak_id, written_at);
CREATE INDEX afspraak_notes_case ON afspraak_notes(case_id);

-- Escalation decisions on the AVE ladder; the case's level is the latest one.
CREATE TABLE case_escalations (
    id             UUID PRIMARY KEY,
    case_id        UUID NOT NULL REFERENCES cases(id),
    level          INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
    previous_level INTEGER CHECK (previous_level BETWEEN 1 AND 4),
    reason         TEXT NOT NULL,
    decided_by_oin TEXT NOT NULL REFERENCES partners(oin),
    decided_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX case_escalations_case ON case_escalations(case_id, decided_at);
