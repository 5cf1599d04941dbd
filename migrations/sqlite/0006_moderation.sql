-- What an account does about another: block (no follows either way, nothing of theirs shown,
-- nothing of ours delivered to them) or mute (nothing of theirs shown).
CREATE TABLE account_blocks (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('block', 'mute')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, target_id, kind)
);
CREATE INDEX account_blocks_target ON account_blocks (target_id);

-- Reports, made here or received as Flag activities, for admins to review.
CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    target_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- A JSON list of status ids.
    status_ids TEXT NOT NULL DEFAULT '[]',
    comment TEXT NOT NULL DEFAULT '',
    uri TEXT UNIQUE,
    forwarded BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- Deleted local posts answer 410 with a Tombstone at their ActivityPub id, so servers that
-- fetch them later learn they are gone rather than that they never were.
CREATE TABLE tombstones (
    uri TEXT PRIMARY KEY,
    former_type TEXT NOT NULL,
    deleted_at BIGINT NOT NULL
);
