-- Long analysis work run as jobs (the server's `/api/jobs`): one row per job, written by the
-- server that runs it (status, progress and a heartbeat in `updated` about once a second) and read
-- by any server, so every replica answers a job's status. Not part of the dataset: writes here
-- append nothing to the change log. Times are unix milliseconds (as on SQLite).
CREATE TABLE jobs (
    id       text COLLATE "C" PRIMARY KEY,             -- random, unguessable
    process  text NOT NULL,                            -- partition, coverage, …
    owner    text COLLATE "C",                         -- user id; no foreign key: the row outlives users
    scope    text NOT NULL DEFAULT '',                 -- the caller's scope key ('' = everything)
    status   text NOT NULL CHECK (status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')),
    progress double precision NOT NULL DEFAULT 0,      -- 0..100
    message  text,
    inputs   text NOT NULL,                            -- JSON, kept as given
    result   text,                                     -- JSON, when successful
    error    text,                                     -- JSON problem document, when failed
    created  bigint NOT NULL,
    started  bigint,
    finished bigint,
    updated  bigint NOT NULL                           -- last write (the runner's heartbeat)
);
CREATE INDEX jobs_owner ON jobs (owner, created);
CREATE INDEX jobs_created ON jobs (created);
CREATE INDEX jobs_updated ON jobs (updated);
