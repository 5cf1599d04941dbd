-- Two-factor authentication (TOTP, RFC 6238) and its one-time recovery codes. The secret is set
-- when the owner starts enabling it and counts only once `totp_enabled_at` is set (after a code
-- from their app proved they have it).
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_enabled_at BIGINT;
-- The last time step a code was accepted for: a code is never accepted twice.
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_sha256 TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (account_id, code_sha256)
);

-- A password checked, a second factor awaited: the login form's second step.
CREATE TABLE login_challenges (
    token_sha256 TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    next_path TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL
);
