//! The change log and the one edit path.
//!
//! Every dataset write appends rows to the `changes` table in the same transaction as the write:
//! one row per changed feature (`layer`, `item` = feature id, `op` put/delete), or one `reload`
//! row for a layer when a single write changed more than [`RELOAD_ABOVE`] of its features.
//! Readers (the server of this or another process, a replica) follow the log with
//! [`crate::Store::changes_since`] and [`crate::Store::wait_for_change`] and apply the same
//! incremental update; see `README.md`.
//!
//! Edits of single features and partition results go through [`Edit`] and
//! [`crate::Store::apply_edit`], which also appends the caller's audit entry in the same
//! transaction, so an edit and its audit entry land together or not at all.
use crate::error::StoreError;
use gridmap_model::{Building, CommunityId, Dataset, Facility, FacilityId, Grid, GridId, Layer};
use std::str::FromStr;

/// One committed change of one feature (or of a whole layer: `op = Reload`, `item = None`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub seq: i64,
    pub layer: Layer,
    pub item: Option<String>,
    pub op: ChangeOp,
}

/// What happened to the feature of a [`Change`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// Created or replaced: read the feature again (if it is gone by now, a later row says so).
    Put,
    /// Deleted.
    Delete,
    /// Too many features of the layer changed in one write to list them: reload the layer.
    Reload,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Put => "put",
            ChangeOp::Delete => "delete",
            ChangeOp::Reload => "reload",
        }
    }
}

/// The answer of [`crate::Store::changes_since`].
#[derive(Clone, Debug, Default)]
pub struct ChangeBatch {
    /// The newest committed seq at the time of the read (the changes may stop earlier: `limit`).
    pub head: i64,
    /// Oldest first.
    pub changes: Vec<Change>,
    /// false: the log no longer holds every change after `after` (pruned): reload everything
    pub complete: bool,
}

/// One edit of the dataset, applied by [`crate::Store::apply_edit`]. The version rules are
/// those of the single-purpose methods (`expected = None`: create, must not exist; `Some(v)`:
/// the stored version must be `v`; for deletes `None` means unconditionally).
#[derive(Clone, Debug)]
pub enum Edit {
    PutGrid {
        grid: Grid,
        expected: Option<i64>,
    },
    DeleteGrid {
        id: GridId,
        expected: Option<i64>,
    },
    PutFacility {
        facility: Facility,
        expected: Option<i64>,
    },
    DeleteFacility {
        id: FacilityId,
        expected: Option<i64>,
    },
    /// A partition result: replaces every grid of `community` (`None`: all grids).
    ReplaceGrids {
        community: Option<CommunityId>,
        grids: Vec<Grid>,
    },
    UpdateBuilding {
        building: Building,
        expected: Option<i64>,
    },
}

/// What [`crate::Store::apply_edit`] committed.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The change head right after this edit (the seq of its last change row; the head at the
    /// time of the edit when it changed nothing).
    pub seq: i64,
    /// The id of the audit entry written with the edit, when one was given.
    pub audit_id: Option<i64>,
    /// `PutGrid`: the grid as stored (with its new version).
    pub grid: Option<Grid>,
    /// `PutFacility`: the facility and its new version.
    pub facility: Option<(Facility, i64)>,
    /// `UpdateBuilding`: the building as stored and its new version.
    pub building: Option<(Building, i64)>,
}

/// A write that changes more than this many features of one layer logs one `reload` row for
/// the layer instead of one row per feature.
pub const RELOAD_ABOVE: usize = 1_000;
/// The change log keeps at least this many of its newest rows.
pub const KEEP_CHANGES: i64 = 100_000;
/// Pruning runs when the head crosses a multiple of this (so at most once per this many appends).
pub const PRUNE_EVERY: i64 = 1_000;
/// The `meta` key holding the highest pruned seq (every seq up to it is gone).
pub(crate) const PRUNED_KEY: &str = "changes.pruned_through";
/// The PostgreSQL `NOTIFY` channel; the payload is the new head.
pub const CHANNEL: &str = "gridmap_changes";

/// The change rows one write will append, collected while the write runs.
#[derive(Debug, Default)]
pub(crate) struct ChangeSet {
    /// Per layer in order of first appearance: its rows in order.
    layers: Vec<(Layer, Vec<(String, ChangeOp)>)>,
}

impl ChangeSet {
    pub(crate) fn push(&mut self, layer: Layer, item: impl Into<String>, op: ChangeOp) {
        let i = if let Some(i) = self.layers.iter().position(|(l, _)| *l == layer) {
            i
        } else {
            self.layers.push((layer, Vec::new()));
            self.layers.len() - 1
        };
        let rows = &mut self.layers[i].1;
        // Above the threshold only the count matters: stop collecting ids.
        if rows.len() <= RELOAD_ABOVE {
            rows.push((item.into(), op));
        }
    }

