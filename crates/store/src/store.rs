//! The [`Store`] trait: everything the CLI and the server ask of a database.
use crate::changes::{Applied, ChangeBatch, Edit};
use crate::error::StoreError;
use crate::query::{Page, Query};
use crate::users::{AuditQuery, TokenKind};
use async_trait::async_trait;
use gridmap_model::{
    AuditEntry, Building, BuildingId, Community, CommunityId, Compound, CompoundId, Dataset,
    Facility, FacilityId, Grid, GridId, HouseholdUpdate, Layer, User, UserId,
};
use std::collections::BTreeMap;

/// How many records of each layer one import wrote (inserted or replaced).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportCounts {
    pub streets: usize,
    pub communities: usize,
    pub compounds: usize,
    pub buildings: usize,
    pub facilities: usize,
    pub grids: usize,
    pub ways: usize,
}

/// Prefix of the metadata keys in the `results` table ([`Store::meta`]).
pub const META_PREFIX: &str = "meta:";

/// An edit that committed but did not report the record it wrote (a backend bug).
fn missing(what: &'static str, id: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        id: id.to_owned(),
        reason: "the edit committed but returned no record".into(),
    }
}

/// A gridmap database. Implemented for SQLite and PostgreSQL/PostGIS; both pass the same
/// test suite (`tests/suite`). Invariants every implementation keeps:
/// * a building is in at most one grid;
/// * versions of grids, facilities and buildings start at 1 and bump by exactly 1 per edit;
/// * every write call is one transaction: it applies completely or not at all;
/// * every dataset write appends its change rows (see [`crate::Change`]) in that transaction.
#[async_trait]
pub trait Store: Send + Sync {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Writes a dataset in one transaction, replacing records with the same id (upsert).
    /// Records not in `ds` stay. A grid in `ds` replaces that grid's building list.
    /// Fails, leaving the database unchanged, on duplicate ids, unusable geometry, a grid naming
    /// a building that neither `ds` nor the store holds, or a building claimed by two grids.
    async fn import(&self, ds: &Dataset) -> Result<ImportCounts, StoreError>;

    /// Applies household-count rows in one transaction; returns how many buildings changed.
    /// A row whose building (by id or address) is unknown fails the whole call
    /// ([`StoreError::UnknownBuilding`]). Rows that set `households` mark the source `Imported`.
    async fn apply_household_updates(&self, ups: &[HouseholdUpdate]) -> Result<usize, StoreError>;

    /// Everything, for the analysis core; every layer sorted by id.
    async fn load(&self) -> Result<Dataset, StoreError>;

    /// Like [`Store::load`], but only `layers` (the others empty), for work that needs part of
    /// the data (a partition needs no grids or facilities). Backends may skip reading the rest.
    async fn load_layers(&self, layers: &[Layer]) -> Result<Dataset, StoreError> {
        let mut ds = self.load().await?;
        let keep = |l: Layer| layers.contains(&l);
        if !keep(Layer::Streets) {
            ds.streets = Default::default();
        }
        if !keep(Layer::Communities) {
            ds.communities = Default::default();
        }
        if !keep(Layer::Compounds) {
            ds.compounds = Default::default();
        }
        if !keep(Layer::Buildings) {
            ds.buildings = Default::default();
        }
        if !keep(Layer::Facilities) {
            ds.facilities = Default::default();
        }
        if !keep(Layer::Grids) {
            ds.grids = Default::default();
        }
        if !keep(Layer::Network) {
            ds.ways = Default::default();
        }
        Ok(ds)
    }

    /// Record counts per layer (`streets`, `communities`, `compounds`, `buildings`,
    /// `facilities`, `grids`, `network`), plus `households` (sum) and `results`.
    async fn counts(&self) -> Result<BTreeMap<String, u64>, StoreError>;

    async fn buildings(&self, q: &Query) -> Result<Page<Building>, StoreError>;
    async fn facilities(&self, q: &Query) -> Result<Page<Facility>, StoreError>;
    async fn grids(&self, q: &Query) -> Result<Page<Grid>, StoreError>;
    async fn compounds(&self, q: &Query) -> Result<Page<Compound>, StoreError>;
    async fn communities(&self, q: &Query) -> Result<Page<Community>, StoreError>;

