-- Federation. Remote actors are rows of accounts (as Mastodon keeps them): `domain` is NULL for
-- local accounts; remote ones have no password or private key, and their username_key is
-- "name@domain" so they can never collide with, or log in as, a local name.
ALTER TABLE accounts ADD COLUMN domain TEXT;
ALTER TABLE accounts ADD COLUMN uri TEXT;
ALTER TABLE accounts ADD COLUMN actor_type TEXT;
ALTER TABLE accounts ADD COLUMN inbox_url TEXT;
ALTER TABLE accounts ADD COLUMN shared_inbox_url TEXT;
ALTER TABLE accounts ADD COLUMN followers_url TEXT;
ALTER TABLE accounts ADD COLUMN profile_url TEXT;
ALTER TABLE accounts ADD COLUMN avatar_url TEXT;
ALTER TABLE accounts ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN key_id TEXT;
ALTER TABLE accounts ADD COLUMN locked BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN fetched_at BIGINT;
CREATE UNIQUE INDEX accounts_uri ON accounts (uri);
CREATE INDEX accounts_key_id ON accounts (key_id);
CREATE INDEX accounts_domain ON accounts (domain);

-- Remote statuses keep their ActivityPub id and page; boosts are statuses that point at another.
ALTER TABLE statuses ADD COLUMN uri TEXT;
ALTER TABLE statuses ADD COLUMN url TEXT;
ALTER TABLE statuses ADD COLUMN reblog_of_id TEXT;
ALTER TABLE statuses ADD COLUMN title TEXT;
CREATE UNIQUE INDEX statuses_uri ON statuses (uri);
CREATE INDEX statuses_reblog ON statuses (reblog_of_id);
CREATE INDEX statuses_reply ON statuses (in_reply_to_id);

-- Remote media are shown from where they live: these replace the stored variants.
ALTER TABLE media ADD COLUMN remote_url TEXT;
ALTER TABLE media ADD COLUMN remote_preview_url TEXT;
ALTER TABLE media ADD COLUMN remote_hls_url TEXT;

CREATE TABLE follows (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- 'pending' until the target accepts, then 'accepted'.
    state TEXT NOT NULL,
    uri TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, target_id)
);
CREATE INDEX follows_target ON follows (target_id, state);

CREATE TABLE favourites (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id TEXT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    uri TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, status_id)
);
CREATE INDEX favourites_status ON favourites (status_id);

-- Activities we send are stored before any delivery job points at them; a delivery job carries
-- only this id and the target inbox.
CREATE TABLE outbox_activities (
    id TEXT PRIMARY KEY,
    -- NULL: sent by the instance actor.
    account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Activities received, verified, and waiting for (or done with) processing. The unique uri makes
-- a repeated delivery a no-op.
CREATE TABLE inbox_activities (
    id TEXT PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    signer TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL
);

-- What we know about other servers' availability, so deliveries to dead ones wait.
CREATE TABLE peers (
    domain TEXT PRIMARY KEY,
    failing_since BIGINT,
    last_success_at BIGINT,
    -- While dead, one delivery at a time is let through as a probe, at most this often.
    last_probe_at BIGINT,
    dead BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE domain_blocks (
    domain TEXT PRIMARY KEY,
    reason TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
