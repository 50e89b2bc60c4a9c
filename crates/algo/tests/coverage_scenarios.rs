//! Hand-built scenarios with known answers: two streets separated by a river, joined only at
//! their east end, a canteen near the west end of the north street.
//!
//! ```text
//!   y=220  b b b b b b b b b b b b b b b b b b b      (street B buildings, community "B", 10 hh)
//!   y=200  ==================================== B ===+
//!   y=100  ~~~~~~~~~~~~~~~~~~ river ~~~~~~~~~~~~~~~~~|  street C (x = 2000)
//!   y=0    ==== A =====================================+
//!   y=-20  a a a a a a a a a a a a a a a a a a a      (street A buildings, community "A", 20 hh, 2 elderly)
//!          x=0  F(100)                             x=2000
//! ```
use geo::{Contains, Validation};
use geo_types::{polygon, LineString, MultiPolygon, Point};
use gridmap_algo::coverage::{Change, CoverageEngine, CoverageOptions, GapOptions, WalkProfile};
use gridmap_algo::geometry::LocalProjection;
use gridmap_algo::isochrone::IsochroneOptions;
use gridmap_algo::network::{SnapMode, SnapOptions, WalkingNetwork};
use gridmap_algo::AlgoError;
use gridmap_model::{
    Building, BuildingId, Facility, FacilityId, FacilityKind, HouseholdSource, NetworkWay, WayId,
};
use std::sync::Arc;

fn proj() -> LocalProjection {
    LocalProjection::new(116.30, 39.98)
}
fn ll(x: f64, y: f64) -> (f64, f64) {
    proj().unproject(x, y)
}

fn way(id: &str, pts: &[(f64, f64)], tags: &[(&str, &str)]) -> NetworkWay {
    NetworkWay {
        id: WayId::new(id),
        geometry: LineString::from(pts.iter().map(|p| ll(p.0, p.1)).collect::<Vec<_>>()),
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        length_m: None,
    }
}

fn street(y: f64) -> Vec<(f64, f64)> {
    (0..=20).map(|i| (f64::from(i) * 100.0, y)).collect()
}

fn ways() -> Vec<NetworkWay> {
    vec![
        way("A", &street(0.0), &[("highway", "residential")]),
        way("B", &street(200.0), &[("highway", "residential")]),
        way(
            "C",
            &[(2000.0, 0.0), (2000.0, 200.0)],
            &[("highway", "footway")],
        ),
        way(
            "river",
            &[(-100.0, 100.0), (2100.0, 100.0)],
            &[("waterway", "river")],
        ),
        way(
            "motorway",
            &[(0.0, 0.0), (0.0, 200.0)],
            &[("highway", "motorway")],
        ),
    ]
}

fn building(
    id: &str,
    x: f64,
    y: f64,
    households: u32,
    elderly: Option<u32>,
    community: &str,
) -> Building {
    let sq = |dx: f64, dy: f64| ll(x + dx, y + dy);
    let (a, b, c, d) = (sq(-6.0, -6.0), sq(6.0, -6.0), sq(6.0, 6.0), sq(-6.0, 6.0));
    Building {
        id: BuildingId::new(id),
        name: None,
        building_type: Some("apartments".into()),
        address: None,
        footprint: MultiPolygon(vec![
            polygon![(x: a.0, y: a.1), (x: b.0, y: b.1), (x: c.0, y: c.1), (x: d.0, y: d.1), (x: a.0, y: a.1)],
        ]),
        entrance: None,
        levels: None,
        households,
        households_source: HouseholdSource::Imported,
        elderly,
        steward: None,
        compound: None,
        community: Some(community.into()),
    }
}

fn buildings() -> Vec<Building> {
    let mut v = Vec::new();
    for i in 1..20 {
        let x = f64::from(i) * 100.0;
        v.push(building(&format!("a{i}"), x, -20.0, 20, Some(2), "A"));
        v.push(building(&format!("b{i}"), x, 220.0, 10, None, "B"));
    }
    v
}

fn canteen(id: &str, x: f64, y: f64) -> Facility {
    let (lon, lat) = ll(x, y);
    Facility {
        id: FacilityId::new(id),
        kind: FacilityKind::Canteen,
        name: Some("幸福食堂".into()),
        location: Point::new(lon, lat),
        capacity: Some(60),
        opening_hours: None,
    }
}

fn engine(facilities: &[Facility]) -> (CoverageEngine, Vec<Building>) {
    let b = buildings();
    let net = Arc::new(WalkingNetwork::build(&ways()));
    (
        CoverageEngine::new(net, &b, facilities, CoverageOptions::default()),
        b,
    )
}

