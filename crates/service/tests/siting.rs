//! `Analysis::site` end to end on a small lattice city: the coverage after siting is what
//! `Analysis::coverage` counts once the sites are facilities; bad input (no facilities of the
//! kind, more sites than candidates, candidates off the network, an unreachable target, a
//! cancelled run, a time limit of zero) answers as documented.
use geo_types::{polygon, LineString, MultiPolygon, Point};
use gridmap_algo::coverage::WalkProfile;
use gridmap_algo::siting::{Candidate, Model};
use gridmap_model::*;
use gridmap_service::{
    Analysis, CandidateSource, CoverageQuery, ServiceError, SitingRequest, SitingSummary,
};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const LON0: f64 = 7.42;
const LAT0: f64 = 43.73;
const M: f64 = 1.0 / 111_195.0;

fn pos(x: f64, y: f64) -> (f64, f64) {
    (LON0 + x * M * 1.38, LAT0 + y * M)
}

/// A 10×10 lattice of streets 120 m apart, 81 buildings, 2 canteens in one corner.
fn city() -> Dataset {
    let mut ways = Vec::new();
    for i in 0..10 {
        for j in 0..9 {
            let (a, b) = (
                pos(i as f64 * 120.0, j as f64 * 120.0),
                pos(i as f64 * 120.0, (j + 1) as f64 * 120.0),
            );
            let (c, d) = (
                pos(j as f64 * 120.0, i as f64 * 120.0),
                pos((j + 1) as f64 * 120.0, i as f64 * 120.0),
            );
            for (n, (p, q)) in [(a, b), (c, d)].into_iter().enumerate() {
                ways.push(NetworkWay {
                    id: WayId::new(format!("w{i}-{j}-{n}")),
                    geometry: LineString::from(vec![p, q]),
                    tags: Default::default(),
                    length_m: None,
                });
            }
        }
    }
    let buildings: Vec<Building> = (0..81)
        .map(|i| {
            let (lon, lat) = pos(60.0 + (i % 9) as f64 * 120.0, 60.0 + (i / 9) as f64 * 120.0);
            let d = 5.0 * M;
            Building {
                id: BuildingId::new(format!("b{i:02}")),
                name: None,
                building_type: None,
                address: None,
                footprint: MultiPolygon(vec![polygon![
                    (x: lon - d, y: lat - d), (x: lon + d, y: lat - d), (x: lon + d, y: lat + d), (x: lon - d, y: lat + d), (x: lon - d, y: lat - d)
                ]]),
                entrance: None,
                levels: None,
                households: 10 + (i as u32 * 7) % 40,
                households_source: HouseholdSource::Estimated,
                elderly: Some(i as u32 % 5),
                steward: None,
                compound: None,
                community: None,
            }
        })
        .collect();
    let facilities = (0..2)
        .map(|i| {
            facility(
                &format!("f{i}"),
                FacilityKind::Canteen,
                0.0,
                120.0 * i as f64,
            )
        })
        .collect();
    Dataset {
        buildings: buildings.into(),
        facilities: SharedVec::new(facilities),
        ways: ways.into(),
        ..Dataset::default()
    }
}

fn facility(id: &str, kind: FacilityKind, x: f64, y: f64) -> Facility {
    let (lon, lat) = pos(x, y);
    Facility {
        id: FacilityId::new(id),
        kind,
        name: None,
        location: Point::new(lon, lat),
        capacity: None,
        opening_hours: None,
    }
}

fn request(kind: &str, add: usize, candidates: CandidateSource) -> SitingRequest {
    SitingRequest {
        minutes: 5.0,
        ..SitingRequest::mclp(kind, add, candidates)
    }
}

fn run(a: &Analysis, r: &SitingRequest) -> Result<SitingSummary, ServiceError> {
    a.site(r, &|_| {}, None)
}

fn pct(a: &Analysis, kind: &str) -> (f64, u64) {
    let c = a
        .coverage(&CoverageQuery {
            kind: kind.into(),
            minutes: vec![5.0],
            profile: WalkProfile::standard(),
        })
        .unwrap();
    (c.pct, c.covered_households)
}

#[test]
fn siting_answer_is_what_coverage_counts_once_the_sites_exist() {
    let ds = city();
    let a = Analysis::new(Arc::new(ds.clone()));
    let s = run(
        &a,
        &request(
            "canteen",
            3,
            CandidateSource::SampleNodes { n: 60, seed: 4 },
        ),
    )
    .unwrap();
    assert!(s.optimal, "{s:?}");
    assert_eq!(s.gap, Some(0.0));
    assert_eq!((s.pct_before, s.households_before), pct(&a, "canteen"));
    assert_eq!(s.sites.len(), 3);
    assert!(s.households_after > s.households_before);
    let marginals: Vec<u64> = s.sites.iter().map(|x| x.marginal_households).collect();
    assert!(
        marginals.windows(2).all(|w| w[0] >= w[1]),
        "ranked by marginal: {marginals:?}"
    );
    assert_eq!(
        marginals.iter().sum::<u64>(),
        s.households_after - s.households_before
    );
    let mut after = ds;
    let mut fs: Vec<Facility> = after.facilities.iter().cloned().collect();
    for x in &s.sites {
        fs.push(Facility {
            location: Point::new(x.lon, x.lat),
            ..facility(
                &format!("new-{}", x.candidate_id),
                FacilityKind::Canteen,
                0.0,
                0.0,
            )
        });
    }
    after.facilities = SharedVec::new(fs);
    let b = Analysis::new(Arc::new(after));
    assert_eq!((s.pct_after, s.households_after), pct(&b, "canteen"));
    // serialisable for a job's result
    let v = serde_json::to_value(&s).unwrap();
    assert!(v["pct_after"].is_number() && v["solver"].is_string());
    assert_eq!(gridmap_service::siting_geojson(&s).features.len(), 3);
}

