-- The embedded QStash server's signing keys once it has rotated them (POST /v2/keys/rotate), shared by
-- every instance; `seeded_from` names the configured keys they grew from, so configuring new keys
-- starts over from those.
CREATE TABLE qstash_keys (
    name TEXT PRIMARY KEY,
    current_key TEXT NOT NULL,
    next_key TEXT NOT NULL,
    previous_key TEXT,
    seeded_from TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
