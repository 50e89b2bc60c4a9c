//! The store suite on embedded SQLite (a fresh file per test), plus SQLite-only checks.
mod suite;

use gridmap_store::{Query, Store, StoreError};
use std::future::Future;
use std::sync::Arc;

async fn run<F, Fut>(_name: &str, test: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("gridmap.db").display());
    let store = gridmap_store::open(&url).await.expect("open SQLite store");
    assert_eq!(store.backend(), "sqlite");
    test(store.clone()).await;
    store.close().await;
}

store_suite!(run);

#[tokio::test]
async fn open_creates_the_file_and_reopening_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub-less.db");
    let url = format!("sqlite://{}", path.display());
    let ds = suite::city(25, 40);
    {
        let s = gridmap_store::open(&url).await.unwrap();
        s.import(&ds).await.unwrap();
        s.close().await;
    }
    assert!(path.exists());
    let s = gridmap_store::open(&url).await.unwrap();
    assert_eq!(s.load().await.unwrap(), suite::sorted(ds));
}

#[tokio::test]
async fn a_second_process_sees_writes_of_the_first() {
    // Two stores on one file stand for two processes (server + CLI): the in-memory index of
    // one must notice the other's commits.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let a = gridmap_store::open(&url).await.unwrap();
    let b = gridmap_store::open(&url).await.unwrap();
    let ds = suite::city(30, 41);
    a.import(&ds).await.unwrap();
    let q = Query::bbox([116.0, 39.0, 117.0, 41.0]);
    assert_eq!(b.buildings(&q).await.unwrap().matched, 30);
    let mut more = suite::city(45, 41);
    more.grids.clear();
    a.import(&more).await.unwrap();
    assert_eq!(b.buildings(&q).await.unwrap().matched, 45);
    b.delete_grid(&ds.grids[0].id, Some(1)).await.unwrap();
    assert!(a.grid(&ds.grids[0].id).await.unwrap().is_none());
}

#[tokio::test]
async fn an_in_memory_database_works_for_scratch_runs() {
    let s = gridmap_store::open("sqlite::memory:").await.unwrap();
    let ds = suite::city(15, 42);
    s.import(&ds).await.unwrap();
    assert_eq!(s.load().await.unwrap(), suite::sorted(ds));
}

#[tokio::test]
async fn edits_patched_into_the_warm_index_match_a_fresh_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("patch.db").display());
    let warm = gridmap_store::open(&url).await.unwrap();
    let ds = suite::city(200, 43);
    warm.import(&ds).await.unwrap();
    let everything = Query::bbox([-180.0, -90.0, 180.0, 90.0]);
    warm.buildings(&everything).await.unwrap();
    warm.facilities(&everything).await.unwrap();
    warm.grids(&Query::all()).await.unwrap();
    // Single-row edits: patched into the warm copies.
    let mut b = ds.buildings[17].clone();
    b.households += 5;
    b.footprint = ds.buildings[150].footprint.clone();
    warm.update_building(&b, Some(1)).await.unwrap();
    let mut f = ds.facilities[3].clone();
    f.location = geo_types::Point::new(0.5, 0.5);
    warm.put_facility(&f, Some(1)).await.unwrap();
    warm.delete_facility(&ds.facilities[4].id, Some(1))
        .await
        .unwrap();
    let mut g = ds.grids[1].clone();
    g.buildings.truncate(2);
    warm.put_grid(&g, Some(1)).await.unwrap();
    warm.delete_grid(&ds.grids[2].id, None).await.unwrap();
    let fresh = gridmap_store::open(&url).await.unwrap();
    for q in [
        everything.clone(),
        Query::bbox([116.30, 39.98, 116.303, 39.983]),
        Query::bbox([0.0, 0.0, 1.0, 1.0]),
    ] {
        assert_eq!(
            warm.buildings(&q).await.unwrap(),
            fresh.buildings(&q).await.unwrap()
        );
        assert_eq!(
            warm.facilities(&q).await.unwrap(),
            fresh.facilities(&q).await.unwrap()
        );
        assert_eq!(
            warm.grids(&q).await.unwrap(),
            fresh.grids(&q).await.unwrap()
        );
    }
    assert_eq!(
        warm.grids(&Query::all()).await.unwrap(),
        fresh.grids(&Query::all()).await.unwrap()
    );
    assert_eq!(warm.building_version(&b.id).await.unwrap(), Some(2));
    assert_eq!(warm.facility(&f.id).await.unwrap(), Some((f, 2)));
    assert_eq!(warm.load().await.unwrap(), fresh.load().await.unwrap());
}

