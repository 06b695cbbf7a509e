-- QStash's dead-letter queue (an entry per message it gave up on, with the last answer) and what
-- its events API reports per state.
CREATE TABLE qstash_dlq (
    dlq_id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    response_status BIGINT NOT NULL,
    response_headers TEXT NOT NULL,
    response_body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX qstash_dlq_created ON qstash_dlq (created_at);
ALTER TABLE qstash_events ADD COLUMN response_status BIGINT;
ALTER TABLE qstash_events ADD COLUMN next_delivery BIGINT;
CREATE INDEX qstash_events_created ON qstash_events (created_at);
CREATE INDEX qstash_messages_updated ON qstash_messages (state, updated_at);
