-- A profile bought in the last SCOUT_PROFILE_CACHE_HOURS by any run is reused instead of bought
-- again: when each creator's profile was fetched (0 = never), and what a run saved that way.
ALTER TABLE creators ADD COLUMN profile_fetched_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX creators_platform_profile ON creators (platform, external_id, profile_fetched_at);
ALTER TABLE scraping_jobs ADD COLUMN credits_saved BIGINT NOT NULL DEFAULT 0;
