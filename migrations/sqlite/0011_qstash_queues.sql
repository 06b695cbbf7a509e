-- QStash queues: messages enqueued to one are delivered in order (`queue_order`), at most
-- `parallelism` of the first ones at a time, none while it is paused (0/1).
CREATE TABLE qstash_queues (
    name TEXT PRIMARY KEY,
    parallelism BIGINT NOT NULL,
    paused BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
ALTER TABLE qstash_messages ADD COLUMN queue_name TEXT;
ALTER TABLE qstash_messages ADD COLUMN queue_order TEXT;
CREATE INDEX qstash_messages_queue ON qstash_messages (queue_name, state, queue_order);
