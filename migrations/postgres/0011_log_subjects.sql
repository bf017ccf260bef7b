-- Every person an entry disclosed data about (PostgreSQL; keep in step with migrations/sqlite):
-- an entry may name several (a registration read, a case step), and the data subject's access
-- report must find each of them. Filled by the log writer in the append transaction; the log
-- verification checks it against the entries.
CREATE TABLE log_subjects (
    pseudonym TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    PRIMARY KEY (pseudonym, seq)
);

INSERT INTO log_subjects (pseudonym, seq)
SELECT subject_pseudonym, seq FROM disclosure_log WHERE subject_pseudonym IS NOT NULL;
