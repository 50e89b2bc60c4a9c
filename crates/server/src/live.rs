//! The live state: how the server's snapshot follows the store's change log.
//!
//! Every committed write — through this server, another replica or the CLI — appends its
//! changed feature ids to the store's change log under one increasing sequence number, in the
//! same transaction as the write. [`catch_up`] reads the log after the sequence the current
//! snapshot reflects, fetches just the changed features by id and derives the next snapshot from
//! the current one ([`Snapshot::with_facilities`], [`Snapshot::with_grids`],
//! [`Snapshot::with_buildings`]): O(change), not O(city). A change to other layers, a bulk
//! import (logged as one `reload` row per layer) or a pruned log reloads everything.
//!
//! Two callers advance the state, both through [`catch_up`]: the edit path, right after its
//! write committed (so the response shows the edit), and [`follow`], a background task that
//! waits on the store (`LISTEN/NOTIFY` in PostgreSQL, polling in SQLite) and applies the changes
//! of other processes. Replicas therefore need no coordination beyond the database.
use crate::backend::{ChangeOp, Store};
use crate::error::ApiError;
use crate::snapshot::Snapshot;
use crate::state::AppState;
use gridmap_model::{BuildingId, FacilityId, GridId, Layer};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most changes read from the log in one catch-up step.
const BATCH: usize = 10_000;
/// More changed features than this in one layer and one step: reload instead.
const PATCH_LIMIT: usize = 5_000;

/// What one catch-up changed, for the analysis session and the caches.
#[derive(Debug, Default, Clone)]
pub struct Advance {
    pub from: u64,
    pub to: u64,
    /// Everything was reloaded.
    pub reloaded: bool,
    pub facilities: BTreeSet<String>,
    pub grids: BTreeSet<String>,
    pub buildings: BTreeSet<String>,
}

impl Advance {
    pub fn is_empty(&self) -> bool {
        self.from == self.to
    }
}

/// A full load: the whole dataset from the store at its current change head.
pub async fn load(store: &dyn Store) -> Result<Snapshot, ApiError> {
    let t0 = Instant::now();
    // The head is read first: changes committed during the load are applied again by the next
    // catch-up (applying a change is idempotent: it fetches the feature's current state).
    let head = store.change_head().await?;
    let ds = store.load().await?;
    let snap = tokio::task::spawn_blocking(move || Snapshot::build(head as u64, ds))
        .await
        .map_err(|e| ApiError::Internal(format!("building the layer cache panicked: {e}")))?;
    tracing::info!(
        seq = head,
        ms = t0.elapsed().as_millis() as u64,
        buildings = snap.dataset.buildings.len(),
        "dataset loaded"
    );
    Ok(snap)
}

/// Applies every change committed after the current snapshot; returns what changed.
pub async fn catch_up(st: &AppState) -> Result<Advance, ApiError> {
    let data = &st.data;
    let _guard = data.advancing.lock().await;
    let Some(mut snap) = data.peek() else {
        let s = Arc::new(load(st.store.as_ref()).await?);
        data.install(s.clone());
        return Ok(Advance {
            from: 0,
            to: s.generation,
            reloaded: true,
            ..Default::default()
        });
    };
    let from = snap.generation;
    let mut adv = Advance {
        from,
        to: from,
        ..Default::default()
    };
    loop {
        let batch = st
            .store
            .changes_since(snap.generation as i64, BATCH)
            .await?;
        let Some(last) = batch.changes.last().map(|c| c.seq) else {
            break;
        };
        let mut step = Advance::default();
        let mut reload = !batch.complete;
        for c in &batch.changes {
            let set = match c.layer {
                Layer::Facilities => &mut step.facilities,
                Layer::Grids => &mut step.grids,
                Layer::Buildings => &mut step.buildings,
                _ => {
                    reload = true;
                    continue;
                }
            };
            match (&c.op, &c.item) {
                (ChangeOp::Reload, _) | (_, None) => reload = true,
                (_, Some(id)) => {
                    set.insert(id.clone());
                }
            }
        }
        reload |= [&step.facilities, &step.grids, &step.buildings]
            .iter()
            .any(|s| s.len() > PATCH_LIMIT);
        let t0 = Instant::now();
        snap = if reload {
            adv.reloaded = true;
            Arc::new(load(st.store.as_ref()).await?)
        } else {
            Arc::new(patch(st.store.as_ref(), &snap, last as u64, &step).await?)
        };
        tracing::debug!(
            seq = last,
            changes = batch.changes.len(),
            reload,
            ms = t0.elapsed().as_millis() as u64,
            "applied changes"
        );
        adv.facilities.extend(step.facilities);
        adv.grids.extend(step.grids);
        adv.buildings.extend(step.buildings);
        if snap.generation < last as u64 {
            // A reload read an older head than the batch: never go back.
            break;
        }
        if batch.changes.len() < BATCH {
            break;
        }
    }
    adv.to = snap.generation;
    if adv.to != from {
        data.install(snap);
    }
    Ok(adv)
}

