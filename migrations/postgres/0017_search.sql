-- Full-text search of posts with PostgreSQL's own text search: an index on the same
-- expression the search query uses. The 'simple' configuration folds case and splits words
-- without stemming for one language, as posts come in any.
CREATE INDEX statuses_search ON statuses
    USING GIN (to_tsvector('simple', spoiler_text || ' ' || text || ' ' || COALESCE(title, '')));