    async fn building(&self, id: &BuildingId) -> Result<Option<Building>, StoreError>;
    /// Version (ETag) of a building, if it exists.
    async fn building_version(&self, id: &BuildingId) -> Result<Option<i64>, StoreError>;
    /// A facility with its version (ETag).
    async fn facility(&self, id: &FacilityId) -> Result<Option<(Facility, i64)>, StoreError>;
    async fn grid(&self, id: &GridId) -> Result<Option<Grid>, StoreError>;
    async fn compound(&self, id: &CompoundId) -> Result<Option<Compound>, StoreError>;
    async fn community(&self, id: &CommunityId) -> Result<Option<Community>, StoreError>;

    /// Applies one edit and (when given) appends `audit` in the same transaction: both land or
    /// neither. Appends the edit's change rows (see [`crate::Change`]) in that transaction too.
    /// Errors as the single-purpose methods below ([`StoreError::VersionConflict`],
    /// [`StoreError::NotFound`], [`StoreError::BuildingInOtherGrid`],
    /// [`StoreError::UnknownReference`], …); on any error nothing is written. `audit.at` empty = now.
    async fn apply_edit(
        &self,
        edit: &Edit,
        audit: Option<&AuditEntry>,
    ) -> Result<Applied, StoreError>;

    /// Creates (`expected = None`: must not exist) or replaces (`Some(v)`: stored version must
    /// be `v`) a grid; returns it as stored, with the bumped version (1 for a new grid).
    /// `g.version` is ignored. Errors: [`StoreError::VersionConflict`], [`StoreError::NotFound`]
    /// (replace of a missing grid), [`StoreError::BuildingInOtherGrid`],
    /// [`StoreError::UnknownReference`] (unknown building). [`Store::apply_edit`] without audit.
    async fn put_grid(&self, g: &Grid, expected: Option<i64>) -> Result<Grid, StoreError> {
        let a = self
            .apply_edit(
                &Edit::PutGrid {
                    grid: g.clone(),
                    expected,
                },
                None,
            )
            .await?;
        a.grid.ok_or_else(|| missing("grid", g.id.as_str()))
    }
    /// Deletes a grid whose stored version is `expected` (`None`: unconditionally).
    async fn delete_grid(&self, id: &GridId, expected: Option<i64>) -> Result<(), StoreError> {
        self.apply_edit(
            &Edit::DeleteGrid {
                id: id.clone(),
                expected,
            },
            None,
        )
        .await
        .map(|_| ())
    }
    /// Creates or replaces a facility under the same version rules as [`Store::put_grid`];
    /// returns it with its new version.
    async fn put_facility(
        &self,
        f: &Facility,
        expected: Option<i64>,
    ) -> Result<(Facility, i64), StoreError> {
        let a = self
            .apply_edit(
                &Edit::PutFacility {
                    facility: f.clone(),
                    expected,
                },
                None,
            )
            .await?;
        a.facility.ok_or_else(|| missing("facility", f.id.as_str()))
    }
    /// Deletes a facility whose stored version is `expected` (`None`: unconditionally).
    async fn delete_facility(
        &self,
        id: &FacilityId,
        expected: Option<i64>,
    ) -> Result<(), StoreError> {
        self.apply_edit(
            &Edit::DeleteFacility {
                id: id.clone(),
                expected,
            },
            None,
        )
        .await
        .map(|_| ())
    }
    /// Replaces, in one transaction, all grids of `community` (`None`: all grids) by `grids`
    /// (a partition result). Every new grid must belong to `community` when it is given.
    /// A grid id that existed before keeps counting its version (old + 1); new ids start at 1.
    async fn replace_grids(
        &self,
        community: Option<&CommunityId>,
        grids: &[Grid],
    ) -> Result<(), StoreError> {
        self.apply_edit(
            &Edit::ReplaceGrids {
                community: community.cloned(),
                grids: grids.to_vec(),
            },
            None,
        )
        .await
        .map(|_| ())
    }
    /// Replaces a stored building (`expected` = its version; `None` means it must not exist,
    /// i.e. create). A changed household count becomes `HouseholdSource::Edited`. Returns the
    /// stored building and its new version.
    async fn update_building(
        &self,
        b: &Building,
        expected: Option<i64>,
    ) -> Result<(Building, i64), StoreError> {
        let a = self
            .apply_edit(
                &Edit::UpdateBuilding {
                    building: b.clone(),
                    expected,
                },
                None,
            )
            .await?;
        a.building.ok_or_else(|| missing("building", b.id.as_str()))
    }