fn ids(v: &[BuildingId]) -> Vec<String> {
    let mut s: Vec<String> = v.iter().map(|b| b.0.clone()).collect();
    s.sort();
    s
}

#[test]
fn the_river_keeps_the_south_street_out_of_the_canteens_15_minutes() {
    let (e, _) = engine(&[canteen("F", 100.0, -10.0)]);
    let cov = e
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0)
        .unwrap();
    let times = e.building_times(&cov, 15.0).unwrap();
    let covered: Vec<BuildingId> = times
        .iter()
        .filter(|t| t.minutes.is_some())
        .map(|t| t.building_id.clone())
        .collect();
    let want: Vec<String> = (1..=12).map(|i| format!("a{i}")).collect::<Vec<_>>();
    let mut want = want;
    want.sort();
    assert_eq!(ids(&covered), want);
    let a5 = times.iter().find(|t| t.building_id.0 == "a5").unwrap();
    assert!((a5.distance_m.unwrap() - 400.0).abs() < 2.0, "{a5:?}");
    assert!((a5.minutes.unwrap() - 400.0 / 75.0).abs() < 0.03);
    assert_eq!(a5.facility_id.as_ref().map(|f| f.0.as_str()), Some("F"));
}

#[test]
fn statistics_count_households_and_elderly_per_community_at_each_threshold() {
    let (e, b) = engine(&[canteen("F", 100.0, -10.0)]);
    let cov = e
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0)
        .unwrap();
    let s = e
        .statistics(&cov, &[5.0, 15.0], |i| b[i].community.clone())
        .unwrap();
    let (five, fifteen) = (&s.overall[0], &s.overall[1]);
    assert_eq!((five.covered_households, five.covered_buildings), (80, 4));
    assert_eq!(
        (fifteen.covered_households, fifteen.total_households),
        (240, 570)
    );
    assert_eq!(
        (
            fifteen.covered_elderly,
            fifteen.total_elderly,
            fifteen.buildings_with_elderly
        ),
        (24, 38, 19)
    );
    assert!((fifteen.pct_households - 100.0 * 240.0 / 570.0).abs() < 1e-9);
    let south = &s.groups[&"B".into()];
    assert_eq!(
        (south[1].covered_households, south[1].total_households),
        (0, 190)
    );
    assert_eq!(s.groups[&"A".into()][1].covered_households, 240);
}

#[test]
fn elderly_walk_less_far_in_the_same_15_minutes() {
    let (e, _) = engine(&[canteen("F", 100.0, -10.0)]);
    let std = e
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0)
        .unwrap();
    let old = e
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::elderly(), 15.0)
        .unwrap();
    let n = |c: &gridmap_algo::coverage::KindCoverage| {
        e.building_times(c, 15.0)
            .unwrap()
            .iter()
            .filter(|t| t.minutes.is_some())
            .count()
    };
    assert_eq!((n(&std), n(&old)), (12, 8));
    // cached: asking again returns the same result object
    let again = e
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::elderly(), 10.0)
        .unwrap();
    assert!(Arc::ptr_eq(&old, &again));
}

#[test]
fn gaps_are_ranked_by_households_and_drawn_around_their_buildings() {
    let (e, b) = engine(&[canteen("F", 100.0, -10.0)]);
    let cov = e
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0)
        .unwrap();
    let gaps = e.gaps(&cov, 15.0, &GapOptions::default(), &b).unwrap();
    assert_eq!(gaps.len(), 2, "{gaps:#?}");
    assert_eq!(
        (gaps[0].rank, gaps[0].households, gaps[0].buildings.len()),
        (1, 190, 19)
    );
    assert_eq!(
        (
            gaps[1].rank,
            gaps[1].households,
            gaps[1].buildings.len(),
            gaps[1].elderly
        ),
        (2, 140, 7, 14)
    );
    for g in &gaps {
        assert!(g.polygon.is_valid(), "gap {} polygon invalid", g.rank);
        assert_eq!(
            g.polygon.0.len(),
            1,
            "gap {} is drawn as one connected shape",
            g.rank
        );
    }
    let inside = |g: usize, x: f64, y: f64| gaps[g].polygon.contains(&Point::from(ll(x, y)));
    assert!(inside(0, 1000.0, 220.0) && inside(0, 150.0, 220.0));
    assert!(
        !inside(0, 1000.0, -20.0),
        "the south gap must not reach the north street"
    );
    assert!(
        inside(1, 1600.0, -20.0) && !inside(1, 1000.0, -20.0),
        "covered a10 is not in the north gap"
    );
    assert!(
        gaps[1].area_m2 > 600.0 * 40.0 && gaps[1].area_m2 < 700.0 * 60.0,
        "{}",
        gaps[1].area_m2
    );
}

