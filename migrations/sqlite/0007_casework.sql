-- Case life cycle through the gateway (SQLite): registrations with their screening input,
-- idempotency keys, screening decisions, MDO invitations and closures. Keep in step with
-- migrations/postgres.

-- The registration (aanmelding) as the registering partner sent it, without persons: the
-- screening document (problems per leefgebied, chains, system, area) and the reason.
CREATE TABLE case_registrations (
    case_id           BLOB PRIMARY KEY REFERENCES cases(id),
    registered_by_oin TEXT NOT NULL REFERENCES partners(oin),
    aanmelding        TEXT NOT NULL,
    reason            TEXT NOT NULL,
    adviesvraag       BOOLEAN NOT NULL,
    registered_at     TEXT NOT NULL
);

-- Idempotency-Key of POST /v1/cases per partner: same key and same body give the same case.
CREATE TABLE case_idempotency (
    partner_oin TEXT NOT NULL REFERENCES partners(oin),
    idem_key    TEXT NOT NULL,
    body_hash   TEXT NOT NULL,
    case_id     BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (partner_oin, idem_key)
);

-- The procesregisseur's screening decisions (several when advice is followed by a decision).
CREATE TABLE case_screening_decisions (
    id             BLOB PRIMARY KEY,
    case_id        BLOB NOT NULL REFERENCES cases(id),
    decision       TEXT NOT NULL CHECK (decision IN ('veiligheidshuis_case', 'advies', 'terug_naar_keten')),
    advised        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    decided_by_oin TEXT NOT NULL REFERENCES partners(oin),
    decided_at     TEXT NOT NULL
);
CREATE INDEX case_screening_decisions_case ON case_screening_decisions(case_id, decided_at);

-- Partners invited to the MDO; a partner becomes a participant only when it accepts.
CREATE TABLE case_invitations (
    case_id        BLOB NOT NULL REFERENCES cases(id),
    oin            TEXT NOT NULL REFERENCES partners(oin),
    invited_by_oin TEXT NOT NULL REFERENCES partners(oin),
    invited_at     TEXT NOT NULL,
    accepted_at    TEXT,
    PRIMARY KEY (case_id, oin)
);

-- Why and how a case was closed.
CREATE TABLE case_closures (
    case_id       BLOB PRIMARY KEY REFERENCES cases(id),
    outcome       TEXT NOT NULL,
    reason        TEXT NOT NULL,
    closed_by_oin TEXT NOT NULL REFERENCES partners(oin),
    closed_at     TEXT NOT NULL
);

-- Retention beyond the convenant's period after closing, per case, with the reason.
CREATE TABLE case_retention (
    case_id         BLOB PRIMARY KEY REFERENCES cases(id),
    keep_until      TEXT NOT NULL,
    reason          TEXT NOT NULL,
    extended_by_oin TEXT NOT NULL REFERENCES partners(oin),
    extended_at     TEXT NOT NULL
);

-- Cases whose person data was destroyed after retention; the case row itself holds none.
CREATE TABLE case_destructions (
    case_id      BLOB PRIMARY KEY REFERENCES cases(id),
    destroyed_at TEXT NOT NULL,
    persons      INTEGER NOT NULL,
    items        INTEGER NOT NULL,
    afspraken    INTEGER NOT NULL
);
