//! PostgreSQL + PostGIS backend. Geometries are written as WKB (`ST_GeomFromWKB(.., 4326)`)
//! and read with `ST_AsBinary`, so coordinates round-trip bit-exactly; bbox reads use the GiST
//! indexes through `ST_Intersects(geom, ST_MakeEnvelope(..))`. Bulk writes bind whole columns
//! as arrays and insert with `UNNEST`. Grid writes take one transaction-scoped advisory lock, so
//! they serialize like SQLite's writers; other edits lock their row (`SELECT … FOR UPDATE`).
use crate::changes::{self, Applied, ChangeBatch, ChangeOp, ChangeSet, Edit};
use crate::error::{DbContext, StoreError};
use crate::query::{Page, Query};
use crate::store::{ImportCounts, Store};
use crate::users::{self, AuditQuery, TokenKind};
use crate::{check_version, codec, validate, wkb};
use async_trait::async_trait;
use gridmap_model::events;
use gridmap_model::{
    AuditEntry, Building, BuildingId, BuildingKey, Community, CommunityId, Compound, CompoundId,
    Dataset, Facility, FacilityId, Grid, GridId, HouseholdSource, HouseholdUpdate, Layer, User,
    UserId,
};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

const BUILDING_COLS: &str = "id, name, building_type, address, ST_AsBinary(footprint) AS footprint, ST_AsBinary(entrance) AS entrance, levels, households, households_source, elderly, steward, compound, community, version";
const FACILITY_COLS: &str =
    "id, kind, name, ST_AsBinary(location) AS location, capacity, opening_hours, version";
const GRID_COLS: &str = "id, code, name, community, leads::text AS leads, ST_AsBinary(boundary) AS boundary, version, ARRAY(SELECT building_id FROM grid_buildings gb WHERE gb.grid_id = grids.id ORDER BY gb.position) AS buildings";
const COMPOUND_COLS: &str = "id, name, kind, community, ST_AsBinary(boundary) AS boundary";
const COMMUNITY_COLS: &str = "id, name, street, ST_AsBinary(boundary) AS boundary";
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
/// Rows per `UNNEST` statement in bulk imports.
const CHUNK: usize = 10_000;
/// Key of the advisory lock every change-log append takes (held to commit: seq order = commit order).
const CHANGES_LOCK: i64 = 0x6368_616e; // "chan"
/// Key of the advisory lock every grid write takes.
const GRID_LOCK: i64 = 0x6772_6964; // "grid"

/// The PostgreSQL/PostGIS store.
pub struct PgStore {
    pool: PgPool,
    keep_changes: i64,
    /// The newest head announced by `NOTIFY gridmap_changes`, fed by one listener task
    /// (started by the first `wait_for_change`, reconnecting on error).
    feed: Mutex<Option<(watch::Receiver<i64>, tokio::task::JoinHandle<()>)>>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Ok(mut f) = self.feed.lock() {
            if let Some((_, task)) = f.take() {
                task.abort();
            }
        }
    }
}

/// The newest seq of the change log (0 when empty).
async fn change_head(conn: &mut PgConnection) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT COALESCE(max(seq), 0)::int8 FROM changes")
        .fetch_one(&mut *conn)
        .await
        .ctx("reading the change head")
}

/// Appends `cs` inside the caller's transaction under [`CHANGES_LOCK`], prunes once per
/// [`changes::PRUNE_EVERY`] appends, and notifies `gridmap_changes` (delivered at commit).
async fn append_changes(
    conn: &mut PgConnection,
    cs: &ChangeSet,
    keep: i64,
) -> Result<i64, StoreError> {
    if cs.is_empty() {
        return change_head(conn).await;
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CHANGES_LOCK)
        .execute(&mut *conn)
        .await
        .ctx("locking the change log")?;
    let before = change_head(conn).await?;
    let rows = cs.rows();
    sqlx::query("INSERT INTO changes (layer, item, op) SELECT l, i, o FROM UNNEST($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(l, i, o, n) ORDER BY n")
        .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.2).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .ctx("appending to the change log")?;
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
            sqlx::query("UPDATE meta SET value = $2::text WHERE key = $1 AND value::int8 < $2")
                .bind(changes::PRUNED_KEY)
                .bind(cut)
                .execute(&mut *conn)
                .await
                .ctx("pruning the change log")?;
        }
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(changes::CHANNEL)
        .bind(after.to_string())
        .execute(&mut *conn)
        .await
        .ctx("notifying the change")?;
    Ok(after)
}

/// Appends an audit entry inside the caller's transaction; returns its id.
async fn insert_audit(conn: &mut PgConnection, e: &AuditEntry) -> Result<i64, StoreError> {
    sqlx::query_scalar("INSERT INTO audit (at, user_id, action, target, before, after) VALUES ($1, $2, $3, $4, $5::json, $6::json) RETURNING id")
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

/// The listener task: LISTEN, then publish every notified head; on a lost connection or an
/// error, re-read the head (notifications may have been missed) and reconnect.
async fn follow(pool: PgPool, tx: watch::Sender<i64>) {
    loop {
        if pool.is_closed() {
            return;
        }
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "change feed: cannot connect a listener; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(changes::CHANNEL).await {
            tracing::warn!(error = %e, "change feed: LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Listening: whatever commits from now on is announced. Wake waiters once.
        tx.send_modify(|v| *v += 1);
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    let head: i64 = n.payload().parse().unwrap_or(0);
                    tx.send_modify(|v| *v = (*v + 1).max(head));
                }
                Ok(None) => tx.send_modify(|v| *v += 1),
                Err(e) => {
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "change feed: listener failed; reconnecting");
                    tx.send_modify(|v| *v += 1);
                    break;
                }
            }
        }
    }
}

