//! Imports of the real OSM extracts in shared/data (skipped with a note when absent).
mod common;

use common::shared_file;
use gridmap_import::{
    import_file, read_osm_pbf, read_osm_xml, ImportError, ImportOptions, NoProgress,
};
use gridmap_model::{Dataset, FacilityKind, HouseholdSource};
use osmpbf::{Element, ElementReader};
use std::collections::BTreeMap;

fn import(name: &str) -> Option<(Dataset, gridmap_import::ImportReport)> {
    import_with(name, "strict")
}

fn import_with(name: &str, profile: &str) -> Option<(Dataset, gridmap_import::ImportReport)> {
    let p = shared_file(name)?;
    let opts = ImportOptions {
        facility_tags: gridmap_import::FacilityTagConfig::from_arg(profile).unwrap(),
        ..ImportOptions::default()
    };
    Some(import_file(&p, &opts, &NoProgress).unwrap())
}

/// Independent count: ways and relations carrying a `building` tag, read raw (in parallel)
/// straight from the PBF, with no geometry at all.
fn raw_building_objects(name: &str) -> Option<u64> {
    let p = shared_file(name)?;
    let n = ElementReader::from_path(p)
        .unwrap()
        .par_map_reduce(
            |e| match e {
                Element::Way(w) => u64::from(w.tags().any(|(k, _)| k == "building")),
                Element::Relation(r) => u64::from(r.tags().any(|(k, _)| k == "building")),
                _ => 0,
            },
            || 0,
            |a, b| a + b,
        )
        .unwrap();
    Some(n)
}

#[test]
fn monaco_has_every_building_object_accounted_for() {
    let (Some((ds, report)), Some(raw)) = (
        import("monaco.osm.pbf"),
        raw_building_objects("monaco.osm.pbf"),
    ) else {
        return;
    };
    assert_eq!(
        raw, 23_373,
        "provenance count of ways+relations tagged building"
    );
    let built = ds.buildings.len() as u64;
    // libosmium's area assembler makes 23,329 polygons; we repair some it drops.
    assert!(built >= 23_329, "{built}");
    assert!(
        (raw - built) as f64 / raw as f64 <= 0.005,
        "{built} of {raw}"
    );
    assert_eq!(report.counts["buildings"], built);
    let skipped_buildings = report
        .skipped
        .iter()
        .filter(|s| s.reason.starts_with("building"))
        .count() as u64;
    assert!(report.skipped_total < gridmap_import::SKIPPED_LIST_CAP as u64);
    assert_eq!(
        built + skipped_buildings,
        raw,
        "every building object is imported or reported as skipped"
    );
    assert!(ds.households() > 30_000);
    assert!(ds
        .buildings
        .iter()
        .all(|b| b.households_source == HouseholdSource::Estimated));
    assert!(report.seconds > 0.0);
}

fn by_kind(ds: &Dataset) -> BTreeMap<String, usize> {
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for f in &ds.facilities {
        *by_kind.entry(f.kind.to_string()).or_default() += 1;
    }
    by_kind
}

fn ids_and_names(ds: &Dataset) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = ds
        .facilities
        .iter()
        .map(|f| {
            (
                f.id.to_string(),
                f.kind.to_string(),
                f.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn monaco_strict_has_only_its_two_libraries() {
    let Some((ds, report)) = import("monaco.osm.pbf") else {
        return;
    };
    // No canteen, service station or outreach point in Monaco says so in its tags or names.
    assert_eq!(
        ids_and_names(&ds),
        [
            (
                "n1712696837".into(),
                "reading_room".into(),
                "Bibliothèque Louis Notary".into()
            ),
            (
                "n1867162884".into(),
                "reading_room".into(),
                "Bibliothèque Princesse Caroline".into()
            ),
        ]
    );
    let f = report.facility_tags.unwrap();
    assert_eq!(f.kind_totals().values().sum::<u64>(), 2);
    // What a department would look at first: the restaurants the proxy counted.
    assert_eq!(f.unmatched_near_homes[0].tag, "amenity=restaurant");
    assert_eq!(f.unmatched_near_homes.len(), 20);
}

#[test]
fn haidian_strict_gives_only_facilities_whose_tags_or_names_say_so() {
    let Some((ds, report)) = import("haidian.osm.pbf") else {
        return;
    };
    // The extract holds no 党群服务站, 幸福食堂 or 驿站 by tag or name; its two libraries
    // (amenity=library) are the only facilities.
    assert_eq!(
        ids_and_names(&ds),
        [
            ("n5672735859".into(), "reading_room".into(), "图书馆".into()),
            (
                "w608650150".into(),
                "reading_room".into(),
                "中国农业大学新图书馆".into()
            ),
        ]
    );
    let unmatched: Vec<&str> = report
        .facility_tags
        .as_ref()
        .unwrap()
        .unmatched_near_homes
        .iter()
        .map(|t| t.tag.as_str())
        .collect();
    assert_eq!(unmatched[..2], ["amenity=restaurant", "office=research"]);
}

#[test]
fn haidian_proxy_counts_are_todays() {
    let Some((ds, _)) = import_with("haidian.osm.pbf", "proxy") else {
        return;
    };
    let want: BTreeMap<String, usize> = [
        ("canteen", 33),
        ("other", 1),
        ("outreach_point", 3),
        ("reading_room", 2),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), *v))
    .collect();
    assert_eq!(by_kind(&ds), want);
}

#[test]
fn monaco_proxy_facilities_match_the_peer_kit_by_kind() {
    let Some((ds, _)) = import_with("monaco.osm.pbf", "proxy") else {
        return;
    };
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for f in &ds.facilities {
        *by_kind.entry(f.kind.to_string()).or_default() += 1;
    }
    let want: BTreeMap<String, usize> = [
        ("canteen", 77),
        ("outreach_point", 32),
        ("reading_room", 2),
        ("service_station", 5),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), *v))
    .collect();
    assert_eq!(by_kind, want);
    let townhall = ds
        .facilities
        .iter()
        .find(|f| f.id.as_str() == "w143210781")
        .expect("the island townhall of the peer notes");
    assert_eq!(townhall.kind, FacilityKind::ServiceStation);
}

