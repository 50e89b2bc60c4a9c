-- Events (issue 15): problems reported in a grid, routed, dispatched with a deadline, closed.
-- One row per event (the columns lists filter on, plus the event as JSON without its history)
-- and one row per history entry, so a transition writes one UPDATE and one INSERT (plus its
-- audit row) in one transaction: O(change). Not part of the dataset: no change-log rows, no
-- layer version. Times are unix seconds.
CREATE TABLE events (
    id          TEXT PRIMARY KEY NOT NULL,
    category    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'verified', 'closed', 'returned', 'suspended', 'reopened')),
    grid        TEXT,
    community   TEXT,
    department  TEXT NOT NULL,
    reporter    TEXT,
    reported_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    due_resolve BIGINT,
    version     BIGINT NOT NULL CHECK (version >= 1),
    history_len BIGINT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX events_status ON events (status, due_resolve);
CREATE INDEX events_grid ON events (grid, reported_at);
CREATE INDEX events_department ON events (department, reported_at);
CREATE INDEX events_reported ON events (reported_at, id);

CREATE TABLE event_history (
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    seq      BIGINT NOT NULL,
    doc      TEXT NOT NULL,
    PRIMARY KEY (event_id, seq)
);
