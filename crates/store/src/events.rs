//! Events (issue 15): stored beside the dataset, not in it. One `events` row per event (the
//! columns lists filter on plus the event as JSON without its history) and one `event_history`
//! row per entry (migration 0007 on both backends). A transition is one transaction: the
//! version check, one UPDATE, the new history rows and the audit entry — O(change).
use crate::error::StoreError;
use gridmap_model::events::{Event, EventStatus, HistoryEntry};
use gridmap_model::GridId;

/// A read of events. Every filter is optional; all given must hold. Newest first
/// (`reported_at` descending, then id), then `offset`/`limit`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventQuery {
    /// Any of these statuses (empty: any).
    pub statuses: Vec<EventStatus>,
    pub category: Option<String>,
    pub grid: Option<GridId>,
    /// Scope: only events in one of these grids (`None`: no restriction; `Some(vec![])`: none).
    pub grids_in: Option<Vec<GridId>>,
    pub department: Option<String>,
    /// Only events whose resolution deadline passed before this time (unix s) and whose clock
    /// still runs (not resolved, verified, closed or suspended).
    pub overdue_at: Option<i64>,
    /// Only events reported at or after / before this time (unix s).
    pub reported_since: Option<i64>,
    pub reported_before: Option<i64>,
    /// Only events of this reporter.
    pub reporter: Option<String>,
    pub offset: u64,
    /// `None`: no limit.
    pub limit: Option<u64>,
}

/// The statuses whose clock does not run (SQL list).
pub(crate) const STOPPED: &str = "('resolved', 'verified', 'closed', 'suspended')";

pub(crate) fn corrupt(id: &str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: "event",
        id: id.to_owned(),
        reason: reason.to_string(),
    }
}

/// The JSON of an event's row: everything but its history.
pub(crate) fn doc(e: &Event) -> Result<String, StoreError> {
    let mut e = e.clone();
    e.history.clear();
    serde_json::to_string(&e).map_err(|err| corrupt(e.id.as_str(), err))
}

pub(crate) fn history_doc(id: &str, h: &HistoryEntry) -> Result<String, StoreError> {
    serde_json::to_string(h).map_err(|e| corrupt(id, e))
}

pub(crate) fn decode(id: &str, doc: &str, version: i64) -> Result<Event, StoreError> {
    let mut e: Event = serde_json::from_str(doc).map_err(|err| corrupt(id, err))?;
    e.version = version;
    Ok(e)
}

pub(crate) fn decode_history(id: &str, docs: &[String]) -> Result<Vec<HistoryEntry>, StoreError> {
    docs.iter()
        .map(|d| serde_json::from_str(d).map_err(|e| corrupt(id, format!("history: {e}"))))
        .collect()
}

/// Checks an event before it is stored: a category, a department, a history that starts
/// with the report.
pub(crate) fn validate(e: &Event) -> Result<(), StoreError> {
    let bad = |reason: &str| StoreError::Invalid {
        what: "event",
        id: e.id.to_string(),
        reason: reason.to_owned(),
    };
    if e.id.as_str().is_empty() {
        return Err(bad("empty id"));
    }
    if e.category.is_empty() {
        return Err(bad("category: empty"));
    }
    if e.department.is_empty() {
        return Err(bad("department: empty"));
    }
    if e.location.is_none() && e.building.is_none() {
        return Err(bad("location: an event needs a point or a building"));
    }
    if let Some(p) = e.location {
        crate::validate::point("event", e.id.as_str(), &p)?;
    }
    if e.history.last().is_some_and(|h| h.to != e.status) {
        return Err(bad("status: differs from the last history entry"));
    }
    Ok(())
}

/// The version an update may proceed with and the history rows it appends.
pub(crate) fn check_update(
    e: &Event,
    expected: i64,
    stored: Option<(i64, i64)>,
) -> Result<(i64, &[HistoryEntry]), StoreError> {
    let (version, history_len) = stored.ok_or_else(|| StoreError::NotFound {
        what: "event",
        id: e.id.to_string(),
    })?;
    if version != expected {
        return Err(StoreError::VersionConflict {
            what: "event",
            id: e.id.to_string(),
            current: version,
        });
    }
    let n = usize::try_from(history_len).unwrap_or(usize::MAX);
    if e.history.len() < n {
        return Err(StoreError::Invalid {
            what: "event",
            id: e.id.to_string(),
            reason: format!(
                "history: {} entries given, {n} stored; history is append-only",
                e.history.len()
            ),
        });
    }
    Ok((version + 1, &e.history[n..]))
}

pub(crate) fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Appends the filters of `q` to a query builder (same SQL on both backends).
macro_rules! push_event_filters {
    ($qb:expr, $q:expr) => {{
        let q: &$crate::EventQuery = $q;
        if !q.statuses.is_empty() {
            $qb.push(" AND status IN (");
            let mut sep = $qb.separated(", ");
            for s in &q.statuses {
                sep.push_bind(s.as_str().to_owned());
            }
            $qb.push(")");
        }
        if let Some(c) = &q.category {
            $qb.push(" AND category = ").push_bind(c.clone());
        }
        if let Some(g) = &q.grid {
            $qb.push(" AND grid = ").push_bind(g.0.clone());
        }
        if let Some(gs) = &q.grids_in {
            if gs.is_empty() {
                $qb.push(" AND 1 = 0");
            } else {
                $qb.push(" AND grid IN (");
                let mut sep = $qb.separated(", ");
                for g in gs {
                    sep.push_bind(g.0.clone());
                }
                $qb.push(")");
            }
        }
        if let Some(d) = &q.department {
            $qb.push(" AND department = ").push_bind(d.clone());
        }
        if let Some(r) = &q.reporter {
            $qb.push(" AND reporter = ").push_bind(r.clone());
        }
        if let Some(t) = q.overdue_at {
            $qb.push(" AND due_resolve IS NOT NULL AND due_resolve < ")
                .push_bind(t)
                .push(" AND status NOT IN ")
                .push($crate::events::STOPPED);
        }
        if let Some(t) = q.reported_since {
            $qb.push(" AND reported_at >= ").push_bind(t);
        }
        if let Some(t) = q.reported_before {
            $qb.push(" AND reported_at < ").push_bind(t);
        }
    }};
}
pub(crate) use push_event_filters;