#[tokio::test]
async fn unknown_url_schemes_are_refused_with_the_url() {
    let e = gridmap_store::open("mysql://localhost/x")
        .await
        .err()
        .expect("must fail");
    assert!(
        matches!(&e, StoreError::InvalidUrl { url, .. } if url == "mysql://localhost/x"),
        "{e}"
    );
}

#[tokio::test]
async fn user_writes_keep_the_change_counters_and_the_snapshot() {
    use gridmap_model::{AuditEntry, Role, User};
    use sqlx::{Connection, SqliteConnection};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("users.db").display());
    let s = gridmap_store::open(&url).await.unwrap();
    s.import(&suite::city(20, 44)).await.unwrap();
    s.load().await.unwrap(); // takes the snapshot
    let state = || async {
        let mut c = SqliteConnection::connect(&url).await.unwrap();
        let gens: Vec<(String, String)> =
            sqlx::query_as("SELECT key, value FROM meta WHERE key LIKE 'gen.%' ORDER BY key")
                .fetch_all(&mut c)
                .await
                .unwrap();
        let snaps: Vec<(String, i64)> =
            sqlx::query_as("SELECT layer, version FROM layer_snapshots ORDER BY layer")
                .fetch_all(&mut c)
                .await
                .unwrap();
        (gens, snaps)
    };
    let before = state().await;
    let u = User::new("frank", Role::Admin);
    s.put_user(&u, Some("$argon2id$x")).await.unwrap();
    s.create_session(
        &gridmap_store::hash_token("s"),
        &u.id,
        gridmap_store::now_unix() + 60,
    )
    .await
    .unwrap();
    s.append_audit(&AuditEntry {
        id: 0,
        at: String::new(),
        user: None,
        action: "user.add".into(),
        target: "user:frank".into(),
        before: None,
        after: None,
    })
    .await
    .unwrap();
    s.delete_user(&u.id).await.unwrap();
    assert_eq!(
        state().await,
        before,
        "no gen.* counter moved and the snapshot is still current"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_change_sees_a_write_of_another_handle() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("feed.db").display());
    let a = gridmap_store::open(&url).await.unwrap();
    let b = gridmap_store::open(&url).await.unwrap();
    let seen = a.change_head().await.unwrap();
    let waiter = tokio::spawn(async move {
        let t = std::time::Instant::now();
        (
            a.wait_for_change(seen, std::time::Duration::from_secs(5))
                .await
                .unwrap(),
            t.elapsed(),
        )
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    b.import(&suite::city(10, 45)).await.unwrap();
    let (head, took) = waiter.await.unwrap();
    assert!(head > seen, "woke with head {head}");
    assert!(
        took < std::time::Duration::from_secs(4),
        "returned before the timeout ({took:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_full_disk_edits_fail_with_disk_full_then_succeed_once_space_is_freed() {
    use gridmap_model::{Facility, FacilityId, FacilityKind};
    let mnt = std::path::PathBuf::from(format!("/tmp/gm-full-{}", fastrand::u32(..)));
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mnt)
        .status();
    if !mounted.is_ok_and(|s| s.success()) {
        eprintln!(
            "skipped: cannot mount a 2 MB tmpfs at {} (needs root)",
            mnt.display()
        );
        let _ = std::fs::remove_dir(&mnt);
        return;
    }
    let inner = mnt.clone();
    let result = std::panic::AssertUnwindSafe(async move {
        let mnt = inner;
        let s = gridmap_store::open(&format!("sqlite://{}", mnt.join("full.db").display()))
            .await
            .unwrap();
        s.import(&suite::city(20, 46)).await.unwrap();
        let fac = |i: usize| Facility {
            id: FacilityId(format!("fill{i}")),
            kind: FacilityKind::Canteen,
            name: Some("x".repeat(6_000)),
            location: geo_types::Point::new(116.3, 39.98),
            capacity: None,
            opening_hours: None,
        };
        // Fill the disk.
        let filler = mnt.join("filler");
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&filler).unwrap();
            let chunk = vec![0u8; 4096];
            while f.write_all(&chunk).is_ok() {}
            let _ = f.sync_all();
        }
        let mut failed = None;
        for i in 0..200 {
            let head = s.change_head().await.unwrap();
            match s.put_facility(&fac(i), None).await {
                Ok(_) => {}
                Err(e) => {
                    assert!(e.to_string().contains("disk full"), "{e}");
                    assert_eq!(
                        s.change_head().await.unwrap(),
                        head,
                        "the failed edit appended nothing"
                    );
                    failed = Some(i);
                    break;
                }
            }
        }
        let failed = failed.expect("an edit fails on a full disk");
        assert!(s
            .facility(&FacilityId(format!("fill{failed}")))
            .await
            .unwrap()
            .is_none());
        std::fs::remove_file(&filler).unwrap();
        for i in 1_000..1_020 {
            s.put_facility(&fac(i), None)
                .await
                .unwrap_or_else(|e| panic!("edit {i} after freeing space: {e}"));
        }
        s.close().await;
    })
    .catch_unwind_compat()
    .await;
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    let _ = std::fs::remove_dir(&mnt);
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

