-- Case record and disclosure log (SQLite). Keep in step with migrations/postgres.

CREATE TABLE partners (
    oin          TEXT PRIMARY KEY CHECK (length(oin) = 20),
    name         TEXT NOT NULL,
    partner_type TEXT NOT NULL,
    active       BOOLEAN NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL
);

CREATE TABLE partner_keys (
    kid            TEXT PRIMARY KEY,
    oin            TEXT NOT NULL REFERENCES partners(oin),
    alg            TEXT NOT NULL CHECK (alg IN ('EdDSA', 'ES256')),
    public_key_pem TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    revoked_at     TEXT
);

CREATE TABLE persons (
    id                    BLOB PRIMARY KEY,
    -- AES-256-GCM(record key, BSN), person id as associated data; NULL when no BSN is known.
    bsn_sealed            BLOB,
    -- HMAC(pseudonym key, BSN), or of the person id when no BSN is known: used for lookup
    -- and as the subject id in the disclosure log.
    subject_pseudonym     TEXT NOT NULL UNIQUE,
    pseudonym_key_version INTEGER NOT NULL,
    naam                  TEXT NOT NULL,
    geboortedatum         TEXT,
    adres                 TEXT,
    created_at            TEXT NOT NULL
);

CREATE TABLE cases (
    id                 BLOB PRIMARY KEY,
    kind               TEXT NOT NULL CHECK (kind IN ('persoon', 'systeem', 'gebied')),
    phase              TEXT NOT NULL CHECK (phase IN ('aanmelding', 'screening', 'mdo', 'uitvoering', 'afgesloten')),
    region             TEXT NOT NULL,
    -- A non-personal working title ("nazorg Uden"), never a name.
    title              TEXT NOT NULL,
    registered_by_oin  TEXT NOT NULL REFERENCES partners(oin),
    casusregisseur_oin TEXT REFERENCES partners(oin),
    created_at         TEXT NOT NULL,
    closed_at          TEXT
);

CREATE TABLE case_persons (
    case_id   BLOB NOT NULL REFERENCES cases(id),
    person_id BLOB NOT NULL REFERENCES persons(id),
    relation  TEXT NOT NULL,
    PRIMARY KEY (case_id, person_id)
);

CREATE TABLE case_participants (
    case_id BLOB NOT NULL REFERENCES cases(id),
    oin     TEXT NOT NULL REFERENCES partners(oin),
    since   TEXT NOT NULL,
    until   TEXT,
    PRIMARY KEY (case_id, oin)
);

CREATE TABLE information_items (
    id                BLOB PRIMARY KEY,
    case_id           BLOB NOT NULL REFERENCES cases(id),
    person_id         BLOB NOT NULL REFERENCES persons(id),
    leefgebied        TEXT NOT NULL,
    category          TEXT NOT NULL CHECK (category IN ('identificerend', 'bsn', 'bijzonder', 'strafrechtelijk', 'overig')),
    content           TEXT NOT NULL,
    contributed_by    TEXT NOT NULL REFERENCES partners(oin),
    recorded_at       TEXT NOT NULL
);
CREATE INDEX information_items_case_person ON information_items(case_id, person_id);

CREATE TABLE afspraken (
    id          BLOB PRIMARY KEY,
    case_id     BLOB NOT NULL REFERENCES cases(id),
    partner_oin TEXT NOT NULL REFERENCES partners(oin),
    action      TEXT NOT NULL,
    due_date    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'lopend', 'afgerond', 'gestagneerd')),
    created_at  TEXT NOT NULL
);

-- Append-only, hash-chained disclosure log: entry_hash = SHA-256(prev_hash || entry).
CREATE TABLE disclosure_log (
    seq               INTEGER PRIMARY KEY,
    id                BLOB NOT NULL UNIQUE,
    recorded_at       TEXT NOT NULL,
    event             TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    requester_oin     TEXT,
    case_id           BLOB,
    subject_pseudonym TEXT,
    policy_revision   TEXT NOT NULL,
    entry             TEXT NOT NULL,
    prev_hash         BLOB NOT NULL,
    entry_hash        BLOB NOT NULL
);
CREATE INDEX disclosure_log_case ON disclosure_log(case_id, seq);
CREATE INDEX disclosure_log_partner ON disclosure_log(requester_oin, seq);
CREATE INDEX disclosure_log_time ON disclosure_log(recorded_at);

CREATE TRIGGER disclosure_log_no_update BEFORE UPDATE ON disclosure_log
BEGIN SELECT RAISE(ABORT, 'disclosure_log is append-only'); END;
CREATE TRIGGER disclosure_log_no_delete BEFORE DELETE ON disclosure_log
BEGIN SELECT RAISE(ABORT, 'disclosure_log is append-only'); END;

-- The chain head; every append transaction updates it first, which serialises writers.
CREATE TABLE log_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        INTEGER NOT NULL,
    hash       BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO log_head (id, seq, hash, updated_at) VALUES (1, 0, zeroblob(32), '1970-01-01T00:00:00Z');