fn grid_row(r: &PgRow) -> Result<Grid, StoreError> {
    let (mut g, _) = decode_grid!(r)?;
    let ids: Vec<String> = r.try_get("buildings").ctx("decoding a grid row")?;
    g.buildings = ids.into_iter().map(BuildingId).collect();
    Ok(g)
}

/// Turns a unique violation on grid membership (a concurrent claim) into the domain error.
fn membership_error(e: sqlx::Error, ctx: &str) -> StoreError {
    if let Some(db) = e.as_database_error() {
        if db.constraint() == Some("grid_buildings_building_id_key") {
            let detail = db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|p| p.detail())
                .unwrap_or("");
            let building = detail
                .split(")=(")
                .nth(1)
                .and_then(|s| s.split(')').next())
                .unwrap_or("?")
                .to_owned();
            return StoreError::BuildingInOtherGrid {
                building,
                grid: "another grid".into(),
            };
        }
    }
    StoreError::db(ctx, e)
}

impl PgStore {
    /// Connects to `url` and migrates the schema (creating the PostGIS extension if missing).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::db(format!("connecting to PostgreSQL at {url}"), e))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migration {
                backend: "postgres",
                source,
            })?;
        Ok(PgStore {
            pool,
            keep_changes: changes::KEEP_CHANGES,
            feed: Mutex::new(None),
        })
    }

    /// Keeps at least the newest `keep` change rows instead of [`changes::KEEP_CHANGES`].
    pub fn with_change_retention(mut self, keep: i64) -> Self {
        self.keep_changes = keep.max(1);
        self
    }

    /// A receiver of the listener task's wake-ups, starting the task on first use.
    async fn feed(&self) -> watch::Receiver<i64> {
        let mut f = self
            .feed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((rx, task)) = f.as_ref() {
            if !task.is_finished() {
                return rx.clone();
            }
        }
        let (tx, rx) = watch::channel(0);
        let task = tokio::spawn(follow(self.pool.clone(), tx));
        *f = Some((rx.clone(), task));
        rx
    }

    async fn lock_grids(tx: &mut PgConnection) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(GRID_LOCK)
            .execute(&mut *tx)
            .await
            .ctx("locking grids")?;
        Ok(())
    }

    async fn version_of(
        tx: &mut PgConnection,
        table: &'static str,
        id: &str,
    ) -> Result<Option<i64>, StoreError> {
        let sql = match table {
            "grids" => "SELECT version FROM grids WHERE id = $1 FOR UPDATE",
            "facilities" => "SELECT version FROM facilities WHERE id = $1 FOR UPDATE",
            _ => "SELECT version FROM buildings WHERE id = $1 FOR UPDATE",
        };
        sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .ctx("reading a version")
    }

    /// Inserts or replaces buildings (replaced rows: version + 1).
    async fn upsert_buildings(tx: &mut PgConnection, bs: &[Building]) -> Result<(), StoreError> {
        for chunk in bs.chunks(CHUNK) {
            let col = |f: fn(&Building) -> Option<String>| chunk.iter().map(f).collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO buildings (id, name, building_type, address, footprint, entrance, levels, households, households_source, elderly, steward, compound, community, version)
                 SELECT id, name, bt, addr, ST_GeomFromWKB(fp, 4326), ST_GeomFromWKB(en, 4326), lv, hh, src, el, st, cp, cm, 1
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bytea[], $7::float8[], $8::int8[], $9::text[], $10::int8[], $11::text[], $12::text[], $13::text[])
                   AS t(id, name, bt, addr, fp, en, lv, hh, src, el, st, cp, cm)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, building_type = excluded.building_type, address = excluded.address,
                   footprint = excluded.footprint, entrance = excluded.entrance, levels = excluded.levels, households = excluded.households,
                   households_source = excluded.households_source, elderly = excluded.elderly, steward = excluded.steward,
                   compound = excluded.compound, community = excluded.community, version = buildings.version + 1",
            )
            .bind(chunk.iter().map(|b| b.id.0.clone()).collect::<Vec<_>>())
            .bind(col(|b| b.name.clone()))
            .bind(col(|b| b.building_type.clone()))
            .bind(col(|b| b.address.clone()))
            .bind(chunk.iter().map(|b| wkb::multipolygon_to_wkb(&b.footprint)).collect::<Vec<_>>())
            .bind(chunk.iter().map(|b| b.entrance.as_ref().map(wkb::point_to_wkb)).collect::<Vec<_>>())
            .bind(chunk.iter().map(|b| b.levels).collect::<Vec<_>>())
            .bind(chunk.iter().map(|b| i64::from(b.households)).collect::<Vec<_>>())
            .bind(chunk.iter().map(|b| b.households_source.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|b| b.elderly.map(i64::from)).collect::<Vec<_>>())
            .bind(col(|b| b.steward.clone()))
            .bind(col(|b| b.compound.as_ref().map(|c| c.0.clone())))
            .bind(col(|b| b.community.as_ref().map(|c| c.0.clone())))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db(format!("writing {} buildings starting at '{}'", chunk.len(), chunk[0].id), e))?;
        }
        Ok(())
    }

    /// Inserts or replaces facilities; `version` None = import rule (new 1, replaced + 1).
    async fn upsert_facilities(
        tx: &mut PgConnection,
        fs: &[Facility],
        version: Option<i64>,
    ) -> Result<(), StoreError> {
        for chunk in fs.chunks(CHUNK) {
            sqlx::query(
                "INSERT INTO facilities (id, kind, name, location, capacity, opening_hours, version)
                 SELECT id, kind, name, ST_GeomFromWKB(loc, 4326), cap, oh, COALESCE($7, 1)
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bytea[], $5::int8[], $6::text[]) AS t(id, kind, name, loc, cap, oh)
                 ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, location = excluded.location,
                   capacity = excluded.capacity, opening_hours = excluded.opening_hours,
                   version = COALESCE($7, facilities.version + 1)",
            )
            .bind(chunk.iter().map(|f| f.id.0.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|f| f.kind.as_str().to_owned()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|f| f.name.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|f| wkb::point_to_wkb(&f.location)).collect::<Vec<_>>())
            .bind(chunk.iter().map(|f| f.capacity.map(i64::from)).collect::<Vec<_>>())
            .bind(chunk.iter().map(|f| f.opening_hours.clone()).collect::<Vec<_>>())
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db(format!("writing {} facilities starting at '{}'", chunk.len(), chunk[0].id), e))?;
        }
        Ok(())
    }

    /// Writes grid rows with the given versions, then their memberships (after checks).
    async fn write_grids(tx: &mut PgConnection, grids: &[(&Grid, i64)]) -> Result<(), StoreError> {
        if grids.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = grids.iter().map(|(g, _)| g.id.0.clone()).collect();
        sqlx::query(
            "INSERT INTO grids (id, code, name, community, leads, boundary, version)
             SELECT id, code, name, community, leads::jsonb, ST_GeomFromWKB(boundary, 4326), version
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::int8[]) AS t(id, code, name, community, leads, boundary, version)
             ON CONFLICT (id) DO UPDATE SET code = excluded.code, name = excluded.name, community = excluded.community,
               leads = excluded.leads, boundary = excluded.boundary, version = excluded.version",
        )
        .bind(&ids)
        .bind(grids.iter().map(|(g, _)| g.code.clone()).collect::<Vec<_>>())
        .bind(grids.iter().map(|(g, _)| g.name.clone()).collect::<Vec<_>>())
        .bind(grids.iter().map(|(g, _)| g.community.as_ref().map(|c| c.0.clone())).collect::<Vec<_>>())
        .bind(grids.iter().map(|(g, _)| codec::leads_json(&g.leads)).collect::<Vec<_>>())
        .bind(grids.iter().map(|(g, _)| codec::opt_wkb_mp(&g.boundary)).collect::<Vec<_>>())
        .bind(grids.iter().map(|(_, v)| *v).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .ctx("writing grids")?;
        sqlx::query("DELETE FROM grid_buildings WHERE grid_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .ctx("clearing grid memberships")?;
        let mut gid = Vec::new();
        let mut bid = Vec::new();
        let mut pos = Vec::new();
        for (g, _) in grids {
            for (i, b) in g.buildings.iter().enumerate() {
                gid.push(g.id.0.clone());
                bid.push(b.0.clone());
                pos.push(i as i32);
            }
        }
        let unknown: Option<(String, String)> = sqlx::query_as(
            "SELECT g, b FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS t(g, b, n)
             WHERE NOT EXISTS (SELECT 1 FROM buildings WHERE id = t.b) ORDER BY n LIMIT 1",
        )
        .bind(&gid)
        .bind(&bid)
        .fetch_optional(&mut *tx)
        .await
        .ctx("checking grid buildings")?;
        if let Some((g, b)) = unknown {
            return Err(StoreError::UnknownReference {
                from: format!("grid '{g}'"),
                what: "building",
                id: b,
            });
        }
        let taken: Option<(String, String)> = sqlx::query_as(
            "SELECT t.b, gb.grid_id FROM UNNEST($1::text[]) WITH ORDINALITY AS t(b, n) JOIN grid_buildings gb ON gb.building_id = t.b ORDER BY n LIMIT 1",
        )
        .bind(&bid)
        .fetch_optional(&mut *tx)
        .await
        .ctx("checking grid buildings")?;
        if let Some((building, grid)) = taken {
            return Err(StoreError::BuildingInOtherGrid { building, grid });
        }
        sqlx::query("INSERT INTO grid_buildings (grid_id, building_id, position) SELECT * FROM UNNEST($1::text[], $2::text[], $3::int4[])")
            .bind(&gid)
            .bind(&bid)
            .bind(&pos)
            .execute(&mut *tx)
            .await
            .map_err(|e| membership_error(e, "writing grid memberships"))?;
        Ok(())
    }

    /// One edit, its audit entry and its change rows inside the caller's transaction.
    async fn edit_in(
        tx: &mut PgConnection,
        edit: &Edit,
        audit: Option<&AuditEntry>,
        keep: i64,
    ) -> Result<Applied, StoreError> {
        let mut cs = ChangeSet::default();
        let mut applied = Applied {
            seq: 0,
            audit_id: None,
            grid: None,
            facility: None,
            building: None,
        };
        match edit {
            Edit::PutGrid { grid: g, expected } => {
                Self::lock_grids(tx).await?;
                let current = Self::version_of(tx, "grids", g.id.as_str()).await?;
                let version = check_version("grid", g.id.as_str(), *expected, current)?;
                Self::write_grids(tx, &[(g, version)]).await?;
                cs.push(Layer::Grids, g.id.as_str(), ChangeOp::Put);
                applied.grid = Some(Grid {
                    version,
                    ..g.clone()
                });
            }
            Edit::DeleteGrid { id, expected } => {
                Self::lock_grids(tx).await?;
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
                cs.push(Layer::Grids, id.as_str(), ChangeOp::Delete);
            }
            Edit::PutFacility {
                facility: f,
                expected,
            } => {
                let current = Self::version_of(tx, "facilities", f.id.as_str()).await?;
                let version = check_version("facility", f.id.as_str(), *expected, current)?;
                if current.is_none() {
                    // Two concurrent creates: the loser's insert waits on the key, then must not overwrite.
                    let inserted = sqlx::query("INSERT INTO facilities (id, kind, version, location) VALUES ($1, $2, 1, ST_GeomFromWKB($3, 4326)) ON CONFLICT (id) DO NOTHING")
                        .bind(f.id.as_str())
                        .bind(f.kind.as_str())
                        .bind(wkb::point_to_wkb(&f.location))
                        .execute(&mut *tx)
                        .await
                        .ctx("creating a facility")?;
                    if inserted.rows_affected() == 0 {
                        let current = Self::version_of(tx, "facilities", f.id.as_str())
                            .await?
                            .unwrap_or(1);
                        return Err(StoreError::VersionConflict {
                            what: "facility",
                            id: f.id.to_string(),
                            current,
                        });
                    }
                }
                Self::upsert_facilities(tx, std::slice::from_ref(f), Some(version)).await?;
                cs.push(Layer::Facilities, f.id.as_str(), ChangeOp::Put);
                applied.facility = Some((f.clone(), version));
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
                cs.push(Layer::Facilities, id.as_str(), ChangeOp::Delete);
            }
            Edit::ReplaceGrids { community, grids } => {
                Self::lock_grids(tx).await?;
                let old: Vec<(String, i64)> = match community {
                    Some(c) => {
                        sqlx::query_as(
                            "DELETE FROM grids WHERE community = $1 RETURNING id, version",
                        )
                        .bind(c.as_str())
                        .fetch_all(&mut *tx)
                        .await
                    }
                    None => {
                        sqlx::query_as("DELETE FROM grids RETURNING id, version")
                            .fetch_all(&mut *tx)
                            .await
                    }
                }
                .ctx("deleting the replaced grids")?;
                cs = changes::replacement_changes(old.iter().map(|(id, _)| id.as_str()), grids);
                let old: HashMap<String, i64> = old.into_iter().collect();
                let ids: Vec<String> = grids.iter().map(|g| g.id.0.clone()).collect();
                let clash: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM grids WHERE id = ANY($1) ORDER BY id LIMIT 1",
                )
                .bind(&ids)
                .fetch_optional(&mut *tx)
                .await
                .ctx("checking grid ids")?;
                if let Some(id) = clash {
                    return Err(StoreError::Invalid {
                        what: "grid",
                        id,
                        reason: "the id is already used by a grid of another community".into(),
                    });
                }
                let versioned: Vec<(&Grid, i64)> = grids
                    .iter()
                    .map(|g| (g, old.get(g.id.as_str()).map_or(1, |v| v + 1)))
                    .collect();
                Self::write_grids(tx, &versioned).await?;
            }
            Edit::UpdateBuilding {
                building: b,
                expected,
            } => {
                let stored: Option<(i64, i64, String)> =
                    sqlx::query_as("SELECT version, households, households_source FROM buildings WHERE id = $1 FOR UPDATE")
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
                    Self::upsert_buildings(tx, std::slice::from_ref(&out)).await?;
                } else {
                    let n = sqlx::query("INSERT INTO buildings (id, footprint, households, households_source, version) VALUES ($1, ST_GeomFromWKB($2, 4326), 0, 'estimated', 0) ON CONFLICT (id) DO NOTHING")
                        .bind(b.id.as_str())
                        .bind(wkb::multipolygon_to_wkb(&b.footprint))
                        .execute(&mut *tx)
                        .await
                        .ctx("creating a building")?;
                    if n.rows_affected() == 0 {
                        let current = Self::version_of(tx, "buildings", b.id.as_str())
                            .await?
                            .unwrap_or(1);
                        return Err(StoreError::VersionConflict {
                            what: "building",
                            id: b.id.to_string(),
                            current,
                        });
                    }
                    // The placeholder row has version 0; the upsert makes it 1.
                    Self::upsert_buildings(tx, std::slice::from_ref(&out)).await?;
                }
                cs.push(Layer::Buildings, b.id.as_str(), ChangeOp::Put);
                applied.building = Some((out, version));
            }
        }
        if let Some(e) = audit {
            applied.audit_id = Some(insert_audit(tx, e).await?);
        }
        applied.seq = append_changes(tx, &cs, keep).await?;
        Ok(applied)
    }

    /// Appends the WHERE clauses of `q` for `layer` (checked already).
    fn filters(qb: &mut QueryBuilder<Postgres>, q: &Query, layer: &str, geom: &str) {
        if let Some([a, b, c, d]) = q.bbox {
            qb.push(format!(" AND ST_Intersects({geom}, ST_MakeEnvelope("));
            qb.push_bind(a)
                .push(", ")
                .push_bind(b)
                .push(", ")
                .push_bind(c)
                .push(", ")
                .push_bind(d)
                .push(", 4326))");
        }
        if let Some(ids) = &q.ids {
            qb.push(" AND id = ANY(").push_bind(ids.clone()).push(")");
        }
        if let Some(c) = &q.community {
            qb.push(" AND community = ").push_bind(c.0.clone());
        }
        if let Some(g) = &q.grid {
            qb.push(" AND id IN (SELECT building_id FROM grid_buildings WHERE grid_id = ")
                .push_bind(g.0.clone())
                .push(")");
        }
        if let Some(k) = &q.kind {
            let col = if layer == "buildings" {
                "building_type"
            } else {
                "kind"
            };
            qb.push(format!(" AND {col} = ")).push_bind(k.clone());
        }
    }

    /// Fetches one page of `layer` with the total count of matches (a window count over the
    /// filtered rows, so the spatial filter runs once; a separate count only for empty pages).
    async fn page(
        &self,
        q: &Query,
        layer: &'static str,
        cols: &str,
        geom: &str,
    ) -> Result<(Vec<PgRow>, u64), StoreError> {
        q.check(layer)?;
        let ctx = format!("querying {layer}");
        let mut items = QueryBuilder::<Postgres>::new(format!(
            "SELECT {cols}, count(*) OVER () AS matched_total FROM {layer} WHERE TRUE"
        ));
        Self::filters(&mut items, q, layer, geom);
        items
            .push(" ORDER BY id LIMIT ")
            .push_bind(i64::try_from(q.limit).unwrap_or(i64::MAX));
        items
            .push(" OFFSET ")
            .push_bind(i64::try_from(q.offset).unwrap_or(i64::MAX));
        let rows = items.build().fetch_all(&self.pool).await.ctx(&ctx)?;
        let matched: i64 = match rows.first() {
            Some(r) => r.try_get("matched_total").ctx(&ctx)?,
            None if q.offset == 0 && q.limit > 0 => 0,
            None => {
                let mut count = QueryBuilder::<Postgres>::new(format!(
                    "SELECT count(*) FROM {layer} WHERE TRUE"
                ));
                Self::filters(&mut count, q, layer, geom);
                count
                    .build_query_scalar()
                    .fetch_one(&self.pool)
                    .await
                    .ctx(&ctx)?
            }
        };
        Ok((rows, matched.max(0) as u64))
    }

    async fn one(
        &self,
        sql: &'static str,
        id: &str,
        what: &str,
    ) -> Result<Option<PgRow>, StoreError> {
        sqlx::query(sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::db(format!("reading {what} '{id}'"), e))
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn import(&self, ds: &Dataset) -> Result<ImportCounts, StoreError> {
        validate::dataset(ds)?;
        let mut tx = self
            .pool
            .begin()
            .await
            .ctx("starting the import transaction")?;
        for chunk in ds.streets.chunks(CHUNK) {
            sqlx::query(
                "INSERT INTO streets (id, name, boundary) SELECT id, name, ST_GeomFromWKB(b, 4326) FROM UNNEST($1::text[], $2::text[], $3::bytea[]) AS t(id, name, b)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, boundary = excluded.boundary",
            )
            .bind(chunk.iter().map(|s| s.id.0.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|s| s.name.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|s| codec::opt_wkb_mp(&s.boundary)).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .ctx("writing streets")?;
        }
        for chunk in ds.communities.chunks(CHUNK) {
            sqlx::query(
                "INSERT INTO communities (id, name, street, boundary) SELECT id, name, street, ST_GeomFromWKB(b, 4326)
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bytea[]) AS t(id, name, street, b)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, street = excluded.street, boundary = excluded.boundary",
            )
            .bind(chunk.iter().map(|c| c.id.0.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| c.street.as_ref().map(|s| s.0.clone())).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| codec::opt_wkb_mp(&c.boundary)).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .ctx("writing communities")?;
        }
        for chunk in ds.compounds.chunks(CHUNK) {
            sqlx::query(
                "INSERT INTO compounds (id, name, kind, community, boundary) SELECT id, name, kind, community, ST_GeomFromWKB(b, 4326)
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[]) AS t(id, name, kind, community, b)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, community = excluded.community, boundary = excluded.boundary",
            )
            .bind(chunk.iter().map(|c| c.id.0.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| c.community.as_ref().map(|s| s.0.clone())).collect::<Vec<_>>())
            .bind(chunk.iter().map(|c| codec::opt_wkb_mp(&c.boundary)).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .ctx("writing compounds")?;
        }
        Self::upsert_buildings(&mut tx, &ds.buildings).await?;
        Self::upsert_facilities(&mut tx, &ds.facilities, None).await?;
        if !ds.grids.is_empty() {
            Self::lock_grids(&mut tx).await?;
            let ids: Vec<String> = ds.grids.iter().map(|g| g.id.0.clone()).collect();
            let old: HashMap<String, i64> =
                sqlx::query_as("SELECT id, version FROM grids WHERE id = ANY($1)")
                    .bind(&ids)
                    .fetch_all(&mut *tx)
                    .await
                    .ctx("reading grid versions")?
                    .into_iter()
                    .collect();
            let versioned: Vec<(&Grid, i64)> = ds
                .grids
                .iter()
                .map(|g| {
                    (
                        g,
                        old.get(g.id.as_str())
                            .map_or(g.version.max(1), |c| (c + 1).max(g.version)),
                    )
                })
                .collect();
            Self::write_grids(&mut tx, &versioned).await?;
        }
        for chunk in ds.ways.chunks(CHUNK) {
            sqlx::query(
                "INSERT INTO network_ways (id, geometry, tags, length_m) SELECT id, ST_GeomFromWKB(g, 4326), tags::jsonb, len
                 FROM UNNEST($1::text[], $2::bytea[], $3::text[], $4::float8[]) AS t(id, g, tags, len)
                 ON CONFLICT (id) DO UPDATE SET geometry = excluded.geometry, tags = excluded.tags, length_m = excluded.length_m",
            )
            .bind(chunk.iter().map(|w| w.id.0.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|w| wkb::linestring_to_wkb(&w.geometry)).collect::<Vec<_>>())
            .bind(chunk.iter().map(|w| codec::tags_json(&w.tags)).collect::<Vec<_>>())
            .bind(chunk.iter().map(|w| w.length_m).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .ctx("writing network ways")?;
        }
        append_changes(&mut tx, &changes::import_changes(ds), self.keep_changes).await?;
        tx.commit().await.ctx("committing the import")?;
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
        let mut tx = self.pool.begin().await.ctx("starting a transaction")?;
        let mut changed = HashSet::new();
        let mut cs = ChangeSet::default();
        for u in ups {
            let ids: Vec<String> = match &u.key {
                BuildingKey::Id(id) => {
                    sqlx::query_scalar("SELECT id FROM buildings WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_all(&mut *tx)
                        .await
                }
                BuildingKey::Address(a) => {
                    sqlx::query_scalar("SELECT id FROM buildings WHERE address = $1")
                        .bind(a)
                        .fetch_all(&mut *tx)
                        .await
                }
            }
            .map_err(|e| StoreError::db(format!("{}: looking up the building", u.origin), e))?;
            let id = crate::resolve_household_key(u, ids)?;
            sqlx::query(
                "UPDATE buildings SET households = COALESCE($2, households),
                   households_source = CASE WHEN $2::int8 IS NULL THEN households_source ELSE 'imported' END,
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
        append_changes(&mut tx, &cs, self.keep_changes).await?;
        tx.commit().await.ctx("committing household updates")?;
        Ok(changed.len())
    }

    async fn load(&self) -> Result<Dataset, StoreError> {
        let mut tx = self.pool.begin().await.ctx("starting a read transaction")?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .ctx("starting a read transaction")?;
        let all = |table: &str, cols: &str| {
            sqlx::AssertSqlSafe(format!("SELECT {cols} FROM {table} ORDER BY id"))
        };
        let rows = sqlx::query(all(
            "streets",
            "id, name, ST_AsBinary(boundary) AS boundary",
        ))
        .fetch_all(&mut *tx)
        .await
        .ctx("reading streets")?;
        let streets = rows
            .iter()
            .map(|r| decode_street!(r))
            .collect::<Result<_, _>>()?;
        let rows = sqlx::query(all("communities", COMMUNITY_COLS))
            .fetch_all(&mut *tx)
            .await
            .ctx("reading communities")?;
        let communities = rows
            .iter()
            .map(|r| decode_community!(r).map(|x| x.0))
            .collect::<Result<_, _>>()?;
        let rows = sqlx::query(all("compounds", COMPOUND_COLS))
            .fetch_all(&mut *tx)
            .await
            .ctx("reading compounds")?;
        let compounds = rows
            .iter()
            .map(|r| decode_compound!(r).map(|x| x.0))
            .collect::<Result<_, _>>()?;
        let rows = sqlx::query(all("buildings", BUILDING_COLS))
            .fetch_all(&mut *tx)
            .await
            .ctx("reading buildings")?;
        let buildings = rows
            .iter()
            .map(|r| decode_building!(r).map(|x| x.0))
            .collect::<Result<_, _>>()?;
        let rows = sqlx::query(all("facilities", FACILITY_COLS))
            .fetch_all(&mut *tx)
            .await
            .ctx("reading facilities")?;
        let facilities = rows
            .iter()
            .map(|r| decode_facility!(r).map(|x| x.0))
            .collect::<Result<_, _>>()?;
        let rows = sqlx::query(all("grids", GRID_COLS))
            .fetch_all(&mut *tx)
            .await
            .ctx("reading grids")?;
        let grids = rows.iter().map(grid_row).collect::<Result<_, _>>()?;
        let rows = sqlx::query(all(
            "network_ways",
            "id, ST_AsBinary(geometry) AS geometry, tags::text AS tags, length_m",
        ))
        .fetch_all(&mut *tx)
        .await
        .ctx("reading network ways")?;
        let ways = rows
            .iter()
            .map(|r| decode_way!(r))
            .collect::<Result<_, _>>()?;
        tx.commit().await.ctx("ending a read transaction")?;
        Ok(Dataset {
            streets,
            communities,
            compounds,
            buildings,
            facilities,
            grids,
            ways,
        })
    }

    async fn counts(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM streets) AS streets, (SELECT count(*) FROM communities) AS communities,
                    (SELECT count(*) FROM compounds) AS compounds, (SELECT count(*) FROM buildings) AS buildings,
                    (SELECT count(*) FROM facilities) AS facilities, (SELECT count(*) FROM grids) AS grids,
                    (SELECT count(*) FROM network_ways) AS network, (SELECT count(*) FROM results) AS results,
                    (SELECT COALESCE(SUM(households), 0)::int8 FROM buildings) AS households",
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
        let (rows, matched) = self
            .page(q, "buildings", BUILDING_COLS, "footprint")
            .await?;
        Ok(Page {
            items: rows
                .iter()
                .map(|r| decode_building!(r).map(|x| x.0))
                .collect::<Result<_, _>>()?,
            matched,
        })
    }

    async fn facilities(&self, q: &Query) -> Result<Page<Facility>, StoreError> {
        let (rows, matched) = self
            .page(q, "facilities", FACILITY_COLS, "location")
            .await?;
        Ok(Page {
            items: rows
                .iter()
                .map(|r| decode_facility!(r).map(|x| x.0))
                .collect::<Result<_, _>>()?,
            matched,
        })
    }

    async fn grids(&self, q: &Query) -> Result<Page<Grid>, StoreError> {
        let (rows, matched) = self.page(q, "grids", GRID_COLS, "boundary").await?;
        Ok(Page {
            items: rows.iter().map(grid_row).collect::<Result<_, _>>()?,
            matched,
        })
    }

    async fn compounds(&self, q: &Query) -> Result<Page<Compound>, StoreError> {
        let (rows, matched) = self.page(q, "compounds", COMPOUND_COLS, "boundary").await?;
        Ok(Page {
            items: rows
                .iter()
                .map(|r| decode_compound!(r).map(|x| x.0))
                .collect::<Result<_, _>>()?,
            matched,
        })
    }

    async fn communities(&self, q: &Query) -> Result<Page<Community>, StoreError> {
        let (rows, matched) = self
            .page(q, "communities", COMMUNITY_COLS, "boundary")
            .await?;
        Ok(Page {
            items: rows
                .iter()
                .map(|r| decode_community!(r).map(|x| x.0))
                .collect::<Result<_, _>>()?,
            matched,
        })
    }

    async fn building(&self, id: &BuildingId) -> Result<Option<Building>, StoreError> {
        let row = self.one("SELECT id, name, building_type, address, ST_AsBinary(footprint) AS footprint, ST_AsBinary(entrance) AS entrance, levels, households, households_source, elderly, steward, compound, community, version FROM buildings WHERE id = $1", id.as_str(), "building").await?;
        row.map(|r| decode_building!(&r).map(|x| x.0)).transpose()
    }

    async fn building_version(&self, id: &BuildingId) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar("SELECT version FROM buildings WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .ctx("reading a building version")
    }

    async fn facility(&self, id: &FacilityId) -> Result<Option<(Facility, i64)>, StoreError> {
        let row = self.one("SELECT id, kind, name, ST_AsBinary(location) AS location, capacity, opening_hours, version FROM facilities WHERE id = $1", id.as_str(), "facility").await?;
        row.map(|r| decode_facility!(&r)).transpose()
    }

    async fn grid(&self, id: &GridId) -> Result<Option<Grid>, StoreError> {
        let row = self.one("SELECT id, code, name, community, leads::text AS leads, ST_AsBinary(boundary) AS boundary, version, ARRAY(SELECT building_id FROM grid_buildings gb WHERE gb.grid_id = grids.id ORDER BY gb.position) AS buildings FROM grids WHERE id = $1", id.as_str(), "grid").await?;
        row.as_ref().map(grid_row).transpose()
    }

    async fn compound(&self, id: &CompoundId) -> Result<Option<Compound>, StoreError> {
        let row = self.one("SELECT id, name, kind, community, ST_AsBinary(boundary) AS boundary FROM compounds WHERE id = $1", id.as_str(), "compound").await?;
        row.map(|r| decode_compound!(&r).map(|x| x.0)).transpose()
    }

    async fn community(&self, id: &CommunityId) -> Result<Option<Community>, StoreError> {
        let row = self.one("SELECT id, name, street, ST_AsBinary(boundary) AS boundary FROM communities WHERE id = $1", id.as_str(), "community").await?;
        row.map(|r| decode_community!(&r).map(|x| x.0)).transpose()
    }

    async fn apply_edit(
        &self,
        edit: &Edit,
        audit: Option<&AuditEntry>,
    ) -> Result<Applied, StoreError> {
        crate::validate_edit(edit)?;
        let mut tx = self.pool.begin().await.ctx("starting a transaction")?;
        let applied = Self::edit_in(&mut tx, edit, audit, self.keep_changes).await?;
        tx.commit().await.ctx("committing an edit")?;
        Ok(applied)
    }

    async fn change_head(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await.ctx("acquiring a connection")?;
        change_head(&mut conn).await
    }

    async fn changes_since(&self, after: i64, limit: usize) -> Result<ChangeBatch, StoreError> {
        let mut tx = self.pool.begin().await.ctx("starting a read transaction")?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .ctx("starting a read transaction")?;
        let head = change_head(&mut tx).await?;
        let pruned: i64 = sqlx::query_scalar("SELECT value::int8 FROM meta WHERE key = $1")
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
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.feed().await;
        // Subscribed (marked seen) before the head read: a commit after the read wakes us.
        rx.borrow_and_update();
        loop {
            let head = self.change_head().await?;
            if head > seen {
                return Ok(head);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                // Timed out, or the listener task ended (store closed): the head as it is.
                Ok(Err(_)) | Err(_) => return self.change_head().await,
            }
        }
    }

    async fn layer_versions(&self) -> Result<BTreeMap<Layer, i64>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT layer, seq FROM layer_versions")
            .fetch_all(&self.pool)
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
        sqlx::query("INSERT INTO results (key, value) VALUES ($1, $2::json) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()")
            .bind(key)
            .bind(value.to_string())
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::db(format!("storing result '{key}'"), e))?;
        Ok(())
    }

    async fn get_result(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT value::text FROM results WHERE key = $1")
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
            "INSERT INTO users (id, display_name, role, grids, communities, disabled, password_hash) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7)
             ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, role = excluded.role, grids = excluded.grids,
               communities = excluded.communities, disabled = excluded.disabled,
               password_hash = COALESCE(excluded.password_hash, users.password_hash),
               updated_at = now()",
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
        let row: Option<UserRow> = sqlx::query_as("SELECT id, display_name, role, grids::text, communities::text, disabled, password_hash FROM users WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::db(format!("reading user '{id}'"), e))?;
        row.map(|(id, dn, role, g, c, d, h)| Ok((users::decode_user(id, dn, &role, &g, &c, d)?, h)))
            .transpose()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as("SELECT id, display_name, role, grids::text, communities::text, disabled, password_hash FROM users ORDER BY id")
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
            "SELECT u.id, u.display_name, u.role, u.grids::text, u.communities::text, u.disabled, NULL::text FROM tokens t JOIN users u ON u.id = t.user_id
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
        let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT id, at, user_id, action, target, before::text, after::text FROM audit WHERE TRUE");
        if let Some(u) = &q.user {
            qb.push(" AND user_id = ").push_bind(u.0.clone());
        }
        if let Some(p) = &q.target_prefix {
            qb.push(" AND starts_with(target, ")
                .push_bind(p.clone())
                .push(")");
        }
        if let Some(t) = &q.target_exact {
            qb.push(" AND target = ").push_bind(t.clone());
        }
        if let Some(s) = &q.since {
            qb.push(" AND at >= ").push_bind(s.clone());
        }
        qb.push(" ORDER BY id DESC LIMIT ")
            .push_bind(q.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX)));
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
        let id = e.id.as_str();
        let mut tx = self.pool.begin().await.ctx("starting a transaction")?;
        let n = sqlx::query("INSERT INTO events (id, category, status, grid, community, department, reporter, reported_at, updated_at, due_resolve, version, history_len, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12) ON CONFLICT (id) DO NOTHING")
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
            .bind(&doc)
            .execute(&mut *tx)
            .await
            .map_err(|err| StoreError::db(format!("writing event '{id}'"), err))?;
        if n.rows_affected() == 0 {
            let current: i64 = sqlx::query_scalar("SELECT version FROM events WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|err| StoreError::db(format!("reading event '{id}'"), err))?
                .unwrap_or(1);
            return Err(StoreError::VersionConflict {
                what: "event",
                id: id.to_owned(),
                current,
            });
        }
        insert_history(&mut tx, id, 0, &e.history).await?;
        if let Some(a) = audit {
            insert_audit(&mut tx, a).await?;
        }
        tx.commit().await.ctx("committing an event")?;
        Ok(stored)
    }

    async fn update_event(
        &self,
        e: &events::Event,
        expected: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<events::Event, StoreError> {
        crate::events::validate(e)?;
        let id = e.id.as_str();
        let mut tx = self.pool.begin().await.ctx("starting a transaction")?;
        let stored: Option<(i64, i64)> =
            sqlx::query_as("SELECT version, history_len FROM events WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
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
            .execute(&mut *tx)
            .await
            .map_err(|err| StoreError::db(format!("writing event '{id}'"), err))?;
        insert_history(&mut tx, id, first, new).await?;
        if let Some(a) = audit {
            insert_audit(&mut tx, a).await?;
        }
        tx.commit().await.ctx("committing an event transition")?;
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
        let mut qb = QueryBuilder::<Postgres>::new("SELECT count(*) FROM events WHERE 1 = 1");
        crate::events::push_event_filters!(qb, q);
        let matched: i64 = qb
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .ctx("counting events")?;
        let mut qb =
            QueryBuilder::<Postgres>::new("SELECT id, doc, version FROM events WHERE 1 = 1");
        crate::events::push_event_filters!(qb, q);
        qb.push(" ORDER BY reported_at DESC, id DESC LIMIT ")
            .push_bind(q.limit.map_or(i64::MAX, crate::events::i64_of))
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

async fn insert_history(
    conn: &mut PgConnection,
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
            .map_err(|err| StoreError::db(format!("writing the history of event '{id}'"), err))?;
    }
    Ok(())
}