#[test]
fn the_summary_and_the_call_can_move_to_a_worker_thread() {
    fn send<T: Send + 'static>(_: &T) {}
    let a = Arc::new(Analysis::new(Arc::new(city())));
    let r = request(
        "canteen",
        2,
        CandidateSource::SampleNodes { n: 30, seed: 1 },
    );
    let h = std::thread::spawn(move || run(&a, &r).unwrap());
    let s = h.join().unwrap();
    send(&s);
}

#[test]
fn a_kind_without_facilities_starts_uncovered() {
    let a = Analysis::new(Arc::new(city()));
    let s = run(
        &a,
        &request(
            "reading_room",
            2,
            CandidateSource::SampleNodes { n: 40, seed: 2 },
        ),
    )
    .unwrap();
    assert_eq!(s.households_before, 0);
    assert_eq!(s.existing_sites, 0);
    assert!(s.households_after > 0);
    assert!(
        s.notes.iter().any(|n| n.contains("no facilities")),
        "{:?}",
        s.notes
    );
}

#[test]
fn more_sites_than_candidates_opens_every_candidate_and_says_so() {
    let a = Analysis::new(Arc::new(city()));
    let (x, y) = pos(600.0, 600.0);
    let (fx, fy) = pos(5000.0, 5000.0);
    let pts = vec![Candidate::new("c1", x, y), Candidate::new("far", fx, fy)];
    let s = run(&a, &request("canteen", 5, CandidateSource::Points(pts))).unwrap();
    assert_eq!(s.sites.len(), 1);
    assert_eq!(s.sites[0].candidate_id, "c1");
    assert!(
        s.notes
            .iter()
            .any(|n| n.contains("more than the 1 candidates")),
        "{:?}",
        s.notes
    );
    assert_eq!(s.unplaced_candidates.len(), 1);
    assert!(
        s.unplaced_candidates[0].reason.contains("off the network"),
        "{:?}",
        s.unplaced_candidates
    );
}

#[test]
fn candidates_all_off_the_network_are_an_error_naming_why() {
    let a = Analysis::new(Arc::new(city()));
    let (fx, fy) = pos(5000.0, 5000.0);
    let e = run(
        &a,
        &request(
            "canteen",
            1,
            CandidateSource::Points(vec![Candidate::new("far", fx, fy)]),
        ),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("no candidate site is on the walking network"),
        "{e}"
    );
    assert!(e.to_string().contains("300 m"), "{e}");
}

#[test]
fn an_unreachable_target_reports_the_best_reachable_share() {
    let a = Analysis::new(Arc::new(city()));
    let (x, y) = pos(600.0, 600.0);
    let mut r = request(
        "canteen",
        1,
        CandidateSource::Points(vec![Candidate::new("c1", x, y)]),
    );
    r.model = Model::SetCover;
    r.target_pct = Some(100.0);
    let s = run(&a, &r).unwrap();
    assert_eq!(s.target_reached, Some(false));
    let best = s.best_reachable_pct.unwrap();
    assert!(
        best < 100.0 && (best - s.pct_after).abs() < 1e-9,
        "{best} vs {}",
        s.pct_after
    );
    // a reachable one: the fewest sites reach it
    r.candidates = CandidateSource::SampleNodes { n: 100, seed: 3 };
    r.target_pct = Some(50.0);
    let s = run(&a, &r).unwrap();
    assert_eq!(s.target_reached, Some(true));
    assert!(s.pct_after >= 50.0 && s.optimal, "{s:?}");
}

#[test]
fn cancelled_and_time_limited_runs() {
    let a = Analysis::new(Arc::new(city()));
    let cancel = AtomicBool::new(true);
    let r = request(
        "canteen",
        2,
        CandidateSource::SampleNodes { n: 60, seed: 5 },
    );
    let e = a.site(&r, &|_| {}, Some(&cancel)).unwrap_err();
    assert!(e.to_string().contains("cancelled"), "{e}");
    let mut r0 = r.clone();
    r0.time_limit_s = 0.0;
    let s = run(&a, &r0).unwrap();
    assert!(s.time_limit_hit && !s.optimal);
    assert!(
        s.bound.unwrap() >= s.objective && s.gap.unwrap().is_finite(),
        "{s:?}"
    );
    assert_eq!(s.sites.len(), 2, "the heuristic's incumbent comes back");
}

#[test]
fn p_median_and_p_center_improve_the_walks() {
    let a = Analysis::new(Arc::new(city()));
    let mut r = request(
        "canteen",
        3,
        CandidateSource::SampleNodes { n: 100, seed: 6 },
    );
    r.minutes = 15.0;
    r.model = Model::PMedian;
    let s = run(&a, &r).unwrap();
    assert!(
        s.mean_minutes_after.unwrap() < s.mean_minutes_before.unwrap(),
        "{s:?}"
    );
    r.model = Model::PCenter;
    let s = run(&a, &r).unwrap();
    assert!(
        s.max_minutes_after.unwrap() < s.max_minutes_before.unwrap(),
        "{s:?}"
    );
    assert!(s.optimal, "{s:?}");
}
