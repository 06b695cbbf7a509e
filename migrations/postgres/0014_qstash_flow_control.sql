-- QStash flow control: deliveries of messages sharing a key are limited to `parallelism` at once
-- and `rate` started per `period_ms` (the latest publish with the key sets them); `qstash_flow_starts`
-- logs when each delivery under a key started, for the sliding rate window.
CREATE TABLE qstash_flow_keys (
    flow_key TEXT PRIMARY KEY,
    parallelism BIGINT,
    rate BIGINT,
    period_ms BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE qstash_flow_starts (
    flow_key TEXT NOT NULL,
    started_at BIGINT NOT NULL
);
CREATE INDEX qstash_flow_starts_key ON qstash_flow_starts (flow_key, started_at);
ALTER TABLE qstash_messages ADD COLUMN flow_key TEXT;
CREATE INDEX qstash_messages_flow ON qstash_messages (flow_key, state);
