-- Case record and disclosure log (PostgreSQL). Keep in step with migrations/sqlite.

CREATE TABLE partners (
    oin          TEXT PRIMARY KEY CHECK (length(oin) = 20),
    name         TEXT NOT NULL,
    partner_type TEXT NOT NULL,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE partner_keys (
    kid            TEXT PRIMARY KEY,
    oin            TEXT NOT NULL REFERENCES partners(oin),
    alg            TEXT NOT NULL CHECK (alg IN ('EdDSA', 'ES256')),
    public_key_pem TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ
);

CREATE TABLE persons (
    id                    UUID PRIMARY KEY,
    bsn_sealed            BYTEA,
    subject_pseudonym     TEXT NOT NULL UNIQUE,
    pseudonym_key_version INTEGER NOT NULL,
    naam                  TEXT NOT NULL,
    geboortedatum         TEXT,
    adres                 TEXT,
    created_at            TIMESTAMPTZ NOT NULL
);

CREATE TABLE cases (
    id                 UUID PRIMARY KEY,
    kind               TEXT NOT NULL CHECK (kind IN ('persoon', 'systeem', 'gebied')),
    phase              TEXT NOT NULL CHECK (phase IN ('aanmelding', 'screening', 'mdo', 'uitvoering', 'afgesloten')),
    region             TEXT NOT NULL,
    title              TEXT NOT NULL,
    registered_by_oin  TEXT NOT NULL REFERENCES partners(oin),
    casusregisseur_oin TEXT REFERENCES partners(oin),
    created_at         TIMESTAMPTZ NOT NULL,
    closed_at          TIMESTAMPTZ
);

CREATE TABLE case_persons (
    case_id   UUID NOT NULL REFERENCES cases(id),
    person_id UUID NOT NULL REFERENCES persons(id),
    relation  TEXT NOT NULL,
    PRIMARY KEY (case_id, person_id)
);

CREATE TABLE case_participants (
    case_id UUID NOT NULL REFERENCES cases(id),
    oin     TEXT NOT NULL REFERENCES partners(oin),
    since   TIMESTAMPTZ NOT NULL,
    until   TIMESTAMPTZ,
    PRIMARY KEY (case_id, oin)
);

CREATE TABLE information_items (
    id             UUID PRIMARY KEY,
    case_id        UUID NOT NULL REFERENCES cases(id),
    person_id      UUID NOT NULL REFERENCES persons(id),
    leefgebied     TEXT NOT NULL,
    category       TEXT NOT NULL CHECK (category IN ('identificerend', 'bsn', 'bijzonder', 'strafrechtelijk', 'overig')),
    content        TEXT NOT NULL,
    contributed_by TEXT NOT NULL REFERENCES partners(oin),
    recorded_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX information_items_case_person ON information_items(case_id, person_id);

CREATE TABLE afspraken (
    id          UUID PRIMARY KEY,
    case_id     UUID NOT NULL REFERENCES cases(id),
    partner_oin TEXT NOT NULL REFERENCES partners(oin),
    action      TEXT NOT NULL,
    due_date    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'lopend', 'afgerond', 'gestagneerd')),
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE disclosure_log (
    seq               BIGINT PRIMARY KEY,
    id                UUID NOT NULL UNIQUE,
    recorded_at       TIMESTAMPTZ NOT NULL,
    event             TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    requester_oin     TEXT,
    case_id           UUID,
    subject_pseudonym TEXT,
    policy_revision   TEXT NOT NULL,
    entry             TEXT NOT NULL,
    prev_hash         BYTEA NOT NULL,
    entry_hash        BYTEA NOT NULL
);
CREATE INDEX disclosure_log_case ON disclosure_log(case_id, seq);
CREATE INDEX disclosure_log_partner ON disclosure_log(requester_oin, seq);
CREATE INDEX disclosure_log_time ON disclosure_log(recorded_at);

CREATE FUNCTION disclosure_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'disclosure_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER disclosure_log_no_update BEFORE UPDATE OR DELETE ON disclosure_log
    FOR EACH ROW EXECUTE FUNCTION disclosure_log_append_only();

CREATE TABLE log_head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        BIGINT NOT NULL,
    hash       BYTEA NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
INSERT INTO log_head (id, seq, hash, updated_at) VALUES (1, 0, decode(repeat('00', 32), 'hex'), '1970-01-01T00:00:00Z');
