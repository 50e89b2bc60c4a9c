//! `Analysis::site` end to end on a small lattice city: the coverage after siting is what
//! `Analysis::coverage` counts once the sites are facilities; bad input (no facilities of the
//! kind, more sites than candidates, candidates off the network, an unreachable target, a
//! cancelled run, a time limit of zero) answers as documented.
use geo_types::{polygon, Point};
use gridmap_algo::coverage::WalkProfile;
use gridmap_algo::siting::{Candidate, Model};
use gridmap_model::*;
use gridmap_service::{
    Analysis, CandidateSource, CoverageQuery, ServiceError, SitingRequest, SitingSummary,
};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

mod common;
use common::{city, facility, pos};

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

/// The lattice city with four canteens spread out, with capacities.
fn city4(caps: [Option<u32>; 4]) -> Dataset {
    let mut ds = city();
    let at = [(0.0, 0.0), (960.0, 0.0), (480.0, 480.0), (0.0, 960.0)];
    let fs: Vec<Facility> = at
        .iter()
        .zip(caps)
        .enumerate()
        .map(|(i, (&(x, y), c))| Facility {
            capacity: c,
            ..facility(&format!("f{i}"), FacilityKind::Canteen, x, y)
        })
        .collect();
    ds.facilities = SharedVec::new(fs);
    ds
}

#[test]
fn capacitated_sites_never_serve_more_than_their_room_and_unlimited_room_is_mclp() {
    let a = Analysis::new(Arc::new(city4([Some(40), Some(60), None, Some(50)])));
    let cands = CandidateSource::SampleNodes { n: 50, seed: 3 };
    let mut r = request("canteen", 3, cands.clone());
    r.model = Model::Capacitated;
    r.capacity = Some(45);
    let s = run(&a, &r).unwrap();
    assert_eq!(s.sites.len(), 3, "{:?}", s.notes);
    for x in &s.sites {
        assert!(x.served.unwrap() <= 45 && x.capacity == Some(45));
    }
    for e in &s.existing {
        if let Some(c) = e.capacity {
            assert!(
                e.served_before.unwrap() <= c && e.served_after.unwrap() <= c,
                "{e:?}"
            );
        }
        assert!(e.served_before.unwrap() <= e.reach);
    }
    let served: u64 = s.sites.iter().map(|x| x.served.unwrap()).sum::<u64>()
        + s.existing
            .iter()
            .map(|e| e.served_after.unwrap())
            .sum::<u64>();
    assert_eq!(served, s.households_after);
    assert!(s.households_after >= s.households_before);
    assert!(s.bound.unwrap() >= s.households_after as f64);
    assert!(s
        .notes
        .iter()
        .any(|n| n.contains("1 of 4 existing sites have no capacity")));
    // median of the existing capacities (40, 50, 60) when --capacity is not given
    r.capacity = None;
    let m = run(&a, &r).unwrap();
    assert!(
        m.sites.iter().all(|x| x.capacity == Some(50)),
        "{:?}",
        m.sites
    );
    // no capacity anywhere: an error asking for one
    let b = Analysis::new(Arc::new(city4([None; 4])));
    let e = run(&b, &r).unwrap_err().to_string();
    assert!(e.contains("capacity"), "{e}");
    // unlimited room everywhere: served = covered, at most the exact MCLP optimum
    r.capacity = Some(1_000_000);
    let c = run(&b, &r).unwrap();
    let mut q = request("canteen", 3, cands);
    q.model = Model::Mclp;
    let mc = run(&b, &q).unwrap();
    assert_eq!(c.households_before, mc.households_before);
    assert_eq!(c.households_before, pct(&b, "canteen").1);
    assert!(c.households_after <= mc.households_after);
    assert!(c.households_after as f64 >= 0.9 * mc.households_after as f64);
}

