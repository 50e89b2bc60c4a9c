-- Long analysis work run as jobs (the server's `/api/jobs`): one row per job, written by the
-- server that runs it (status, progress and a heartbeat in `updated` about once a second) and read
-- by any server, so every replica answers a job's status. Not part of the dataset: writes here
-- bump no `gen.*` counter and append nothing to the change log. Times are unix milliseconds.
CREATE TABLE jobs (
    id       TEXT PRIMARY KEY NOT NULL,                -- random, unguessable
    process  TEXT NOT NULL,                            -- partition, coverage, …
    owner    TEXT,                                     -- user id; no foreign key: the row outlives users
    scope    TEXT NOT NULL DEFAULT '',                 -- the caller's scope key ('' = everything)
    status   TEXT NOT NULL CHECK (status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')),
    progress REAL NOT NULL DEFAULT 0,                  -- 0..100
    message  TEXT,
    inputs   TEXT NOT NULL,                            -- JSON
    result   TEXT,                                     -- JSON, when successful
    error    TEXT,                                     -- JSON problem document, when failed
    created  INTEGER NOT NULL,
    started  INTEGER,
    finished INTEGER,
    updated  INTEGER NOT NULL                          -- last write (the runner's heartbeat)
);
CREATE INDEX jobs_owner ON jobs (owner, created);
CREATE INDEX jobs_created ON jobs (created);
CREATE INDEX jobs_updated ON jobs (updated);
