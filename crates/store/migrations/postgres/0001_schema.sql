-- gridmap schema, PostgreSQL + PostGIS. Geometries in EPSG:4326 with GiST indexes; written as
-- WKB (ST_GeomFromWKB) and read with ST_AsBinary, so doubles round-trip bit-exactly.
-- Ids use the "C" collation: byte order, like Rust strings and SQLite, so paging agrees.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO meta (key, value) VALUES ('schema', 'gridmap 1');

CREATE TABLE streets (
    id       text COLLATE "C" PRIMARY KEY,
    name     text NOT NULL,
    boundary geometry(MultiPolygon, 4326)
);

CREATE TABLE communities (
    id       text COLLATE "C" PRIMARY KEY,
    name     text NOT NULL,
    street   text,
    boundary geometry(MultiPolygon, 4326)
);
CREATE INDEX communities_boundary ON communities USING gist (boundary);

CREATE TABLE compounds (
    id        text COLLATE "C" PRIMARY KEY,
    name      text,
    kind      text NOT NULL,
    community text,
    boundary  geometry(MultiPolygon, 4326)
);
CREATE INDEX compounds_boundary ON compounds USING gist (boundary);
CREATE INDEX compounds_community ON compounds (community);

CREATE TABLE buildings (
    id                text COLLATE "C" PRIMARY KEY,
    name              text,
    building_type     text,
    address           text,
    footprint         geometry(MultiPolygon, 4326) NOT NULL,
    entrance          geometry(Point, 4326),
    levels            double precision,
    households        bigint NOT NULL CHECK (households >= 0),
    households_source text NOT NULL CHECK (households_source IN ('estimated', 'imported', 'edited')),
    elderly           bigint CHECK (elderly >= 0),
    steward           text,
    compound          text,
    community         text,
    version           bigint NOT NULL DEFAULT 1
);
CREATE INDEX buildings_footprint ON buildings USING gist (footprint);
CREATE INDEX buildings_address ON buildings (address);
CREATE INDEX buildings_community ON buildings (community);

CREATE TABLE facilities (
    id            text COLLATE "C" PRIMARY KEY,
    kind          text NOT NULL,
    name          text,
    location      geometry(Point, 4326) NOT NULL,
    capacity      bigint CHECK (capacity >= 0),
    opening_hours text,
    version       bigint NOT NULL DEFAULT 1
);
CREATE INDEX facilities_location ON facilities USING gist (location);

CREATE TABLE grids (
    id        text COLLATE "C" PRIMARY KEY,
    code      text NOT NULL,
    name      text,
    community text,
    leads     jsonb NOT NULL DEFAULT '[]',
    boundary  geometry(MultiPolygon, 4326),
    version   bigint NOT NULL DEFAULT 1
);
CREATE INDEX grids_boundary ON grids USING gist (boundary);
CREATE INDEX grids_community ON grids (community);

-- Grid membership; UNIQUE(building_id) is the "every building in at most one grid" invariant.
CREATE TABLE grid_buildings (
    grid_id     text COLLATE "C" NOT NULL REFERENCES grids (id) ON DELETE CASCADE,
    building_id text COLLATE "C" NOT NULL UNIQUE REFERENCES buildings (id),
    position    integer NOT NULL,
    PRIMARY KEY (grid_id, position)
);

CREATE TABLE network_ways (
    id       text COLLATE "C" PRIMARY KEY,
    geometry geometry(LineString, 4326) NOT NULL,
    tags     jsonb NOT NULL,
    length_m double precision
);

CREATE TABLE results (
    key        text COLLATE "C" PRIMARY KEY,
    value      json NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