/// `FutureExt::catch_unwind` without the futures crate: run on a task, return its panic.
trait CatchUnwindCompat: Future<Output = ()> + Sized + Send + 'static {
    async fn catch_unwind_compat(self) -> Result<(), Box<dyn std::any::Any + Send>> {
        tokio::spawn(self).await.map_err(|e| e.into_panic())
    }
}
impl<F: Future<Output = ()> + Send + 'static> CatchUnwindCompat for F {}

#[tokio::test]
async fn a_grid_edit_keeps_the_other_layers_snapshots_and_a_load_after_it_equals_the_tables() {
    use sqlx::{Connection, SqliteConnection};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("snap.db").display());
    let s = gridmap_store::open(&url).await.unwrap();
    s.import(&suite::city(20, 44)).await.unwrap();
    let first = s.load().await.unwrap(); // takes a snapshot of every layer
    let snaps = || async {
        let mut c = SqliteConnection::connect(&url).await.unwrap();
        let v: Vec<(String, i64)> =
            sqlx::query_as("SELECT layer, version FROM layer_snapshots ORDER BY layer")
                .fetch_all(&mut c)
                .await
                .unwrap();
        v
    };
    let before = snaps().await;
    assert_eq!(before.len(), 7, "one snapshot per layer: {before:?}");
    let mut g = first.grids[0].clone();
    g.name = Some("renamed".into());
    s.put_grid(&g, Some(g.version)).await.unwrap();
    let versions = s.layer_versions().await.unwrap();
    let after_edit = snaps().await;
    for ((layer, v0), (_, v1)) in before.iter().zip(&after_edit) {
        assert_eq!(v0, v1, "{layer}: an edit writes no snapshot");
    }
    let loaded = s.load().await.unwrap();
    let now = snaps().await;
    for (layer, v) in &now {
        let l: gridmap_model::Layer = layer.parse().unwrap();
        assert_eq!(
            *v, versions[&l],
            "{layer} snapshot is current after the load"
        );
    }
    assert_eq!(now.iter().filter(|(l, _)| l == "grids").count(), 1);
    assert_ne!(
        before.iter().find(|(l, _)| l == "grids"),
        now.iter().find(|(l, _)| l == "grids"),
        "the grids snapshot was retaken"
    );
    assert_eq!(
        before.iter().find(|(l, _)| l == "buildings"),
        now.iter().find(|(l, _)| l == "buildings"),
        "the buildings snapshot was kept"
    );
    // The snapshot path and the table path give the same dataset.
    let mut c = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("DELETE FROM layer_snapshots")
        .execute(&mut c)
        .await
        .unwrap();
    assert_eq!(s.load().await.unwrap(), loaded);
    assert_eq!(
        loaded
            .grids
            .iter()
            .find(|x| x.id == g.id)
            .unwrap()
            .name
            .as_deref(),
        Some("renamed")
    );
}