#[test]
fn closure_loss_is_what_coverage_loses_without_the_site() {
    let ds = city4([None; 4]);
    let a = Analysis::new(Arc::new(ds.clone()));
    let without = |gone: &[&str]| {
        let mut d = ds.clone();
        let fs: Vec<Facility> = d
            .facilities
            .iter()
            .filter(|f| !gone.contains(&f.id.as_str()))
            .cloned()
            .collect();
        d.facilities = SharedVec::new(fs);
        pct(&Analysis::new(Arc::new(d)), "canteen").1
    };
    let before = pct(&a, "canteen").1;
    let mut r = request("canteen", 1, CandidateSource::None);
    r.model = Model::Closure;
    let s = run(&a, &r).unwrap();
    assert_eq!(s.households_before, before);
    assert_eq!(s.closed.len(), 1);
    let c = &s.closed[0];
    assert_eq!(before - without(&[c.facility_id.as_str()]), c.loss);
    // the least loss of every single closure
    for f in ["f0", "f1", "f2", "f3"] {
        assert!(before - without(&[f]) >= c.loss, "{f}");
    }
    // two closures: the best pair by brute force over the coverage engine
    r.add = 2;
    let s2 = run(&a, &r).unwrap();
    assert!(s2.optimal);
    let ids: Vec<&str> = s2.closed.iter().map(|c| c.facility_id.as_str()).collect();
    assert_eq!(s2.households_after, without(&ids));
    let ids4 = ["f0", "f1", "f2", "f3"];
    let best = (0..4)
        .flat_map(|i| (i + 1..4).map(move |j| (i, j)))
        .map(|(i, j)| without(&[ids4[i], ids4[j]]))
        .max()
        .unwrap();
    assert_eq!(s2.households_after, best);
    assert!(s2.closed[0].loss <= s2.closed[1].loss);
}

#[test]
fn access_scores_share_out_the_supply() {
    use gridmap_algo::siting::access::Decay;
    let a = Analysis::new(Arc::new(city4([Some(40), Some(60), Some(20), Some(50)])));
    for decay in [Decay::Uniform, Decay::E2sfca, Decay::Gaussian] {
        let s = a
            .access(&gridmap_service::AccessRequest {
                kind: "canteen".into(),
                minutes: 5.0,
                profile: WalkProfile::standard(),
                decay,
                demand: gridmap_algo::siting::DemandWeight::Households,
            })
            .unwrap();
        assert_eq!(s.supply_unit, "capacity");
        let drawn: f64 = s
            .buildings
            .iter()
            .map(|b| b.households as f64 * b.score.unwrap_or(0.0) / 1000.0)
            .sum();
        let offered: f64 = s
            .sites
            .iter()
            .filter(|x| x.reach > 0)
            .map(|x| x.supply)
            .sum();
        assert!(
            (drawn - offered).abs() < 0.05,
            "{decay:?}: {drawn} vs {offered}"
        );
        let uncovered = pct(&a, "canteen");
        assert_eq!(
            s.households - s.households_without,
            uncovered.1,
            "households with a score are the covered ones ({decay:?})"
        );
    }
}

#[test]
fn candidates_from_buildings_facilities_and_a_drawn_area() {
    let mut ds = city4([None; 4]);
    let mut fs: Vec<Facility> = ds.facilities.iter().cloned().collect();
    fs.push(facility("lib1", FacilityKind::ReadingRoom, 600.0, 600.0));
    fs.push(facility("lib2", FacilityKind::ReadingRoom, 840.0, 240.0));
    ds.facilities = SharedVec::new(fs);
    let a = Analysis::new(Arc::new(ds));
    // every building as a candidate: ids are building ids
    let s = run(
        &a,
        &request("canteen", 2, CandidateSource::Buildings(vec!["*".into()])),
    )
    .unwrap();
    assert_eq!(s.candidates_given, 81);
    assert!(
        s.sites.iter().all(|x| x.candidate_id.starts_with('b')),
        "{:?}",
        s.sites
    );
    // no building of that type: a clear error
    let e = run(
        &a,
        &request(
            "canteen",
            2,
            CandidateSource::Buildings(vec!["hangar".into()]),
        ),
    )
    .unwrap_err();
    assert!(e.to_string().contains("candidates"), "{e}");
    // facilities of another kind host the new canteens
    let s = run(
        &a,
        &request(
            "canteen",
            1,
            CandidateSource::Facilities(vec!["reading_room".into()]),
        ),
    )
    .unwrap();
    assert_eq!(s.candidates_given, 2);
    assert!(["lib1", "lib2"].contains(&s.sites[0].candidate_id.as_str()));
    // street corners inside a drawn area only
    let (x0, y0) = pos(500.0, 500.0);
    let (x1, y1) = pos(1100.0, 1100.0);
    let area = geo_types::MultiPolygon(vec![
        polygon![(x: x0, y: y0), (x: x1, y: y0), (x: x1, y: y1), (x: x0, y: y1), (x: x0, y: y0)],
    ]);
    let s = run(
        &a,
        &request(
            "canteen",
            2,
            CandidateSource::SampleWithin {
                n: 500,
                seed: 1,
                area,
            },
        ),
    )
    .unwrap();
    assert!(
        s.candidates_given > 0 && s.candidates_given < 100,
        "{}",
        s.candidates_given
    );
    for x in &s.sites {
        assert!(
            x.lon >= x0 && x.lon <= x1 && x.lat >= y0 && x.lat <= y1,
            "{x:?}"
        );
    }
}
