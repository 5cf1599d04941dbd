-- Instance actors following each other: 'out' we follow them (and mirror their videos),
-- 'in' they follow us (and may mirror ours).
CREATE TABLE instance_follows (
    actor_uri TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    inbox TEXT NOT NULL,
    state TEXT NOT NULL,
    follow_uri TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (actor_uri, direction)
);

-- Copies this instance holds of other servers' videos.
CREATE TABLE mirrors (
    id TEXT PRIMARY KEY,
    status_id TEXT NOT NULL UNIQUE REFERENCES statuses (id) ON DELETE CASCADE,
    video_uri TEXT NOT NULL,
    origin_master TEXT NOT NULL,
    -- Key of our copy's master playlist once verified.
    master_key TEXT,
    size_bytes BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    error TEXT,
    verified_at BIGINT,
    created_at BIGINT NOT NULL
);

-- Known copies of a video (ours copied elsewhere, or a remote one's): where a player may go.
CREATE TABLE media_mirrors (
    media_id TEXT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    base_url TEXT NOT NULL,
    master_url TEXT NOT NULL,
    cachefile_uri TEXT NOT NULL,
    actor_uri TEXT NOT NULL,
    verified_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (media_id, base_url)
);

-- Running totals for /metrics (bytes copied, verification failures), shared by all processes.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
