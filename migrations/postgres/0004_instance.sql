-- Instance-wide values that must survive restarts, such as the instance actor's key pair.
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
