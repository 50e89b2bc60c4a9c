-- The change log: every dataset write appends, in its own transaction, one row per changed
-- feature (layer as `gridmap_model::Layer` names it, item = feature id, op put|delete), or one
-- `reload` row (item NULL) for a layer of which it changed more than 1,000 features. Readers
-- follow it by `seq` (AUTOINCREMENT: never reused, also after pruning). Accounts, tokens, audit
-- and results append nothing. The oldest rows are pruned (at least the newest 100,000 stay);
-- `meta.changes.pruned_through` is the highest pruned seq.
CREATE TABLE changes (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    layer TEXT NOT NULL,
    item  TEXT,
    op    TEXT NOT NULL CHECK (op IN ('put', 'delete', 'reload')),
    at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO meta (key, value) VALUES ('changes.pruned_through', '0');
