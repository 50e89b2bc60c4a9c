-- The newest change-log seq of each layer, kept when the log is pruned: a version that moves on
-- every write of the layer and never returns to an earlier value. It keys what is derived from a
-- layer (the walking graph and building snaps in `derived`).
CREATE TABLE layer_versions (
    layer TEXT PRIMARY KEY NOT NULL,
    seq   BIGINT NOT NULL
);
INSERT INTO layer_versions (layer, seq) SELECT layer, MAX(seq) FROM changes GROUP BY layer;

-- Derived data worth keeping between processes (the walking graph, building snaps), tagged with
-- the layer versions and algorithm version it was built from. A cache: losing it costs a rebuild.
CREATE TABLE derived (
    key     TEXT PRIMARY KEY NOT NULL,
    version TEXT NOT NULL,
    data    BYTEA NOT NULL
);