    /// `put` rows for every id of `items`.
    pub(crate) fn puts<'a>(&mut self, layer: Layer, items: impl IntoIterator<Item = &'a str>) {
        for id in items {
            self.push(layer, id, ChangeOp::Put);
        }
    }

    /// The rows to insert: `(layer, item, op)`, a layer with more than [`RELOAD_ABOVE`] rows
    /// collapsed into one `reload` row.
    pub(crate) fn rows(&self) -> Vec<(&'static str, Option<&str>, &'static str)> {
        let mut out = Vec::new();
        for (layer, rows) in &self.layers {
            if rows.len() > RELOAD_ABOVE {
                out.push((layer.as_str(), None, ChangeOp::Reload.as_str()));
            } else {
                out.extend(
                    rows.iter()
                        .map(|(id, op)| (layer.as_str(), Some(id.as_str()), op.as_str())),
                );
            }
        }
        out
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

/// The change rows of an import: a put of every feature it carries.
pub(crate) fn import_changes(ds: &Dataset) -> ChangeSet {
    let mut cs = ChangeSet::default();
    cs.puts(Layer::Streets, ds.streets.iter().map(|x| x.id.as_str()));
    cs.puts(
        Layer::Communities,
        ds.communities.iter().map(|x| x.id.as_str()),
    );
    cs.puts(Layer::Compounds, ds.compounds.iter().map(|x| x.id.as_str()));
    cs.puts(Layer::Buildings, ds.buildings.iter().map(|x| x.id.as_str()));
    cs.puts(
        Layer::Facilities,
        ds.facilities.iter().map(|x| x.id.as_str()),
    );
    cs.puts(Layer::Grids, ds.grids.iter().map(|x| x.id.as_str()));
    cs.puts(Layer::Network, ds.ways.iter().map(|x| x.id.as_str()));
    cs
}

/// The change rows of a grid replacement: deletes of the old grids that are gone, puts of the new.
pub(crate) fn replacement_changes<'a>(
    old: impl IntoIterator<Item = &'a str>,
    new: &[Grid],
) -> ChangeSet {
    let mut cs = ChangeSet::default();
    let kept: std::collections::HashSet<&str> = new.iter().map(|g| g.id.as_str()).collect();
    for id in old {
        if !kept.contains(id) {
            cs.push(Layer::Grids, id, ChangeOp::Delete);
        }
    }
    cs.puts(Layer::Grids, new.iter().map(|g| g.id.as_str()));
    cs
}

/// A change row as read back.
pub(crate) fn decode_change(
    seq: i64,
    layer: &str,
    item: Option<String>,
    op: &str,
) -> Result<Change, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        what: "change",
        id: seq.to_string(),
        reason,
    };
    let layer = Layer::from_str(layer).map_err(|e| corrupt(e.to_string()))?;
    let op = match op {
        "put" => ChangeOp::Put,
        "delete" => ChangeOp::Delete,
        "reload" => ChangeOp::Reload,
        other => return Err(corrupt(format!("unknown op '{other}'"))),
    };
    Ok(Change {
        seq,
        layer,
        item,
        op,
    })
}

/// The highest seq that pruning may delete after the head moved from `before` to `after`, if
/// this append crossed a multiple of the prune interval.
pub(crate) fn prune_cut(before: i64, after: i64, keep: i64) -> Option<i64> {
    let every = PRUNE_EVERY.min(keep.max(1));
    (after / every != before / every && after - keep > 0).then_some(after - keep)
}

/// `complete` of a batch read after `after` when every seq up to `pruned_through` is gone.
pub(crate) fn is_complete(after: i64, pruned_through: i64) -> bool {
    after >= pruned_through
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_a_thousand_changes_of_a_layer_collapse_into_one_reload_row() {
        let mut cs = ChangeSet::default();
        for i in 0..1_001 {
            cs.push(Layer::Buildings, format!("b{i}"), ChangeOp::Put);
        }
        for i in 0..1_000 {
            cs.push(Layer::Network, format!("w{i}"), ChangeOp::Put);
        }
        cs.push(Layer::Grids, "g1", ChangeOp::Delete);
        let rows = cs.rows();
        assert_eq!(rows[0], ("buildings", None, "reload"));
        assert_eq!(rows.len(), 1 + 1_000 + 1);
        assert_eq!(rows[1], ("network", Some("w0"), "put"));
        assert_eq!(rows[1_001], ("grids", Some("g1"), "delete"));
    }

    #[test]
    fn pruning_runs_once_per_interval_and_keeps_the_newest() {
        assert_eq!(
            prune_cut(999, 1_000, 100_000),
            None,
            "nothing old enough yet"
        );
        assert_eq!(prune_cut(100_999, 101_000, 100_000), Some(1_000));
        assert_eq!(prune_cut(101_000, 101_500, 100_000), None, "same interval");
        assert_eq!(
            prune_cut(101_500, 103_000, 100_000),
            Some(3_000),
            "a big jump still prunes"
        );
        assert_eq!(prune_cut(9, 10, 5), Some(5));
        assert!(is_complete(0, 0) && is_complete(7, 7) && !is_complete(6, 7) && !is_complete(0, 7));
    }
}
