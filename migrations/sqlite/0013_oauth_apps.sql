-- OAuth apps as Mastodon has them: registered with POST /api/v1/apps, authorized by a person on
-- the consent page (a code, with PKCE), or acting as themselves (client credentials). Secrets and
-- codes are kept only as their SHA-256.
CREATE TABLE oauth_apps (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    client_secret_sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    website TEXT,
    -- One per line.
    redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE oauth_codes (
    code_sha256 TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    code_challenge TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Which app a person's token was issued to (NULL: the password grant without an app).
ALTER TABLE access_tokens ADD COLUMN app_id TEXT REFERENCES oauth_apps (id) ON DELETE CASCADE;

-- Tokens of an app acting as itself (client credentials): no account behind them.
CREATE TABLE app_tokens (
    token_sha256 TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