#[tokio::test]
async fn a_stale_buildings_snapshot_is_patched_from_the_change_log_and_equals_the_table() {
    use sqlx::{Connection, SqliteConnection};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("replay.db").display());
    let s = gridmap_store::open(&url).await.unwrap();
    let city = suite::city(30, 45);
    s.import(&city).await.unwrap();
    let first = s.load().await.unwrap();
    // a household correction, and new buildings whose ids sort among the old ones
    let mut b = first.buildings[3].clone();
    b.households += 7;
    s.update_building(&b, Some(1)).await.unwrap();
    let mut more = suite::city(4, 46);
    more.grids = Default::default();
    for (i, x) in more.buildings.iter_mut().enumerate() {
        x.id = gridmap_model::BuildingId::new(format!("{}~{i}", first.buildings[i * 5].id));
    }
    let more = gridmap_model::Dataset {
        buildings: more.buildings,
        ..Default::default()
    };
    s.import(&more).await.unwrap();
    let patched = s.load().await.unwrap();
    assert_eq!(patched.buildings.len(), first.buildings.len() + 4);
    assert_eq!(
        patched
            .buildings
            .iter()
            .find(|x| x.id == b.id)
            .unwrap()
            .households,
        b.households
    );
    let mut c = SqliteConnection::connect(&url).await.unwrap();
    let v: i64 =
        sqlx::query_scalar("SELECT version FROM layer_snapshots WHERE layer = 'buildings'")
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert_eq!(
        v,
        s.layer_versions().await.unwrap()[&gridmap_model::Layer::Buildings],
        "the patched copy was kept"
    );
    sqlx::query("DELETE FROM layer_snapshots")
        .execute(&mut c)
        .await
        .unwrap();
    assert_eq!(
        s.load().await.unwrap(),
        patched,
        "patched snapshot == tables"
    );
}

#[tokio::test]
async fn replacing_every_grid_keeps_a_grids_snapshot_equal_to_the_tables() {
    use sqlx::{Connection, SqliteConnection};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("grids.db").display());
    let s = gridmap_store::open(&url).await.unwrap();
    s.import(&suite::city(24, 47)).await.unwrap();
    let before = s.load().await.unwrap();
    let mut grids: Vec<gridmap_model::Grid> = before.grids.iter().cloned().collect();
    grids.reverse(); // written out of id order
    grids[0].name = Some("after the partition".into());
    s.replace_grids(None, &grids).await.unwrap();
    let mut c = SqliteConnection::connect(&url).await.unwrap();
    let v: i64 = sqlx::query_scalar("SELECT version FROM layer_snapshots WHERE layer = 'grids'")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(
        v,
        s.layer_versions().await.unwrap()[&gridmap_model::Layer::Grids],
        "the replacement wrote the grids' snapshot"
    );
    let from_snapshot = s.load().await.unwrap();
    sqlx::query("DELETE FROM layer_snapshots")
        .execute(&mut c)
        .await
        .unwrap();
    let from_tables = s.load().await.unwrap();
    assert_eq!(from_snapshot, from_tables);
    assert!(
        from_tables.grids.iter().all(|g| g.version == 2),
        "versions counted on"
    );
}
