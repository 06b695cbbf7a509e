-- Keyword expansion: whether a run may add lanes from the hashtags it found when its keywords run
-- out (the marketer's choice, on by default), and the keywords it added (JSON list; NULL = none yet).
ALTER TABLE scraping_jobs ADD COLUMN expand_keywords BIGINT NOT NULL DEFAULT 1;
ALTER TABLE scraping_jobs ADD COLUMN added_keywords TEXT;
