-- gridmap schema, SQLite. Geometries are little-endian WKB blobs (bit-exact doubles) with their
-- envelope in minx/miny/maxx/maxy; bbox reads go through an in-memory R-tree (see README.md).
-- Ids compare in byte order (BINARY collation), like Rust strings.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
-- Per-layer change counters: every write transaction bumps the counters of the layers it
-- touches, so in-memory caches (in this or another process) know when to reload.
INSERT INTO meta (key, value) VALUES
    ('schema', 'gridmap 1'),
    ('gen.communities', '0'), ('gen.compounds', '0'), ('gen.buildings', '0'),
    ('gen.facilities', '0'), ('gen.grids', '0');

CREATE TABLE streets (
    id       TEXT PRIMARY KEY NOT NULL,
    name     TEXT NOT NULL,
    boundary BLOB
);

CREATE TABLE communities (
    id       TEXT PRIMARY KEY NOT NULL,
    name     TEXT NOT NULL,
    street   TEXT,
    boundary BLOB,
    minx REAL, miny REAL, maxx REAL, maxy REAL
);

CREATE TABLE compounds (
    id        TEXT PRIMARY KEY NOT NULL,
    name      TEXT,
    kind      TEXT NOT NULL,
    community TEXT,
    boundary  BLOB,
    minx REAL, miny REAL, maxx REAL, maxy REAL
);
CREATE INDEX compounds_community ON compounds (community);

CREATE TABLE buildings (
    id                TEXT PRIMARY KEY NOT NULL,
    name              TEXT,
    building_type     TEXT,
    address           TEXT,
    footprint         BLOB NOT NULL,
    entrance          BLOB,
    levels            REAL,
    households        INTEGER NOT NULL CHECK (households >= 0),
    households_source TEXT NOT NULL CHECK (households_source IN ('estimated', 'imported', 'edited')),
    elderly           INTEGER CHECK (elderly >= 0),
    steward           TEXT,
    compound          TEXT,
    community         TEXT,
    version           INTEGER NOT NULL DEFAULT 1,
    minx REAL NOT NULL, miny REAL NOT NULL, maxx REAL NOT NULL, maxy REAL NOT NULL
);
CREATE INDEX buildings_address ON buildings (address);
CREATE INDEX buildings_community ON buildings (community);

CREATE TABLE facilities (
    id            TEXT PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL,
    name          TEXT,
    location      BLOB NOT NULL,
    capacity      INTEGER CHECK (capacity >= 0),
    opening_hours TEXT,
    version       INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE grids (
    id        TEXT PRIMARY KEY NOT NULL,
    code      TEXT NOT NULL,
    name      TEXT,
    community TEXT,
    leads     TEXT NOT NULL DEFAULT '[]',   -- JSON array of user ids
    boundary  BLOB,
    version   INTEGER NOT NULL DEFAULT 1,
    minx REAL, miny REAL, maxx REAL, maxy REAL
);
CREATE INDEX grids_community ON grids (community);

-- Grid membership; UNIQUE(building_id) is the "every building in at most one grid" invariant.
CREATE TABLE grid_buildings (
    grid_id     TEXT NOT NULL REFERENCES grids (id) ON DELETE CASCADE,
    building_id TEXT NOT NULL UNIQUE REFERENCES buildings (id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (grid_id, position)
);

CREATE TABLE network_ways (
    id       TEXT PRIMARY KEY NOT NULL,
    geometry BLOB NOT NULL,
    tags     TEXT NOT NULL,                 -- JSON object of string tags
    length_m REAL
);

CREATE TABLE results (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,               -- JSON
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
