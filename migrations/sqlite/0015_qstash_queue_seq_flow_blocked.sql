-- A queue's messages are numbered from its row (taken under the row's lock, so the order is the
-- order enqueues commit in, also across instances); a flow control key held back by its rate is
-- not looked at again before `blocked_until`.
ALTER TABLE qstash_queues ADD COLUMN next_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE qstash_flow_keys ADD COLUMN blocked_until BIGINT NOT NULL DEFAULT 0;
