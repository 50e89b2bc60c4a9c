//! The store test suite, written once against `&dyn Store` and run on every backend
//! (`tests/sqlite.rs`, `tests/postgres.rs`).
#![allow(dead_code)]
use geo::Intersects;
use geo_types::{coord, LineString, MultiPolygon, Point, Polygon, Rect};
use gridmap_model::*;
use gridmap_store::{AuditQuery, Query, Store, StoreError};
use std::collections::BTreeMap;

/// One name per test; each backend file turns this list into `#[tokio::test]`s.
#[macro_export]
macro_rules! store_suite {
    ($run:path) => {
        $crate::store_suite!(@each $run;
            import_then_load_is_lossless,
            reimport_replaces_rows_with_the_same_id,
            a_duplicate_building_id_fails_the_import_and_changes_nothing,
            a_grid_naming_an_unknown_building_fails_the_import_and_changes_nothing,
            a_building_claimed_by_two_grids_fails_the_import_and_changes_nothing,
            household_updates_apply_by_id_and_by_address,
            an_unknown_building_in_a_household_file_applies_nothing,
            an_ambiguous_address_applies_nothing,
            bbox_queries_equal_a_brute_force_filter,
            paging_walks_every_match_once_in_id_order,
            filters_by_community_grid_kind_and_ids,
            a_filter_the_layer_does_not_have_is_refused,
            stale_grid_versions_conflict_and_change_nothing,
            stale_facility_versions_conflict_and_change_nothing,
            a_building_is_in_at_most_one_grid,
            eight_concurrent_grid_edits_with_the_same_version_one_wins,
            eight_concurrent_creates_of_one_facility_one_wins,
            replace_grids_replaces_one_community_only,
            editing_households_marks_them_edited_and_bumps_the_version,
            result_blobs_round_trip_and_replace,
            dataset_meta_round_trips_beside_results,
            reads_see_every_write_at_once,
            concurrent_reads_and_edits_neither_fail_nor_see_half_writes,
            users_are_created_read_listed_updated_and_deleted,
            roles_and_scopes_round_trip,
            an_unknown_user_is_none_and_cannot_hold_tokens,
            expired_sessions_find_no_user,
            api_tokens_are_found_by_hash_only,
            audit_entries_append_and_filter_and_page,
            users_do_not_touch_the_dataset,
            every_write_appends_its_change_rows_and_a_failed_write_none,
            a_big_import_logs_one_reload_row_per_layer,
            layer_versions_move_with_their_layer_only,
            derived_data_round_trips_and_replaces,
            jobs_are_upserted_listed_dismissed_and_pruned,
            jobs_do_not_touch_the_dataset,
            events_round_trip_with_their_history,
            event_transitions_check_the_version_and_append_history_with_audit,
            eight_concurrent_transitions_of_one_event_one_wins,
            event_queries_filter_scope_overdue_and_page,
        );
    };
    (@each $run:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $run(stringify!($name), |s: std::sync::Arc<dyn gridmap_store::Store>| async move { suite::$name(&*s).await }).await
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// Synthetic city

fn square(x: f64, y: f64, d: f64) -> LineString<f64> {
    LineString::from(vec![(x, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y)])
}

/// A small city: 2 communities (Chinese names), compounds, `n` buildings on a jittered grid with
/// awkward doubles (holes, two-part footprints, entrances), facilities of every kind, grids and ways.
pub fn city(n: usize, seed: u64) -> Dataset {
    let mut rng = fastrand::Rng::with_seed(seed);
    let x0 = 116.30_f64;
    let y0 = 39.98_f64;
    let side = (n as f64).sqrt().ceil() as usize;
    let step = 0.0005;
    let span = side as f64 * step;
    let communities = vec![
        Community {
            id: "c-east".into(),
            name: "东升社区".into(),
            street: Some("s-1".into()),
            boundary: Some(MultiPolygon(vec![Polygon::new(
                square(x0 - 0.001, y0 - 0.001, span / 2.0 + 0.001),
                vec![],
            )])),
        },
        Community {
            id: "c-west".into(),
            name: "学院路社区 \"西\"".into(),
            street: Some("s-1".into()),
            boundary: None,
        },
    ];
    let streets = vec![Street {
        id: "s-1".into(),
        name: "学院路街道".into(),
        boundary: None,
    }];
    let compounds = vec![
        Compound {
            id: "cp-1".into(),
            name: Some("清华园小区".into()),
            kind: CompoundKind::Old,
            community: Some("c-east".into()),
            boundary: Some(MultiPolygon(vec![Polygon::new(
                square(x0, y0, span / 3.0),
                vec![],
            )])),
        },
        Compound {
            id: "cp-2".into(),
            name: None,
            kind: CompoundKind::WorkUnit,
            community: Some("c-west".into()),
            boundary: Some(MultiPolygon(vec![Polygon::new(
                square(x0 + span / 2.0, y0 + span / 2.0, span / 4.0),
                vec![],
            )])),
        },
        Compound {
            id: "cp-3".into(),
            name: Some("无边界".into()),
            kind: CompoundKind::Unknown,
            community: None,
            boundary: None,
        },
    ];
    let mut buildings = Vec::with_capacity(n);
    for i in 0..n {
        let (r, c) = (i / side, i % side);
        let x = (x0 + c as f64 * step + rng.f64() * 1e-4).next_up();
        let y = (y0 + r as f64 * step + rng.f64() * 1e-4).next_down();
        let d = 1e-4 + rng.f64() * 2e-4;
        let mut polys = vec![Polygon::new(
            square(x, y, d),
            if i % 7 == 0 {
                vec![square(x + d / 4.0, y + d / 4.0, d / 4.0)]
            } else {
                vec![]
            },
        )];
        if i % 11 == 0 {
            polys.push(Polygon::new(square(x + d * 1.5, y, d / 3.0), vec![]));
        }
        let east = c < side / 2;
        buildings.push(Building {
            id: BuildingId(format!("w{}", 1000 + i)),
            name: (i % 3 == 0).then(|| format!("{}号楼", i + 1)),
            building_type: Some(["apartments", "residential", "yes", "house"][i % 4].into()),
            address: (i % 5 != 4).then(|| format!("学院路{}号", i + 1)),
            footprint: MultiPolygon(polys),
            entrance: (i % 4 == 0).then(|| Point::new(x, y + d / 2.0)),
            levels: (i % 2 == 0).then(|| (3 + i % 20) as f64 + 0.1),
            households: (i % 97) as u32 * 3,
            households_source: [
                HouseholdSource::Estimated,
                HouseholdSource::Imported,
                HouseholdSource::Edited,
            ][i % 3],
            elderly: (i % 6 == 0).then_some((i % 13) as u32),
            steward: (i % 9 == 0).then(|| format!("张{i} 138{i:08}")),
            compound: (i % 10 < 6).then(|| CompoundId::from(if east { "cp-1" } else { "cp-2" })),
            community: Some(CommunityId::from(if east { "c-east" } else { "c-west" })),
        });
    }
    let kinds = [
        FacilityKind::ServiceStation,
        FacilityKind::Canteen,
        FacilityKind::ReadingRoom,
        FacilityKind::OutreachPoint,
        FacilityKind::Other("pharmacy".into()),
    ];
    let facilities: Vec<Facility> = (0..(n / 10).max(5))
        .map(|i| Facility {
            id: FacilityId(format!("f{i:03}")),
            kind: kinds[i % kinds.len()].clone(),
            name: (i % 2 == 0).then(|| format!("{}号{}", i, kinds[i % kinds.len()].label_zh())),
            location: Point::new((x0 + rng.f64() * span).next_up(), y0 + rng.f64() * span),
            capacity: (i % 3 == 0).then_some(20 + i as u32),
            opening_hours: (i % 2 == 1).then(|| "Mo-Fr 08:00-17:00".into()),
        })
        .collect();
    // Grids: chunks of 7 buildings per community, the last few buildings left out of any grid.
    let mut grids = Vec::new();
    for comm in ["c-east", "c-west"] {
        let ids: Vec<BuildingId> = buildings
            .iter()
            .filter(|b| b.community.as_ref().map(gridmap_model::CommunityId::as_str) == Some(comm))
            .map(|b| b.id.clone())
            .collect();
        for (k, chunk) in ids.chunks(7).enumerate().take(ids.len() / 7) {
            grids.push(Grid {
                id: GridId(format!("g-{comm}-{k:02}")),
                code: format!(
                    "{}-{:02}",
                    if comm == "c-east" { "DS" } else { "XY" },
                    k + 1
                ),
                name: (k % 2 == 0).then(|| format!("第{}网格", k + 1)),
                community: Some(comm.into()),
                buildings: chunk.to_vec(),
                leads: if k % 3 == 0 {
                    vec![UserId::from("li.wei"), UserId::from("王芳")]
                } else {
                    vec![]
                },
                boundary: (k % 2 == 1).then(|| {
                    MultiPolygon(vec![Polygon::new(
                        square(x0 + k as f64 * step, y0, step * 2.0),
                        vec![],
                    )])
                }),
                version: 1,
            });
        }
    }
    let ways: Vec<NetworkWay> = (0..side)
        .map(|r| NetworkWay {
            id: WayId(format!("w{}", 900_000 + r)),
            geometry: LineString::from(vec![
                (x0 - step / 2.0, y0 + r as f64 * step - step / 4.0),
                ((x0 + span).next_up(), y0 + r as f64 * step - step / 4.0),
            ]),
            tags: BTreeMap::from([
                (
                    "highway".into(),
                    ["footway", "residential", "steps"][r % 3].into(),
                ),
                ("name".into(), format!("{r}胡同")),
            ]),
            length_m: (r % 2 == 0).then_some(123.456 + r as f64),
        })
        .collect();
    Dataset {
        streets: streets.into(),
        communities: communities.into(),
        compounds: compounds.into(),
        buildings: buildings.into(),
        facilities: facilities.into(),
        grids: grids.into(),
        ways: ways.into(),
    }
}

/// Sorts every layer by id, as `load` returns them.
pub fn sorted(mut ds: Dataset) -> Dataset {
    ds.streets.sort_by(|a, b| a.id.cmp(&b.id));
    ds.communities.sort_by(|a, b| a.id.cmp(&b.id));
    ds.compounds.sort_by(|a, b| a.id.cmp(&b.id));
    ds.buildings.sort_by(|a, b| a.id.cmp(&b.id));
    ds.facilities.sort_by(|a, b| a.id.cmp(&b.id));
    ds.grids.sort_by(|a, b| a.id.cmp(&b.id));
    ds.ways.sort_by(|a, b| a.id.cmp(&b.id));
    ds
}

/// Every coordinate's bits, in order, so `-0.0` vs `0.0` or an ulp of drift is caught.
fn coordinate_bits(ds: &Dataset) -> Vec<u64> {
    let mut out = Vec::new();
    let mut mp = |m: &MultiPolygon<f64>| {
        for p in &m.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                out.extend(ring.0.iter().flat_map(|c| [c.x.to_bits(), c.y.to_bits()]));
            }
        }
    };
    for b in &ds.buildings {
        mp(&b.footprint);
    }
    for c in &ds.communities {
        c.boundary.iter().for_each(&mut mp);
    }
    for g in &ds.grids {
        g.boundary.iter().for_each(&mut mp);
    }
    for b in &ds.buildings {
        if let Some(e) = b.entrance {
            out.extend([e.x().to_bits(), e.y().to_bits()]);
        }
    }
    for f in &ds.facilities {
        out.extend([f.location.x().to_bits(), f.location.y().to_bits()]);
    }
    for w in &ds.ways {
        out.extend(
            w.geometry
                .0
                .iter()
                .flat_map(|c| [c.x.to_bits(), c.y.to_bits()]),
        );
    }
    out
}

