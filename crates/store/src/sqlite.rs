//! Embedded SQLite backend (the default). WAL journal, foreign keys on, every write in a
//! `BEGIN IMMEDIATE` transaction (writers queue on the busy timeout instead of failing on a
//! stale snapshot). Reads of the API layers are answered from in-memory copies with an R-tree
//! ([`MemLayer`]); each layer has a change counter in `meta` (`gen.<layer>`) that every write
//! transaction bumps, so a copy is rebuilt when this or another process changed the layer.
//! Every dataset write also appends its rows to the `changes` log (see [`crate::Change`]).
//!
//! Write transactions are begun and ended by hand ([`WriteTx`]), not by sqlx's transaction
//! manager: when a COMMIT fails (SQLITE_FULL), SQLite has already rolled back, sqlx's
//! transaction depth stayed at 1, its rollback-on-drop failed, and every later write on that
//! pooled connection failed with "attempted to call begin_with at non-zero transaction depth".
use crate::changes::{self, import_changes, Applied, ChangeBatch, ChangeOp, ChangeSet, Edit};
use crate::error::{DbContext, StoreError};
use crate::memindex::{MemLayer, Spatial};
use crate::query::{Page, Query};
use crate::store::{ImportCounts, Store};
use crate::users::{self, AuditQuery, TokenKind};
use crate::{check_version, codec, validate, wkb};
use async_trait::async_trait;
use gridmap_model::events;
use gridmap_model::{
    AuditEntry, Building, BuildingId, BuildingKey, Community, CommunityId, Compound, CompoundId,
    Dataset, Facility, FacilityId, Grid, GridId, HouseholdSource, HouseholdUpdate, Layer,
    NetworkWay, Street, User, UserId,
};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::QueryBuilder;
use sqlx::{Connection, Row, Sqlite, SqlitePool};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const BUILDING_COLS: &str = "id, name, building_type, address, footprint, entrance, levels, households, households_source, elderly, steward, compound, community, version";
const FACILITY_COLS: &str = "id, kind, name, location, capacity, opening_hours, version";
const GRID_COLS: &str = "id, code, name, community, leads, boundary, version";

type UserRow = (
    String,
    Option<String>,
    String,
    String,
    String,
    bool,
    Option<String>,
);
type AuditRow = (
    i64,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// The SQLite store. Cheap to share: hold it as `Arc<dyn Store>`.
pub struct SqliteStore {
    pool: SqlitePool,
    buildings: Slot<Building>,
    facilities: Slot<Facility>,
    grids: Slot<Grid>,
    compounds: Slot<Compound>,
    communities: Slot<Community>,
    /// How many of the newest change rows pruning keeps ([`changes::KEEP_CHANGES`]).
    keep_changes: i64,
}

/// A write transaction on one pooled connection: `BEGIN IMMEDIATE` … `COMMIT`, issued as plain
/// statements. [`WriteTx::finish`] commits or rolls back; either way the connection goes back to
/// the pool outside any transaction, or is closed when that cannot be made sure. Dropped
/// unfinished (a cancelled request), it rolls back on a spawned task before the connection is
/// reused.
struct WriteTx {
    conn: Option<PoolConnection<Sqlite>>,
}

impl WriteTx {
    async fn begin(pool: &SqlitePool) -> Result<Self, StoreError> {
        let mut conn = pool.acquire().await.ctx("acquiring a connection")?;
        if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            end_transaction(conn).await;
            return Err(StoreError::db("starting a write transaction", e));
        }
        Ok(WriteTx { conn: Some(conn) })
    }

    /// Commits when `r` is `Ok`, else rolls back; returns `r` or the commit's error.
    async fn finish<T>(mut self, r: Result<T, StoreError>, what: &str) -> Result<T, StoreError> {
        let Some(mut conn) = self.conn.take() else {
            return r;
        };
        match r {
            Ok(v) => match sqlx::query("COMMIT").execute(&mut *conn).await {
                Ok(_) => Ok(v),
                Err(e) => {
                    end_transaction(conn).await;
                    Err(StoreError::db(what, e))
                }
            },
            Err(e) => {
                end_transaction(conn).await;
                Err(e)
            }
        }
    }
}

/// Rolls back whatever transaction `conn` may be in. SQLite has already rolled back after some
/// failures (a full disk at COMMIT), then ROLLBACK says "no transaction is active": also clean.
/// Any other failure closes the connection instead of returning it to the pool.
async fn end_transaction(mut conn: PoolConnection<Sqlite>) {
    match sqlx::query("ROLLBACK").execute(&mut *conn).await {
        Ok(_) => {}
        Err(e) if e.to_string().contains("no transaction is active") => {}
        Err(e) => {
            tracing::warn!(error = %e, "rolling back a failed write failed; closing its connection");
            conn.close_on_drop();
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(end_transaction(conn));
                }
                Err(_) => conn.close_on_drop(),
            }
        }
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    #[allow(
        clippy::expect_used,
        reason = "conn is taken only by finish(self) and drop"
    )]
    fn deref(&self) -> &SqliteConnection {
        // `conn` is only taken by `finish(self)` and `drop`, after which `self` is gone.
        self.conn
            .as_deref()
            .expect("a write transaction is used after it ended")
    }
}

impl DerefMut for WriteTx {
    #[allow(
        clippy::expect_used,
        reason = "conn is taken only by finish(self) and drop"
    )]
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn
            .as_deref_mut()
            .expect("a write transaction is used after it ended")
    }
}

/// A committed single-feature edit to patch into the warm in-memory copy of its layer:
/// the layer's new change counter, the id, and the stored record (None: deleted).
enum Patch {
    None,
    /// Every grid was replaced: the new layer, sorted by id, with its versions (its snapshot).
    AllGrids(Vec<Grid>),
    Grid(i64, String, Option<(Grid, i64)>),
    Facility(i64, String, Option<(Facility, i64)>),
    Building(i64, String, Option<(Building, i64)>),
}

/// One cached layer: the copy with the change counter it was built at, and a lock so only one
/// task rebuilds it at a time.
struct Slot<T> {
    current: RwLock<Option<(i64, Arc<MemLayer<T>>)>>,
    rebuild: tokio::sync::Mutex<()>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            current: RwLock::new(None),
            rebuild: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T> Slot<T> {
    fn get(&self, gen: i64) -> Option<Arc<MemLayer<T>>> {
        let cur = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cur.as_ref()
            .filter(|(g, _)| *g == gen)
            .map(|(_, l)| l.clone())
    }
    fn set(&self, gen: i64, layer: Arc<MemLayer<T>>) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((gen, layer));
    }
}

impl<T: Spatial> Slot<T> {
    /// After a committed single-row write that moved the layer's counter to `gen`: if the copy
    /// is exactly one change behind, apply the change to it instead of re-reading the table.
    fn apply(&self, gen: i64, id: &str, change: Option<(T, i64)>) {
        let mut cur = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((g, layer)) = cur.as_ref() {
            if *g == gen - 1 {
                let next = Arc::new(layer.with_change(id, change));
                *cur = Some((gen, next));
            }
        }
    }
}

/// A layer the SQLite store keeps in memory.
trait Cached: Spatial {
    /// Its change counter in `meta`.
    const GEN: &'static str;
    fn read_all(
        conn: &mut SqliteConnection,
    ) -> impl Future<Output = Result<Vec<(Self, i64)>, StoreError>> + Send;
}

impl Cached for Building {
    const GEN: &'static str = "gen.buildings";
    async fn read_all(conn: &mut SqliteConnection) -> Result<Vec<(Self, i64)>, StoreError> {
        // In pages by id: a million raw rows held at once beside their decoded copies was the
        // peak of a city-wide load.
        let sql = format!(
            "SELECT {BUILDING_COLS} FROM buildings WHERE id > $1 ORDER BY id LIMIT {READ_PAGE}"
        );
        let mut out: Vec<(Self, i64)> = Vec::new();
        loop {
            let after = out.last().map_or(String::new(), |(b, _)| b.id.0.clone());
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(after)
                .fetch_all(&mut *conn)
                .await
                .ctx("reading buildings")?;
            let n = rows.len();
            for r in rows {
                out.push(decode_building!(r)?);
            }
            if n < READ_PAGE {
                return Ok(out);
            }
        }
    }
}

