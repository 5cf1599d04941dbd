-- Processed media: displayed size, blurhash, focal point and the served variants (a JSON list of
-- {name, key, width, height, mime}, so videos can list renditions the same way later).
ALTER TABLE media ADD COLUMN width BIGINT;
ALTER TABLE media ADD COLUMN height BIGINT;
ALTER TABLE media ADD COLUMN blurhash TEXT;
ALTER TABLE media ADD COLUMN focus_x DOUBLE PRECISION;
ALTER TABLE media ADD COLUMN focus_y DOUBLE PRECISION;
ALTER TABLE media ADD COLUMN variants TEXT;
-- Set when the media is to be removed; the purge job deletes its objects, then the row.
ALTER TABLE media ADD COLUMN deleted_at BIGINT;

CREATE TABLE statuses (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    visibility TEXT NOT NULL,
    sensitive BIGINT NOT NULL DEFAULT 0,
    spoiler_text TEXT NOT NULL DEFAULT '',
    in_reply_to_id TEXT,
    -- NULL while some of its media is still processing: not in timelines yet.
    published_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX statuses_public ON statuses (visibility, published_at, id);
CREATE INDEX statuses_account ON statuses (account_id, id);

CREATE TABLE status_media (
    status_id TEXT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    media_id TEXT NOT NULL REFERENCES media (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (status_id, media_id)
);
CREATE INDEX status_media_media ON status_media (media_id);

CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