async fn snapshot(s: &dyn Store) -> (Dataset, BTreeMap<String, u64>) {
    (s.load().await.unwrap(), s.counts().await.unwrap())
}

// ---------------------------------------------------------------------------------------------
// Import and load

pub async fn import_then_load_is_lossless(s: &dyn Store) {
    let mut ds = city(120, 1);
    ds.buildings[5].levels = Some(0.1 + 0.2);
    ds.buildings[6].households = u32::MAX;
    let counts = s.import(&ds).await.unwrap();
    assert_eq!(
        (counts.buildings, counts.grids, counts.ways),
        (120, ds.grids.len(), ds.ways.len())
    );
    let back = s.load().await.unwrap();
    let want = sorted(ds);
    assert_eq!(back, want);
    assert_eq!(coordinate_bits(&back), coordinate_bits(&want));
    assert_eq!(back.communities[0].name, "东升社区");
    assert_eq!(
        back.buildings
            .iter()
            .find(|b| b.id.as_str() == "w1006")
            .unwrap()
            .households,
        u32::MAX
    );
    let c = s.counts().await.unwrap();
    assert_eq!(c["buildings"], 120);
    assert_eq!(c["network"], want.ways.len() as u64);
    assert_eq!(c["households"], want.households());
    assert_eq!(
        s.building(&"w1000".into()).await.unwrap().as_ref(),
        want.buildings.first()
    );
    assert_eq!(s.building(&"nope".into()).await.unwrap(), None);
    assert_eq!(
        s.grid(&want.grids[0].id).await.unwrap().as_ref(),
        Some(&want.grids[0])
    );
    assert_eq!(
        s.compound(&"cp-1".into()).await.unwrap().as_ref(),
        Some(&want.compounds[0])
    );
    assert_eq!(
        s.community(&"c-west".into()).await.unwrap().as_ref(),
        Some(&want.communities[1])
    );
    assert_eq!(
        s.facility(&"f001".into()).await.unwrap(),
        Some((want.facilities[1].clone(), 1))
    );
}

pub async fn reimport_replaces_rows_with_the_same_id(s: &dyn Store) {
    let ds = city(60, 2);
    s.import(&ds).await.unwrap();
    let mut again = Dataset {
        buildings: ds.buildings[..10].to_vec().into(),
        grids: vec![ds.grids[0].clone()].into(),
        ..Default::default()
    };
    again.buildings[0].name = Some("新名字".into());
    again.buildings[0].households = 42;
    again.buildings[1].footprint = MultiPolygon(vec![Polygon::new(square(1.0, 2.0, 0.5), vec![])]);
    again.grids[0].buildings.pop();
    s.import(&again).await.unwrap();
    let back = s.load().await.unwrap();
    assert_eq!(back.buildings.len(), 60, "rows not in the re-import stay");
    let b0 = s.building(&again.buildings[0].id).await.unwrap().unwrap();
    assert_eq!((b0.name.as_deref(), b0.households), (Some("新名字"), 42));
    assert_eq!(
        s.building(&again.buildings[1].id)
            .await
            .unwrap()
            .unwrap()
            .footprint,
        again.buildings[1].footprint
    );
    assert_eq!(
        s.building_version(&again.buildings[0].id).await.unwrap(),
        Some(2)
    );
    assert_eq!(
        s.building_version(&ds.buildings[30].id).await.unwrap(),
        Some(1)
    );
    let g = s.grid(&ds.grids[0].id).await.unwrap().unwrap();
    assert_eq!(g.buildings, again.grids[0].buildings);
    assert_eq!(
        g.version, 2,
        "a re-imported grid gets a new version so stale ETags fail"
    );
    // The building dropped from the grid is free again.
    let freed = ds.grids[0].buildings.last().unwrap().clone();
    let mut other = ds.grids[1].clone();
    other.buildings.push(freed);
    s.put_grid(&other, Some(1)).await.unwrap();
}

async fn assert_failed_import_changes_nothing(
    s: &dyn Store,
    bad: &Dataset,
    check: impl Fn(&StoreError) -> bool,
) {
    let before = snapshot(s).await;
    let e = s.import(bad).await.unwrap_err();
    assert!(check(&e), "unexpected error: {e}");
    assert_eq!(
        snapshot(s).await,
        before,
        "a failed import must leave every table as it was"
    );
}

pub async fn a_duplicate_building_id_fails_the_import_and_changes_nothing(s: &dyn Store) {
    s.import(&city(30, 3)).await.unwrap();
    let mut bad = city(40, 4);
    bad.buildings[0].name = Some("changed".into());
    let dup = bad.buildings[5].clone();
    bad.buildings.push(dup);
    assert_failed_import_changes_nothing(
        s,
        &bad,
        |e| matches!(e, StoreError::DuplicateId { what: "building", id } if id == "w1005"),
    )
    .await;
}

pub async fn a_grid_naming_an_unknown_building_fails_the_import_and_changes_nothing(s: &dyn Store) {
    s.import(&city(30, 5)).await.unwrap();
    // Everything else in this dataset is valid and would be written before the grids.
    let mut bad = city(50, 6);
    bad.grids[0].buildings.push("w-missing".into());
    assert_failed_import_changes_nothing(s, &bad, |e| {
        matches!(e, StoreError::UnknownReference { what: "building", id, from } if id == "w-missing" && from.contains(bad.grids[0].id.as_str()))
    })
    .await;
    assert!(s.building(&"w1045".into()).await.unwrap().is_none());
}

pub async fn a_building_claimed_by_two_grids_fails_the_import_and_changes_nothing(s: &dyn Store) {
    let ds = city(60, 7);
    s.import(&ds).await.unwrap();
    // Within one dataset.
    let mut bad = ds.clone();
    let taken = bad.grids[0].buildings[0].clone();
    bad.grids[1].buildings.push(taken.clone());
    assert_failed_import_changes_nothing(
        s,
        &bad,
        |e| matches!(e, StoreError::BuildingInOtherGrid { building, .. } if *building == taken.0),
    )
    .await;
    // Against a stored grid that the dataset does not replace.
    let new_grid = Grid {
        id: "g-new".into(),
        code: "NEW".into(),
        name: None,
        community: None,
        buildings: vec![taken.clone()],
        leads: vec![],
        boundary: None,
        version: 1,
    };
    let bad = Dataset {
        grids: vec![new_grid].into(),
        buildings: vec![ds.buildings[2].clone()].into(),
        ..Default::default()
    };
    assert_failed_import_changes_nothing(s, &bad, |e| {
        matches!(e, StoreError::BuildingInOtherGrid { building, grid } if *building == taken.0 && *grid == ds.grids[0].id.0)
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Household files

fn update(key: BuildingKey, households: Option<u32>, line: usize) -> HouseholdUpdate {
    HouseholdUpdate {
        key,
        households,
        elderly: Some(7),
        steward: Some("楼长 李".into()),
        origin: format!("households.csv:{line}"),
    }
}

pub async fn household_updates_apply_by_id_and_by_address(s: &dyn Store) {
    let ds = city(20, 8);
    s.import(&ds).await.unwrap();
    let ups = vec![
        update(BuildingKey::Id("w1001".into()), Some(88), 2),
        update(BuildingKey::Address("学院路3号".into()), Some(5), 3),
        HouseholdUpdate {
            key: BuildingKey::Id("w1003".into()),
            households: None,
            elderly: None,
            steward: Some("王".into()),
            origin: "households.csv:4".into(),
        },
    ];
    assert_eq!(s.apply_household_updates(&ups).await.unwrap(), 3);
    let b1 = s.building(&"w1001".into()).await.unwrap().unwrap();
    assert_eq!(
        (
            b1.households,
            b1.households_source,
            b1.elderly,
            b1.steward.as_deref()
        ),
        (88, HouseholdSource::Imported, Some(7), Some("楼长 李"))
    );
    let b2 = s.building(&"w1002".into()).await.unwrap().unwrap();
    assert_eq!(
        (b2.households, b2.households_source),
        (5, HouseholdSource::Imported)
    );
    let b3 = s.building(&"w1003".into()).await.unwrap().unwrap();
    let orig = &ds.buildings[3];
    assert_eq!(
        (b3.households, b3.households_source, b3.elderly),
        (orig.households, orig.households_source, orig.elderly),
        "None leaves values"
    );
    assert_eq!(b3.steward.as_deref(), Some("王"));
    assert_eq!(s.building_version(&"w1001".into()).await.unwrap(), Some(2));
}

pub async fn an_unknown_building_in_a_household_file_applies_nothing(s: &dyn Store) {
    s.import(&city(20, 9)).await.unwrap();
    let before = snapshot(s).await;
    let ups = vec![
        update(BuildingKey::Id("w1001".into()), Some(1), 2),
        update(BuildingKey::Id("w999999".into()), Some(2), 3),
    ];
    let e = s.apply_household_updates(&ups).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::UnknownBuilding { origin, key } if origin == "households.csv:3" && key.contains("w999999")),
        "{e}"
    );
    let ups = vec![
        update(BuildingKey::Address("学院路2号".into()), Some(1), 2),
        update(BuildingKey::Address("不存在路1号".into()), Some(2), 9),
    ];
    let e = s.apply_household_updates(&ups).await.unwrap_err();
    assert!(
        e.to_string().contains("households.csv:9") && e.to_string().contains("不存在路1号"),
        "{e}"
    );
    assert_eq!(snapshot(s).await, before);
}

pub async fn an_ambiguous_address_applies_nothing(s: &dyn Store) {
    let mut ds = city(20, 10);
    ds.buildings[4].address = ds.buildings[1].address.clone();
    s.import(&ds).await.unwrap();
    let before = snapshot(s).await;
    let ups = vec![
        update(BuildingKey::Id("w1000".into()), Some(1), 2),
        update(BuildingKey::Address("学院路2号".into()), Some(9), 3),
    ];
    let e = s.apply_household_updates(&ups).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::AmbiguousAddress { count: 2, .. }),
        "{e}"
    );
    assert_eq!(snapshot(s).await, before);
}

