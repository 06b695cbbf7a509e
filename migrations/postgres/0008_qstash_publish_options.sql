-- What a publish asked for beyond destination, body and retries, so every delivery (and every
-- callback) honours it after a restart too.
ALTER TABLE qstash_messages ADD COLUMN caller_ip TEXT;
ALTER TABLE qstash_messages ADD COLUMN retry_delay TEXT;
ALTER TABLE qstash_messages ADD COLUMN timeout_ms BIGINT;
ALTER TABLE qstash_messages ADD COLUMN label TEXT;
ALTER TABLE qstash_messages ADD COLUMN callback_options TEXT;
ALTER TABLE qstash_messages ADD COLUMN failure_callback_options TEXT;
