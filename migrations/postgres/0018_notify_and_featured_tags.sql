-- A follower may ask to be told of each new post (Mastodon's bell); an account may show a
-- few tags on its profile.
ALTER TABLE follows ADD COLUMN notify BIGINT NOT NULL DEFAULT 0;

CREATE TABLE featured_tags (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag_id TEXT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, tag_id)
);
