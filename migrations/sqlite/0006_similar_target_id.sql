-- The platform's own id of a similar search's account, once its profile was read, so the account is
-- never one of its results even when a result shows it without its handle.
ALTER TABLE scraping_jobs ADD COLUMN target_external_id TEXT;