// ---------------------------------------------------------------------------------------------
// Reads

fn rect(b: [f64; 4]) -> Rect<f64> {
    Rect::new(coord! { x: b[0], y: b[1] }, coord! { x: b[2], y: b[3] })
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|x| id(x).to_owned()).collect()
}

pub async fn bbox_queries_equal_a_brute_force_filter(s: &dyn Store) {
    let ds = sorted(city(900, 11));
    s.import(&ds).await.unwrap();
    let mut rng = fastrand::Rng::with_seed(12);
    for round in 0..25 {
        let (x, y) = (116.2995 + rng.f64() * 0.016, 39.9795 + rng.f64() * 0.016);
        let w = if round == 0 { 1.0 } else { rng.f64() * 0.006 };
        let b = [x, y, x + w, y + w * 0.8];
        let r = rect(b);
        let q = Query::bbox(b);
        let want = ids(
            &ds.buildings
                .iter()
                .filter(|x| x.footprint.intersects(&r))
                .cloned()
                .collect::<Vec<_>>(),
            |x| x.id.as_str(),
        );
        let got = s.buildings(&q).await.unwrap();
        assert_eq!(
            ids(&got.items, |x| x.id.as_str()),
            want,
            "buildings in {b:?}"
        );
        assert_eq!(got.matched, want.len() as u64);
        let want: Vec<_> = ds
            .facilities
            .iter()
            .filter(|f| f.location.intersects(&r))
            .map(|f| f.id.0.clone())
            .collect();
        assert_eq!(
            ids(&s.facilities(&q).await.unwrap().items, |x| x.id.as_str()),
            want,
            "facilities in {b:?}"
        );
        let want: Vec<_> = ds
            .grids
            .iter()
            .filter(|g| g.boundary.as_ref().is_some_and(|m| m.intersects(&r)))
            .map(|g| g.id.0.clone())
            .collect();
        assert_eq!(
            ids(&s.grids(&q).await.unwrap().items, |x| x.id.as_str()),
            want,
            "grids in {b:?}"
        );
        let want: Vec<_> = ds
            .compounds
            .iter()
            .filter(|g| g.boundary.as_ref().is_some_and(|m| m.intersects(&r)))
            .map(|g| g.id.0.clone())
            .collect();
        assert_eq!(
            ids(&s.compounds(&q).await.unwrap().items, |x| x.id.as_str()),
            want,
            "compounds in {b:?}"
        );
        let want: Vec<_> = ds
            .communities
            .iter()
            .filter(|g| g.boundary.as_ref().is_some_and(|m| m.intersects(&r)))
            .map(|g| g.id.0.clone())
            .collect();
        assert_eq!(
            ids(&s.communities(&q).await.unwrap().items, |x| x.id.as_str()),
            want,
            "communities in {b:?}"
        );
        // bbox combined with a filter
        let q = Query {
            community: Some("c-west".into()),
            kind: Some("yes".into()),
            ..Query::bbox(b)
        };
        let want: Vec<_> = ds
            .buildings
            .iter()
            .filter(|x| {
                x.footprint.intersects(&r)
                    && x.community.as_ref().map(gridmap_model::CommunityId::as_str)
                        == Some("c-west")
                    && x.building_type.as_deref() == Some("yes")
            })
            .map(|x| x.id.0.clone())
            .collect();
        assert_eq!(
            ids(&s.buildings(&q).await.unwrap().items, |x| x.id.as_str()),
            want
        );
    }
    let far = s
        .buildings(&Query::bbox([0.0, 0.0, 1.0, 1.0]))
        .await
        .unwrap();
    assert_eq!((far.items.len(), far.matched), (0, 0));
}

pub async fn paging_walks_every_match_once_in_id_order(s: &dyn Store) {
    let ds = sorted(city(103, 13));
    s.import(&ds).await.unwrap();
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = s.buildings(&Query::all().page(offset, 10)).await.unwrap();
        assert_eq!(page.matched, 103);
        if page.items.is_empty() {
            break;
        }
        assert!(page.items.len() <= 10);
        offset += page.items.len() as u64;
        seen.extend(page.items);
    }
    assert_eq!(seen, ds.buildings);
    let count_only = s.facilities(&Query::all().page(0, 0)).await.unwrap();
    assert_eq!(
        (count_only.items.len(), count_only.matched),
        (0, ds.facilities.len() as u64)
    );
    let past = s.grids(&Query::all().page(10_000, 5)).await.unwrap();
    assert_eq!((past.items.len(), past.matched), (0, ds.grids.len() as u64));
    let huge = s
        .buildings(&Query::all().page(u64::MAX, u64::MAX))
        .await
        .unwrap();
    assert!(huge.items.is_empty());
}

pub async fn filters_by_community_grid_kind_and_ids(s: &dyn Store) {
    let ds = sorted(city(80, 14));
    s.import(&ds).await.unwrap();
    let g = &ds.grids[2];
    let page = s
        .buildings(&Query {
            grid: Some(g.id.clone()),
            ..Query::all()
        })
        .await
        .unwrap();
    let mut want = g.buildings.clone();
    want.sort();
    assert_eq!(
        page.items.iter().map(|b| b.id.clone()).collect::<Vec<_>>(),
        want
    );
    let none = s
        .buildings(&Query {
            grid: Some("no-such-grid".into()),
            ..Query::all()
        })
        .await
        .unwrap();
    assert_eq!(none.matched, 0);
    let canteens = s
        .facilities(&Query {
            kind: Some("canteen".into()),
            ..Query::all()
        })
        .await
        .unwrap();
    assert_eq!(
        canteens.matched as usize,
        ds.facilities
            .iter()
            .filter(|f| f.kind == FacilityKind::Canteen)
            .count()
    );
    assert!(canteens
        .items
        .iter()
        .all(|f| f.kind == FacilityKind::Canteen));
    let pharmacies = s
        .facilities(&Query {
            kind: Some("pharmacy".into()),
            ..Query::all()
        })
        .await
        .unwrap();
    assert!(pharmacies.matched > 0);
    let east = s
        .grids(&Query {
            community: Some("c-east".into()),
            ..Query::all()
        })
        .await
        .unwrap();
    assert_eq!(
        east.matched as usize,
        ds.grids
            .iter()
            .filter(
                |g| g.community.as_ref().map(gridmap_model::CommunityId::as_str) == Some("c-east")
            )
            .count()
    );
    let old = s
        .compounds(&Query {
            kind: Some("old".into()),
            ..Query::all()
        })
        .await
        .unwrap();
    assert_eq!(ids(&old.items, |c| c.id.as_str()), vec!["cp-1"]);
    let picked = s
        .buildings(&Query {
            ids: Some(vec!["w1005".into(), "w1002".into(), "missing".into()]),
            ..Query::all()
        })
        .await
        .unwrap();
    assert_eq!(
        ids(&picked.items, |b| b.id.as_str()),
        vec!["w1002", "w1005"]
    );
    let west = s
        .communities(&Query {
            ids: Some(vec!["c-west".into()]),
            ..Query::all()
        })
        .await
        .unwrap();
    assert_eq!(west.items[0].name, "学院路社区 \"西\"");
}

pub async fn a_filter_the_layer_does_not_have_is_refused(s: &dyn Store) {
    s.import(&city(10, 15)).await.unwrap();
    let e = s
        .facilities(&Query {
            community: Some("c-east".into()),
            ..Query::all()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::InvalidQuery {
                layer: "facilities",
                ..
            }
        ),
        "{e}"
    );
    let e = s
        .grids(&Query {
            kind: Some("x".into()),
            ..Query::all()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::InvalidQuery { layer: "grids", .. }),
        "{e}"
    );
    let e = s
        .buildings(&Query::bbox([2.0, 0.0, 1.0, 1.0]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("bbox"), "{e}");
    let e = s
        .buildings(&Query::bbox([f64::NAN, 0.0, 1.0, 1.0]))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::InvalidQuery { .. }), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Edits with optimistic concurrency

fn grid(id: &str, community: &str, buildings: &[&str]) -> Grid {
    Grid {
        id: id.into(),
        code: id.to_uppercase(),
        name: Some("测试网格".into()),
        community: Some(community.into()),
        buildings: buildings.iter().map(|b| BuildingId::from(*b)).collect(),
        leads: vec!["zhao".into()],
        boundary: None,
        version: 0,
    }
}

pub async fn stale_grid_versions_conflict_and_change_nothing(s: &dyn Store) {
    let mut ds = city(30, 16);
    ds.grids.clear();
    s.import(&ds).await.unwrap();
    let g = grid("g-a", "c-east", &["w1000", "w1001"]);
    let v1 = s.put_grid(&g, None).await.unwrap();
    assert_eq!(v1.version, 1);
    let e = s.put_grid(&g, None).await.unwrap_err();
    assert!(
        matches!(e, StoreError::VersionConflict { current: 1, .. }),
        "create over an existing grid: {e}"
    );
    let mut g2 = g.clone();
    g2.buildings.push("w1002".into());
    g2.name = None;
    let v2 = s.put_grid(&g2, Some(1)).await.unwrap();
    assert_eq!(v2.version, 2);
    let before = snapshot(s).await;
    let mut stale = g.clone();
    stale.code = "STALE".into();
    stale.buildings = vec!["w1005".into()];
    let e = s.put_grid(&stale, Some(1)).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::VersionConflict { what: "grid", id, current: 2 } if id == "g-a"),
        "{e}"
    );
    let e = s.delete_grid(&"g-a".into(), Some(1)).await.unwrap_err();
    assert!(
        matches!(e, StoreError::VersionConflict { current: 2, .. }),
        "{e}"
    );
    let e = s
        .put_grid(&grid("g-missing", "c-east", &[]), Some(3))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::NotFound { what: "grid", .. }),
        "{e}"
    );
    assert_eq!(snapshot(s).await, before, "rejected edits change nothing");
    assert_eq!(
        s.grid(&"g-a".into()).await.unwrap().unwrap(),
        Grid { version: 2, ..g2 }
    );
    s.delete_grid(&"g-a".into(), Some(2)).await.unwrap();
    assert!(s.grid(&"g-a".into()).await.unwrap().is_none());
    let e = s.delete_grid(&"g-a".into(), None).await.unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
    // Its buildings are free again.
    s.put_grid(&grid("g-b", "c-east", &["w1000", "w1001", "w1002"]), None)
        .await
        .unwrap();
}

