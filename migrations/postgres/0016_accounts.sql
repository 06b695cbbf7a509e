-- Accounts. The built-in `local` user (and its `local` workspace, which owns every campaign made
-- before accounts existed) becomes the first admin at setup: the row is claimed in one UPDATE, so
-- two setups racing cannot both win. Every account owns one personal workspace; campaigns (and
-- their runs) belong to a workspace, so shared team workspaces later are rows, not a schema change.
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO workspaces (id, name, created_at) VALUES ('local', 'Personal', 0);

ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
ALTER TABLE users ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'local';
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
-- Per-member limits; NULL means the instance's default (SCOUT_LIMIT_*).
ALTER TABLE users ADD COLUMN max_runs_in_flight BIGINT;
ALTER TABLE users ADD COLUMN max_searches_per_day BIGINT;
ALTER TABLE users ADD COLUMN max_credits_per_month BIGINT;
UPDATE users SET role = 'admin' WHERE id = 'local';

ALTER TABLE campaigns ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'local';
CREATE INDEX campaigns_workspace_created ON campaigns (workspace_id, created_at);
ALTER TABLE scraping_jobs ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'local';
CREATE INDEX scraping_jobs_workspace ON scraping_jobs (workspace_id, created_at);
CREATE INDEX scraping_jobs_user_created ON scraping_jobs (user_id, created_at);

-- Only hashes of the secrets are stored: a leaked database signs nobody in.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Failed sign-ins by account (`email:…`) and by client address (`ip:…`), for throttling.
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- Each accepted QStash delivery's token id, until the token expires: a captured delivery replayed
-- within its lifetime is refused (QStash's own retries carry fresh tokens).
CREATE TABLE webhook_tokens_seen (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webhook_tokens_seen_expires ON webhook_tokens_seen (expires_at);

-- The embedded QStash server's own token and signing keys, made on the first start where Scout is
-- reachable from other machines without QSTASH_DEV_* set (Upstash's public dev identity would let
-- anyone forge deliveries). One row, shared by every instance.
CREATE TABLE qstash_identity (
    name TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    current_key TEXT NOT NULL,
    next_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Provider pages read in a row that added no new creator: past SCOUT_MAX_IDLE_PAGES the search
-- stops with a note instead of paying for pages forever.
ALTER TABLE scraping_jobs ADD COLUMN idle_pages BIGINT NOT NULL DEFAULT 0;