#[test]
fn gaps_can_be_kept_inside_one_community() {
    let (e, b) = engine(&[canteen("F", 100.0, -10.0)]);
    let cov = e
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0)
        .unwrap();
    // close enough to chain: linking at 300 m joins both streets' gaps into one area
    let wide = GapOptions {
        link_m: 300.0,
        ..GapOptions::default()
    };
    assert_eq!(e.gaps(&cov, 15.0, &wide, &b).unwrap().len(), 1);
    let per_community = e
        .gaps_within_groups(&cov, 15.0, &wide, &b, |i| b[i].community.clone())
        .unwrap();
    assert_eq!(
        per_community
            .iter()
            .map(|g| g.households)
            .collect::<Vec<_>>(),
        vec![190, 140]
    );
}

#[test]
fn moving_the_canteen_east_covers_the_far_end_of_both_streets() {
    let (e, _) = engine(&[canteen("F", 100.0, -10.0)]);
    let cov = e
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0)
        .unwrap();
    let (lon, lat) = ll(1500.0, -10.0);
    let r = e
        .what_if(
            &cov,
            &Change::Move {
                id: FacilityId::new("F"),
                lon,
                lat,
            },
            15.0,
        )
        .unwrap();
    let mut want: Vec<String> = (13..=19)
        .map(|i| format!("a{i}"))
        .chain((16..=19).map(|i| format!("b{i}")))
        .collect();
    want.sort();
    assert_eq!(ids(&r.newly_covered), want);
    assert_eq!(ids(&r.newly_uncovered), vec!["a1", "a2", "a3"]);
    assert_eq!(r.delta_households, 7 * 20 + 4 * 10 - 3 * 20);
    // chained: removing it again uncovers everything
    let gone = e
        .what_if(
            &r.after,
            &Change::Remove {
                id: FacilityId::new("F"),
            },
            15.0,
        )
        .unwrap();
    assert_eq!(gone.covered_households_after, 0);
    assert!(matches!(
        e.what_if(
            &cov,
            &Change::Remove {
                id: FacilityId::new("nope")
            },
            15.0
        ),
        Err(AlgoError::UnknownFacility(_))
    ));
}

#[test]
fn isochrones_are_nested_follow_the_street_and_do_not_cross_the_river() {
    let (e, _) = engine(&[canteen("F", 100.0, -10.0)]);
    let bands = e
        .isochrone_for_facility(
            &FacilityId::new("F"),
            WalkProfile::standard(),
            &IsochroneOptions::default(),
        )
        .unwrap();
    assert_eq!(
        bands.iter().map(|b| b.minutes).collect::<Vec<_>>(),
        vec![5.0, 10.0, 15.0]
    );
    assert!(bands.windows(2).all(|w| w[0].area_m2 < w[1].area_m2));
    let five = &bands[0].polygon;
    assert!(five.is_valid());
    let at = |x: f64, y: f64| Point::from(ll(x, y));
    assert!(five.contains(&at(100.0, 0.0)) && five.contains(&at(450.0, 10.0)));
    assert!(
        !five.contains(&at(560.0, 0.0)),
        "5 min = 375 m: must stop near x = 475 (+ 30 m side)"
    );
    for b in &bands {
        assert!(
            !b.polygon.contains(&at(100.0, 200.0)),
            "{} min band bleeds across the river",
            b.minutes
        );
        assert!(b.polygon.is_valid(), "{} min band invalid", b.minutes);
    }
    // the 15-minute band's area: ~1 125 m of street (0..1225) × 60 m wide
    assert!(
        bands[2].area_m2 > 1225.0 * 55.0 && bands[2].area_m2 < 1225.0 * 70.0,
        "{}",
        bands[2].area_m2
    );
    let kind = e
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0)
        .unwrap();
    let union = e
        .isochrone_for_kind(&kind, &IsochroneOptions::default())
        .unwrap();
    assert!(
        (union[2].area_m2 - bands[2].area_m2).abs() < 1.0,
        "one facility: kind union = its own"
    );
}