pub async fn stale_facility_versions_conflict_and_change_nothing(s: &dyn Store) {
    s.import(&city(10, 17)).await.unwrap();
    let f = Facility {
        id: "f-new".into(),
        kind: FacilityKind::Canteen,
        name: Some("幸福食堂".into()),
        location: Point::new(116.3001, 39.9802),
        capacity: Some(40),
        opening_hours: None,
    };
    assert_eq!(s.put_facility(&f, None).await.unwrap().1, 1);
    let e = s.put_facility(&f, None).await.unwrap_err();
    assert!(
        matches!(e, StoreError::VersionConflict { current: 1, .. }),
        "{e}"
    );
    let moved = Facility {
        location: Point::new(116.31, 39.99),
        ..f.clone()
    };
    assert_eq!(
        s.put_facility(&moved, Some(1)).await.unwrap(),
        (moved.clone(), 2)
    );
    let before = snapshot(s).await;
    let e = s.put_facility(&f, Some(1)).await.unwrap_err();
    assert!(
        matches!(
            &e,
            StoreError::VersionConflict {
                what: "facility",
                current: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = s.delete_facility(&f.id, Some(1)).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::VersionConflict { current: 2, .. }),
        "{e}"
    );
    assert_eq!(snapshot(s).await, before);
    assert_eq!(s.facility(&f.id).await.unwrap(), Some((moved, 2)));
    // Imported facilities start at version 1 and can be edited the same way.
    let (imported, v) = s.facility(&"f000".into()).await.unwrap().unwrap();
    assert_eq!(v, 1);
    s.put_facility(
        &Facility {
            name: None,
            ..imported
        },
        Some(1),
    )
    .await
    .unwrap();
    s.delete_facility(&f.id, Some(2)).await.unwrap();
    assert_eq!(s.facility(&f.id).await.unwrap(), None);
    let e = s.delete_facility(&f.id, None).await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotFound {
                what: "facility",
                ..
            }
        ),
        "{e}"
    );
}

pub async fn a_building_is_in_at_most_one_grid(s: &dyn Store) {
    let mut ds = city(30, 18);
    ds.grids.clear();
    s.import(&ds).await.unwrap();
    s.put_grid(&grid("g-1", "c-east", &["w1000", "w1001"]), None)
        .await
        .unwrap();
    let before = snapshot(s).await;
    let e = s
        .put_grid(&grid("g-2", "c-east", &["w1002", "w1001"]), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::BuildingInOtherGrid { building, grid } if building == "w1001" && grid == "g-1"),
        "{e}"
    );
    let e = s
        .put_grid(&grid("g-2", "c-east", &["w1002", "w-ghost"]), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::UnknownReference { id, .. } if id == "w-ghost"),
        "{e}"
    );
    let e = s
        .put_grid(&grid("g-2", "c-east", &["w1002", "w1002"]), None)
        .await
        .unwrap_err();
    assert!(matches!(&e, StoreError::Invalid { .. }), "{e}");
    assert_eq!(snapshot(s).await, before);
    // A grid may keep its own buildings when edited.
    s.put_grid(
        &grid("g-1", "c-east", &["w1001", "w1000", "w1003"]),
        Some(1),
    )
    .await
    .unwrap();
    assert_eq!(
        s.grid(&"g-1".into()).await.unwrap().unwrap().buildings,
        vec![BuildingId::from("w1001"), "w1000".into(), "w1003".into()]
    );
}

pub async fn eight_concurrent_grid_edits_with_the_same_version_one_wins(s: &dyn Store) {
    let mut ds = city(30, 19);
    ds.grids.clear();
    s.import(&ds).await.unwrap();
    s.put_grid(&grid("g-hot", "c-east", &["w1000"]), None)
        .await
        .unwrap();
    let edit = |i: usize| {
        let mut g = grid("g-hot", "c-east", &["w1000"]);
        g.code = format!("EDIT-{i}");
        g.buildings.push(BuildingId(format!("w{}", 1001 + i)));
        async move { (i, s.put_grid(&g, Some(1)).await) }
    };
    let results = tokio::join!(
        edit(0),
        edit(1),
        edit(2),
        edit(3),
        edit(4),
        edit(5),
        edit(6),
        edit(7)
    );
    let results = [
        results.0, results.1, results.2, results.3, results.4, results.5, results.6, results.7,
    ];
    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one edit wins: {results:?}");
    for (_, r) in &results {
        if let Err(e) = r {
            assert!(
                matches!(e, StoreError::VersionConflict { current: 2, .. }),
                "losers see the winner's version: {e}"
            );
        }
    }
    let stored = s.grid(&"g-hot".into()).await.unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.code.clone()),
        (2, format!("EDIT-{}", winners[0]))
    );
    assert_eq!(stored.buildings.len(), 2);
}

pub async fn eight_concurrent_creates_of_one_facility_one_wins(s: &dyn Store) {
    s.import(&city(10, 20)).await.unwrap();
    let create = |i: usize| {
        let f = Facility {
            id: "f-race".into(),
            kind: FacilityKind::ReadingRoom,
            name: Some(format!("书房{i}")),
            location: Point::new(116.3, 39.98 + i as f64 * 1e-4),
            capacity: None,
            opening_hours: None,
        };
        async move { s.put_facility(&f, None).await }
    };
    let r = tokio::join!(
        create(0),
        create(1),
        create(2),
        create(3),
        create(4),
        create(5),
        create(6),
        create(7)
    );
    let r = [r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7];
    assert_eq!(r.iter().filter(|x| x.is_ok()).count(), 1, "{r:?}");
    assert!(
        r.iter()
            .filter_map(|x| x.as_ref().err())
            .all(|e| matches!(e, StoreError::VersionConflict { current: 1, .. })),
        "{r:?}"
    );
    let winner = r.iter().find_map(|x| x.as_ref().ok()).unwrap();
    assert_eq!(
        s.facility(&"f-race".into()).await.unwrap().as_ref(),
        Some(winner)
    );
}

pub async fn replace_grids_replaces_one_community_only(s: &dyn Store) {
    let ds = sorted(city(70, 21));
    s.import(&ds).await.unwrap();
    let east_before: Vec<Grid> = ds
        .grids
        .iter()
        .filter(|g| g.community.as_ref().map(gridmap_model::CommunityId::as_str) == Some("c-east"))
        .cloned()
        .collect();
    let west_before: Vec<Grid> = ds
        .grids
        .iter()
        .filter(|g| g.community.as_ref().map(gridmap_model::CommunityId::as_str) == Some("c-west"))
        .cloned()
        .collect();
    // New partition of the east: one grid keeps its id, one is new; the others disappear.
    let kept = east_before[0].id.clone();
    let new_grids = vec![
        Grid {
            buildings: east_before[1].buildings.clone(),
            ..grid(kept.as_str(), "c-east", &[])
        },
        Grid {
            buildings: east_before[0].buildings.clone(),
            ..grid("g-east-new", "c-east", &[])
        },
    ];
    s.replace_grids(Some(&"c-east".into()), &new_grids)
        .await
        .unwrap();
    let east = s
        .grids(&Query {
            community: Some("c-east".into()),
            ..Query::all()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(
        ids(&east, |g| g.id.as_str()),
        vec![kept.0.clone(), "g-east-new".into()]
    );
    assert_eq!(east[0].version, 2, "a replaced id keeps counting versions");
    assert_eq!(east[1].version, 1);
    assert_eq!(east[0].buildings, east_before[1].buildings);
    let west = s
        .grids(&Query {
            community: Some("c-west".into()),
            ..Query::all()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(west, west_before, "other communities are untouched");
    // A grid of another community, or a building of a west grid, fails and changes nothing.
    let before = snapshot(s).await;
    let e = s
        .replace_grids(Some(&"c-east".into()), &[grid("x", "c-west", &[])])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid { .. }), "{e}");
    let stolen = west_before[0].buildings[0].as_str();
    let e = s
        .replace_grids(Some(&"c-east".into()), &[grid("x", "c-east", &[stolen])])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::BuildingInOtherGrid { building, .. } if building == stolen),
        "{e}"
    );
    assert_eq!(snapshot(s).await, before);
    // None replaces everything.
    s.replace_grids(None, &[grid("only", "c-west", &[stolen])])
        .await
        .unwrap();
    assert_eq!(
        ids(&s.grids(&Query::all()).await.unwrap().items, |g| g
            .id
            .as_str()),
        vec!["only"]
    );
}

