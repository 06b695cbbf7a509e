-- QStash URL groups (its API calls them topics): a name for a set of endpoints; a publish to the
-- name becomes one message per endpoint, each remembering the group and the endpoint's name.
CREATE TABLE qstash_url_groups (
    name TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE qstash_url_group_endpoints (
    group_name TEXT NOT NULL,
    url TEXT NOT NULL,
    endpoint_name TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_name, url)
);
ALTER TABLE qstash_messages ADD COLUMN topic_name TEXT;
ALTER TABLE qstash_messages ADD COLUMN endpoint_name TEXT;
