-- Who a post mentions (its audience when it is direct), its hashtags, the tags people follow,
-- and what each account is told about.

CREATE TABLE status_mentions (
    status_id TEXT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (status_id, account_id)
);
CREATE INDEX status_mentions_account ON status_mentions (account_id, status_id);

-- name is case-folded: #Foxes and #foxes are one tag.
CREATE TABLE tags (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE status_tags (
    status_id TEXT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    tag_id TEXT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (status_id, tag_id)
);
CREATE INDEX status_tags_tag ON status_tags (tag_id, status_id);

CREATE TABLE tag_follows (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tag_id TEXT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, tag_id)
);

-- kind is Mastodon's notification type (mention, favourite, reblog, follow, follow_request,
-- update, admin.sign_up, admin.report). The same event told twice (an inbox retry, a like
-- taken back and given again) is one row: the unique index makes writing it idempotent.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    from_account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    status_id TEXT REFERENCES statuses (id) ON DELETE CASCADE,
    report_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX notifications_account ON notifications (account_id, id);
CREATE UNIQUE INDEX notifications_once
    ON notifications (account_id, from_account_id, kind, COALESCE(status_id, ''), COALESCE(report_id, ''));