impl Cached for Facility {
    const GEN: &'static str = "gen.facilities";
    async fn read_all(conn: &mut SqliteConnection) -> Result<Vec<(Self, i64)>, StoreError> {
        let sql = format!("SELECT {FACILITY_COLS} FROM facilities ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await
            .ctx("reading facilities")?;
        rows.iter().map(|r| decode_facility!(r)).collect()
    }
}

impl Cached for Grid {
    const GEN: &'static str = "gen.grids";
    async fn read_all(conn: &mut SqliteConnection) -> Result<Vec<(Self, i64)>, StoreError> {
        let sql = format!("SELECT {GRID_COLS} FROM grids ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await
            .ctx("reading grids")?;
        let mut grids: Vec<(Grid, i64)> = rows
            .iter()
            .map(|r| decode_grid!(r))
            .collect::<Result<_, _>>()?;
        let members = sqlx::query(
            "SELECT grid_id, building_id FROM grid_buildings ORDER BY grid_id, position",
        )
        .fetch_all(&mut *conn)
        .await
        .ctx("reading grid memberships")?;
        let index: HashMap<String, usize> = grids
            .iter()
            .enumerate()
            .map(|(i, (g, _))| (g.id.0.clone(), i))
            .collect();
        for m in members {
            let gid: String = m.try_get("grid_id").ctx("reading grid memberships")?;
            let bid: String = m.try_get("building_id").ctx("reading grid memberships")?;
            if let Some(&i) = index.get(&gid) {
                grids[i].0.buildings.push(BuildingId(bid));
            }
        }
        Ok(grids)
    }
}

impl Cached for Compound {
    const GEN: &'static str = "gen.compounds";
    async fn read_all(conn: &mut SqliteConnection) -> Result<Vec<(Self, i64)>, StoreError> {
        let rows =
            sqlx::query("SELECT id, name, kind, community, boundary FROM compounds ORDER BY id")
                .fetch_all(&mut *conn)
                .await
                .ctx("reading compounds")?;
        rows.iter().map(|r| decode_compound!(r)).collect()
    }
}

impl Cached for Community {
    const GEN: &'static str = "gen.communities";
    async fn read_all(conn: &mut SqliteConnection) -> Result<Vec<(Self, i64)>, StoreError> {
        let rows = sqlx::query("SELECT id, name, street, boundary FROM communities ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .ctx("reading communities")?;
        rows.iter().map(|r| decode_community!(r)).collect()
    }
}

async fn read_streets(conn: &mut SqliteConnection) -> Result<Vec<Street>, StoreError> {
    let rows = sqlx::query("SELECT id, name, boundary FROM streets ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .ctx("reading streets")?;
    rows.iter().map(|r| decode_street!(r)).collect()
}

/// Rows per page of the big layers' full reads.
const READ_PAGE: usize = 50_000;

async fn read_ways(conn: &mut SqliteConnection) -> Result<Vec<NetworkWay>, StoreError> {
    let sql = format!("SELECT id, geometry, tags, length_m FROM network_ways WHERE id > $1 ORDER BY id LIMIT {READ_PAGE}");
    let mut out: Vec<NetworkWay> = Vec::new();
    loop {
        let after = out.last().map_or(String::new(), |w| w.id.0.clone());
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(after)
            .fetch_all(&mut *conn)
            .await
            .ctx("reading network ways")?;
        let n = rows.len();
        for r in rows {
            out.push(decode_way!(r)?);
        }
        if n < READ_PAGE {
            return Ok(out);
        }
    }
}

/// The version of every layer (see [`Store::layer_versions`]) inside the caller's transaction.
async fn layer_versions_in(
    conn: &mut SqliteConnection,
) -> Result<BTreeMap<Layer, i64>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT layer, seq FROM layer_versions")
        .fetch_all(&mut *conn)
        .await
        .ctx("reading the layer versions")?;
    let mut out: BTreeMap<Layer, i64> = Layer::ALL.iter().map(|l| (*l, 0)).collect();
    for (layer, seq) in rows {
        let l = layer.parse::<Layer>().map_err(|e| StoreError::Corrupt {
            what: "layer version",
            id: layer.clone(),
            reason: e.to_string(),
        })?;
        out.insert(l, seq);
    }
    Ok(out)
}

/// One layer from its binary snapshot when that was taken at `version`; `None` when there is
/// none, it is older, or it does not decode (then the table is read and a new one taken).
async fn snapshot_of<T: serde::de::DeserializeOwned>(
    conn: &mut SqliteConnection,
    layer: Layer,
    version: i64,
) -> Result<Option<Vec<T>>, StoreError> {
    let data: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT data FROM layer_snapshots WHERE layer = $1 AND version = $2")
            .bind(layer.as_str())
            .bind(version)
            .fetch_optional(&mut *conn)
            .await
            .ctx("reading a layer snapshot")?;
    Ok(data.and_then(|d| match postcard::from_bytes::<Vec<T>>(&d) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(layer = layer.as_str(), error = %e, "a layer snapshot does not decode; reading the table");
            None
        }
    }))
}

/// Most changed buildings a stale buildings snapshot is patched with (beyond: read the table).
const REPLAY_AT_MOST: usize = 20_000;

/// The buildings at `version` from an older snapshot patched with the changes logged since it
/// (each changed building read again by id): a household correction then costs its row, not a
/// re-read of a million. `None` when there is no older snapshot, the log no longer holds every
/// change since it (pruned), a bulk write logged a `reload`, or too many buildings changed.
async fn replayed_buildings(
    conn: &mut SqliteConnection,
    version: i64,
) -> Result<Option<Vec<Building>>, StoreError> {
    let old: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, data FROM layer_snapshots WHERE layer = 'buildings'")
            .fetch_optional(&mut *conn)
            .await
            .ctx("reading a layer snapshot")?;
    let Some((from, data)) = old else {
        return Ok(None);
    };
    let pruned: i64 = sqlx::query_scalar("SELECT CAST(value AS INTEGER) FROM meta WHERE key = $1")
        .bind(changes::PRUNED_KEY)
        .fetch_optional(&mut *conn)
        .await
        .ctx("reading the change log")?
        .unwrap_or(0);
    if from >= version || !changes::is_complete(from, pruned) {
        return Ok(None);
    }
    let items: Vec<Option<String>> = sqlx::query_scalar("SELECT item FROM changes WHERE layer = 'buildings' AND seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3")
        .bind(from)
        .bind(version)
        .bind(REPLAY_AT_MOST as i64 + 1)
        .fetch_all(&mut *conn)
        .await
        .ctx("reading the change log")?;
    if items.len() > REPLAY_AT_MOST || items.iter().any(Option::is_none) {
        return Ok(None);
    }
    let Ok(mut buildings) = postcard::from_bytes::<Vec<Building>>(&data) else {
        return Ok(None);
    };
    let ids: std::collections::BTreeSet<String> = items.into_iter().flatten().collect();
    let sql = format!("SELECT {BUILDING_COLS} FROM buildings WHERE id = $1");
    for id in ids {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&id)
            .fetch_optional(&mut *conn)
            .await
            .ctx("reading a building")?;
        let now = row
            .map(|r| decode_building!(r))
            .transpose()?
            .map(|(b, _)| b);
        match (
            buildings.binary_search_by(|b| b.id.as_str().cmp(id.as_str())),
            now,
        ) {
            (Ok(i), Some(b)) => buildings[i] = b,
            (Ok(i), None) => {
                buildings.remove(i);
            }
            (Err(i), Some(b)) => buildings.insert(i, b),
            (Err(_), None) => {}
        }
    }
    Ok(Some(buildings))
}

/// A layer's snapshot to write after the read: layer, version, postcard bytes.
type PendingSnapshot = (Layer, i64, Vec<u8>);

fn encode_layer<T: serde::Serialize>(
    layer: Layer,
    version: i64,
    rows: &[T],
    out: &mut Vec<PendingSnapshot>,
) {
    match postcard::to_allocvec(rows) {
        Ok(d) => out.push((layer, version, d)),
        Err(e) => {
            tracing::warn!(layer = layer.as_str(), error = %e, "cannot encode a layer snapshot");
        }
    }
}

impl SqliteStore {
    /// Stores the layer snapshots taken by a `load()`, each only if its layer did not change
    /// since it was read. Best effort: a busy or read-only database just keeps the slower path.
    async fn save_snapshots(&self, pending: Vec<PendingSnapshot>) {
        if pending.is_empty() {
            return;
        }
        let result: Result<(), StoreError> = async {
            let mut tx = WriteTx::begin(&self.pool).await?;
            let r = async {
                let now = layer_versions_in(&mut tx).await?;
                for (layer, version, data) in &pending {
                    if now.get(layer) != Some(version) {
                        continue;
                    }
                    sqlx::query("INSERT INTO layer_snapshots (layer, version, data) VALUES ($1, $2, $3) ON CONFLICT (layer) DO UPDATE SET version = excluded.version, data = excluded.data")
                        .bind(layer.as_str())
                        .bind(version)
                        .bind(data)
                        .execute(&mut *tx)
                        .await
                        .ctx("writing a layer snapshot")?;
                }
                Ok(())
            }
            .await;
            tx.finish(r, "committing the layer snapshots").await
        }
        .await;
        if let Err(e) = result {
            // Not fatal (the next `load()` reads the tables), but a full disk or a broken file
            // shows here first.
            tracing::warn!(error = %e, "layer snapshots not saved");
        }
    }
}