    // ----- The change log (see [`crate::Change`]): every dataset write above appends to it in
    // its own transaction; accounts, tokens, audit and results do not.

    /// Sequence number of the newest committed change (0 when none).
    async fn change_head(&self) -> Result<i64, StoreError>;
    /// Changes with seq > after, oldest first, at most `limit`; `head` is the newest seq at the time of the read.
    /// `complete` is false when pruning removed changes after `after` (the reader must reload).
    async fn changes_since(&self, after: i64, limit: usize) -> Result<ChangeBatch, StoreError>;
    /// Returns as soon as a change newer than `seen` may have committed (by anyone: this
    /// process, another server, the CLI) or after `timeout`; returns [`Store::change_head`].
    /// PostgreSQL: `LISTEN gridmap_changes` on one connection kept by the store (reconnecting
    /// on error) plus a head read; SQLite: polls the head every 100 ms.
    async fn wait_for_change(
        &self,
        seen: i64,
        timeout: std::time::Duration,
    ) -> Result<i64, StoreError>;

    /// The version of every layer: the seq of its newest change (0 when it never changed). It
    /// moves on every write of the layer and never returns to an earlier value (pruning the log
    /// keeps it), so it keys what is derived from a layer ([`Store::derived`]).
    async fn layer_versions(&self) -> Result<BTreeMap<Layer, i64>, StoreError>;

    /// Derived data cached under `key` (e.g. the walking graph): its version tag and bytes.
    async fn derived(&self, key: &str) -> Result<Option<(String, Vec<u8>)>, StoreError>;
    /// Caches derived data under `key` with the `version` it was built from (replacing any
    /// previous entry). A cache, not the dataset: it appends no change and moves no version.
    async fn put_derived(&self, key: &str, version: &str, data: &[u8]) -> Result<(), StoreError>;

