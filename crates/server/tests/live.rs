//! The live state (issue 12): after any sequence of edits — through this server's edit path or
//! written straight to the store by "another process" (a replica, the CLI) — the incrementally
//! advanced snapshot equals a fresh load of the store: every feature of every collection as it
//! is served, bbox and property selections, and grid statistics. And a second server over the
//! same database follows the first one's edits.
use geo_types::{LineString, MultiPolygon, Point, Polygon};
use gridmap_model::*;
use gridmap_server::auth::{with_access, Access};
use gridmap_server::backend::Edit;
use gridmap_server::edit::{commit, Audit};
use gridmap_server::snapshot::{Collection, Filter, Snapshot};
use gridmap_server::{live, AppState, ServerConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LON0: f64 = 116.30;
const LAT0: f64 = 39.90;
const STEP: f64 = 0.001;

fn square(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]),
        vec![],
    )])
}

fn city() -> Dataset {
    let mut ds = Dataset::default();
    ds.communities.push(Community {
        id: "c1".into(),
        name: "一社区".into(),
        street: None,
        boundary: None,
    });
    ds.communities.push(Community {
        id: "c2".into(),
        name: "二社区".into(),
        street: None,
        boundary: Some(square(LON0 + 0.004, LAT0, 0.004)),
    });
    ds.compounds.push(Compound {
        id: "k1".into(),
        name: Some("清华园小区".into()),
        kind: CompoundKind::Old,
        community: Some("c1".into()),
        boundary: None,
    });
    for i in 0..8 {
        for j in 0..6 {
            ds.buildings.push(Building {
                id: BuildingId::new(format!("b{i}{j}")),
                name: None,
                building_type: None,
                address: None,
                footprint: square(
                    LON0 + f64::from(i) * STEP,
                    LAT0 + f64::from(j) * STEP,
                    0.0006,
                ),
                entrance: None,
                levels: None,
                households: 20 + i * 3 + j,
                households_source: HouseholdSource::Estimated,
                elderly: Some(j),
                steward: None,
                compound: (i < 2).then(|| "k1".into()),
                community: Some(if i < 4 { "c1" } else { "c2" }.into()),
            });
        }
    }
    ds.grids.push(Grid {
        id: "g1".into(),
        code: "C1-01".into(),
        name: None,
        community: Some("c1".into()),
        buildings: vec!["b00".into(), "b01".into()],
        leads: vec![],
        boundary: None,
        version: 1,
    });
    ds.facilities.push(Facility {
        id: "f1".into(),
        kind: FacilityKind::Canteen,
        name: Some("食堂".into()),
        location: Point::new(LON0, LAT0),
        capacity: None,
        opening_hours: None,
    });
    ds
}

/// A tiny deterministic generator (the test must not depend on a random seed to fail).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn rendered(s: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for c in Collection::ALL {
        let l = s.layer(c);
        for i in 0..l.len() as u32 {
            let mut j = String::new();
            l.row(i).write_json(&mut j);
            out.push(j);
        }
        for b in [
            [LON0, LAT0, LON0 + 0.002, LAT0 + 0.002],
            [LON0 + 0.003, LAT0 + 0.001, LON0 + 0.009, LAT0 + 0.009],
        ] {
            let ids: Vec<String> = l
                .select(Some(&[b]), &[])
                .into_iter()
                .map(|i| l.row(i).id)
                .collect();
            out.push(format!("{}:{b:?}:{ids:?}", c.id()));
        }
        out.push(format!("{}:extent:{:?}", c.id(), l.extent()));
    }
    for g in ["g1", "g2", "g3"] {
        let l = s.layer(Collection::Buildings);
        let ids: Vec<String> = l
            .select(None, &[(Filter::Grid, g.to_owned())])
            .into_iter()
            .map(|i| l.row(i).id)
            .collect();
        out.push(format!("grid {g}: {ids:?}"));
    }
    out
}

async fn state(url: &str) -> AppState {
    let store = gridmap_store::open(url).await.expect("open store");
    AppState::new(store, ServerConfig::default())
}