async fn generation(conn: &mut SqliteConnection, key: &str) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT CAST(value AS INTEGER) FROM meta WHERE key = $1")
        .bind(key)
        .fetch_one(&mut *conn)
        .await
        .ctx("reading a layer change counter")
}

/// Bumps one layer's change counter inside the caller's write transaction; returns its new value.
async fn bump_one(conn: &mut SqliteConnection, key: &str) -> Result<i64, StoreError> {
    sqlx::query_scalar("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = $1 RETURNING CAST(value AS INTEGER)")
        .bind(key)
        .fetch_one(&mut *conn)
        .await
        .ctx("bumping a layer change counter")
}

/// Bumps the change counters of `layers` inside the caller's write transaction.
async fn bump(conn: &mut SqliteConnection, layers: &[&str]) -> Result<(), StoreError> {
    for key in layers {
        sqlx::query("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = $1")
            .bind(*key)
            .execute(&mut *conn)
            .await
            .ctx("bumping a layer change counter")?;
    }
    Ok(())
}

/// The newest seq of the change log (0 when empty).
async fn change_head(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM changes")
        .fetch_one(&mut *conn)
        .await
        .ctx("reading the change head")
}

/// Appends `cs` to the change log inside the caller's write transaction (and prunes the oldest
/// rows once per [`changes::PRUNE_EVERY`] appends); returns the new head.
async fn append_changes(
    conn: &mut SqliteConnection,
    cs: &ChangeSet,
    keep: i64,
) -> Result<i64, StoreError> {
    let before = change_head(conn).await?;
    if cs.is_empty() {
        return Ok(before);
    }
    for chunk in cs.rows().chunks(300) {
        let mut qb = sqlx::QueryBuilder::<Sqlite>::new("INSERT INTO changes (layer, item, op) ");
        qb.push_values(chunk, |mut row, (layer, item, op)| {
            row.push_bind(*layer).push_bind(*item).push_bind(*op);
        });
        qb.build()
            .execute(&mut *conn)
            .await
            .ctx("appending to the change log")?;
    }
    let after = change_head(conn).await?;
    sqlx::query(
        "INSERT INTO layer_versions (layer, seq) SELECT layer, MAX(seq) FROM changes WHERE seq > $1 GROUP BY layer
         ON CONFLICT (layer) DO UPDATE SET seq = excluded.seq",
    )
    .bind(before)
    .execute(&mut *conn)
    .await
    .ctx("recording the layer versions")?;
    if let Some(cut) = changes::prune_cut(before, after, keep) {
        let n = sqlx::query("DELETE FROM changes WHERE seq <= $1")
            .bind(cut)
            .execute(&mut *conn)
            .await
            .ctx("pruning the change log")?;
        if n.rows_affected() > 0 {
            sqlx::query(
                "UPDATE meta SET value = $2 WHERE key = $1 AND CAST(value AS INTEGER) < $2",
            )
            .bind(changes::PRUNED_KEY)
            .bind(cut)
            .execute(&mut *conn)
            .await
            .ctx("pruning the change log")?;
        }
    }
    Ok(after)
}