    /// Stores a JSON blob under `key` (replacing any previous one).
    async fn put_result(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError>;
    async fn get_result(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError>;

    /// Metadata about the dataset (e.g. `facility_profile`: which facility tag profile assigned
    /// the facility kinds, its label and kinds), a JSON value under `key`. Kept in the `results`
    /// table under `meta:{key}` in both backends; like the results, no change row and no
    /// layer version (the import that sets it moves the facilities' version itself).
    async fn meta(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.get_result(&format!("{META_PREFIX}{key}")).await
    }
    /// Sets the metadata value `key` (replacing any previous one).
    async fn put_meta(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError> {
        self.put_result(&format!("{META_PREFIX}{key}"), value).await
    }

    // ----- Accounts, tokens, audit log. Not part of the dataset: these writes move no change
    // counter, so `load()` and the layer reads are unaffected.

    /// Creates or updates a user. `password_hash` (an argon2 PHC string computed by the caller)
    /// replaces the stored one when given; `None` keeps it (a new user then has no password).
    async fn put_user(&self, u: &User, password_hash: Option<&str>) -> Result<(), StoreError>;
    /// A user with their password hash.
    async fn user(&self, id: &UserId) -> Result<Option<(User, Option<String>)>, StoreError>;
    /// Every user, sorted by id.
    async fn users(&self) -> Result<Vec<User>, StoreError>;
    /// Deletes a user and their sessions and tokens ([`StoreError::NotFound`] when missing).
    async fn delete_user(&self, id: &UserId) -> Result<(), StoreError>;

    /// Stores a token of `kind` by its hash ([`crate::hash_token`]) for `user`
    /// ([`StoreError::NotFound`] for an unknown user). `expires_at` in unix seconds; `None` = never.
    async fn create_token(
        &self,
        kind: TokenKind,
        token_hash: &str,
        user: &UserId,
        name: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError>;
    /// The enabled user holding an unexpired token of `kind` with this hash.
    async fn token_user(
        &self,
        kind: TokenKind,
        token_hash: &str,
    ) -> Result<Option<User>, StoreError>;
    /// Forgets a token of `kind` (no error when unknown); returns whether one was deleted.
    async fn delete_token(&self, kind: TokenKind, token_hash: &str) -> Result<bool, StoreError>;

    /// A login session that expires at `expires_at_unix`.
    async fn create_session(
        &self,
        token_hash: &str,
        user: &UserId,
        expires_at_unix: i64,
    ) -> Result<(), StoreError> {
        self.create_token(
            TokenKind::Session,
            token_hash,
            user,
            None,
            Some(expires_at_unix),
        )
        .await
    }
    /// The user of an unexpired session (`None` when unknown, expired or the user is disabled).
    async fn session_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        self.token_user(TokenKind::Session, token_hash).await
    }
    async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        self.delete_token(TokenKind::Session, token_hash).await
    }
    /// An API token, optionally named and expiring.
    async fn create_api_token(
        &self,
        token_hash: &str,
        user: &UserId,
        name: Option<&str>,
        expires_at_unix: Option<i64>,
    ) -> Result<(), StoreError> {
        self.create_token(TokenKind::Api, token_hash, user, name, expires_at_unix)
            .await
    }
    async fn api_token_user(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        self.token_user(TokenKind::Api, token_hash).await
    }
    async fn delete_api_token(&self, token_hash: &str) -> Result<bool, StoreError> {
        self.delete_token(TokenKind::Api, token_hash).await
    }

    /// Appends to the audit log; returns the new entry's id (increasing). `e.id` is ignored;
    /// an empty `e.at` means now.
    async fn append_audit(&self, e: &AuditEntry) -> Result<i64, StoreError>;
    /// Audit entries matching `q`, newest first.
    async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;

    // ----- Jobs (see [`crate::JobRecord`]): long analysis work run by a server and read by any.
    // Not part of the dataset: no change counter moves, nothing is appended to the change log.

    /// Creates or replaces a job, unless the stored job is already final (successful, failed or
    /// dismissed): then nothing is written and the answer is `false`. A runner's heartbeat thus
    /// learns that its job was dismissed (or given up as stale) meanwhile.
    async fn put_job(&self, job: &crate::JobRecord) -> Result<bool, StoreError>;
    async fn job(&self, id: &str) -> Result<Option<crate::JobRecord>, StoreError>;
    /// The jobs of `owner` (`None`: everyone's), newest first, at most `limit`.
    async fn jobs(
        &self,
        owner: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<crate::JobRecord>, StoreError>;
    /// Marks a job dismissed in one statement (its result is deleted; `finished` and `updated`
    /// become now) and returns it; `None` when there is no such job. Dismissing a dismissed job
    /// changes nothing.
    async fn dismiss_job(&self, id: &str) -> Result<Option<crate::JobRecord>, StoreError>;
    /// Deletes the jobs last written before `updated_before` (unix ms); returns how many.
    async fn prune_jobs(&self, updated_before: i64) -> Result<u64, StoreError>;

    // ----- Events (issue 15; see [`crate::EventQuery`]): beside the dataset, not in it: no change
    // row, no layer version. Each write is one transaction with its audit entry.

    /// Stores a new event (version 1) with its history; [`StoreError::VersionConflict`] when
    /// the id exists. Returns the stored event.
    async fn create_event(
        &self,
        e: &gridmap_model::events::Event,
        audit: Option<&AuditEntry>,
    ) -> Result<gridmap_model::events::Event, StoreError>;
    /// Replaces an event whose stored version is `expected` (else
    /// [`StoreError::VersionConflict`] naming the current one; nothing changes), appending the
    /// history entries beyond the stored ones (history is append-only). The stored version
    /// becomes `expected + 1`. Returns the stored event with its whole history.
    async fn update_event(
        &self,
        e: &gridmap_model::events::Event,
        expected: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<gridmap_model::events::Event, StoreError>;
    /// One event with its history.
    async fn event(
        &self,
        id: &gridmap_model::events::EventId,
    ) -> Result<Option<gridmap_model::events::Event>, StoreError>;
    /// Events matching `q` (without their history), newest first; `matched` counts all pages.
    async fn events(
        &self,
        q: &crate::EventQuery,
    ) -> Result<Page<gridmap_model::events::Event>, StoreError>;

    /// Closes the connection pool; later calls fail.
    async fn close(&self);
}