fn random_edit(r: &mut Lcg, snap: &Snapshot, n: usize) -> (Edit, &'static str) {
    let ds = &snap.dataset;
    let fid = format!("f{}", r.next(6));
    let exists = ds.facilities.iter().find(|f| f.id.as_str() == fid);
    match r.next(5) {
        0 | 1 => {
            let f = Facility {
                id: fid.as_str().into(),
                kind: [FacilityKind::Canteen, FacilityKind::ReadingRoom][r.next(2) as usize]
                    .clone(),
                name: Some(format!("n{n}")),
                location: Point::new(
                    LON0 + r.next(80) as f64 * 0.0001,
                    LAT0 + r.next(60) as f64 * 0.0001,
                ),
                capacity: Some(r.next(100) as u32),
                opening_hours: None,
            };
            (
                Edit::PutFacility {
                    facility: f,
                    expected: exists.map(|_| -1),
                },
                "facility.put",
            )
        }
        2 if exists.is_some() => (
            Edit::DeleteFacility {
                id: fid.as_str().into(),
                expected: None,
            },
            "facility.delete",
        ),
        2 | 3 => {
            let gid = format!("g{}", 1 + r.next(3));
            let start = r.next(16) as usize;
            let members: Vec<BuildingId> = ds
                .buildings
                .iter()
                .filter(|b| b.community.as_ref().is_some_and(|c| c.as_str() == "c1"))
                .skip(start)
                .take(1 + r.next(6) as usize)
                .map(|b| b.id.clone())
                .collect();
            let old = ds.grids.iter().find(|g| g.id.as_str() == gid);
            let g = Grid {
                id: gid.as_str().into(),
                code: format!("C{n}"),
                name: None,
                community: Some("c1".into()),
                buildings: members,
                leads: vec![],
                boundary: None,
                version: 0,
            };
            // Buildings may only be in one grid: take them out of the others first.
            let taken = g.buildings.clone();
            let others = ds
                .grids
                .iter()
                .filter(|x| x.id.as_str() != gid)
                .map(|x| Grid {
                    buildings: x
                        .buildings
                        .iter()
                        .filter(|b| !taken.contains(b))
                        .cloned()
                        .collect(),
                    ..x.clone()
                });
            let grids = others
                .chain(std::iter::once(Grid {
                    version: old.map_or(0, |o| o.version),
                    ..g
                }))
                .collect();
            (
                Edit::ReplaceGrids {
                    community: Some("c1".into()),
                    grids,
                },
                "grids.replace",
            )
        }
        _ => {
            let b = &ds.buildings[r.next(ds.buildings.len() as u64) as usize];
            let mut b2 = b.clone();
            b2.households = 1 + r.next(300) as u32;
            b2.elderly = Some(r.next(20) as u32);
            (
                Edit::UpdateBuilding {
                    building: b2,
                    expected: None,
                },
                "building.update",
            )
        }
    }
}

#[tokio::test]
async fn incremental_state_equals_a_fresh_load_after_random_edits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let st = state(&url).await;
    st.store.import(&city()).await.expect("import");
    with_access(Access::internal(), async {
        let mut r = Lcg(7);
        for n in 0..60 {
            let snap = st.data.get(st.store.as_ref()).await.expect("snapshot");
            let (mut edit, action) = random_edit(&mut r, &snap, n);
            // Expected versions from the store (the edit path's precondition).
            match &mut edit {
                Edit::PutFacility { facility, expected } if expected.is_some() => {
                    *expected = st
                        .store
                        .facility(&facility.id)
                        .await
                        .expect("read")
                        .map(|(_, v)| v);
                }
                Edit::UpdateBuilding { building, expected } => {
                    *expected = st.store.building_version(&building.id).await.expect("read");
                }
                _ => {}
            }
            if n % 3 == 2 {
                // Another process writes straight to the store; this server follows the log.
                st.store
                    .apply_edit(&edit, None)
                    .await
                    .expect("direct write");
                live::catch_up(&st).await.expect("catch up");
            } else {
                let audit = Audit {
                    action,
                    target: format!("test:{n}"),
                    before: None,
                    after: None,
                };
                commit(&st, edit, audit).await.expect("edit");
            }
            let live = st.data.get(st.store.as_ref()).await.expect("snapshot");
            let head = st.store.change_head().await.expect("head");
            assert_eq!(
                live.generation, head as u64,
                "after edit {n} the state is at the log's head"
            );
            let fresh = Snapshot::build(head as u64, st.store.load().await.expect("load"));
            let (a, b) = (rendered(&live), rendered(&fresh));
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x, y, "after edit {n} ({action})");
            }
            assert_eq!(a.len(), b.len(), "after edit {n}");
        }
        // Every edit through the edit path left exactly one audit entry.
        let entries = st.store.audit(&Default::default()).await.expect("audit");
        assert_eq!(
            entries
                .iter()
                .filter(|e| e.target.starts_with("test:"))
                .count(),
            40
        );
    })
    .await;
}

#[tokio::test]
async fn a_second_server_over_the_same_database_follows_the_first_ones_edits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let a = state(&url).await;
    a.store.import(&city()).await.expect("import");
    let b = state(&url).await;
    b.data.get(b.store.as_ref()).await.expect("B loads");
    let follower = tokio::spawn(live::follow(b.clone()));
    with_access(Access::internal(), async {
        a.data.get(a.store.as_ref()).await.expect("A loads");
        let f = Facility {
            id: "f-new".into(),
            kind: FacilityKind::ReadingRoom,
            name: Some("书房".into()),
            location: Point::new(LON0 + 0.002, LAT0 + 0.002),
            capacity: None,
            opening_hours: None,
        };
        let t0 = Instant::now();
        commit(
            &a,
            Edit::PutFacility {
                facility: f,
                expected: None,
            },
            Audit {
                action: "facility.create",
                target: "facility:f-new".into(),
                before: None,
                after: None,
            },
        )
        .await
        .expect("edit through A");
        loop {
            let snap = b.data.get(b.store.as_ref()).await.expect("B");
            if snap.layer(Collection::Facilities).contains("f-new") {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "B did not see A's edit within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("B served A's edit after {} ms", t0.elapsed().as_millis());
    })
    .await;
    follower.abort();
    let _ = Arc::strong_count(&a.store);
}
