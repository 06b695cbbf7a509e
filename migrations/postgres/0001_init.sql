-- Ids are TEXT, timestamps BIGINT unix milliseconds, JSON TEXT: the same shapes as PostgreSQL so one
-- repository layer (sqlx::Any) serves both databases.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at BIGINT NOT NULL
);
INSERT INTO users (id, email, password_hash, created_at) VALUES ('local', 'local@scout.invalid', NULL, 0);

CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    search_type TEXT NOT NULL DEFAULT 'keyword',
    status TEXT NOT NULL DEFAULT 'draft',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX campaigns_user_created ON campaigns (user_id, created_at);

CREATE TABLE scraping_jobs (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    campaign_id TEXT NOT NULL REFERENCES campaigns(id),
    platform TEXT NOT NULL,
    search_type TEXT NOT NULL,
    keywords TEXT NOT NULL,
    target_username TEXT,
    target_results BIGINT NOT NULL,
    status TEXT NOT NULL,
    step BIGINT NOT NULL DEFAULT 0,
    processed_runs BIGINT NOT NULL DEFAULT 0,
    processed_results BIGINT NOT NULL DEFAULT 0,
    progress BIGINT NOT NULL DEFAULT 0,
    qstash_message_id TEXT,
    last_error TEXT,
    note TEXT,
    retry_count BIGINT NOT NULL DEFAULT 0,
    timeout_at BIGINT NOT NULL,
    started_at BIGINT,
    completed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX scraping_jobs_campaign ON scraping_jobs (campaign_id, created_at);
CREATE INDEX scraping_jobs_status ON scraping_jobs (status, updated_at);

CREATE TABLE job_lanes (
    job_id TEXT NOT NULL REFERENCES scraping_jobs(id),
    lane BIGINT NOT NULL,
    keyword TEXT NOT NULL,
    cursor TEXT,
    runs BIGINT NOT NULL DEFAULT 0,
    exhausted BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, lane)
);

CREATE TABLE creators (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES scraping_jobs(id),
    campaign_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    external_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    handle TEXT NOT NULL,
    name TEXT NOT NULL,
    followers BIGINT NOT NULL DEFAULT 0,
    bio TEXT NOT NULL DEFAULT '',
    emails TEXT NOT NULL DEFAULT '',
    avatar_url TEXT NOT NULL DEFAULT '',
    verified BIGINT NOT NULL DEFAULT 0,
    profile_url TEXT NOT NULL DEFAULT '',
    post_url TEXT NOT NULL DEFAULT '',
    views BIGINT NOT NULL DEFAULT 0,
    likes BIGINT NOT NULL DEFAULT 0,
    hashtags TEXT NOT NULL DEFAULT '[]',
    matched_keyword TEXT NOT NULL DEFAULT '',
    raw TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    UNIQUE (job_id, platform, external_id)
);
CREATE INDEX creators_job_followers ON creators (job_id, followers);
CREATE INDEX creators_job_views ON creators (job_id, views);
CREATE INDEX creators_campaign ON creators (campaign_id);

-- The embedded QStash-compatible server. A message is 'pending' until delivered, failed or cancelled;
-- locked_until is a lease so several app instances (or a restarted one) never lose a message.
CREATE TABLE qstash_messages (
    id TEXT PRIMARY KEY,
    destination TEXT NOT NULL,
    method TEXT NOT NULL DEFAULT 'POST',
    body TEXT NOT NULL,
    headers TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    retries BIGINT NOT NULL,
    retried BIGINT NOT NULL DEFAULT 0,
    not_before BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    callback TEXT,
    failure_callback TEXT,
    dedup_id TEXT,
    last_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX qstash_messages_due ON qstash_messages (state, not_before);

CREATE TABLE qstash_dedup (
    dedup_id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE qstash_events (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX qstash_events_message ON qstash_events (message_id, created_at);
