//! The synth tiler: counts, ids, undistorted shapes, and a network stitched across seams.
use geo::{Area, GeodesicArea};
use geo_types::{coord, polygon, LineString, MultiPolygon, Point};
use gridmap_import::{synth, SEAM_CONNECTORS_PER_SEAM};
use gridmap_model::*;
use std::collections::{BTreeMap, HashMap};

fn base() -> Dataset {
    let mut ds = Dataset::default();
    let sq = |x: f64, y: f64| {
        MultiPolygon::new(vec![
            polygon![(x: x, y: y), (x: x + 0.0002, y: y), (x: x + 0.0002, y: y + 0.0002), (x: x, y: y + 0.0002)],
        ])
    };
    ds.communities.push(Community {
        id: CommunityId::new("k"),
        name: "K".into(),
        street: None,
        boundary: None,
    });
    ds.compounds.push(Compound {
        id: CompoundId::new("c"),
        name: None,
        kind: CompoundKind::Old,
        community: Some(CommunityId::new("k")),
        boundary: Some(sq(7.4199, 43.7299)),
    });
    for (i, x) in [7.42, 7.425].iter().enumerate() {
        ds.buildings.push(Building {
            id: BuildingId::new(format!("b{i}")),
            name: None,
            building_type: None,
            address: None,
            footprint: sq(*x, 43.73),
            entrance: None,
            levels: None,
            households: 10,
            households_source: HouseholdSource::Estimated,
            elderly: None,
            steward: None,
            compound: Some(CompoundId::new("c")),
            community: Some(CommunityId::new("k")),
        });
    }
    ds.grids.push(Grid {
        id: GridId::new("g"),
        code: "G-1".into(),
        name: None,
        community: Some(CommunityId::new("k")),
        buildings: vec![BuildingId::new("b0"), BuildingId::new("b1")],
        leads: vec![],
        boundary: None,
        version: 0,
    });
    ds.facilities.push(Facility {
        id: FacilityId::new("f"),
        kind: FacilityKind::Canteen,
        name: None,
        location: Point::new(7.421, 43.731),
        capacity: None,
        opening_hours: None,
    });
    let tags: BTreeMap<String, String> = [("highway".to_owned(), "footway".to_owned())].into();
    // An L-shaped path touching all four sides of the extent.
    let pts = [
        (7.419, 43.728),
        (7.419, 43.733),
        (7.426, 43.733),
        (7.426, 43.728),
    ];
    for (k, w) in pts.windows(2).enumerate() {
        ds.ways.push(NetworkWay {
            id: WayId::new(format!("e{k}")),
            geometry: LineString::new(vec![
                coord! { x: w[0].0, y: w[0].1 },
                coord! { x: w[1].0, y: w[1].1 },
            ]),
            tags: tags.clone(),
            length_m: None,
        });
    }
    ds
}

/// Connected components of the network, nodes identified by exact coordinates.
fn components(ds: &Dataset) -> usize {
    let mut ids: HashMap<(u64, u64), usize> = HashMap::new();
    let mut parent: Vec<usize> = Vec::new();
    fn find(p: &mut [usize], x: usize) -> usize {
        let mut r = x;
        while p[r] != r {
            r = p[r];
        }
        p[x] = r;
        r
    }
    for w in &ds.ways {
        let mut prev: Option<usize> = None;
        for c in &w.geometry.0 {
            let key = (c.x.to_bits(), c.y.to_bits());
            let id = *ids.entry(key).or_insert_with(|| {
                parent.push(parent.len());
                parent.len() - 1
            });
            if let Some(p) = prev {
                let (a, b) = (find(&mut parent, p), find(&mut parent, id));
                parent[a] = b;
            }
            prev = Some(id);
        }
    }
    (0..parent.len())
        .filter(|&i| find(&mut parent, i) == i)
        .count()
}

#[test]
fn a_three_by_three_tiling_copies_everything_with_suffixed_ids() {
    let b = base();
    let t = synth(&b, 3);
    assert_eq!(t.buildings.len(), 18);
    assert_eq!(t.facilities.len(), 9);
    assert_eq!(t.grids.len(), 9);
    assert_eq!((t.compounds.len(), t.communities.len()), (9, 9));
    assert_eq!(t.buildings[0].id.as_str(), "b0", "copy (0,0) keeps ids");
    let b21 = t
        .buildings
        .iter()
        .find(|x| x.id.as_str() == "b1~2_1")
        .unwrap();
    assert_eq!(b21.compound.as_ref().unwrap().as_str(), "c~2_1");
    assert_eq!(b21.community.as_ref().unwrap().as_str(), "k~2_1");
    let g = t.grids.iter().find(|g| g.id.as_str() == "g~1_2").unwrap();
    assert_eq!(
        g.buildings,
        vec![BuildingId::new("b0~1_2"), BuildingId::new("b1~1_2")]
    );
    assert_eq!(g.code, "G-1~1_2");
    let mut ids: Vec<&str> = t.buildings.iter().map(|b| b.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 18, "ids are unique");
    assert_eq!(t.households(), 9 * b.households());
}

#[test]
fn copies_keep_their_shape_and_do_not_overlap() {
    let b = base();
    let t = synth(&b, 2);
    let a0 = b.buildings[0].footprint.geodesic_area_unsigned();
    for x in t
        .buildings
        .iter()
        .filter(|x| x.id.as_str().starts_with("b0"))
    {
        let a = x.footprint.geodesic_area_unsigned();
        assert!((a - a0).abs() / a0 < 1e-3, "{}: {a} vs {a0}", x.id);
        assert!(
            (x.footprint.unsigned_area() - b.buildings[0].footprint.unsigned_area()).abs() < 1e-15
        );
    }
    let far = t
        .buildings
        .iter()
        .find(|x| x.id.as_str() == "b0~1_0")
        .unwrap();
    let dx = far.footprint.0[0].exterior().0[0].x - b.buildings[0].footprint.0[0].exterior().0[0].x;
    assert!(
        dx > 0.007,
        "the copy sits east of the whole base extent: {dx}"
    );
}

#[test]
fn the_tiled_network_is_one_connected_piece() {
    let b = base();
    assert_eq!(components(&b), 1);
    let t = synth(&b, 3);
    assert_eq!(components(&t), 1, "seam connectors join all nine copies");
    let seams = t
        .ways
        .iter()
        .filter(|w| w.tags.get("synth").map(String::as_str) == Some("seam"))
        .count();
    assert!(
        (12..=12 * SEAM_CONNECTORS_PER_SEAM).contains(&seams),
        "{seams}"
    );
    for w in t.ways.iter().filter(|w| w.tags.contains_key("synth")) {
        assert_eq!(w.tags.get("highway").map(String::as_str), Some("footway"));
        let len_m = (w.geometry.0[0].x - w.geometry.0[1].x).abs() * 80_000.0
            + (w.geometry.0[0].y - w.geometry.0[1].y).abs() * 111_000.0;
        assert!(len_m < 200.0, "seam connectors are short: {len_m}");
    }
}

#[test]
fn zero_and_one_are_empty_and_identity() {
    let b = base();
    assert!(synth(&b, 0).is_empty());
    assert_eq!(synth(&b, 1), b);
}
