-- An animated avatar or header keeps its animation (avatar_key, a GIF) and gets a still of its
-- first frame beside it, for apps and people who turn animations off. NULL: the picture is a still.
ALTER TABLE accounts ADD COLUMN avatar_static_key TEXT;
ALTER TABLE accounts ADD COLUMN header_static_key TEXT;
