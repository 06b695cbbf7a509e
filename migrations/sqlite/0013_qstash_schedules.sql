-- QStash schedules: a cron, a destination (URL or URL group), the publish options and body each
-- tick's message is made from, and when it runs next (kept, so a restart neither loses a tick nor
-- replays the ones it missed: a schedule overdue at start fires once).
CREATE TABLE qstash_schedules (
    schedule_id TEXT PRIMARY KEY,
    cron TEXT NOT NULL,
    destination TEXT NOT NULL,
    queue_name TEXT,
    -- JSON object of the Upstash-* (and Content-Type) headers the schedule was created with.
    options TEXT NOT NULL,
    body TEXT NOT NULL,
    -- JSON of what GET /v2/schedules shows of those options (method, retries, header, …).
    summary TEXT NOT NULL,
    paused BIGINT NOT NULL DEFAULT 0,
    next_run BIGINT,
    last_run BIGINT,
    -- JSON array of the ids of the messages the last tick made.
    last_messages TEXT,
    error TEXT,
    caller_ip TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX qstash_schedules_due ON qstash_schedules (paused, next_run);
ALTER TABLE qstash_messages ADD COLUMN schedule_id TEXT;
