//! Storage of gridmap datasets behind one async trait, [`Store`], with two backends:
//! embedded SQLite (the default, `sqlite://gridmap.db`) and PostgreSQL + PostGIS
//! (`postgres://…`). Both run the same test suite (`tests/suite`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), gridmap_store::StoreError> {
//! let store = gridmap_store::open("sqlite://gridmap.db").await?;
//! let page = store.buildings(&gridmap_store::Query::bbox([7.41, 43.72, 7.43, 43.74]).page(0, 100)).await?;
//! println!("{} of {} buildings", page.items.len(), page.matched);
//! # Ok(()) }
//! ```
//!
//! See `README.md` beside this crate for the schema and its invariants.
#![forbid(unsafe_code)]

#[macro_use]
mod rows;
mod changes;
mod codec;
mod error;
mod events;
mod jobs;
mod memindex;
mod postgres;
mod query;
mod sqlite;
mod store;
mod users;
mod validate;
pub mod wkb;

pub use changes::{
    Applied, Change, ChangeBatch, ChangeOp, Edit, CHANNEL as CHANGE_CHANNEL, KEEP_CHANGES,
    RELOAD_ABOVE,
};
pub use error::StoreError;
pub use events::EventQuery;
pub use jobs::{now_millis, JobRecord, JobStatus};
pub use postgres::PgStore;
pub use query::{Page, Query};
pub use sqlite::SqliteStore;
pub use store::{ImportCounts, Store, META_PREFIX};
pub use users::{
    hash_password, hash_token, new_token, now_unix, random_bytes, rfc3339, verify_password,
    AuditQuery, TokenKind,
};

use gridmap_model::{BuildingKey, CommunityId, Grid, HouseholdUpdate};
use std::sync::Arc;

/// Opens the database named by `url` and brings its schema up to date.
///
/// * `sqlite://path/to/file.db` (or `sqlite:file.db`, `sqlite::memory:`): created when missing,
///   WAL journal, foreign keys on.
/// * `postgres://user@host:port/db` (or `postgresql://`): the PostGIS extension is created if
///   missing (needs the right to do so).
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        Err(StoreError::InvalidUrl {
            url: url.to_owned(),
            reason: "expected sqlite://FILE or postgres://USER@HOST/DB".into(),
        })
    }
}

/// The one building a household row names, given the ids its key matched.
pub(crate) fn resolve_household_key(
    u: &HouseholdUpdate,
    mut ids: Vec<String>,
) -> Result<String, StoreError> {
    match (ids.len(), &u.key) {
        (1, _) => Ok(ids.remove(0)),
        (0, BuildingKey::Id(id)) => Err(StoreError::UnknownBuilding {
            origin: u.origin.clone(),
            key: format!("id '{id}'"),
        }),
        (0, BuildingKey::Address(a)) => Err(StoreError::UnknownBuilding {
            origin: u.origin.clone(),
            key: format!("address '{a}'"),
        }),
        (n, BuildingKey::Address(a)) => Err(StoreError::AmbiguousAddress {
            origin: u.origin.clone(),
            address: a.clone(),
            count: n,
        }),
        (_, BuildingKey::Id(id)) => Err(StoreError::Corrupt {
            what: "building",
            id: id.to_string(),
            reason: "id is not unique".into(),
        }),
    }
}

/// Checks a partition result before it replaces the grids of `community`.
pub(crate) fn check_replacement(
    community: Option<&CommunityId>,
    grids: &[Grid],
) -> Result<(), StoreError> {
    validate::grids_disjoint(grids)?;
    if let Some(c) = community {
        if let Some(g) = grids.iter().find(|g| g.community.as_ref() != Some(c)) {
            return Err(StoreError::Invalid {
                what: "grid",
                id: g.id.to_string(),
                reason: format!(
                    "belongs to community {:?}, not to the community '{c}' being replaced",
                    g.community.as_ref().map(gridmap_model::CommunityId::as_str)
                ),
            });
        }
    }
    Ok(())
}

/// The checks of an edit that need no database (geometry, a partition's disjointness).
pub(crate) fn validate_edit(edit: &Edit) -> Result<(), StoreError> {
    match edit {
        Edit::PutGrid { grid, .. } => validate::grid(grid),
        Edit::PutFacility { facility, .. } => {
            validate::point("facility", facility.id.as_str(), &facility.location)
        }
        Edit::ReplaceGrids { community, grids } => check_replacement(community.as_ref(), grids),
        Edit::UpdateBuilding { building, .. } => validate::building(building),
        Edit::DeleteGrid { .. } | Edit::DeleteFacility { .. } => Ok(()),
    }
}

/// The version a write may proceed with, per the optimistic-concurrency rules of [`Store`].
pub(crate) fn check_version(
    what: &'static str,
    id: &str,
    expected: Option<i64>,
    current: Option<i64>,
) -> Result<i64, StoreError> {
    match (expected, current) {
        (None, None) => Ok(1),
        (None, Some(c)) => Err(StoreError::VersionConflict {
            what,
            id: id.to_owned(),
            current: c,
        }),
        (Some(_), None) => Err(StoreError::NotFound {
            what,
            id: id.to_owned(),
        }),
        (Some(e), Some(c)) if e != c => Err(StoreError::VersionConflict {
            what,
            id: id.to_owned(),
            current: c,
        }),
        (Some(_), Some(c)) => Ok(c + 1),
    }
}
