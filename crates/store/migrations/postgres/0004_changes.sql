-- The change log: every dataset write appends, in its own transaction, one row per changed
-- feature (layer as `gridmap_model::Layer` names it, item = feature id, op put|delete), or one
-- `reload` row (item NULL) for a layer of which it changed more than 1,000 features, then
-- `pg_notify('gridmap_changes', <new head>)`. Writers take a transaction-scoped advisory lock
-- before appending, so seq order is commit order (a reader never sees seq n+1 before n).
-- Accounts, tokens, audit and results append nothing. The oldest rows are pruned (at least the
-- newest 100,000 stay); `meta.changes.pruned_through` is the highest pruned seq.
CREATE TABLE changes (
    seq   bigserial PRIMARY KEY,
    layer text NOT NULL,
    item  text COLLATE "C",
    op    text NOT NULL CHECK (op IN ('put', 'delete', 'reload')),
    at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO meta (key, value) VALUES ('changes.pruned_through', '0');