/// The next snapshot after the changes of `step`, fetching just the changed features.
async fn patch(
    store: &dyn Store,
    snap: &Arc<Snapshot>,
    seq: u64,
    step: &Advance,
) -> Result<Snapshot, ApiError> {
    let mut cur = snap.clone();
    if !step.buildings.is_empty() {
        let mut v = cur.dataset.buildings.clone();
        for id in &step.buildings {
            let b = store.building(&BuildingId::new(id)).await?;
            upsert(&mut v, id, b, |b| b.id.as_str());
        }
        let base = cur.clone();
        let changed = step.buildings.clone();
        cur = Arc::new(
            tokio::task::spawn_blocking(move || base.with_buildings(seq, v, &changed))
                .await
                .map_err(join)?,
        );
    }
    if !step.grids.is_empty() {
        let mut v = cur.dataset.grids.clone();
        for id in &step.grids {
            let g = store.grid(&GridId::new(id)).await?;
            upsert(&mut v, id, g, |g| g.id.as_str());
        }
        let base = cur.clone();
        let changed = step.grids.clone();
        cur = Arc::new(
            tokio::task::spawn_blocking(move || base.with_grids(seq, v, &changed))
                .await
                .map_err(join)?,
        );
    }
    if !step.facilities.is_empty() {
        let mut v = cur.dataset.facilities.clone();
        for id in &step.facilities {
            let f = store.facility(&FacilityId::new(id)).await?.map(|(f, _)| f);
            upsert(&mut v, id, f, |f| f.id.as_str());
        }
        cur = Arc::new(cur.with_facilities(seq, v));
    }
    Ok(if cur.generation == seq {
        Arc::try_unwrap(cur).unwrap_or_else(|a| a.at(seq))
    } else {
        cur.at(seq)
    })
}

/// Puts the current state of one feature (`None`: deleted) into a layer sorted by id.
fn upsert<T: Clone>(
    v: &mut gridmap_model::SharedVec<T>,
    id: &str,
    item: Option<T>,
    key: impl Fn(&T) -> &str,
) {
    match (item, v.binary_search_by(|x| key(x).cmp(id))) {
        (Some(x), Ok(i)) => v[i] = x,
        (Some(x), Err(i)) => v.insert(i, x),
        (None, Ok(i)) => {
            v.remove(i);
        }
        (None, Err(_)) => {}
    }
}

fn join(e: tokio::task::JoinError) -> ApiError {
    ApiError::Internal(format!("deriving the next snapshot failed: {e}"))
}

/// Follows the change log until the server shuts down: waits on the store for a change newer
/// than the current snapshot (any writer: this server, a replica, the CLI) and applies it.
pub async fn follow(st: AppState) {
    let mut backoff = Duration::from_millis(250);
    loop {
        let seen = st.data.generation() as i64;
        match st.store.wait_for_change(seen, Duration::from_secs(5)).await {
            Ok(head) if head > seen && st.data.peek().is_some() => match catch_up(&st).await {
                Ok(adv) if !adv.is_empty() => {
                    tracing::debug!(
                        from = adv.from,
                        to = adv.to,
                        reloaded = adv.reloaded,
                        "followed the change log"
                    );
                    backoff = Duration::from_millis(250);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not apply the store's changes; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            },
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not read the store's change log; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}
