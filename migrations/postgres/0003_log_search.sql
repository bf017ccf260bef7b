-- Columns the privacy officer searches by (also inside the hashed entry; `vhgate log verify`
-- checks that they agree).
ALTER TABLE disclosure_log ADD COLUMN requester_sub TEXT;
ALTER TABLE disclosure_log ADD COLUMN purpose TEXT;
CREATE INDEX disclosure_log_subject ON disclosure_log(subject_pseudonym, seq);
