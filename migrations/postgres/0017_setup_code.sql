-- The setup code printed in the log until the first account exists, kept here so every instance of
-- one deployment prints (and accepts) the same one, whichever a load balancer sends setup to.
CREATE TABLE setup_code (
    name TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
