-- The step during which a similar search had found every creator it needs and was looking up the last
-- of them (its `processing` stage); display only, guarded by the step number.
ALTER TABLE scraping_jobs ADD COLUMN processing_step BIGINT;