/// Appends an audit entry inside the caller's transaction; returns its id.
async fn insert_audit(conn: &mut SqliteConnection, e: &AuditEntry) -> Result<i64, StoreError> {
    sqlx::query_scalar("INSERT INTO audit (at, user_id, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(users::audit_time(e))
        .bind(e.user.as_ref().map(gridmap_model::UserId::as_str))
        .bind(&e.action)
        .bind(&e.target)
        .bind(e.before.as_ref().map(std::string::ToString::to_string))
        .bind(e.after.as_ref().map(std::string::ToString::to_string))
        .fetch_one(&mut *conn)
        .await
        .map_err(|err| StoreError::db(format!("appending audit entry {} {}", e.action, e.target), err))
}

fn env(e: Option<[f64; 4]>) -> [Option<f64>; 4] {
    match e {
        Some([a, b, c, d]) => [Some(a), Some(b), Some(c), Some(d)],
        None => [None; 4],
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and migrates it.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let bad = |reason: String| StoreError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| bad(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // 64 MiB of page cache per connection (SQLite's default is 2 MiB): a city-wide
            // partition inserts a million members into three B-trees, which thrash a small cache
            // (pages are allocated as used, so a small database stays small in memory).
            .pragma("cache_size", "-65536")
            .busy_timeout(Duration::from_secs(30));
        // A shared-cache in-memory database locks whole tables instead of using WAL: one
        // connection then, so writers queue instead of failing with SQLITE_LOCKED.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            // The switch to WAL takes an exclusive lock, and concurrent switches (the pool's
            // background min-connection and the migration connection on a new file) can answer
            // SQLITE_BUSY at once, without the busy handler. WAL is a property of the file: set
            // it on one connection before the pool opens several.
            let first = SqliteConnection::connect_with(&opts)
                .await
                .map_err(|e| StoreError::db(format!("opening SQLite database {url}"), e))?;
            first
                .close()
                .await
                .map_err(|e| StoreError::db(format!("opening SQLite database {url}"), e))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { 8 })
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::db(format!("opening SQLite database {url}"), e))?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migration {
                backend: "sqlite",
                source,
            })?;
        Ok(SqliteStore {
            pool,
            buildings: Slot::default(),
            facilities: Slot::default(),
            grids: Slot::default(),
            compounds: Slot::default(),
            communities: Slot::default(),
            keep_changes: changes::KEEP_CHANGES,
        })
    }

    /// Keeps at least the newest `keep` change rows instead of [`changes::KEEP_CHANGES`]
    /// (pruning then runs once per `min(keep, 1000)` appends). For tests of the pruning.
    pub fn with_change_retention(mut self, keep: i64) -> Self {
        self.keep_changes = keep.max(1);
        self
    }

    async fn write_tx(&self) -> Result<WriteTx, StoreError> {
        WriteTx::begin(&self.pool).await
    }

    /// The in-memory copy of a layer, rebuilt when its change counter moved.
    async fn layer<T: Cached>(&self, slot: &Slot<T>) -> Result<Arc<MemLayer<T>>, StoreError> {
        let mut conn = self.pool.acquire().await.ctx("acquiring a connection")?;
        let gen = generation(&mut conn, T::GEN).await?;
        drop(conn);
        if let Some(l) = slot.get(gen) {
            return Ok(l);
        }
        let _one_builder = slot.rebuild.lock().await;
        if let Some(l) = slot.get(gen) {
            return Ok(l);
        }
        // Counter and rows from one read transaction: the copy matches the counter exactly.
        let mut tx = self.pool.begin().await.ctx("starting a read transaction")?;
        let gen = generation(&mut tx, T::GEN).await?;
        let rows = T::read_all(&mut tx).await?;
        tx.commit().await.ctx("ending a read transaction")?;
        let layer = Arc::new(MemLayer::new(rows));
        slot.set(gen, layer.clone());
        Ok(layer)
    }

    async fn upsert_building(
        tx: &mut SqliteConnection,
        b: &Building,
        version_sql: &'static str,
    ) -> Result<(), StoreError> {
        let [minx, miny, maxx, maxy] = env(validate::envelope(&b.footprint));
        let sql = match version_sql {
            "import" => "INSERT INTO buildings (id, name, building_type, address, footprint, entrance, levels, households, households_source, elderly, steward, compound, community, version, minx, miny, maxx, maxy)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15, $16, $17)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, building_type = excluded.building_type, address = excluded.address,
                  footprint = excluded.footprint, entrance = excluded.entrance, levels = excluded.levels, households = excluded.households,
                  households_source = excluded.households_source, elderly = excluded.elderly, steward = excluded.steward,
                  compound = excluded.compound, community = excluded.community, version = buildings.version + 1,
                  minx = excluded.minx, miny = excluded.miny, maxx = excluded.maxx, maxy = excluded.maxy",
            _ => "UPDATE buildings SET name = $2, building_type = $3, address = $4, footprint = $5, entrance = $6, levels = $7,
                  households = $8, households_source = $9, elderly = $10, steward = $11, compound = $12, community = $13,
                  version = version + 1, minx = $14, miny = $15, maxx = $16, maxy = $17 WHERE id = $1",
        };
        sqlx::query(sql)
            .bind(b.id.as_str())
            .bind(b.name.as_deref())
            .bind(b.building_type.as_deref())
            .bind(b.address.as_deref())
            .bind(wkb::multipolygon_to_wkb(&b.footprint))
            .bind(b.entrance.as_ref().map(wkb::point_to_wkb))
            .bind(b.levels)
            .bind(i64::from(b.households))
            .bind(b.households_source.as_str())
            .bind(b.elderly.map(i64::from))
            .bind(b.steward.as_deref())
            .bind(b.compound.as_ref().map(gridmap_model::CompoundId::as_str))
            .bind(b.community.as_ref().map(gridmap_model::CommunityId::as_str))
            .bind(minx)
            .bind(miny)
            .bind(maxx)
            .bind(maxy)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db(format!("writing building '{}'", b.id), e))?;
        Ok(())
    }

    /// Import upsert of many buildings: multi-row INSERTs (one round trip to the SQLite worker
    /// per 100 rows instead of per row; full chunks reuse one cached prepared statement).
    async fn import_buildings(
        tx: &mut SqliteConnection,
        bs: &[Building],
    ) -> Result<(), StoreError> {
        for chunk in bs.chunks(100) {
            let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO buildings (id, name, building_type, address, footprint, entrance, levels, households, households_source, elderly, steward, compound, community, version, minx, miny, maxx, maxy) ",
            );
            qb.push_values(chunk, |mut row, b| {
                let [minx, miny, maxx, maxy] = env(validate::envelope(&b.footprint));
                row.push_bind(b.id.as_str())
                    .push_bind(b.name.as_deref())
                    .push_bind(b.building_type.as_deref())
                    .push_bind(b.address.as_deref())
                    .push_bind(wkb::multipolygon_to_wkb(&b.footprint))
                    .push_bind(b.entrance.as_ref().map(wkb::point_to_wkb))
                    .push_bind(b.levels)
                    .push_bind(i64::from(b.households))
                    .push_bind(b.households_source.as_str())
                    .push_bind(b.elderly.map(i64::from))
                    .push_bind(b.steward.as_deref())
                    .push_bind(b.compound.as_ref().map(gridmap_model::CompoundId::as_str))
                    .push_bind(b.community.as_ref().map(gridmap_model::CommunityId::as_str))
                    .push("1")
                    .push_bind(minx)
                    .push_bind(miny)
                    .push_bind(maxx)
                    .push_bind(maxy);
            });
            qb.push(
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name, building_type = excluded.building_type, address = excluded.address,
                  footprint = excluded.footprint, entrance = excluded.entrance, levels = excluded.levels, households = excluded.households,
                  households_source = excluded.households_source, elderly = excluded.elderly, steward = excluded.steward,
                  compound = excluded.compound, community = excluded.community, version = buildings.version + 1,
                  minx = excluded.minx, miny = excluded.miny, maxx = excluded.maxx, maxy = excluded.maxy",
            );
            qb.build().execute(&mut *tx).await.map_err(|e| {
                StoreError::db(
                    format!(
                        "writing {} buildings starting at '{}'",
                        chunk.len(),
                        chunk[0].id
                    ),
                    e,
                )
            })?;
        }
        Ok(())
    }

    async fn upsert_facility(
        tx: &mut SqliteConnection,
        f: &Facility,
        version: Option<i64>,
    ) -> Result<(), StoreError> {
        // version None: import upsert (new rows 1, replaced rows +1); Some(v): set exactly v.
        let sql = match version {
            None => "INSERT INTO facilities (id, kind, name, location, capacity, opening_hours, version) VALUES ($1, $2, $3, $4, $5, $6, 1)
                ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, location = excluded.location,
                  capacity = excluded.capacity, opening_hours = excluded.opening_hours, version = facilities.version + 1",
            Some(_) => "INSERT INTO facilities (id, kind, name, location, capacity, opening_hours, version) VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, location = excluded.location,
                  capacity = excluded.capacity, opening_hours = excluded.opening_hours, version = excluded.version",
        };
        sqlx::query(sql)
            .bind(f.id.as_str())
            .bind(f.kind.as_str())
            .bind(f.name.as_deref())
            .bind(wkb::point_to_wkb(&f.location))
            .bind(f.capacity.map(i64::from))
            .bind(f.opening_hours.as_deref())
            .bind(version.unwrap_or(1))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db(format!("writing facility '{}'", f.id), e))?;
        Ok(())
    }

    /// Writes a grid row with exactly `version` and replaces its membership.
    async fn write_grid(
        tx: &mut SqliteConnection,
        g: &Grid,
        version: i64,
    ) -> Result<(), StoreError> {
        let [minx, miny, maxx, maxy] = env(g.boundary.as_ref().and_then(validate::envelope));
        sqlx::query(
            "INSERT INTO grids (id, code, name, community, leads, boundary, version, minx, miny, maxx, maxy)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (id) DO UPDATE SET code = excluded.code, name = excluded.name, community = excluded.community,
               leads = excluded.leads, boundary = excluded.boundary, version = excluded.version,
               minx = excluded.minx, miny = excluded.miny, maxx = excluded.maxx, maxy = excluded.maxy",
        )
        .bind(g.id.as_str())
        .bind(&g.code)
        .bind(g.name.as_deref())
        .bind(g.community.as_ref().map(gridmap_model::CommunityId::as_str))
        .bind(codec::leads_json(&g.leads))
        .bind(codec::opt_wkb_mp(&g.boundary))
        .bind(version)
        .bind(minx)
        .bind(miny)
        .bind(maxx)
        .bind(maxy)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::db(format!("writing grid '{}'", g.id), e))?;
        Self::write_members(tx, g).await
    }

    /// Replaces a grid's building list. The constraints check it (foreign key: every building
    /// exists; UNIQUE: in no other grid); only when the insert fails are the diagnostic queries
    /// run, so the error names the building and the grid holding it (a city-wide partition
    /// writes a million members: checking each one first doubled the cost of the write).
    async fn write_members(tx: &mut SqliteConnection, g: &Grid) -> Result<(), StoreError> {
        let ctx = format!("writing the buildings of grid '{}'", g.id);
        sqlx::query("DELETE FROM grid_buildings WHERE grid_id = $1")
            .bind(g.id.as_str())
            .execute(&mut *tx)
            .await
            .ctx(&ctx)?;
        let ids = serde_json::to_string(&g.buildings).unwrap_or_else(|_| "[]".into());
        // One statement for the whole list. A failed statement is undone by itself (ABORT), so
        // the diagnostics below see the table without any of this list's rows.
        let inserted = sqlx::query("INSERT INTO grid_buildings (grid_id, building_id, position) SELECT $1, j.value, j.key FROM json_each($2) j")
            .bind(g.id.as_str())
            .bind(&ids)
            .execute(&mut *tx)
            .await;
        let Err(e) = inserted else { return Ok(()) };
        let unknown: Option<String> = sqlx::query_scalar(
            "SELECT j.value FROM json_each($1) j WHERE NOT EXISTS (SELECT 1 FROM buildings b WHERE b.id = j.value) ORDER BY j.key LIMIT 1",
        )
        .bind(&ids)
        .fetch_optional(&mut *tx)
        .await
        .ctx(&ctx)?;
        if let Some(id) = unknown {
            return Err(StoreError::UnknownReference {
                from: format!("grid '{}'", g.id),
                what: "building",
                id,
            });
        }
        let taken = sqlx::query(
            "SELECT gb.building_id, gb.grid_id FROM json_each($1) j JOIN grid_buildings gb ON gb.building_id = j.value ORDER BY j.key LIMIT 1",
        )
        .bind(&ids)
        .fetch_optional(&mut *tx)
        .await
        .ctx(&ctx)?;
        if let Some(row) = taken {
            return Err(StoreError::BuildingInOtherGrid {
                building: row.try_get("building_id").ctx(&ctx)?,
                grid: row.try_get("grid_id").ctx(&ctx)?,
            });
        }
        Err(StoreError::db(ctx, e))
    }

    /// One edit, its audit entry and its change rows inside the caller's write transaction.
    async fn edit_in(
        tx: &mut SqliteConnection,
        edit: &Edit,
        audit: Option<&AuditEntry>,
        keep: i64,
    ) -> Result<(Applied, Patch), StoreError> {
        let mut cs = ChangeSet::default();
        let mut applied = Applied {
            seq: 0,
            audit_id: None,
            grid: None,
            facility: None,
            building: None,
        };
        let patch = match edit {
            Edit::PutGrid { grid: g, expected } => {
                let current = Self::version_of(tx, "grids", g.id.as_str()).await?;
                let version = check_version("grid", g.id.as_str(), *expected, current)?;
                Self::write_grid(tx, g, version).await?;
                let gen = bump_one(tx, "gen.grids").await?;
                cs.push(Layer::Grids, g.id.as_str(), ChangeOp::Put);
                let stored = Grid {
                    version,
                    ..g.clone()
                };
                applied.grid = Some(stored.clone());
                Patch::Grid(gen, g.id.0.clone(), Some((stored, version)))
            }
            Edit::DeleteGrid { id, expected } => {
                let current = Self::version_of(tx, "grids", id.as_str()).await?;
                check_version(
                    "grid",
                    id.as_str(),
                    Some(expected.or(current).unwrap_or(0)),
                    current,
                )?;
                sqlx::query("DELETE FROM grids WHERE id = $1")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .ctx("deleting a grid")?;
                let gen = bump_one(tx, "gen.grids").await?;
                cs.push(Layer::Grids, id.as_str(), ChangeOp::Delete);
                Patch::Grid(gen, id.0.clone(), None)
            }
            Edit::PutFacility {
                facility: f,
                expected,
            } => {
                let current = Self::version_of(tx, "facilities", f.id.as_str()).await?;
                let version = check_version("facility", f.id.as_str(), *expected, current)?;
                Self::upsert_facility(tx, f, Some(version)).await?;
                let gen = bump_one(tx, "gen.facilities").await?;
                cs.push(Layer::Facilities, f.id.as_str(), ChangeOp::Put);
                applied.facility = Some((f.clone(), version));
                Patch::Facility(gen, f.id.0.clone(), Some((f.clone(), version)))
            }
            Edit::DeleteFacility { id, expected } => {
                let current = Self::version_of(tx, "facilities", id.as_str()).await?;
                check_version(
                    "facility",
                    id.as_str(),
                    Some(expected.or(current).unwrap_or(0)),
                    current,
                )?;
                sqlx::query("DELETE FROM facilities WHERE id = $1")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .ctx("deleting a facility")?;
                let gen = bump_one(tx, "gen.facilities").await?;
                cs.push(Layer::Facilities, id.as_str(), ChangeOp::Delete);
                Patch::Facility(gen, id.0.clone(), None)
            }
            Edit::ReplaceGrids { community, grids } => {
                let old: Vec<(String, i64)> = match community {
                    Some(c) => {
                        sqlx::query_as("SELECT id, version FROM grids WHERE community = $1")
                            .bind(c.as_str())
                            .fetch_all(&mut *tx)
                            .await
                    }
                    None => {
                        sqlx::query_as("SELECT id, version FROM grids")
                            .fetch_all(&mut *tx)
                            .await
                    }
                }
                .ctx("reading the grids to replace")?;
                match community {
                    Some(c) => {
                        sqlx::query("DELETE FROM grids WHERE community = $1")
                            .bind(c.as_str())
                            .execute(&mut *tx)
                            .await
                    }
                    None => sqlx::query("DELETE FROM grids").execute(&mut *tx).await,
                }
                .ctx("deleting the replaced grids")?;
                cs = changes::replacement_changes(old.iter().map(|(id, _)| id.as_str()), grids);
                let old: HashMap<String, i64> = old.into_iter().collect();
                let mut written =
                    Vec::with_capacity(if community.is_none() { grids.len() } else { 0 });
                for g in grids {
                    if Self::version_of(tx, "grids", g.id.as_str())
                        .await?
                        .is_some()
                    {
                        return Err(StoreError::Invalid {
                            what: "grid",
                            id: g.id.to_string(),
                            reason: "the id is already used by a grid of another community".into(),
                        });
                    }
                    let version = old.get(g.id.as_str()).map_or(1, |v| v + 1);
                    Self::write_grid(tx, g, version).await?;
                    if community.is_none() {
                        written.push(Grid {
                            version,
                            ..g.clone()
                        });
                    }
                }
                bump(tx, &["gen.grids"]).await?;
                if community.is_none() {
                    written.sort_by(|a, b| a.id.0.cmp(&b.id.0));
                    Patch::AllGrids(written)
                } else {
                    Patch::None
                }
            }
            Edit::UpdateBuilding {
                building: b,
                expected,
            } => {
                let stored: Option<(i64, i64, String)> = sqlx::query_as(
                    "SELECT version, households, households_source FROM buildings WHERE id = $1",
                )
                .bind(b.id.as_str())
                .fetch_optional(&mut *tx)
                .await
                .ctx("reading a building")?;
                let version = check_version(
                    "building",
                    b.id.as_str(),
                    *expected,
                    stored.as_ref().map(|s| s.0),
                )?;
                let mut out = b.clone();
                if let Some((_, households, source)) = &stored {
                    out.households_source = if i64::from(b.households) == *households {
                        codec::household_source(b.id.as_str(), source)?
                    } else {
                        HouseholdSource::Edited
                    };
                    Self::upsert_building(tx, &out, "update").await?;
                } else {
                    Self::upsert_building(tx, &out, "import").await?;
                }
                let gen = bump_one(tx, "gen.buildings").await?;
                cs.push(Layer::Buildings, b.id.as_str(), ChangeOp::Put);
                applied.building = Some((out.clone(), version));
                Patch::Building(gen, b.id.0.clone(), Some((out, version)))
            }
        };
        if let Some(e) = audit {
            applied.audit_id = Some(insert_audit(tx, e).await?);
        }
        applied.seq = append_changes(tx, &cs, keep).await?;
        Ok((applied, patch))
    }

    /// The rows of an import (upserts of every layer), inside the caller's transaction.
    async fn write_dataset(tx: &mut SqliteConnection, ds: &Dataset) -> Result<(), StoreError> {
        for s in &ds.streets {
            sqlx::query("INSERT INTO streets (id, name, boundary) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET name = excluded.name, boundary = excluded.boundary")
                .bind(s.id.as_str())
                .bind(&s.name)
                .bind(codec::opt_wkb_mp(&s.boundary))
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::db(format!("writing street '{}'", s.id), e))?;
        }
        for c in &ds.communities {
            let [minx, miny, maxx, maxy] = env(c.boundary.as_ref().and_then(validate::envelope));
            sqlx::query(
                "INSERT INTO communities (id, name, street, boundary, minx, miny, maxx, maxy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, street = excluded.street, boundary = excluded.boundary,
                   minx = excluded.minx, miny = excluded.miny, maxx = excluded.maxx, maxy = excluded.maxy",
            )
            .bind(c.id.as_str())
            .bind(&c.name)
            .bind(c.street.as_ref().map(gridmap_model::StreetId::as_str))
            .bind(codec::opt_wkb_mp(&c.boundary))
            .bind(minx)
            .bind(miny)
            .bind(maxx)
            .bind(maxy)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db(format!("writing community '{}'", c.id), e))?;
        }
        for c in &ds.compounds {
            let [minx, miny, maxx, maxy] = env(c.boundary.as_ref().and_then(validate::envelope));
            sqlx::query(
                "INSERT INTO compounds (id, name, kind, community, boundary, minx, miny, maxx, maxy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, community = excluded.community,
                   boundary = excluded.boundary, minx = excluded.minx, miny = excluded.miny, maxx = excluded.maxx, maxy = excluded.maxy",
            )
            .bind(c.id.as_str())
            .bind(c.name.as_deref())
            .bind(c.kind.as_str())
            .bind(c.community.as_ref().map(gridmap_model::CommunityId::as_str))
            .bind(codec::opt_wkb_mp(&c.boundary))
            .bind(minx)
            .bind(miny)
            .bind(maxx)
            .bind(maxy)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db(format!("writing compound '{}'", c.id), e))?;
        }
        Self::import_buildings(tx, &ds.buildings).await?;
        for f in &ds.facilities {
            Self::upsert_facility(tx, f, None).await?;
        }
        // Free the memberships of every imported grid first, so grids of this dataset can trade buildings.
        for g in &ds.grids {
            sqlx::query("DELETE FROM grid_buildings WHERE grid_id = $1")
                .bind(g.id.as_str())
                .execute(&mut *tx)
                .await
                .ctx("clearing grid memberships")?;
        }
        for g in &ds.grids {
            let current = Self::version_of(tx, "grids", g.id.as_str()).await?;
            let version = current.map_or(g.version.max(1), |c| (c + 1).max(g.version));
            Self::write_grid(tx, g, version).await?;
        }
        for chunk in ds.ways.chunks(200) {
            let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO network_ways (id, geometry, tags, length_m) ",
            );
            qb.push_values(chunk, |mut row, w| {
                row.push_bind(w.id.as_str())
                    .push_bind(wkb::linestring_to_wkb(&w.geometry))
                    .push_bind(codec::tags_json(&w.tags))
                    .push_bind(w.length_m);
            });
            qb.push(" ON CONFLICT (id) DO UPDATE SET geometry = excluded.geometry, tags = excluded.tags, length_m = excluded.length_m");
            qb.build().execute(&mut *tx).await.map_err(|e| {
                StoreError::db(
                    format!(
                        "writing {} network ways starting at '{}'",
                        chunk.len(),
                        chunk[0].id
                    ),
                    e,
                )
            })?;
        }
        Ok(())
    }

    async fn version_of(
        tx: &mut SqliteConnection,
        table: &'static str,
        id: &str,
    ) -> Result<Option<i64>, StoreError> {
        let sql = match table {
            "grids" => "SELECT version FROM grids WHERE id = $1",
            "facilities" => "SELECT version FROM facilities WHERE id = $1",
            _ => "SELECT version FROM buildings WHERE id = $1",
        };
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .ctx("reading a version")
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn import(&self, ds: &Dataset) -> Result<ImportCounts, StoreError> {
        validate::dataset(ds)?;
        let mut tx = self.write_tx().await?;
        let r = async {
            Self::write_dataset(&mut tx, ds).await?;
            bump(
                &mut tx,
                &[
                    "gen.communities",
                    "gen.compounds",
                    "gen.buildings",
                    "gen.facilities",
                    "gen.grids",
                ],
            )
            .await?;
            append_changes(&mut tx, &import_changes(ds), self.keep_changes).await
        }
        .await;
        tx.finish(r, "committing the import").await?;
        Ok(ImportCounts {
            streets: ds.streets.len(),
            communities: ds.communities.len(),
            compounds: ds.compounds.len(),
            buildings: ds.buildings.len(),
            facilities: ds.facilities.len(),
            grids: ds.grids.len(),
            ways: ds.ways.len(),
        })
    }

    async fn apply_household_updates(&self, ups: &[HouseholdUpdate]) -> Result<usize, StoreError> {
        let mut tx = self.write_tx().await?;
        let r = async {
            let mut changed = HashSet::new();
            let mut cs = ChangeSet::default();
            for u in ups {
                let ids: Vec<String> = match &u.key {
                    BuildingKey::Id(id) => sqlx::query_scalar("SELECT id FROM buildings WHERE id = $1").bind(id.as_str()).fetch_all(&mut *tx).await,
                    BuildingKey::Address(a) => sqlx::query_scalar("SELECT id FROM buildings WHERE address = $1").bind(a).fetch_all(&mut *tx).await,
                }
                .map_err(|e| StoreError::db(format!("{}: looking up the building", u.origin), e))?;
                let id = crate::resolve_household_key(u, ids)?;
                sqlx::query(
                    "UPDATE buildings SET households = COALESCE($2, households),
                       households_source = CASE WHEN $2 IS NULL THEN households_source ELSE 'imported' END,
                       elderly = COALESCE($3, elderly), steward = COALESCE($4, steward), version = version + 1
                     WHERE id = $1",
                )
                .bind(&id)
                .bind(u.households.map(i64::from))
                .bind(u.elderly.map(i64::from))
                .bind(u.steward.as_deref())
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::db(format!("{}: updating building '{id}'", u.origin), e))?;
                if changed.insert(id.clone()) {
                    cs.push(Layer::Buildings, id, ChangeOp::Put);
                }
            }
            bump(&mut tx, &["gen.buildings"]).await?;
            append_changes(&mut tx, &cs, self.keep_changes).await?;
            Ok(changed.len())
        }
        .await;
        tx.finish(r, "committing household updates").await
    }

    async fn load(&self) -> Result<Dataset, StoreError> {
        self.load_layers(&Layer::ALL).await
    }

    async fn load_layers(&self, wanted: &[Layer]) -> Result<Dataset, StoreError> {
        let t0 = Instant::now();
        let mut tx = self.pool.begin().await.ctx("starting a read transaction")?;
        let versions = layer_versions_in(&mut tx).await?;
        let v = |l: Layer| versions.get(&l).copied().unwrap_or(0);
        let mut pending = Vec::new();
        let mut from_tables = Vec::new();
        // Each layer from its snapshot when current, else from its table (and a new snapshot).
        macro_rules! layer {
            ($layer:expr, $read:expr) => {{
                let layer = $layer;
                if !wanted.contains(&layer) {
                    Vec::new()
                } else {
                    match snapshot_of(&mut tx, layer, v(layer)).await? {
                        Some(rows) => rows,
                        None => {
                            let rows = $read;
                            encode_layer(layer, v(layer), &rows, &mut pending);
                            from_tables.push(layer.as_str());
                            rows
                        }
                    }
                }
            }};
        }
        let streets: Vec<Street> = layer!(Layer::Streets, read_streets(&mut tx).await?);
        let communities: Vec<Community> = layer!(
            Layer::Communities,
            Community::read_all(&mut tx)
                .await?
                .into_iter()
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
        );
        let compounds: Vec<Compound> = layer!(
            Layer::Compounds,
            Compound::read_all(&mut tx)
                .await?
                .into_iter()
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
        );
        let buildings: Vec<Building> = layer!(
            Layer::Buildings,
            match replayed_buildings(&mut tx, v(Layer::Buildings)).await? {
                Some(b) => b,
                None => Building::read_all(&mut tx)
                    .await?
                    .into_iter()
                    .map(|(b, _)| b)
                    .collect::<Vec<_>>(),
            }
        );
        let facilities: Vec<Facility> = layer!(
            Layer::Facilities,
            Facility::read_all(&mut tx)
                .await?
                .into_iter()
                .map(|(f, _)| f)
                .collect::<Vec<_>>()
        );
        let grids: Vec<Grid> = layer!(
            Layer::Grids,
            Grid::read_all(&mut tx)
                .await?
                .into_iter()
                .map(|(g, _)| g)
                .collect::<Vec<_>>()
        );
        let ways: Vec<NetworkWay> = layer!(Layer::Network, read_ways(&mut tx).await?);
        tx.commit().await.ctx("ending a read transaction")?;
        let read_ms = t0.elapsed().as_millis() as u64;
        self.save_snapshots(pending).await;
        tracing::info!(
            read_ms,
            total_ms = t0.elapsed().as_millis() as u64,
            from_tables = from_tables.join(","),
            "dataset loaded"
        );
        Ok(Dataset {
            streets: streets.into(),
            communities: communities.into(),
            compounds: compounds.into(),
            buildings: buildings.into(),
            facilities: facilities.into(),
            grids: grids.into(),
            ways: ways.into(),
        })
    }

    async fn counts(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM streets) AS streets, (SELECT count(*) FROM communities) AS communities,
                    (SELECT count(*) FROM compounds) AS compounds, (SELECT count(*) FROM buildings) AS buildings,
                    (SELECT count(*) FROM facilities) AS facilities, (SELECT count(*) FROM grids) AS grids,
                    (SELECT count(*) FROM network_ways) AS network, (SELECT count(*) FROM results) AS results,
                    (SELECT COALESCE(SUM(households), 0) FROM buildings) AS households",
        )
        .fetch_one(&self.pool)
        .await
        .ctx("counting records")?;
        let mut out = BTreeMap::new();
        for k in [
            "streets",
            "communities",
            "compounds",
            "buildings",
            "facilities",
            "grids",
            "network",
            "results",
            "households",
        ] {
            let v: i64 = row.try_get(k).ctx("counting records")?;
            out.insert(k.to_owned(), v.max(0) as u64);
        }
        Ok(out)
    }

    async fn buildings(&self, q: &Query) -> Result<Page<Building>, StoreError> {
        q.check("buildings")?;
        let members: Option<HashSet<String>> = match &q.grid {
            Some(gid) => {
                let grids = self.layer(&self.grids).await?;
                Some(
                    grids
                        .get(gid.as_str())
                        .map(|(g, _)| g.buildings.iter().map(|b| b.0.clone()).collect())
                        .unwrap_or_default(),
                )
            }
            None => None,
        };
        let layer = self.layer(&self.buildings).await?;
        Ok(layer.query(q, |b| {
            q.community
                .as_ref()
                .is_none_or(|c| b.community.as_ref() == Some(c))
                && q.kind
                    .as_ref()
                    .is_none_or(|k| b.building_type.as_ref() == Some(k))
                && members.as_ref().is_none_or(|m| m.contains(b.id.as_str()))
        }))
    }

    async fn facilities(&self, q: &Query) -> Result<Page<Facility>, StoreError> {
        q.check("facilities")?;
        let layer = self.layer(&self.facilities).await?;
        Ok(layer.query(q, |f| q.kind.as_ref().is_none_or(|k| f.kind.as_str() == k)))
    }

    async fn grids(&self, q: &Query) -> Result<Page<Grid>, StoreError> {
        q.check("grids")?;
        let layer = self.layer(&self.grids).await?;
        Ok(layer.query(q, |g| {
            q.community
                .as_ref()
                .is_none_or(|c| g.community.as_ref() == Some(c))
        }))
    }

    async fn compounds(&self, q: &Query) -> Result<Page<Compound>, StoreError> {
        q.check("compounds")?;
        let layer = self.layer(&self.compounds).await?;
        Ok(layer.query(q, |c| {
            q.community
                .as_ref()
                .is_none_or(|x| c.community.as_ref() == Some(x))
                && q.kind.as_ref().is_none_or(|k| c.kind.as_str() == k)
        }))
    }

    async fn communities(&self, q: &Query) -> Result<Page<Community>, StoreError> {
        q.check("communities")?;
        let layer = self.layer(&self.communities).await?;
        Ok(layer.query(q, |_| true))
    }

    async fn building(&self, id: &BuildingId) -> Result<Option<Building>, StoreError> {
        Ok(self
            .layer(&self.buildings)
            .await?
            .get(id.as_str())
            .map(|(b, _)| b.clone()))
    }

    async fn building_version(&self, id: &BuildingId) -> Result<Option<i64>, StoreError> {
        Ok(self
            .layer(&self.buildings)
            .await?
            .get(id.as_str())
            .map(|(_, v)| v))
    }

    async fn facility(&self, id: &FacilityId) -> Result<Option<(Facility, i64)>, StoreError> {
        Ok(self
            .layer(&self.facilities)
            .await?
            .get(id.as_str())
            .map(|(f, v)| (f.clone(), v)))
    }

    async fn grid(&self, id: &GridId) -> Result<Option<Grid>, StoreError> {
        Ok(self
            .layer(&self.grids)
            .await?
            .get(id.as_str())
            .map(|(g, _)| g.clone()))
    }

    async fn compound(&self, id: &CompoundId) -> Result<Option<Compound>, StoreError> {
        Ok(self
            .layer(&self.compounds)
            .await?
            .get(id.as_str())
            .map(|(c, _)| c.clone()))
    }

    async fn community(&self, id: &CommunityId) -> Result<Option<Community>, StoreError> {
        Ok(self
            .layer(&self.communities)
            .await?
            .get(id.as_str())
            .map(|(c, _)| c.clone()))
    }

    async fn apply_edit(
        &self,
        edit: &Edit,
        audit: Option<&AuditEntry>,
    ) -> Result<Applied, StoreError> {
        crate::validate_edit(edit)?;
        let mut tx = self.write_tx().await?;
        let r = Self::edit_in(&mut tx, edit, audit, self.keep_changes).await;
        let (applied, patch) = tx.finish(r, "committing an edit").await?;
        match patch {
            Patch::None => {}
            Patch::AllGrids(grids) => {
                // The whole layer was just written: its snapshot costs an encode, not the next
                // load's read of a million memberships. Its version is this edit's last change.
                let mut pending = Vec::new();
                encode_layer(Layer::Grids, applied.seq, &grids, &mut pending);
                self.save_snapshots(pending).await;
            }
            Patch::Grid(gen, id, change) => self.grids.apply(gen, &id, change),
            Patch::Facility(gen, id, change) => self.facilities.apply(gen, &id, change),
            Patch::Building(gen, id, change) => self.buildings.apply(gen, &id, change),
        }
        Ok(applied)
    }

    async fn change_head(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await.ctx("acquiring a connection")?;
        change_head(&mut conn).await
    }

    async fn changes_since(&self, after: i64, limit: usize) -> Result<ChangeBatch, StoreError> {
        // One read transaction: head, pruning mark and rows from the same snapshot.
        let mut tx = self.pool.begin().await.ctx("starting a read transaction")?;
        let head = change_head(&mut tx).await?;
        let pruned: i64 =
            sqlx::query_scalar("SELECT CAST(value AS INTEGER) FROM meta WHERE key = $1")
                .bind(changes::PRUNED_KEY)
                .fetch_optional(&mut *tx)
                .await
                .ctx("reading the change log")?
                .unwrap_or(0);
        let rows: Vec<(i64, String, Option<String>, String)> = sqlx::query_as(
            "SELECT seq, layer, item, op FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .ctx("reading the change log")?;
        tx.commit().await.ctx("ending a read transaction")?;
        let changes = rows
            .into_iter()
            .map(|(seq, layer, item, op)| changes::decode_change(seq, &layer, item, &op))
            .collect::<Result<_, _>>()?;
        Ok(ChangeBatch {
            head,
            changes,
            complete: changes::is_complete(after, pruned),
        })
    }

    async fn wait_for_change(&self, seen: i64, timeout: Duration) -> Result<i64, StoreError> {
        // Another process may write the file: nothing tells us, so poll the head.
        let deadline = Instant::now() + timeout;
        loop {
            let head = self.change_head().await?;
            let now = Instant::now();
            if head > seen || now >= deadline {
                return Ok(head);
            }
            tokio::time::sleep((deadline - now).min(Duration::from_millis(100))).await;
        }
    }

    async fn layer_versions(&self) -> Result<BTreeMap<Layer, i64>, StoreError> {
        let mut conn = self.pool.acquire().await.ctx("acquiring a connection")?;
        layer_versions_in(&mut conn).await
    }

    async fn derived(&self, key: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        sqlx::query_as("SELECT version, data FROM derived WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::db(format!("reading derived data '{key}'"), e))
    }

    async fn put_derived(&self, key: &str, version: &str, data: &[u8]) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO derived (key, version, data) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET version = excluded.version, data = excluded.data")
            .bind(key)
            .bind(version)
            .bind(data)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::db(format!("storing derived data '{key}'"), e))?;
        Ok(())
    }

    async fn put_result(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO results (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        )
        .bind(key)
        .bind(value.to_string())
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::db(format!("storing result '{key}'"), e))?;
        Ok(())
    }

    async fn get_result(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> = sqlx::query_scalar("SELECT value FROM results WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::db(format!("reading result '{key}'"), e))?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt {
                what: "result",
                id: key.to_owned(),
                reason: e.to_string(),
            })
        })
        .transpose()
    }

    async fn put_user(&self, u: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, display_name, role, grids, communities, disabled, password_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, role = excluded.role, grids = excluded.grids,
               communities = excluded.communities, disabled = excluded.disabled,
               password_hash = COALESCE(excluded.password_hash, users.password_hash),
               updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
        )
        .bind(u.id.as_str())
        .bind(u.display_name.as_deref())
        .bind(u.role.as_str())
        .bind(users::ids_json(&u.grids))
        .bind(users::ids_json(&u.communities))
        .bind(u.disabled)
        .bind(password_hash)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::db(format!("writing user '{}'", u.id), e))?;
        Ok(())
    }

    async fn user(&self, id: &UserId) -> Result<Option<(User, Option<String>)>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as("SELECT id, display_name, role, grids, communities, disabled, password_hash FROM users WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::db(format!("reading user '{id}'"), e))?;
        row.map(|(id, dn, role, g, c, d, h)| Ok((users::decode_user(id, dn, &role, &g, &c, d)?, h)))
            .transpose()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as("SELECT id, display_name, role, grids, communities, disabled, password_hash FROM users ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .ctx("reading users")?;
        rows.into_iter()
            .map(|(id, dn, role, g, c, d, _)| users::decode_user(id, dn, &role, &g, &c, d))
            .collect()
    }

    async fn delete_user(&self, id: &UserId) -> Result<(), StoreError> {
        let n = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::db(format!("deleting user '{id}'"), e))?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    async fn create_token(
        &self,
        kind: TokenKind,
        token_hash: &str,
        user: &UserId,
        name: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let n = sqlx::query("INSERT INTO tokens (token_hash, user_id, kind, name, expires_at) SELECT $1, id, $3, $4, $5 FROM users WHERE id = $2")
            .bind(token_hash)
            .bind(user.as_str())
            .bind(kind.as_str())
            .bind(name)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::db(format!("storing a {} token of user '{user}'", kind.as_str()), e))?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                id: user.to_string(),
            });
        }
        Ok(())
    }

    async fn token_user(
        &self,
        kind: TokenKind,
        token_hash: &str,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT u.id, u.display_name, u.role, u.grids, u.communities, u.disabled, NULL FROM tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND t.kind = $2 AND (t.expires_at IS NULL OR t.expires_at > $3) AND NOT u.disabled",
        )
        .bind(token_hash)
        .bind(kind.as_str())
        .bind(users::now_unix())
        .fetch_optional(&self.pool)
        .await
        .ctx("looking up a token")?;
        row.map(|(id, dn, role, g, c, d, _)| users::decode_user(id, dn, &role, &g, &c, d))
            .transpose()
    }

    async fn delete_token(&self, kind: TokenKind, token_hash: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM tokens WHERE token_hash = $1 AND kind = $2")
            .bind(token_hash)
            .bind(kind.as_str())
            .execute(&self.pool)
            .await
            .ctx("deleting a token")?;
        Ok(n.rows_affected() > 0)
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await.ctx("acquiring a connection")?;
        insert_audit(&mut conn, e).await
    }

    async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT id, at, user_id, action, target, before, after FROM audit WHERE 1 = 1",
        );
        if let Some(u) = &q.user {
            qb.push(" AND user_id = ").push_bind(u.0.clone());
        }
        if let Some(p) = &q.target_prefix {
            qb.push(" AND substr(target, 1, length(")
                .push_bind(p.clone())
                .push(")) = ")
                .push_bind(p.clone());
        }
        if let Some(t) = &q.target_exact {
            qb.push(" AND target = ").push_bind(t.clone());
        }
        if let Some(s) = &q.since {
            qb.push(" AND at >= ").push_bind(s.clone());
        }
        qb.push(" ORDER BY id DESC LIMIT ")
            .push_bind(q.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX)));
        qb.push(" OFFSET ")
            .push_bind(i64::try_from(q.offset).unwrap_or(i64::MAX));
        let rows: Vec<AuditRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .ctx("reading the audit log")?;
        rows.into_iter()
            .map(|(id, at, user, action, target, before, after)| {
                Ok(AuditEntry {
                    id,
                    at,
                    user: user.map(UserId),
                    action,
                    target,
                    before: users::decode_json(id, before)?,
                    after: users::decode_json(id, after)?,
                })
            })
            .collect()
    }

    async fn put_job(&self, job: &crate::JobRecord) -> Result<bool, StoreError> {
        let n = sqlx::query(crate::jobs::UPSERT)
            .bind(&job.id)
            .bind(&job.process)
            .bind(job.owner.as_ref().map(gridmap_model::UserId::as_str))
            .bind(&job.scope)
            .bind(job.status.as_str())
            .bind(job.progress)
            .bind(job.message.as_deref())
            .bind(job.inputs.to_string())
            .bind(job.result.as_ref().map(std::string::ToString::to_string))
            .bind(job.error.as_ref().map(std::string::ToString::to_string))
            .bind(job.created)
            .bind(job.started)
            .bind(job.finished)
            .bind(job.updated)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::db(format!("writing job '{}'", job.id), e))?;
        Ok(n.rows_affected() > 0)
    }

    async fn job(&self, id: &str) -> Result<Option<crate::JobRecord>, StoreError> {
        let row: Option<crate::jobs::JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM jobs WHERE id = $1",
            crate::jobs::COLS
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| StoreError::db(format!("reading job '{id}'"), e))?;
        row.map(crate::jobs::decode).transpose()
    }

    async fn jobs(
        &self,
        owner: Option<&UserId>,
        limit: usize,
    ) -> Result<Vec<crate::JobRecord>, StoreError> {
        let sql = format!("SELECT {} FROM jobs WHERE ($1 IS NULL OR owner = $1) ORDER BY created DESC, id DESC LIMIT $2", crate::jobs::COLS);
        let rows: Vec<crate::jobs::JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(owner.map(gridmap_model::UserId::as_str))
            .bind(crate::jobs::limit(limit))
            .fetch_all(&self.pool)
            .await
            .ctx("reading jobs")?;
        rows.into_iter().map(crate::jobs::decode).collect()
    }

    async fn dismiss_job(&self, id: &str) -> Result<Option<crate::JobRecord>, StoreError> {
        sqlx::query(crate::jobs::DISMISS)
            .bind(id)
            .bind(crate::jobs::now_millis())
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::db(format!("dismissing job '{id}'"), e))?;
        self.job(id).await
    }

    async fn prune_jobs(&self, updated_before: i64) -> Result<u64, StoreError> {
        let n = sqlx::query("DELETE FROM jobs WHERE updated < $1")
            .bind(updated_before)
            .execute(&self.pool)
            .await
            .ctx("pruning old jobs")?;
        Ok(n.rows_affected())
    }

    async fn create_event(
        &self,
        e: &events::Event,
        audit: Option<&AuditEntry>,
    ) -> Result<events::Event, StoreError> {
        crate::events::validate(e)?;
        let mut stored = e.clone();
        stored.version = 1;
        let doc = crate::events::doc(&stored)?;
        let mut tx = self.write_tx().await?;
        let r = Self::insert_event(&mut tx, &stored, &doc, audit).await;
        tx.finish(r, "committing an event").await?;
        Ok(stored)
    }

    async fn update_event(
        &self,
        e: &events::Event,
        expected: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<events::Event, StoreError> {
        crate::events::validate(e)?;
        let mut tx = self.write_tx().await?;
        let r = Self::update_event_in(&mut tx, e, expected, audit).await;
        tx.finish(r, "committing an event transition").await?;
        self.event(&e.id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "event",
                id: e.id.to_string(),
            })
    }

    async fn event(&self, id: &events::EventId) -> Result<Option<events::Event>, StoreError> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT doc, version FROM events WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| StoreError::db(format!("reading event '{id}'"), e))?;
        let Some((doc, version)) = row else {
            return Ok(None);
        };
        let mut ev = crate::events::decode(id.as_str(), &doc, version)?;
        let docs: Vec<String> =
            sqlx::query_scalar("SELECT doc FROM event_history WHERE event_id = $1 ORDER BY seq")
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await
                .map_err(|e| StoreError::db(format!("reading the history of event '{id}'"), e))?;
        ev.history = crate::events::decode_history(id.as_str(), &docs)?;
        Ok(Some(ev))
    }

    async fn events(&self, q: &crate::EventQuery) -> Result<Page<events::Event>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT count(*) FROM events WHERE 1 = 1");
        crate::events::push_event_filters!(qb, q);
        let matched: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .ctx("counting events")?;
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT id, doc, version FROM events WHERE 1 = 1");
        crate::events::push_event_filters!(qb, q);
        qb.push(" ORDER BY reported_at DESC, id DESC LIMIT ")
            .push_bind(q.limit.map_or(-1, crate::events::i64_of))
            .push(" OFFSET ")
            .push_bind(crate::events::i64_of(q.offset));
        let rows: Vec<(String, String, i64)> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .ctx("reading events")?;
        let items = rows
            .iter()
            .map(|(id, doc, v)| crate::events::decode(id, doc, *v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            matched: u64::try_from(matched).unwrap_or(0),
        })
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

