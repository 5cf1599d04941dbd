-- Full-text search of posts with SQLite's own FTS5, kept by triggers so no write path can
-- forget it. FTS5 rows are keyed by an integer: status_search_keys gives each post a stable
-- one (an INTEGER PRIMARY KEY survives VACUUM, a plain table's rowid need not).
CREATE TABLE status_search_keys (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    status_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE status_search USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER status_search_insert AFTER INSERT ON statuses BEGIN
    INSERT INTO status_search_keys (status_id) VALUES (new.id);
    INSERT INTO status_search (rowid, body)
        VALUES (last_insert_rowid(), new.spoiler_text || ' ' || new.text || ' ' || COALESCE(new.title, ''));
END;

CREATE TRIGGER status_search_update AFTER UPDATE OF text, spoiler_text, title ON statuses BEGIN
    UPDATE status_search SET body = new.spoiler_text || ' ' || new.text || ' ' || COALESCE(new.title, '')
        WHERE rowid = (SELECT n FROM status_search_keys WHERE status_id = new.id);
END;

CREATE TRIGGER status_search_delete AFTER DELETE ON statuses BEGIN
    DELETE FROM status_search WHERE rowid = (SELECT n FROM status_search_keys WHERE status_id = old.id);
    DELETE FROM status_search_keys WHERE status_id = old.id;
END;

INSERT INTO status_search_keys (status_id) SELECT id FROM statuses ORDER BY id;
INSERT INTO status_search (rowid, body)
    SELECT k.n, s.spoiler_text || ' ' || s.text || ' ' || COALESCE(s.title, '')
    FROM statuses s JOIN status_search_keys k ON k.status_id = s.id;
