-- Accounts people have: a face (avatar, header, fields), their choices, their state (waiting for
-- approval, silenced, suspended, deleted) and what admins did to them.
-- Local avatars and headers are store keys; remote ones stay URLs where they live.
ALTER TABLE accounts ADD COLUMN avatar_key TEXT;
ALTER TABLE accounts ADD COLUMN header_key TEXT;
ALTER TABLE accounts ADD COLUMN header_url TEXT;
-- A JSON list of {"name", "value", "verified_at"}: at most four, as Mastodon allows.
ALTER TABLE accounts ADD COLUMN fields TEXT NOT NULL DEFAULT '[]';
ALTER TABLE accounts ADD COLUMN bot INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN discoverable INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN indexable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN hide_collections INTEGER NOT NULL DEFAULT 0;
-- What a new post of theirs defaults to (Mastodon's `source`).
ALTER TABLE accounts ADD COLUMN default_privacy TEXT NOT NULL DEFAULT 'public';
ALTER TABLE accounts ADD COLUMN default_sensitive INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN default_language TEXT;
-- 0 while a sign-up waits in the approval queue.
ALTER TABLE accounts ADD COLUMN approved INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN sign_up_reason TEXT;
ALTER TABLE accounts ADD COLUMN sign_up_address TEXT;
ALTER TABLE accounts ADD COLUMN locale TEXT;
ALTER TABLE accounts ADD COLUMN invite_code TEXT;
ALTER TABLE accounts ADD COLUMN email TEXT;
ALTER TABLE accounts ADD COLUMN email_confirmed_at BIGINT;
ALTER TABLE accounts ADD COLUMN silenced_at BIGINT;
ALTER TABLE accounts ADD COLUMN suspended_at BIGINT;
-- A deleted local account keeps its row (and key, to sign its Delete) so its name is never
-- given to someone else; everything it posted is gone.
ALTER TABLE accounts ADD COLUMN deleted_at BIGINT;
-- NULL: the instance's defaults.
ALTER TABLE accounts ADD COLUMN storage_quota_bytes BIGINT;
ALTER TABLE accounts ADD COLUMN daily_upload_quota_bytes BIGINT;
ALTER TABLE accounts ADD COLUMN updated_at BIGINT;
CREATE INDEX accounts_pending ON accounts (approved, created_at);
CREATE UNIQUE INDEX accounts_email ON accounts (email);

-- Where a session came from, for the page that lists them.
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN name TEXT NOT NULL DEFAULT '';

CREATE TABLE invites (
    code TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- NULL: no limit.
    max_uses BIGINT,
    uses BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX invites_account ON invites (account_id, created_at);

-- Everything a moderator did, for admins to read.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_name TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (created_at);

ALTER TABLE reports ADD COLUMN action_taken_at BIGINT;
ALTER TABLE reports ADD COLUMN action_taken_by TEXT;
ALTER TABLE reports ADD COLUMN resolution TEXT;

-- Links mailed out (confirm an address, reset a password): stored only hashed, used once.
CREATE TABLE email_tokens (
    token_sha256 TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    email TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
