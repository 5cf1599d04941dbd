-- An app that retries a post sends the same Idempotency-Key: the post it already made is the
-- answer. Keys are kept an hour, as Mastodon keeps them. status_id is NULL while the first
-- request is still making the post.
CREATE TABLE idempotency_keys (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    status_id TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, idempotency_key)
);
CREATE INDEX idempotency_keys_time ON idempotency_keys (created_at);
