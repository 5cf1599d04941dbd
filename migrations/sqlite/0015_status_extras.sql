-- What apps keep per post and per reader: edits (with the versions before each), the
-- language and the app a post was written in, bookmarks, pins, and where a reader stopped.

ALTER TABLE statuses ADD COLUMN edited_at BIGINT;
ALTER TABLE statuses ADD COLUMN language TEXT;
-- The app (oauth_apps.id) a local post was written with; NULL from the web UI and for
-- remote posts. Not a foreign key: deleting an app keeps its posts.
ALTER TABLE statuses ADD COLUMN app_id TEXT;

-- One row per version a post had before an edit: its text as it was from `created_at` until
-- the next version. The current version is the status row itself.
CREATE TABLE status_edits (
    id TEXT PRIMARY KEY,
    status_id TEXT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    spoiler_text TEXT NOT NULL,
    sensitive INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX status_edits_status ON status_edits (status_id, created_at);

-- id pages the list, newest bookmark first, as Mastodon pages it.
CREATE TABLE bookmarks (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id TEXT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, status_id)
);

CREATE TABLE pins (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status_id TEXT NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, status_id)
);

-- Where a reader stopped in a timeline (home, notifications), shared between their apps.
-- version counts the updates, as Mastodon's does, so apps can tell a newer position.
CREATE TABLE markers (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    timeline TEXT NOT NULL,
    last_read_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, timeline)
);
