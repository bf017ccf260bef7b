-- The date an information item's content dates from (SQLite; keep in step with
-- migrations/postgres). The convenant's horizon (proportionaliteit) is measured from this date,
-- not from when the item was entered: a 2019 police report entered today is seven years old.
-- Items entered before this migration date from the day they were recorded.
ALTER TABLE information_items ADD COLUMN dates_from TEXT;
UPDATE information_items SET dates_from = substr(recorded_at, 1, 10) WHERE dates_from IS NULL;
