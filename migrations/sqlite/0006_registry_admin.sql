-- Partner registry administration (four-eyes) without restarts. Keep in step with
-- migrations/postgres.

-- A key may carry an end of validity; tokens signed with it are refused after it.
ALTER TABLE partner_keys ADD COLUMN not_after TEXT;

-- Certificate constraints: the client certificates (SHA-256 thumbprint, base64url) a partner
-- may present. No rows = any certificate that chains to the CA and carries the partner's OIN.
CREATE TABLE partner_certificates (
    oin        TEXT NOT NULL REFERENCES partners(oin),
    thumbprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (oin, thumbprint)
);

-- Registry change requests with their four-eyes decisions.
-- status: proposed, applied, rejected. changes: the JSON list of operations.
CREATE TABLE registry_changes (
    id          TEXT PRIMARY KEY,
    changes     TEXT NOT NULL,
    note        TEXT,
    status      TEXT NOT NULL CHECK (status IN ('proposed', 'applied', 'rejected')),
    proposed_by TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  TEXT,
    reason      TEXT
);

-- Bumped in the transaction of every applied change; instances poll it to follow.
CREATE TABLE registry_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO registry_version (id, version) VALUES (1, 0);
