//! The facility kind profiles on real-shaped OSM objects (tests/data/facility_kinds.osm): the
//! strict default takes only what tags or names say, the proxy profile is the peer kit's table.
use gridmap_import::{read_osm_xml, FacilityTagConfig, ImportOptions, NoProgress};
use gridmap_model::FacilityKind;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/facility_kinds.osm")
}

fn kinds(profile: &str) -> (BTreeMap<String, String>, gridmap_import::ImportReport) {
    let opts = ImportOptions {
        facility_tags: FacilityTagConfig::from_arg(profile).unwrap(),
        ..ImportOptions::default()
    };
    let (ds, report) = read_osm_xml(&fixture(), &opts, &NoProgress).unwrap();
    let map = ds
        .facilities
        .iter()
        .map(|f| (f.id.to_string(), f.kind.to_string()))
        .collect();
    (map, report)
}

fn want(rows: &[(&str, &[&str])]) -> BTreeMap<String, String> {
    rows.iter()
        .flat_map(|(kind, ids)| {
            ids.iter()
                .map(move |id| ((*id).to_owned(), (*kind).to_owned()))
        })
        .collect()
}

#[test]
fn strict_maps_each_real_shaped_object_to_the_kind_its_tags_or_name_say() {
    let (got, _) = kinds("strict");
    let expected = want(&[
        // 党群服务中心 by name; a community centre by tag; a community office by tag + name;
        // 新时代文明实践站 by name; the English name of an export.
        ("service_station", &["n11", "n12", "n13", "n14", "n15"]),
        // 幸福食堂 (a restaurant by tag), day care for seniors (tags only, also in a
        // `disabled;senior` list), 长者食堂 in name:zh, 老年餐桌 in official_name, and 助餐点 on
        // a community centre: the name rule comes first.
        ("canteen", &["n21", "n22", "n23", "n24", "n25", "n26"]),
        // a library node and a library area (at its centroid), 城市书房 on a café, 阅览室 untagged.
        ("reading_room", &["n31", "n32", "n33", "w300"]),
        // 暖“新”驿站 with and without quotes, 户外劳动者服务站, 骑手驿站 in name:zh, 爱心驿站.
        ("outreach_point", &["n41", "n42", "n43", "n44", "n45"]),
    ]);
    assert_eq!(got, expected);
    // Not facilities: a hotpot restaurant, the district government, the tax office, an
    // office=government without government=*, a nursing home, a children's day care, a police
    // station, a bookshop, a post office, a food court.
    for id in [
        "n51", "n52", "n53", "n54", "n55", "n56", "n57", "n58", "n59", "n60",
    ] {
        assert!(!got.contains_key(id), "{id} is not a facility under strict");
    }
}

#[test]
fn proxy_is_the_peer_kits_amenity_table() {
    let (got, report) = kinds("proxy");
    let expected = want(&[
        ("service_station", &["n11", "n13", "n14", "n25", "n52"]),
        (
            "canteen",
            &[
                "n21", "n22", "n23", "n24", "n26", "n51", "n55", "n56", "n60",
            ],
        ),
        ("reading_room", &["n31", "w300"]),
        ("outreach_point", &["n57", "n59"]),
    ]);
    assert_eq!(got, expected);
    let f = report.facility_tags.unwrap();
    assert_eq!(f.profile.name, "proxy");
    assert!(f
        .profile
        .display_label()
        .unwrap()
        .starts_with("proxy: restaurants counted as canteens"));
}

#[test]
fn the_report_counts_matches_by_rule_and_unmatched_values_near_homes() {
    let (_, report) = kinds("strict");
    let f = report.facility_tags.unwrap();
    assert_eq!(f.profile.name, "strict");
    assert_eq!(f.profile.display_label(), None);
    let totals = f.kind_totals();
    assert_eq!(totals["canteen"], 6);
    assert_eq!(totals["reading_room"], 4);
    let canteen = &f.matched["canteen"];
    let by_name = canteen
        .iter()
        .find(|(rule, _)| rule.starts_with("#2 name:"))
        .map(|(_, n)| *n);
    assert_eq!(by_name, Some(4), "{canteen:?}");
    let by_tags = canteen
        .iter()
        .find(|(rule, _)| rule.contains("social_facility=day_care"))
        .map(|(_, n)| *n);
    assert_eq!(by_tags, Some(2), "{canteen:?}");
    let unmatched: BTreeMap<&str, u64> = f
        .unmatched_near_homes
        .iter()
        .map(|t| (t.tag.as_str(), t.count))
        .collect();
    assert_eq!(unmatched.get("amenity=social_facility"), Some(&2));
    assert_eq!(unmatched.get("social_facility=nursing_home"), Some(&1));
    assert_eq!(unmatched.get("office=government"), Some(&2));
    assert_eq!(unmatched.get("amenity=restaurant"), Some(&1));
    assert!(f.unmatched_near_homes.len() <= 20);
    let text = f.to_text();
    assert!(
        text.contains("canteen: 6") && text.contains("office=government"),
        "{text}"
    );
}

#[test]
fn an_unknown_profile_name_is_a_clear_error() {
    let e = FacilityTagConfig::from_arg("restaurants")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown facility tag profile 'restaurants'")
            && e.contains("strict")
            && e.contains("proxy"),
        "{e}"
    );
}

#[test]
fn a_department_adds_its_own_kind_with_labels_colour_and_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dept.toml");
    std::fs::write(
        &p,
        "[profile]\nname = 'haidian-health'\n\n[[rule]]\nkind = 'health_station'\nname = '卫生服务站'\n\n[[rule]]\nkind = 'canteen'\nkey = 'amenity'\nvalues = ['restaurant']\nname = '幸福食堂'\n\n[[kind]]\ncode = 'health_station'\nzh = '卫生服务站'\nen = 'Community health station'\ncolour = '#1b9e77'\nminutes = 10\n\n[[kind]]\ncode = 'canteen'\nzh = '幸福食堂'\nen = 'Canteen'\ncolour = '#ec7014'\nminutes = 15\n",
    )
    .unwrap();
    let cfg = FacilityTagConfig::from_arg(p.to_str().unwrap()).unwrap();
    assert_eq!(
        cfg.kind_of([("name", "学院路社区卫生服务站")]),
        Some(FacilityKind::Other("health_station".into()))
    );
    let cat = cfg.catalog();
    assert_eq!(cat.profile.name, "haidian-health");
    let k = cat
        .kind(&FacilityKind::Other("health_station".into()))
        .unwrap();
    assert_eq!((k.zh.as_str(), k.minutes), ("卫生服务站", 10.0));
}
