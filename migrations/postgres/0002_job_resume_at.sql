-- A job that waits on purpose (a provider's Retry-After, QStash's retry backoff) is not stalled:
-- the stall sweeper leaves it alone until resume_at (unix ms).
ALTER TABLE scraping_jobs ADD COLUMN resume_at BIGINT NOT NULL DEFAULT 0;