#[test]
fn bad_inputs_give_reasons_not_panics() {
    // empty network
    let b = buildings();
    let empty = CoverageEngine::new(
        Arc::new(WalkingNetwork::build(&[])),
        &b,
        &[canteen("F", 100.0, -10.0)],
        CoverageOptions::default(),
    );
    let cov = empty
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0)
        .unwrap();
    assert!(
        cov.note.as_deref().unwrap().contains("empty"),
        "{:?}",
        cov.note
    );
    assert!(cov.building_m.iter().all(|d| d.is_infinite()));
    assert_eq!(
        empty
            .gaps(&cov, 15.0, &GapOptions::default(), &b)
            .unwrap()
            .iter()
            .map(|g| g.buildings.len())
            .sum::<usize>(),
        38
    );
    assert!(empty
        .isochrone_for_facility(
            &FacilityId::new("F"),
            WalkProfile::standard(),
            &IsochroneOptions::default()
        )
        .unwrap()
        .iter()
        .all(|b| b.polygon.0.is_empty()));

    // a facility 2 km off the network, a building without geometry, zero households
    let mut b = buildings();
    b[0].footprint = MultiPolygon(vec![]);
    b[2].households = 0;
    let net = Arc::new(WalkingNetwork::build(&ways()));
    let e = CoverageEngine::new(
        net,
        &b,
        &[canteen("F", 100.0, -10.0), canteen("far", 100.0, -2000.0)],
        CoverageOptions::default(),
    );
    let cov = e
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0)
        .unwrap();
    assert_eq!(cov.unplaced_facilities.len(), 1);
    assert!(
        cov.note.as_deref().unwrap().contains("1 of 2"),
        "{:?}",
        cov.note
    );
    assert!(cov.building_m[0].is_infinite());
    let times = e.building_times(&cov, 15.0).unwrap();
    assert!(times[0]
        .unplaced
        .as_deref()
        .unwrap()
        .contains("no geometry"));
    assert!(
        times[2].minutes.is_some(),
        "a zero-household building still has a walking time"
    );
    let s = e.statistics(&cov, &[15.0], |_| None::<String>).unwrap();
    assert_eq!(s.overall[0].unplaced_buildings, 1);
    assert_eq!(s.overall[0].covered_households, 240 - 20 - 20);

    // a kind with no facilities
    let none = e
        .coverage(
            Some(&FacilityKind::ReadingRoom),
            WalkProfile::standard(),
            15.0,
        )
        .unwrap();
    assert_eq!(
        none.note.as_deref(),
        Some("no facilities of kind reading_room")
    );
    assert_eq!(
        e.statistics(&none, &[15.0], |_| None::<String>)
            .unwrap()
            .overall[0]
            .covered_households,
        0
    );

    // invalid parameters are errors that name the parameter
    let err = e
        .coverage(None, WalkProfile { speed_kmh: 0.0 }, 15.0)
        .unwrap_err();
    assert!(err.to_string().contains("speed_kmh"), "{err}");
    assert!(e.coverage(None, WalkProfile::standard(), f64::NAN).is_err());
    let err = e.statistics(&cov, &[20.0], |_| None::<String>).unwrap_err();
    assert!(err.to_string().contains("minutes"), "{err}");
    assert!(matches!(
        e.what_if(
            &cov,
            &Change::Add {
                id: FacilityId::new("x"),
                lon: f64::NAN,
                lat: 0.0
            },
            15.0
        ),
        Err(AlgoError::InvalidLocation { .. })
    ));
    // adding a site far off the network changes nothing and says why
    let (lon, lat) = ll(0.0, -5000.0);
    let r = e
        .what_if(
            &cov,
            &Change::Add {
                id: FacilityId::new("x"),
                lon,
                lat,
            },
            15.0,
        )
        .unwrap();
    assert_eq!(r.delta_households, 0);
    assert!(matches!(r.new_site, Some(Err(_))));
}

#[test]
fn edge_snapping_with_access_legs_walks_from_the_door() {
    let b = buildings();
    let net = Arc::new(WalkingNetwork::build(&ways()));
    let opts = CoverageOptions {
        snap: SnapOptions {
            mode: SnapMode::Edge,
            ..SnapOptions::default()
        },
        access_legs: true,
    };
    let e = CoverageEngine::new(net, &b, &[canteen("F", 150.0, -10.0)], opts);
    let cov = e
        .coverage(Some(&FacilityKind::Canteen), WalkProfile::standard(), 15.0)
        .unwrap();
    let t = e.building_times(&cov, 15.0).unwrap();
    let a5 = t.iter().find(|t| t.building_id.0 == "a5").unwrap();
    // 10 m facility leg + 350 m along the street + 20 m building leg
    assert!((a5.distance_m.unwrap() - 380.0).abs() < 2.0, "{a5:?}");
}
