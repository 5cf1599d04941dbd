-- Resumable uploads (tus 1.0): the offset lives here, the bytes in the spool folder until the
-- upload is complete and becomes a media.
CREATE TABLE tus_uploads (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    length BIGINT NOT NULL,
    upload_offset BIGINT NOT NULL DEFAULT 0,
    file_name TEXT,
    description TEXT,
    media_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
