-- The newest change-log seq of each layer, kept when the log is pruned: a version that moves on
-- every write of the layer and never returns to an earlier value. It keys what is derived from a
-- layer (the per-layer snapshots below, the walking graph and building snaps in `derived`).
CREATE TABLE layer_versions (
    layer TEXT PRIMARY KEY NOT NULL,
    seq   INTEGER NOT NULL
);
INSERT INTO layer_versions (layer, seq) SELECT layer, MAX(seq) FROM changes GROUP BY layer;

-- Binary copies (postcard) of single layers at a layer version: `load()` decodes a layer from
-- here when its version still matches, so a grid edit no longer retires the buildings' copy.
-- Replaces the whole-dataset `snapshot` of 0002, which any write retired.
CREATE TABLE layer_snapshots (
    layer   TEXT PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL,
    data    BLOB NOT NULL
);
DROP TABLE snapshot;

-- Derived data worth keeping between processes (the walking graph, building snaps), tagged with
-- the layer versions and algorithm version it was built from. A cache: losing it costs a rebuild.
CREATE TABLE derived (
    key     TEXT PRIMARY KEY NOT NULL,
    version TEXT NOT NULL,
    data    BLOB NOT NULL
);
