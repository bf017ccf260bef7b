-- Embargoes (art. 41 UAVG): a partner with a confidential investigation holds its requests
-- about a subject back from the subject's access report until `until`.
CREATE TABLE embargoes (
    id                TEXT PRIMARY KEY,
    subject_pseudonym TEXT NOT NULL,
    partner_oin       TEXT NOT NULL REFERENCES partners(oin),
    reason            TEXT NOT NULL,
    until             TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX embargoes_subject ON embargoes(subject_pseudonym);