#[test]
fn monaco_buildings_get_the_deepest_community_the_quarters() {
    let Some((ds, _)) = import("monaco.osm.pbf") else {
        return;
    };
    let names: Vec<&str> = ds.communities.iter().map(|c| c.name.as_str()).collect();
    for q in [
        "Monte-Carlo",
        "Fontvieille",
        "La Condamine",
        "Jardin Exotique",
        "La Rousse",
        "Les Monegetti",
        "Monaco-Ville",
        "Larvotto",
        "Sainte-Dévote",
        "Beausoleil",
    ] {
        assert!(names.contains(&q), "{q} missing from {names:?}");
    }
    let quarter_ids: Vec<_> = ds
        .communities
        .iter()
        .filter(|c| c.street.is_some())
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(
        quarter_ids.len(),
        9,
        "the nine quarters sit in the street (commune) of Monaco"
    );
    let in_quarters = ds
        .buildings
        .iter()
        .filter(|b| {
            b.community
                .as_ref()
                .is_some_and(|c| quarter_ids.contains(c))
        })
        .count();
    // The peer kit puts 980 residential-type buildings in the quarters; we keep all types.
    assert!((980..=1100).contains(&in_quarters), "{in_quarters}");
    assert_eq!(ds.streets.len(), 1);
    assert_eq!(ds.streets[0].name, "Monaco");
}

#[test]
fn haidian_xml_and_pbf_give_identical_datasets_with_chinese_names() {
    let (Some(x), Some(p)) = (shared_file("haidian.osm"), shared_file("haidian.osm.pbf")) else {
        return;
    };
    let (dx, rx) = read_osm_xml(&x, &ImportOptions::default(), &NoProgress).unwrap();
    let (dp, rp) = read_osm_pbf(&p, &ImportOptions::default(), &NoProgress).unwrap();
    assert_eq!(dx, dp);
    assert_eq!(rx.counts, rp.counts);
    assert_eq!(dx.buildings.len(), 257);
    let names: Vec<&str> = dx
        .compounds
        .iter()
        .filter_map(|c| c.name.as_deref())
        .collect();
    for n in [
        "富润家园",
        "农大小区-北区",
        "清华东路27号院",
        "静淑苑",
        "双泉嘉苑",
        "学士居",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let furun = dx
        .compounds
        .iter()
        .find(|c| c.name.as_deref() == Some("富润家园"))
        .unwrap();
    assert!(
        dx.buildings
            .iter()
            .any(|b| b.compound.as_ref() == Some(&furun.id)),
        "buildings of 富润家园 know their compound"
    );
    assert!(dx.buildings.iter().filter(|b| b.name.is_some()).count() >= 40);
    assert!(dx.buildings.iter().any(|b| b
        .name
        .as_deref()
        .is_some_and(|n| n.chars().any(|c| c as u32 > 0x4E00))));
    assert_eq!(
        dx.facilities
            .iter()
            .filter(|f| f.kind == FacilityKind::ReadingRoom)
            .count(),
        2
    );
}

#[test]
fn tiny_cut_extract_reports_skips_and_partial_ways_without_panicking() {
    let Some((ds, report)) = import("tiny.osm.pbf") else {
        return;
    };
    // 48 of 2,219 building ways lack nodes at the cut.
    assert_eq!(ds.buildings.len() + 48, 2_219, "{:?}", &report.skipped[..5]);
    assert!(report.skipped_total >= 48);
    assert!(report
        .skipped
        .iter()
        .any(|s| s.reason.contains("missing from the extract")));
    assert!(report.counts["partial_network_ways"] > 0);
    assert!(ds.ways.iter().all(|w| w.geometry.0.len() >= 2));
}

#[test]
fn a_pbf_truncated_at_half_is_an_error_naming_the_file() {
    let Some(p) = shared_file("monaco.osm.pbf") else {
        return;
    };
    let bytes = std::fs::read(&p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("half.osm.pbf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = import_file(&cut, &ImportOptions::default(), &NoProgress).unwrap_err();
    assert!(matches!(e, ImportError::Pbf { .. }), "{e}");
    assert!(e.to_string().contains("half.osm.pbf"), "{e}");
}

#[test]
fn a_truncated_xml_file_is_an_error_with_a_line_number() {
    let Some(x) = shared_file("haidian.osm") else {
        return;
    };
    let text = std::fs::read_to_string(&x).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.osm");
    let half = text
        .char_indices()
        .nth(text.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    std::fs::write(&cut, &text[..half]).unwrap();
    let e = import_file(&cut, &ImportOptions::default(), &NoProgress).unwrap_err();
    match &e {
        ImportError::Xml { line, .. } => assert!(*line > 1000, "{e}"),
        other => panic!("expected an XML error, got {other}"),
    }
}