impl SqliteStore {
    async fn insert_event(
        conn: &mut SqliteConnection,
        e: &events::Event,
        doc: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let id = e.id.as_str();
        let exists: Option<i64> = sqlx::query_scalar("SELECT version FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|err| StoreError::db(format!("reading event '{id}'"), err))?;
        if let Some(current) = exists {
            return Err(StoreError::VersionConflict {
                what: "event",
                id: id.to_owned(),
                current,
            });
        }
        sqlx::query("INSERT INTO events (id, category, status, grid, community, department, reporter, reported_at, updated_at, due_resolve, version, history_len, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12)")
            .bind(id)
            .bind(&e.category)
            .bind(e.status.as_str())
            .bind(e.grid.as_ref().map(gridmap_model::GridId::as_str))
            .bind(e.community.as_ref().map(gridmap_model::CommunityId::as_str))
            .bind(&e.department)
            .bind(e.reporter.as_deref())
            .bind(e.reported_at)
            .bind(e.updated_at)
            .bind(e.due.resolve)
            .bind(crate::events::len_i64(e.history.len()))
            .bind(doc)
            .execute(&mut *conn)
            .await
            .map_err(|err| StoreError::db(format!("writing event '{id}'"), err))?;
        Self::insert_history(conn, id, 0, &e.history).await?;
        if let Some(a) = audit {
            insert_audit(conn, a).await?;
        }
        Ok(())
    }

    async fn insert_history(
        conn: &mut SqliteConnection,
        id: &str,
        first: usize,
        entries: &[events::HistoryEntry],
    ) -> Result<(), StoreError> {
        for (i, h) in entries.iter().enumerate() {
            sqlx::query("INSERT INTO event_history (event_id, seq, doc) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(crate::events::len_i64(first + i))
                .bind(crate::events::history_doc(id, h)?)
                .execute(&mut *conn)
                .await
                .map_err(|err| {
                    StoreError::db(format!("writing the history of event '{id}'"), err)
                })?;
        }
        Ok(())
    }

    async fn update_event_in(
        conn: &mut SqliteConnection,
        e: &events::Event,
        expected: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let id = e.id.as_str();
        let stored: Option<(i64, i64)> =
            sqlx::query_as("SELECT version, history_len FROM events WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|err| StoreError::db(format!("reading event '{id}'"), err))?;
        let first = stored.map_or(0, |s| usize::try_from(s.1).unwrap_or(0));
        let (version, new) = crate::events::check_update(e, expected, stored)?;
        let mut doc_ev = e.clone();
        doc_ev.version = version;
        let doc = crate::events::doc(&doc_ev)?;
        sqlx::query("UPDATE events SET category = $2, status = $3, grid = $4, community = $5, department = $6, reporter = $7, updated_at = $8, due_resolve = $9, version = $10, history_len = $11, doc = $12 WHERE id = $1")
            .bind(id)
            .bind(&e.category)
            .bind(e.status.as_str())
            .bind(e.grid.as_ref().map(gridmap_model::GridId::as_str))
            .bind(e.community.as_ref().map(gridmap_model::CommunityId::as_str))
            .bind(&e.department)
            .bind(e.reporter.as_deref())
            .bind(e.updated_at)
            .bind(e.due.resolve)
            .bind(version)
            .bind(crate::events::len_i64(e.history.len()))
            .bind(doc)
            .execute(&mut *conn)
            .await
            .map_err(|err| StoreError::db(format!("writing event '{id}'"), err))?;
        Self::insert_history(conn, id, first, new).await?;
        if let Some(a) = audit {
            insert_audit(conn, a).await?;
        }
        Ok(())
    }
}
