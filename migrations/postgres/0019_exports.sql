-- An account's archives: asked for (one a day), built by a job into the store, downloadable
-- by their owner until they expire. key is NULL until the archive is built.
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    storage_key TEXT,
    size_bytes BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX exports_account ON exports (account_id, created_at);
