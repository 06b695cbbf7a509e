-- Fields marketers filter on later, kept from the first scrape so nobody pays for them twice:
-- the post's comments and shares, the creator's country, category and listed business email.
ALTER TABLE creators ADD COLUMN comments BIGINT NOT NULL DEFAULT 0;
ALTER TABLE creators ADD COLUMN shares BIGINT NOT NULL DEFAULT 0;
ALTER TABLE creators ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE creators ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE creators ADD COLUMN business_email TEXT NOT NULL DEFAULT '';

-- A lane is one keyword on one of its platform's search sources (Instagram searches profiles and
-- reels); '' is the platform's only source.
ALTER TABLE job_lanes ADD COLUMN source TEXT NOT NULL DEFAULT '';

-- What the run has cost so far (the providers' credits_charged, else one per call), and why it is
-- waiting while resume_at lies ahead: 'provider_rate_limit' or 'retry_backoff'.
ALTER TABLE scraping_jobs ADD COLUMN credits_used BIGINT NOT NULL DEFAULT 0;
ALTER TABLE scraping_jobs ADD COLUMN waiting_reason TEXT;
