-- A binary snapshot of the whole dataset (postcard-encoded `Dataset`) tagged with the layer change
-- counters it was taken at. `load()` answers from it when the counters still match, which turns a
-- city's full read (tens of thousands of rows through sqlx) into one blob read; any write bumps a
-- counter and so retires the snapshot until the next `load()` takes a new one.
CREATE TABLE snapshot (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation TEXT NOT NULL,
    data       BLOB NOT NULL
);