pub async fn editing_households_marks_them_edited_and_bumps_the_version(s: &dyn Store) {
    let mut ds = city(10, 22);
    ds.buildings[1].households_source = HouseholdSource::Imported;
    s.import(&ds).await.unwrap();
    let mut b = s.building(&"w1001".into()).await.unwrap().unwrap();
    b.name = Some("改名".into());
    let (same, v) = s.update_building(&b, Some(1)).await.unwrap();
    assert_eq!(
        (same.households_source, v),
        (HouseholdSource::Imported, 2),
        "unchanged households keep their source"
    );
    b.households += 12;
    let (edited, v) = s.update_building(&b, Some(2)).await.unwrap();
    assert_eq!((edited.households_source, v), (HouseholdSource::Edited, 3));
    assert_eq!(s.building(&"w1001".into()).await.unwrap().unwrap(), edited);
    assert_eq!(s.building_version(&"w1001".into()).await.unwrap(), Some(3));
    let e = s.update_building(&b, Some(2)).await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::VersionConflict {
                what: "building",
                current: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = s
        .update_building(
            &Building {
                id: "w-none".into(),
                ..b.clone()
            },
            Some(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
    let (created, v) = s
        .update_building(
            &Building {
                id: "w-created".into(),
                ..b.clone()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(v, 1);
    assert_eq!(
        s.building(&"w-created".into()).await.unwrap(),
        Some(created)
    );
    let bad = Building {
        footprint: MultiPolygon(vec![]),
        ..b
    };
    assert!(matches!(
        s.update_building(&bad, Some(3)).await.unwrap_err(),
        StoreError::Invalid { .. }
    ));
}

pub async fn dataset_meta_round_trips_beside_results(s: &dyn Store) {
    assert_eq!(s.meta("facility_profile").await.unwrap(), None);
    let v = serde_json::json!({"name": "proxy", "label": "proxy: restaurants counted as canteens",
        "kinds": [{"code": "canteen", "zh": "幸福食堂", "en": "Canteen", "colour": "#ec7014", "minutes": 15.0}]});
    s.put_meta("facility_profile", &v).await.unwrap();
    s.put_result("facility_profile", &serde_json::json!(1))
        .await
        .unwrap();
    assert_eq!(s.meta("facility_profile").await.unwrap(), Some(v));
    let strict = serde_json::json!({"name": "strict"});
    s.put_meta("facility_profile", &strict).await.unwrap();
    assert_eq!(s.meta("facility_profile").await.unwrap(), Some(strict));
    assert_eq!(
        s.get_result("facility_profile").await.unwrap(),
        Some(serde_json::json!(1))
    );
    s.import(&city(4, 3)).await.unwrap();
    assert!(
        s.meta("facility_profile").await.unwrap().is_some(),
        "an import keeps the metadata: the importer sets it"
    );
}

pub async fn result_blobs_round_trip_and_replace(s: &dyn Store) {
    assert_eq!(s.get_result("coverage").await.unwrap(), None);
    let v = serde_json::json!({"buildings": {"w1": 312.5, "w2": null}, "名称": "覆盖率", "share": 0.1 + 0.2, "big": u64::MAX});
    s.put_result("coverage", &v).await.unwrap();
    assert_eq!(s.get_result("coverage").await.unwrap(), Some(v));
    s.put_result("coverage", &serde_json::json!([1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(
        s.get_result("coverage").await.unwrap(),
        Some(serde_json::json!([1, 2, 3]))
    );
    assert_eq!(s.counts().await.unwrap()["results"], 1);
}

pub async fn reads_see_every_write_at_once(s: &dyn Store) {
    let ds = city(40, 23);
    s.import(&ds).await.unwrap();
    // Warm every read path, then write and read again: no stale answers.
    let q = Query::bbox([116.2, 39.9, 116.4, 40.1]);
    let n = s.buildings(&q).await.unwrap().matched;
    s.facilities(&q).await.unwrap();
    s.grids(&Query::all()).await.unwrap();
    let mut b = ds.buildings[0].clone();
    b.footprint = MultiPolygon(vec![Polygon::new(square(7.42, 43.73, 0.001), vec![])]);
    s.update_building(&b, Some(1)).await.unwrap();
    assert_eq!(s.buildings(&q).await.unwrap().matched, n - 1);
    assert_eq!(
        s.buildings(&Query::bbox([7.4, 43.7, 7.5, 43.8]))
            .await
            .unwrap()
            .items,
        vec![b.clone()]
    );
    let f = Facility {
        id: "f-mc".into(),
        kind: FacilityKind::Canteen,
        name: None,
        location: Point::new(7.421, 43.731),
        capacity: None,
        opening_hours: None,
    };
    s.put_facility(&f, None).await.unwrap();
    assert_eq!(
        s.facilities(&Query::bbox([7.4, 43.7, 7.5, 43.8]))
            .await
            .unwrap()
            .items,
        vec![f]
    );
    s.delete_grid(&ds.grids[0].id, Some(1)).await.unwrap();
    assert_eq!(
        s.grids(&Query::all()).await.unwrap().matched as usize,
        ds.grids.len() - 1
    );
    s.apply_household_updates(&[update(BuildingKey::Id(b.id.clone()), Some(77), 1)])
        .await
        .unwrap();
    assert_eq!(s.building(&b.id).await.unwrap().unwrap().households, 77);
}

pub async fn concurrent_reads_and_edits_neither_fail_nor_see_half_writes(s: &dyn Store) {
    let ds = city(400, 24);
    s.import(&ds).await.unwrap();
    let total = ds.households();
    let q = Query::bbox([116.0, 39.0, 117.0, 41.0]);
    // Each edit moves 1 household between two buildings in one transaction, so every read must
    // see the same total.
    let pairs: Vec<(&Building, &Building)> = ds.buildings[..200]
        .iter()
        .zip(&ds.buildings[200..])
        .filter(|(_, b)| b.households > 0)
        .take(15)
        .collect();
    assert_eq!(pairs.len(), 15);
    let writer = async {
        for (i, (a, b)) in pairs.iter().enumerate() {
            let ups = [
                HouseholdUpdate {
                    key: BuildingKey::Id(a.id.clone()),
                    households: Some(a.households + 1),
                    elderly: None,
                    steward: None,
                    origin: format!("w:{i}"),
                },
                HouseholdUpdate {
                    key: BuildingKey::Id(b.id.clone()),
                    households: Some(b.households - 1),
                    elderly: None,
                    steward: None,
                    origin: format!("w:{i}"),
                },
            ];
            assert_eq!(s.apply_household_updates(&ups).await.unwrap(), 2);
        }
    };
    let q = &q;
    let reader = |k: usize| async move {
        for _ in 0..15 {
            let page = s.buildings(q).await.unwrap();
            assert_eq!(page.matched, 400, "reader {k}");
            let seen: u64 = page.items.iter().map(|b| u64::from(b.households)).sum();
            assert_eq!(seen, total, "reader {k} saw a half-applied edit");
            s.grids(&Query::all()).await.unwrap();
        }
    };
    tokio::join!(
        writer,
        reader(0),
        reader(1),
        reader(2),
        reader(3),
        reader(4),
        reader(5)
    );
    let after: u64 = s.load().await.unwrap().households();
    assert_eq!(after, total);
}

// ---------------------------------------------------------------------------------------------
// Users, tokens, audit log

const PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";

pub async fn users_are_created_read_listed_updated_and_deleted(s: &dyn Store) {
    assert_eq!(s.users().await.unwrap(), vec![]);
    let bob = User::new("bob", Role::Planner);
    let mut alice = User::new("alice", Role::Admin);
    alice.display_name = Some("Alice 管理员".into());
    s.put_user(&bob, None).await.unwrap();
    s.put_user(&alice, Some(PHC)).await.unwrap();
    assert_eq!(
        s.user(&"alice".into()).await.unwrap(),
        Some((alice.clone(), Some(PHC.to_owned())))
    );
    assert_eq!(
        s.user(&"bob".into()).await.unwrap(),
        Some((bob.clone(), None))
    );
    assert_eq!(
        s.users().await.unwrap(),
        vec![alice.clone(), bob.clone()],
        "sorted by id"
    );
    // Update without a hash keeps the password; with one replaces it.
    alice.role = Role::Department;
    alice.disabled = true;
    s.put_user(&alice, None).await.unwrap();
    assert_eq!(
        s.user(&"alice".into()).await.unwrap(),
        Some((alice.clone(), Some(PHC.to_owned())))
    );
    s.put_user(&alice, Some("$argon2id$other")).await.unwrap();
    assert_eq!(
        s.user(&"alice".into()).await.unwrap().unwrap().1.as_deref(),
        Some("$argon2id$other")
    );
    s.delete_user(&"alice".into()).await.unwrap();
    assert_eq!(s.user(&"alice".into()).await.unwrap(), None);
    assert_eq!(s.users().await.unwrap(), vec![bob]);
    let e = s.delete_user(&"alice".into()).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::NotFound { what: "user", id } if id == "alice"),
        "{e}"
    );
}

pub async fn roles_and_scopes_round_trip(s: &dyn Store) {
    let mut users = Vec::new();
    for (i, role) in Role::ALL.into_iter().enumerate() {
        let mut u = User::new(format!("u{i}-{role}"), role);
        u.grids = vec!["g-2".into(), "g-1".into(), "网格 \"三\"".into()];
        u.communities = if i % 2 == 0 {
            vec![]
        } else {
            vec!["c-east".into()]
        };
        s.put_user(&u, None).await.unwrap();
        users.push(u);
    }
    assert_eq!(
        s.users().await.unwrap(),
        users,
        "order of scope lists kept, ids sorted"
    );
    for u in &users {
        assert_eq!(s.user(&u.id).await.unwrap().unwrap().0, *u);
    }
}

pub async fn an_unknown_user_is_none_and_cannot_hold_tokens(s: &dyn Store) {
    assert_eq!(s.user(&"nobody".into()).await.unwrap(), None);
    let far = gridmap_store::now_unix() + 3600;
    let e = s
        .create_session(&gridmap_store::hash_token("t"), &"nobody".into(), far)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::NotFound { what: "user", .. }),
        "{e}"
    );
    let e = s
        .create_api_token(
            &gridmap_store::hash_token("t"),
            &"nobody".into(),
            None,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::NotFound { what: "user", .. }),
        "{e}"
    );
    assert_eq!(
        s.session_user(&gridmap_store::hash_token("t"))
            .await
            .unwrap(),
        None
    );
}

pub async fn expired_sessions_find_no_user(s: &dyn Store) {
    let u = User::new("carol", Role::GridLead);
    s.put_user(&u, Some(PHC)).await.unwrap();
    let now = gridmap_store::now_unix();
    let (live, old) = (
        gridmap_store::hash_token("live-token"),
        gridmap_store::hash_token("old-token"),
    );
    s.create_session(&live, &u.id, now + 3600).await.unwrap();
    s.create_session(&old, &u.id, now - 1).await.unwrap();
    assert_eq!(s.session_user(&live).await.unwrap(), Some(u.clone()));
    assert_eq!(s.session_user(&old).await.unwrap(), None, "expired");
    assert_eq!(
        s.api_token_user(&live).await.unwrap(),
        None,
        "a session is not an API token"
    );
    // A disabled user's sessions stop working; enabling brings them back.
    let mut off = u.clone();
    off.disabled = true;
    s.put_user(&off, None).await.unwrap();
    assert_eq!(s.session_user(&live).await.unwrap(), None);
    s.put_user(&u, None).await.unwrap();
    assert_eq!(s.session_user(&live).await.unwrap(), Some(u.clone()));
    assert!(s.delete_session(&live).await.unwrap());
    assert!(!s.delete_session(&live).await.unwrap());
    assert_eq!(s.session_user(&live).await.unwrap(), None);
    // Deleting the user deletes their sessions.
    s.create_session(&live, &u.id, now + 3600).await.unwrap();
    s.delete_user(&u.id).await.unwrap();
    s.put_user(&u, None).await.unwrap();
    assert_eq!(s.session_user(&live).await.unwrap(), None);
}

pub async fn api_tokens_are_found_by_hash_only(s: &dyn Store) {
    let u = User::new("dave", Role::Department);
    s.put_user(&u, None).await.unwrap();
    let token = "gm_0123456789abcdef0123456789abcdef";
    let h = gridmap_store::hash_token(token);
    assert_eq!(h.len(), 64);
    s.create_api_token(&h, &u.id, Some("nightly import"), None)
        .await
        .unwrap();
    assert_eq!(s.api_token_user(&h).await.unwrap(), Some(u.clone()));
    assert_eq!(
        s.api_token_user(token).await.unwrap(),
        None,
        "the raw token is not a key"
    );
    assert_eq!(
        s.api_token_user(&gridmap_store::hash_token("gm_other"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.session_user(&h).await.unwrap(),
        None,
        "an API token is not a session"
    );
    let expired = gridmap_store::hash_token("gm_expired");
    s.create_api_token(&expired, &u.id, None, Some(gridmap_store::now_unix() - 10))
        .await
        .unwrap();
    assert_eq!(s.api_token_user(&expired).await.unwrap(), None);
    assert!(s.delete_api_token(&h).await.unwrap());
    assert_eq!(s.api_token_user(&h).await.unwrap(), None);
}

fn entry(at: &str, user: Option<&str>, action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: at.into(),
        user: user.map(UserId::from),
        action: action.into(),
        target: target.into(),
        before: None,
        after: None,
    }
}

pub async fn audit_entries_append_and_filter_and_page(s: &dyn Store) {
    assert_eq!(s.audit(&AuditQuery::default()).await.unwrap(), vec![]);
    let mut e1 = entry(
        "2026-01-01T00:00:00Z",
        Some("cli"),
        "user.add",
        "user:alice",
    );
    e1.after = Some(serde_json::json!({"id": "alice", "role": "admin", "名": [1, 2.5, null]}));
    let mut e2 = entry(
        "2026-02-01T00:00:00Z",
        Some("alice"),
        "grid.update",
        "grid:g-1",
    );
    e2.before = Some(serde_json::json!({"version": 1}));
    e2.after = Some(serde_json::json!({"version": 2}));
    let e3 = entry("2026-03-01T00:00:00Z", None, "grid.delete", "grid:g-10");
    let e4 = entry("", Some("alice"), "user.remove", "user:bob");
    let mut ids = Vec::new();
    for e in [&e1, &e2, &e3, &e4] {
        ids.push(s.append_audit(e).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    let all = s.audit(&AuditQuery::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>(),
        "newest first"
    );
    assert_eq!(
        all[3],
        AuditEntry {
            id: ids[0],
            ..e1.clone()
        }
    );
    assert_eq!(
        all[2],
        AuditEntry {
            id: ids[1],
            ..e2.clone()
        }
    );
    // An empty `at` is now, as RFC 3339 UTC.
    let now = &all[0].at;
    assert!(
        now.len() == 20 && now.ends_with('Z') && now.as_str() > "2026-03-01",
        "{now}"
    );
    let pick = |q: AuditQuery| async move {
        s.audit(&q)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pick(AuditQuery {
            user: Some("alice".into()),
            ..Default::default()
        })
        .await,
        vec![ids[3], ids[1]]
    );
    assert_eq!(
        pick(AuditQuery {
            target_prefix: Some("grid:".into()),
            ..Default::default()
        })
        .await,
        vec![ids[2], ids[1]]
    );
    assert_eq!(
        pick(AuditQuery {
            target_prefix: Some("grid:g-1".into()),
            ..Default::default()
        })
        .await,
        vec![ids[2], ids[1]]
    );
    assert_eq!(
        pick(AuditQuery {
            target_prefix: Some("grid:g-10".into()),
            ..Default::default()
        })
        .await,
        vec![ids[2]]
    );
    assert_eq!(
        pick(AuditQuery {
            target_prefix: Some("%".into()),
            ..Default::default()
        })
        .await,
        Vec::<i64>::new(),
        "no LIKE wildcards"
    );
    assert_eq!(
        pick(AuditQuery {
            since: Some("2026-02-01T00:00:00Z".into()),
            ..Default::default()
        })
        .await,
        vec![ids[3], ids[2], ids[1]]
    );
    assert_eq!(
        pick(AuditQuery {
            user: Some("alice".into()),
            since: Some("2026-02-02T00:00:00Z".into()),
            ..Default::default()
        })
        .await,
        vec![ids[3]]
    );
    // Paging walks the matches once, newest first.
    let mut seen = Vec::new();
    for page in 0..3 {
        seen.extend(
            pick(AuditQuery {
                limit: Some(2),
                offset: page * 2,
                ..Default::default()
            })
            .await,
        );
    }
    assert_eq!(seen, ids.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(
        pick(AuditQuery {
            limit: Some(0),
            ..Default::default()
        })
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        pick(AuditQuery {
            offset: 1,
            ..Default::default()
        })
        .await
        .len(),
        3
    );
}

pub async fn users_do_not_touch_the_dataset(s: &dyn Store) {
    let ds = city(60, 25);
    s.import(&ds).await.unwrap();
    // Warm every cache (and the SQLite snapshot), then write only accounts and audit.
    let q = Query::bbox([116.0, 39.0, 117.0, 41.0]);
    let before = snapshot(s).await;
    let page = s.buildings(&q).await.unwrap();
    let u = User::new("erin", Role::Planner);
    s.put_user(&u, Some(PHC)).await.unwrap();
    s.create_session(
        &gridmap_store::hash_token("x"),
        &u.id,
        gridmap_store::now_unix() + 60,
    )
    .await
    .unwrap();
    s.create_api_token(&gridmap_store::hash_token("y"), &u.id, Some("t"), None)
        .await
        .unwrap();
    s.append_audit(&entry("", Some("cli"), "user.add", "user:erin"))
        .await
        .unwrap();
    s.delete_user(&u.id).await.unwrap();
    assert_eq!(snapshot(s).await, before);
    assert_eq!(s.load().await.unwrap(), sorted(ds));
    assert_eq!(s.buildings(&q).await.unwrap(), page);
}

// ---------------------------------------------------------------------------------------------
// Change log and the one edit path

fn rows(b: &gridmap_store::ChangeBatch) -> Vec<(Layer, Option<String>, gridmap_store::ChangeOp)> {
    b.changes
        .iter()
        .map(|c| (c.layer, c.item.clone(), c.op))
        .collect()
}

pub async fn every_write_appends_its_change_rows_and_a_failed_write_none(s: &dyn Store) {
    use gridmap_store::{ChangeOp::*, Edit};
    assert_eq!(s.change_head().await.unwrap(), 0);
    let ds = city(30, 77);
    s.import(&ds).await.unwrap();
    let h0 = s.change_head().await.unwrap();
    let all = s.changes_since(0, usize::MAX).await.unwrap();
    assert!(all.complete && all.head == h0 && all.changes.len() as i64 <= h0);
    assert_eq!(
        all.changes
            .iter()
            .filter(|c| c.layer == Layer::Buildings)
            .count(),
        30
    );
    assert!(
        all.changes.windows(2).all(|w| w[0].seq < w[1].seq),
        "oldest first"
    );
    let limited = s.changes_since(0, 3).await.unwrap();
    assert_eq!(limited.changes, all.changes[..3].to_vec());
    assert_eq!(limited.head, h0);

    let g = ds.grids[0].clone();
    s.put_grid(&g, Some(1)).await.unwrap();
    let stale = s.put_grid(&g, Some(1)).await.unwrap_err();
    assert!(
        matches!(stale, StoreError::VersionConflict { .. }),
        "{stale}"
    );
    s.delete_facility(&ds.facilities[0].id, None).await.unwrap();
    let mut b = ds.buildings[3].clone();
    b.households += 1;
    s.update_building(&b, Some(1)).await.unwrap();
    s.apply_household_updates(&[update(
        BuildingKey::Id(ds.buildings[4].id.clone()),
        Some(9),
        1,
    )])
    .await
    .unwrap();
    let c = s.changes_since(h0, 100).await.unwrap();
    assert_eq!(
        rows(&c),
        vec![
            (Layer::Grids, Some(g.id.0.clone()), Put),
            (
                Layer::Facilities,
                Some(ds.facilities[0].id.0.clone()),
                Delete
            ),
            (Layer::Buildings, Some(b.id.0.clone()), Put),
            (Layer::Buildings, Some(ds.buildings[4].id.0.clone()), Put),
        ],
        "the stale write appended nothing"
    );

    // apply_edit: the audit entry lands with the edit, and neither on failure.
    let h1 = s.change_head().await.unwrap();
    let audit = entry("", Some("li.wei"), "facility.update", "facility:f001");
    let mut f = ds.facilities[1].clone();
    f.name = Some("新名字".into());
    let a = s
        .apply_edit(
            &Edit::PutFacility {
                facility: f.clone(),
                expected: Some(1),
            },
            Some(&audit),
        )
        .await
        .unwrap();
    assert_eq!(a.facility, Some((f.clone(), 2)));
    assert_eq!(a.seq, h1 + 1);
    assert_eq!(s.change_head().await.unwrap(), a.seq);
    let e = s
        .apply_edit(
            &Edit::PutFacility {
                facility: f.clone(),
                expected: Some(1),
            },
            Some(&audit),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::VersionConflict { .. }), "{e}");
    assert_eq!(
        s.change_head().await.unwrap(),
        a.seq,
        "a failed edit appends no change"
    );
    let log = s
        .audit(&AuditQuery {
            target_exact: Some("facility:f001".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "the failed edit wrote no audit entry");
    assert_eq!(Some(log[0].id), a.audit_id);
    s.append_audit(&entry("", None, "facility.update", "facility:f0010"))
        .await
        .unwrap();
    assert_eq!(
        s.audit(&AuditQuery {
            target_exact: Some("facility:f001".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        s.audit(&AuditQuery {
            target_prefix: Some("facility:f001".into()),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .len(),
        2
    );

    // A partition: deletes of the grids that are gone, puts of the new ones.
    let h2 = s.change_head().await.unwrap();
    let east: Vec<Grid> = ds
        .grids
        .iter()
        .filter(|g| g.community.as_ref().map(gridmap_model::CommunityId::as_str) == Some("c-east"))
        .cloned()
        .collect();
    let keep = east[1].clone();
    s.replace_grids(Some(&"c-east".into()), std::slice::from_ref(&keep))
        .await
        .unwrap();
    let c = s.changes_since(h2, 100).await.unwrap();
    let mut expected: Vec<_> = east
        .iter()
        .filter(|g| g.id != keep.id)
        .map(|g| (Layer::Grids, Some(g.id.0.clone()), Delete))
        .collect();
    expected.push((Layer::Grids, Some(keep.id.0.clone()), Put));
    let mut got = rows(&c);
    got.sort_by(|a, b| (a.2 as u8, &a.1).cmp(&(b.2 as u8, &b.1)));
    expected.sort_by(|a, b| (a.2 as u8, &a.1).cmp(&(b.2 as u8, &b.1)));
    assert_eq!(got, expected);
    // Accounts, tokens, audit and results append nothing.
    let h3 = s.change_head().await.unwrap();
    s.put_user(&User::new("zoe", Role::Planner), None)
        .await
        .unwrap();
    s.put_result("k", &serde_json::json!(1)).await.unwrap();
    assert_eq!(s.change_head().await.unwrap(), h3);
    // A write appears at once to a waiter that has seen less.
    let t = std::time::Instant::now();
    assert_eq!(
        s.wait_for_change(h3 - 1, std::time::Duration::from_secs(5))
            .await
            .unwrap(),
        h3
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(4));
}

pub async fn a_big_import_logs_one_reload_row_per_layer(s: &dyn Store) {
    let ds = city(1_100, 78);
    s.import(&ds).await.unwrap();
    let c = s.changes_since(0, usize::MAX).await.unwrap();
    let reloads: Vec<_> = c
        .changes
        .iter()
        .filter(|c| c.op == gridmap_store::ChangeOp::Reload)
        .map(|c| (c.layer, c.item.clone()))
        .collect();
    assert_eq!(reloads, vec![(Layer::Buildings, None)]);
    assert_eq!(
        c.changes
            .iter()
            .filter(|c| c.layer == Layer::Buildings)
            .count(),
        1
    );
    assert_eq!(
        c.changes
            .iter()
            .filter(|c| c.layer == Layer::Facilities)
            .count(),
        110
    );
}

pub async fn layer_versions_move_with_their_layer_only(s: &dyn Store) {
    let v0 = s.layer_versions().await.unwrap();
    assert_eq!(v0.len(), Layer::ALL.len());
    assert!(v0.values().all(|v| *v == 0), "an empty store: {v0:?}");
    let ds = city(20, 79);
    s.import(&ds).await.unwrap();
    let v1 = s.layer_versions().await.unwrap();
    for l in [
        Layer::Buildings,
        Layer::Facilities,
        Layer::Grids,
        Layer::Network,
    ] {
        assert!(v1[&l] > 0, "{l:?} moved on import: {v1:?}");
    }
    let mut f = ds.facilities[0].clone();
    f.name = Some("renamed".into());
    let (_, _) = s.put_facility(&f, Some(1)).await.unwrap();
    let v2 = s.layer_versions().await.unwrap();
    assert!(v2[&Layer::Facilities] > v1[&Layer::Facilities]);
    for l in Layer::ALL.into_iter().filter(|l| *l != Layer::Facilities) {
        assert_eq!(v2[&l], v1[&l], "{l:?} did not move on a facility edit");
    }
    // A failed edit moves nothing; neither do accounts.
    assert!(s.put_facility(&f, Some(1)).await.is_err());
    s.put_user(
        &gridmap_model::User::new("vera", gridmap_model::Role::Admin),
        None,
    )
    .await
    .unwrap();
    assert_eq!(s.layer_versions().await.unwrap(), v2);
}

pub async fn derived_data_round_trips_and_replaces(s: &dyn Store) {
    assert_eq!(s.derived("walking-network").await.unwrap(), None);
    s.put_derived("walking-network", "network=3;v=1", &[1, 2, 3, 0, 255])
        .await
        .unwrap();
    assert_eq!(
        s.derived("walking-network").await.unwrap(),
        Some(("network=3;v=1".into(), vec![1, 2, 3, 0, 255]))
    );
    let big = vec![7u8; 3 << 20];
    s.put_derived("walking-network", "network=4;v=1", &big)
        .await
        .unwrap();
    assert_eq!(
        s.derived("walking-network").await.unwrap(),
        Some(("network=4;v=1".into(), big))
    );
    assert_eq!(s.derived("other").await.unwrap(), None);
    // A cache write is not a dataset write.
    assert_eq!(s.change_head().await.unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// Jobs

fn job(id: &str, owner: Option<&str>, created: i64) -> gridmap_store::JobRecord {
    gridmap_store::JobRecord {
        id: id.into(),
        process: "partition".into(),
        owner: owner.map(UserId::new),
        scope: String::new(),
        status: gridmap_store::JobStatus::Accepted,
        progress: 0.0,
        message: None,
        inputs: serde_json::json!({"community": "东升社区", "target": 300}),
        result: None,
        error: None,
        created,
        started: None,
        finished: None,
        updated: created,
    }
}

pub async fn jobs_are_upserted_listed_dismissed_and_pruned(s: &dyn Store) {
    use gridmap_store::JobStatus::*;
    assert_eq!(s.job("j-none").await.unwrap(), None);
    assert_eq!(s.dismiss_job("j-none").await.unwrap(), None);
    let t = now_ms() - 3_600_000;
    let a = job("j-a", Some("li.wei"), t);
    assert!(s.put_job(&a).await.unwrap());
    assert_eq!(s.job("j-a").await.unwrap(), Some(a.clone()));
    // Progress and the heartbeat replace the row.
    let running = gridmap_store::JobRecord {
        status: Running,
        progress: 42.5,
        message: Some("社区 3/7".into()),
        started: Some(t + 5),
        updated: t + 1_000,
        ..a.clone()
    };
    assert!(s.put_job(&running).await.unwrap());
    assert_eq!(s.job("j-a").await.unwrap(), Some(running.clone()));
    let b = job("j-b", Some("zoe"), t + 10);
    let c = job("j-c", Some("li.wei"), t + 20);
    let d = job("j-d", None, t + 30);
    for j in [&b, &c, &d] {
        assert!(s.put_job(j).await.unwrap());
    }
    let ids = |v: Vec<gridmap_store::JobRecord>| v.into_iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.jobs(None, 10).await.unwrap()),
        ["j-d", "j-c", "j-b", "j-a"],
        "newest first"
    );
    assert_eq!(ids(s.jobs(None, 2).await.unwrap()), ["j-d", "j-c"]);
    assert_eq!(
        ids(s.jobs(Some(&UserId::new("li.wei")), 10).await.unwrap()),
        ["j-c", "j-a"]
    );
    assert_eq!(
        ids(s.jobs(Some(&UserId::new("nobody")), 10).await.unwrap()),
        Vec::<String>::new()
    );

    // A successful job keeps its result; a final job is never written again.
    let result = serde_json::json!({"proposal_id": "p1", "report": {"grids": 3, "名称": "网格"}, "big": u64::MAX});
    let done = gridmap_store::JobRecord {
        status: Successful,
        progress: 100.0,
        result: Some(result.clone()),
        finished: Some(t + 2_000),
        updated: t + 2_000,
        ..running.clone()
    };
    assert!(s.put_job(&done).await.unwrap());
    assert_eq!(s.job("j-a").await.unwrap().unwrap().result, Some(result));
    assert!(
        !s.put_job(&running).await.unwrap(),
        "a heartbeat after the end is refused"
    );
    assert_eq!(s.job("j-a").await.unwrap(), Some(done.clone()));

    // Dismissal: one statement; the runner's next heartbeat is refused; the result is gone.
    let before = now_ms();
    let dismissed = s.dismiss_job("j-c").await.unwrap().expect("exists");
    assert_eq!(dismissed.status, Dismissed);
    assert!(dismissed.finished.is_some_and(|f| f >= before) && dismissed.updated >= before);
    assert!(!s
        .put_job(&gridmap_store::JobRecord {
            status: Running,
            ..c.clone()
        })
        .await
        .unwrap());
    assert_eq!(s.job("j-c").await.unwrap().unwrap().status, Dismissed);
    let again = s.dismiss_job("j-c").await.unwrap().expect("exists");
    assert_eq!(again, dismissed, "dismissing twice changes nothing");
    let done_dismissed = s.dismiss_job("j-a").await.unwrap().expect("exists");
    assert_eq!(
        (
            done_dismissed.status,
            done_dismissed.result,
            done_dismissed.finished
        ),
        (Dismissed, None, Some(t + 2_000))
    );

    // A failed job keeps its problem document.
    let problem = serde_json::json!({"type": "urn:gridmap:problem:not-found", "status": 404, "detail": "community 'x' not found"});
    let failed = gridmap_store::JobRecord {
        status: Failed,
        error: Some(problem.clone()),
        finished: Some(t + 50),
        updated: t + 50,
        ..b.clone()
    };
    assert!(s.put_job(&failed).await.unwrap());
    assert_eq!(s.job("j-b").await.unwrap().unwrap().error, Some(problem));

    // Pruning by the last write.
    assert_eq!(
        s.prune_jobs(t + 40).await.unwrap(),
        1,
        "j-d (updated t+30) only: the others were written since"
    );
    assert_eq!(s.job("j-d").await.unwrap(), None);
    assert_eq!(s.prune_jobs(i64::MAX).await.unwrap(), 3);
    assert!(s.jobs(None, 10).await.unwrap().is_empty());
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub async fn jobs_do_not_touch_the_dataset(s: &dyn Store) {
    let ds = city(40, 26);
    s.import(&ds).await.unwrap();
    let q = Query::bbox([116.0, 39.0, 117.0, 41.0]);
    let before = snapshot(s).await;
    let head = s.change_head().await.unwrap();
    let page = s.buildings(&q).await.unwrap();
    let j = job("j-x", Some("erin"), now_ms());
    s.put_job(&j).await.unwrap();
    s.put_job(&gridmap_store::JobRecord {
        status: gridmap_store::JobStatus::Running,
        progress: 10.0,
        ..j
    })
    .await
    .unwrap();
    s.dismiss_job("j-x").await.unwrap();
    s.prune_jobs(i64::MAX).await.unwrap();
    assert_eq!(s.change_head().await.unwrap(), head, "no change row");
    assert_eq!(snapshot(s).await, before);
    assert_eq!(s.load().await.unwrap(), sorted(ds));
    assert_eq!(s.buildings(&q).await.unwrap(), page);
}

// ----- Events (issue 15)

fn event(id: &str, grid: &str, dept: &str, reported_at: i64, due: i64) -> events::Event {
    use events::*;
    Event {
        id: EventId::new(id),
        category: "sanitation".into(),
        description: "垃圾堆放 litter by the gate".into(),
        location: Some(Point::new(7.42, 43.73)),
        building: Some(BuildingId::new("b1")),
        reporter: Some("resident-7".into()),
        photos: vec!["https://example.invalid/p/1.jpg".into()],
        grid: Some(GridId::new(grid)),
        community: Some(CommunityId::new("c1")),
        routed_by: Some(RoutedBy::Building),
        department: dept.into(),
        priority: Priority::High,
        status: EventStatus::Reported,
        reported_at,
        updated_at: reported_at,
        due: Due {
            arrive: Some(reported_at + 600),
            resolve: Some(due),
        },
        history: vec![HistoryEntry {
            at: reported_at,
            user: Some(UserId::new("lead")),
            role: Some(Role::GridLead),
            from: None,
            to: EventStatus::Reported,
            reason: None,
            note: None,
        }],
        version: 1,
    }
}

fn audit_of(e: &events::Event) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: String::new(),
        user: Some(UserId::new("lead")),
        action: "event.transition".into(),
        target: format!("event:{}", e.id),
        before: None,
        after: Some(serde_json::json!({"status": e.status.as_str()})),
    }
}

pub async fn events_round_trip_with_their_history(s: &dyn Store) {
    let e = event("ev-1", "g1", "urban_management", 1_000, 2_800);
    let stored = s.create_event(&e, Some(&audit_of(&e))).await.unwrap();
    assert_eq!(stored, e);
    assert_eq!(s.event(&e.id).await.unwrap(), Some(e.clone()));
    assert_eq!(s.event(&events::EventId::new("none")).await.unwrap(), None);
    // a second create of the id conflicts and changes nothing
    let mut other = e.clone();
    other.description = "else".into();
    assert!(matches!(
        s.create_event(&other, None).await,
        Err(StoreError::VersionConflict { current: 1, .. })
    ));
    assert_eq!(s.event(&e.id).await.unwrap(), Some(e.clone()));
    // an event without a place is refused, naming the field
    let mut nowhere = event("ev-2", "g1", "d", 1, 2);
    nowhere.location = None;
    nowhere.building = None;
    let err = s
        .create_event(&nowhere, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("location"), "{err}");
    // events are not the dataset: no change row
    assert_eq!(s.change_head().await.unwrap(), 0);
    let a = s
        .audit(&AuditQuery {
            target_exact: Some("event:ev-1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(a.len(), 1);
}

pub async fn event_transitions_check_the_version_and_append_history_with_audit(s: &dyn Store) {
    use events::{EventStatus, TransitionInput};
    let e = event("ev-1", "g1", "urban_management", 1_000, 2_800);
    s.create_event(&e, None).await.unwrap();
    let mut next = e.clone();
    next.transition(
        EventStatus::Accepted,
        Some(&UserId::new("p")),
        Role::Planner,
        &TransitionInput::default(),
        1_100,
    )
    .unwrap();
    let stored = s
        .update_event(&next, 1, Some(&audit_of(&next)))
        .await
        .unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.status, EventStatus::Accepted);
    assert_eq!(stored.history.len(), 2);
    assert_eq!(stored, next);
    // a stale version conflicts, names the current one and writes nothing (no audit either)
    let mut stale = next.clone();
    stale
        .transition(
            EventStatus::Dispatched,
            None,
            Role::Planner,
            &TransitionInput::default(),
            1_200,
        )
        .unwrap();
    match s.update_event(&stale, 1, Some(&audit_of(&stale))).await {
        Err(StoreError::VersionConflict { current: 2, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(s.event(&e.id).await.unwrap().unwrap(), stored);
    // history is append-only
    let mut cut = stored.clone();
    cut.history.clear();
    assert!(matches!(
        s.update_event(&cut, 2, None).await,
        Err(StoreError::Invalid { .. })
    ));
    // an unknown event is not found
    let mut ghost = stale.clone();
    ghost.id = events::EventId::new("ghost");
    assert!(matches!(
        s.update_event(&ghost, 1, None).await,
        Err(StoreError::NotFound { .. })
    ));
    let now = s
        .update_event(&stale, 2, Some(&audit_of(&stale)))
        .await
        .unwrap();
    assert_eq!((now.version, now.history.len()), (3, 3));
    let a = s
        .audit(&AuditQuery {
            target_exact: Some("event:ev-1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(a.len(), 2, "one audit entry per committed transition");
}

pub async fn eight_concurrent_transitions_of_one_event_one_wins(s: &dyn Store) {
    use events::{EventStatus, TransitionInput};
    let e = event("ev-c", "g1", "d", 1_000, 2_800);
    s.create_event(&e, None).await.unwrap();
    let mut next = e.clone();
    next.transition(
        EventStatus::Accepted,
        None,
        Role::Planner,
        &TransitionInput::default(),
        1_100,
    )
    .unwrap();
    let results = futures_join(s, &next, 8).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, StoreError::VersionConflict { current: 2, .. })));
    let got = s.event(&e.id).await.unwrap().unwrap();
    assert_eq!(got.history.len(), 2);
}

async fn futures_join(
    s: &dyn Store,
    e: &events::Event,
    _n: usize,
) -> Vec<Result<events::Event, StoreError>> {
    let t = || s.update_event(e, 1, None);
    let r = tokio::join!(t(), t(), t(), t(), t(), t(), t(), t());
    vec![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7]
}

pub async fn event_queries_filter_scope_overdue_and_page(s: &dyn Store) {
    use events::{EventStatus, TransitionInput};
    use gridmap_store::EventQuery;
    for i in 0..30i64 {
        let grid = format!("g{}", i % 3);
        let dept = if i % 2 == 0 {
            "urban_management"
        } else {
            "civil_affairs"
        };
        let mut e = event(
            &format!("ev-{i:02}"),
            &grid,
            dept,
            1_000 + i,
            5_000 + i * 100,
        );
        if i % 5 == 0 {
            e.category = "road_damage".into();
        }
        s.create_event(&e, None).await.unwrap();
        if i % 4 == 0 {
            let mut n = e.clone();
            n.transition(
                EventStatus::Suspended,
                None,
                Role::Admin,
                &TransitionInput {
                    reason: Some("waiting".into()),
                    department: None,
                },
                2_000,
            )
            .ok();
            // reported -> suspended is not a move; accept first
            if n.status != EventStatus::Suspended {
                n.transition(
                    EventStatus::Accepted,
                    None,
                    Role::Admin,
                    &TransitionInput::default(),
                    2_000,
                )
                .unwrap();
            }
            s.update_event(&n, 1, None).await.unwrap();
        }
    }
    let all = s.events(&EventQuery::default()).await.unwrap();
    assert_eq!(all.matched, 30);
    assert_eq!(all.items[0].id.as_str(), "ev-29", "newest first");
    assert!(
        all.items.iter().all(|e| e.history.is_empty()),
        "lists carry no history"
    );
    let q = |f: fn(&mut EventQuery)| {
        let mut q = EventQuery::default();
        f(&mut q);
        q
    };
    let ids = |p: gridmap_store::Page<events::Event>| -> Vec<String> {
        p.items.into_iter().map(|e| e.id.0).collect()
    };
    let accepted = s
        .events(&q(|q| q.statuses = vec![EventStatus::Accepted]))
        .await
        .unwrap();
    assert_eq!(accepted.matched, 8);
    let g1 = s
        .events(&q(|q| q.grid = Some(GridId::new("g1"))))
        .await
        .unwrap();
    assert_eq!(g1.matched, 10);
    let scoped = s
        .events(&q(|q| {
            q.grids_in = Some(vec![GridId::new("g0"), GridId::new("g2")]);
        }))
        .await
        .unwrap();
    assert_eq!(scoped.matched, 20);
    assert_eq!(
        s.events(&q(|q| q.grids_in = Some(vec![])))
            .await
            .unwrap()
            .matched,
        0
    );
    let dept = s
        .events(&q(|q| q.department = Some("civil_affairs".into())))
        .await
        .unwrap();
    assert_eq!(dept.matched, 15);
    let road = s
        .events(&q(|q| q.category = Some("road_damage".into())))
        .await
        .unwrap();
    assert_eq!(road.matched, 6);
    // overdue at 6_000: due 5_000 + i*100 < 6_000 -> i < 10, all still running (accepted or reported)
    let overdue = s.events(&q(|q| q.overdue_at = Some(6_000))).await.unwrap();
    assert_eq!(overdue.matched, 10);
    let since = s
        .events(&q(|q| q.reported_since = Some(1_020)))
        .await
        .unwrap();
    assert_eq!(since.matched, 10);
    // paging walks every event once
    let mut seen = Vec::new();
    for page in 0..4 {
        let p = s
            .events(&EventQuery {
                offset: page * 8,
                limit: Some(8),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(p.matched, 30);
        seen.extend(ids(p));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((seen.len(), sorted.len()), (30, 30));
}
