-- Which strategy a copy was made for: each strategy has its own share of the space.
ALTER TABLE mirrors ADD COLUMN strategy TEXT NOT NULL DEFAULT 'all';
-- Our copy of the video's poster, so a page served from the copy needs nothing of the origin.
ALTER TABLE mirrors ADD COLUMN poster_key TEXT;
-- Plays counted here, and the origin's own count as last seen (remote videos): together they
-- rank videos for the most_viewed strategy; a local video federates its plays as `views`.
ALTER TABLE statuses ADD COLUMN views BIGINT NOT NULL DEFAULT 0;
ALTER TABLE statuses ADD COLUMN remote_views BIGINT NOT NULL DEFAULT 0;
-- Until when a mirror promised its copy (the CacheFile's `expires`): an origin stops listing a
-- copy whose mirror fell silent. NULL: listed by the video's origin, which keeps it current.
ALTER TABLE media_mirrors ADD COLUMN expires_at BIGINT;
