-- Accounts, login sessions / API tokens, and the audit log (version 3 on both backends; the
-- PostgreSQL schema has no 0002 because the snapshot table is SQLite-only).
-- None of these tables is part of the dataset: writes here bump no `gen.*` counter in `meta`, so
-- they neither rebuild the in-memory layers nor retire the `load()` snapshot.
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,           -- login name
    display_name  TEXT,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'planner', 'department', 'grid_lead')),
    grids         TEXT NOT NULL DEFAULT '[]',          -- JSON array of grid ids (grid_lead scope)
    communities   TEXT NOT NULL DEFAULT '[]',          -- JSON array of community ids; [] = all
    disabled      INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT,                                -- argon2 PHC string, computed by the caller
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- Only the SHA-256 (hex) of a token is stored.
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('session', 'api')),
    name       TEXT,
    expires_at INTEGER,                                -- unix seconds; NULL = never
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,                             -- RFC 3339 UTC
    user_id TEXT,                                      -- no foreign key: the log outlives users
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    before  TEXT,                                      -- JSON
    after   TEXT                                       -- JSON
);
CREATE INDEX audit_user ON audit (user_id, id);
CREATE INDEX audit_target ON audit (target, id);
CREATE INDEX audit_at ON audit (at);
