//! OSM semantics on small inline XML fixtures (always run).
use gridmap_import::{read_osm_xml, ImportOptions, ImportReport, NoProgress};
use gridmap_model::{CompoundKind, Dataset, FacilityKind, HouseholdSource};

fn osm(body: &str) -> (Dataset, ImportReport) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("fixture.osm");
    std::fs::write(
        &p,
        format!("<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n{body}\n</osm>\n"),
    )
    .unwrap();
    read_osm_xml(&p, &ImportOptions::default(), &NoProgress).unwrap()
}

/// Nodes of a square with lower-left corner (x, y) and side s (in 1e-4 degrees), ids from `id0`.
fn square(id0: i64, x: f64, y: f64, s: f64) -> String {
    let pts = [(x, y), (x + s, y), (x + s, y + s), (x, y + s)];
    pts.iter()
        .enumerate()
        .map(|(i, (a, b))| {
            format!(
                "<node id='{}' lon='{:.7}' lat='{:.7}'/>\n",
                id0 + i as i64,
                116.3 + a * 1e-4,
                39.9 + b * 1e-4
            )
        })
        .collect()
}

fn closed_way(id: i64, n0: i64, tags: &str) -> String {
    format!("<way id='{id}'><nd ref='{n0}'/><nd ref='{}'/><nd ref='{}'/><nd ref='{}'/><nd ref='{n0}'/>{tags}</way>\n", n0 + 1, n0 + 2, n0 + 3)
}

fn t(k: &str, v: &str) -> String {
    format!("<tag k='{k}' v='{v}'/>")
}

#[test]
fn a_building_way_gets_households_compound_and_community() {
    let body = [
        square(1, 0.0, 0.0, 1.0),        // building, 1e-4° ≈ 8.5 m × 11 m
        square(11, -5.0, -5.0, 20.0),    // compound
        square(21, -6.0, -6.0, 30.0),    // bigger compound
        square(31, -50.0, -50.0, 200.0), // community (admin 10)
        square(41, -60.0, -60.0, 300.0), // street (admin 8)
        closed_way(
            100,
            1,
            &[
                t("building", "apartments"),
                t("building:levels", "6"),
                t("name", "3号楼"),
                t("addr:street", "学院路"),
                t("addr:housenumber", "17号"),
            ]
            .concat(),
        ),
        closed_way(
            101,
            11,
            &[
                t("landuse", "residential"),
                t("name", "富润家园"),
                t("residential", "old"),
            ]
            .concat(),
        ),
        closed_way(
            102,
            21,
            &[t("landuse", "residential"), t("name", "大院")].concat(),
        ),
        closed_way(
            103,
            31,
            &[
                t("boundary", "administrative"),
                t("admin_level", "10"),
                t("name", "矿业大学社区"),
            ]
            .concat(),
        ),
        closed_way(
            104,
            41,
            &[
                t("boundary", "administrative"),
                t("admin_level", "8"),
                t("name", "学院路街道"),
            ]
            .concat(),
        ),
    ]
    .concat();
    let (ds, report) = osm(&body);
    assert_eq!(ds.buildings.len(), 1);
    let b = &ds.buildings[0];
    assert_eq!(b.id.as_str(), "w100");
    assert_eq!(b.name.as_deref(), Some("3号楼"));
    assert_eq!(b.address.as_deref(), Some("学院路17号"));
    assert_eq!(b.levels, Some(6.0));
    let expected = gridmap_model::households::HouseholdRule::default().estimate(
        b.area_m2(),
        Some(6.0),
        Some("apartments"),
    );
    assert_eq!(
        (b.households, b.households_source),
        (expected, HouseholdSource::Estimated)
    );
    assert!(b.households > 5);
    assert_eq!(
        b.compound.as_ref().map(gridmap_model::CompoundId::as_str),
        Some("w101"),
        "the smallest compound wins"
    );
    assert_eq!(
        b.community.as_ref().map(gridmap_model::CommunityId::as_str),
        Some("w103"),
        "the deepest admin area wins"
    );
    let fr = ds
        .compounds
        .iter()
        .find(|c| c.id.as_str() == "w101")
        .unwrap();
    assert_eq!(
        (fr.name.as_deref(), fr.kind),
        (Some("富润家园"), CompoundKind::Old)
    );
    assert_eq!(
        fr.community
            .as_ref()
            .map(gridmap_model::CommunityId::as_str),
        Some("w103")
    );
    let community = ds
        .communities
        .iter()
        .find(|c| c.id.as_str() == "w103")
        .unwrap();
    assert_eq!(
        community
            .street
            .as_ref()
            .map(gridmap_model::StreetId::as_str),
        Some("w104")
    );
    assert_eq!(ds.streets.len(), 1);
    assert_eq!(ds.streets[0].name, "学院路街道");
    assert_eq!(report.counts["buildings"], 1);
    assert_eq!(report.households_estimated, 1);
}

#[test]
fn flats_and_households_tags_are_imported_counts() {
    let body = [
        square(1, 0.0, 0.0, 1.0),
        square(11, 3.0, 0.0, 1.0),
        closed_way(
            100,
            1,
            &[t("building", "residential"), t("building:flats", "24")].concat(),
        ),
        closed_way(
            101,
            11,
            &[t("building", "yes"), t("households", "7")].concat(),
        ),
    ]
    .concat();
    let (ds, report) = osm(&body);
    assert_eq!(ds.buildings[0].households, 24);
    assert_eq!(ds.buildings[1].households, 7);
    assert!(ds
        .buildings
        .iter()
        .all(|b| b.households_source == HouseholdSource::Imported));
    assert_eq!(report.households, 31);
    assert_eq!(report.households_estimated, 0);
}

#[test]
fn a_multipolygon_with_split_outer_ways_and_a_hole_is_assembled() {
    let mut body = square(1, 0.0, 0.0, 10.0);
    body += &square(11, 4.0, 4.0, 2.0);
    // outer ring split into two open ways (one reversed), hole as a closed way
    body += "<way id='200'><nd ref='1'/><nd ref='2'/><nd ref='3'/></way>\n";
    body += "<way id='201'><nd ref='1'/><nd ref='4'/><nd ref='3'/></way>\n";
    body += &closed_way(202, 11, "");
    body += "<relation id='300'><member type='way' ref='200' role='outer'/><member type='way' ref='201' role='outer'/><member type='way' ref='202' role='inner'/>";
    body += &[t("type", "multipolygon"), t("building", "yes")].concat();
    body += "</relation>";
    let (ds, report) = osm(&body);
    assert_eq!(ds.buildings.len(), 1, "{:?}", report.skipped);
    let b = &ds.buildings[0];
    assert_eq!(b.id.as_str(), "r300");
    assert_eq!(b.footprint.0.len(), 1);
    assert_eq!(b.footprint.0[0].interiors().len(), 1);
    assert_eq!(report.counts["partial_areas"], 0);
}

#[test]
fn a_relation_with_a_missing_member_keeps_what_is_complete() {
    let mut body = square(1, 0.0, 0.0, 1.0);
    body += &closed_way(200, 1, "");
    body += "<relation id='300'><member type='way' ref='200' role='outer'/><member type='way' ref='999' role='outer'/>";
    body += &[t("type", "multipolygon"), t("building", "yes")].concat();
    body += "</relation>\n<relation id='301'><member type='way' ref='998' role='outer'/>";
    body += &[t("type", "multipolygon"), t("building", "yes")].concat();
    body += "</relation>";
    let (ds, report) = osm(&body);
    assert_eq!(
        ds.buildings
            .iter()
            .map(|b| b.id.as_str())
            .collect::<Vec<_>>(),
        ["r300"]
    );
    assert_eq!(report.counts["partial_areas"], 1);
    assert_eq!(report.skipped_total, 1);
    assert_eq!(report.skipped[0].object, "r301");
    assert!(
        report.skipped[0]
            .reason
            .contains("1 of 1 member ways missing"),
        "{:?}",
        report.skipped
    );
}

#[test]
fn broken_building_ways_are_repaired_or_skipped_with_a_reason() {
    let mut body = square(1, 0.0, 0.0, 1.0);
    // open way: closed as a repair
    body += &format!(
        "<way id='100'><nd ref='1'/><nd ref='2'/><nd ref='3'/><nd ref='4'/>{}</way>\n",
        t("building", "yes")
    );
    // bow-tie: 1-3-2-4-1 crosses itself; split in two
    body += &format!(
        "<way id='101'><nd ref='1'/><nd ref='3'/><nd ref='2'/><nd ref='4'/><nd ref='1'/>{}</way>\n",
        t("building", "yes")
    );
    // missing node
    body += &format!(
        "<way id='102'><nd ref='1'/><nd ref='2'/><nd ref='77'/><nd ref='1'/>{}</way>\n",
        t("building", "yes")
    );
    // degenerate
    body += &format!(
        "<way id='103'><nd ref='1'/><nd ref='2'/><nd ref='1'/>{}</way>\n",
        t("building", "yes")
    );
    let (ds, report) = osm(&body);
    let ids: Vec<&str> = ds.buildings.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["w100", "w101"]);
    assert_eq!(
        ds.buildings[1].footprint.0.len(),
        2,
        "the bow-tie becomes two triangles"
    );
    assert_eq!(report.repaired_geometries, 2);
    let reasons: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.object.as_str(), s.reason.as_str()))
        .collect();
    assert!(
        reasons.contains(&("w102", "building: 1 of 4 nodes missing from the extract")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(o, r)| *o == "w103" && r.contains("degenerate")),
        "{reasons:?}"
    );
}

#[test]
fn entrances_facilities_and_network_pieces() {
    let mut body = square(1, 0.0, 0.0, 1.0);
    body = body.replace(
        "<node id='3' lon='116.3001000' lat='39.9001000'/>",
        &format!(
            "<node id='3' lon='116.3001000' lat='39.9001000'>{}</node>",
            t("entrance", "main")
        ),
    );
    body += &closed_way(100, 1, &t("building", "yes"));
    body += &format!(
        "<node id='50' lon='116.31' lat='39.91'>{}{}{}{}</node>\n",
        t("amenity", "library"),
        t("name", "城市书房"),
        t("capacity", "40"),
        t("opening_hours", "Mo-Su 09:00-21:00")
    );
    body += &format!(
        "<node id='51' lon='116.31' lat='39.92'>{}{}</node>\n",
        t("amenity", "community_centre"),
        t("amenity:old", "restaurant")
    );
    body += &format!(
        "<node id='52' lon='116.32' lat='39.92'>{}</node>\n",
        t("amenity", "bench")
    );
    // network: a footway whose middle node is missing → two pieces; a wall; a building-only way is not network
    body += "<node id='60' lon='116.30' lat='39.93'/><node id='61' lon='116.301' lat='39.93'/><node id='63' lon='116.303' lat='39.93'/><node id='64' lon='116.304' lat='39.93'/>\n";
    body += &format!("<way id='400'><nd ref='60'/><nd ref='61'/><nd ref='62'/><nd ref='63'/><nd ref='64'/>{}</way>\n", t("highway", "footway"));
    body += &format!(
        "<way id='401'><nd ref='60'/><nd ref='64'/>{}</way>\n",
        t("barrier", "wall")
    );
    body += &format!(
        "<way id='402'><nd ref='60'/><nd ref='64'/>{}</way>\n",
        t("barrier", "bollard")
    );
    let (ds, report) = osm(&body);
    let b = &ds.buildings[0];
    assert_eq!(
        b.entrance.map(|p| (p.x(), p.y())),
        Some((116.3001, 39.9001))
    );
    let lib = ds
        .facilities
        .iter()
        .find(|f| f.id.as_str() == "n50")
        .unwrap();
    assert_eq!(lib.kind, FacilityKind::ReadingRoom);
    assert_eq!(
        (
            lib.name.as_deref(),
            lib.capacity,
            lib.opening_hours.as_deref()
        ),
        (Some("城市书房"), Some(40), Some("Mo-Su 09:00-21:00"))
    );
    assert_eq!(
        ds.facilities
            .iter()
            .find(|f| f.id.as_str() == "n51")
            .unwrap()
            .kind,
        FacilityKind::ServiceStation
    );
    assert_eq!(ds.facilities.len(), 2);
    let ways: Vec<(&str, usize)> = ds
        .ways
        .iter()
        .map(|w| (w.id.as_str(), w.geometry.0.len()))
        .collect();
    assert_eq!(ways, [("w400", 2), ("w400#1", 2), ("w401", 2)]);
    assert_eq!(
        ds.ways[0].tags.get("highway").map(String::as_str),
        Some("footway")
    );
    assert_eq!(report.counts["partial_network_ways"], 1);
}

#[derive(Default)]
struct Counting {
    len: std::cell::Cell<u64>,
    done: std::cell::Cell<u64>,
    messages: std::cell::RefCell<Vec<String>>,
}

impl gridmap_import::Progress for Counting {
    fn set_len(&self, n: u64) {
        self.len.set(n);
    }
    fn inc(&self, n: u64) {
        self.done.set(self.done.get() + n);
    }
    fn set_message(&self, m: &str) {
        self.messages.borrow_mut().push(m.to_owned());
    }
}

#[test]
fn progress_reaches_the_file_length_and_gzipped_xml_reads_the_same() {
    use std::io::Write;
    let body = format!(
        "<?xml version='1.0'?>\n<osm version='0.6'>\n{}{}</osm>\n",
        square(1, 0.0, 0.0, 1.0),
        closed_way(100, 1, &t("building", "yes"))
    );
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("a.osm");
    std::fs::write(&plain, &body).unwrap();
    let progress = Counting::default();
    let (ds, _) = read_osm_xml(&plain, &ImportOptions::default(), &progress).unwrap();
    assert_eq!(progress.len.get(), body.len() as u64);
    assert_eq!(progress.done.get(), body.len() as u64);
    assert!(progress.messages.borrow().iter().any(|m| m.contains("XML")));
    let gz = dir.path().join("a.osm.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(body.as_bytes()).unwrap();
    enc.finish().unwrap();
    let progress = Counting::default();
    let (dz, _) = gridmap_import::import_file(&gz, &ImportOptions::default(), &progress).unwrap();
    assert_eq!(dz, ds);
    assert_eq!(
        (progress.len.get(), progress.done.get()),
        (body.len() as u64, body.len() as u64)
    );
}

/// Found by the osm_xml_import fuzz target: a file holding one tagged object twice gave two
/// features with the same id, which no store accepts; it is an error naming the object.
#[test]
fn an_object_given_twice_is_an_error_naming_it() {
    let node = "<node id='51' lon='116.3002' lat='39.9002'><tag k='amenity' v='community_centre'/></node>\n";
    let body = format!(
        "<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n{node}{node}</osm>\n"
    );
    let e = gridmap_import::read_osm_xml_bytes(
        body.as_bytes(),
        "twice.osm",
        &ImportOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(e, gridmap_import::ImportError::OsmValue { .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("twice.osm") && e.to_string().contains("node n51"),
        "{e}"
    );
    let way = format!(
        "{}{}",
        square(1, 0.0, 0.0, 1.0),
        closed_way(100, 1, &t("building", "yes"))
    );
    let body =
        format!("<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n{way}{way}</osm>\n");
    let e = gridmap_import::read_osm_xml_bytes(
        body.as_bytes(),
        "twice.osm",
        &ImportOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(e.to_string().contains("way w100"), "{e}");
    // Untagged nodes only give locations: one given twice is not an error.
    let body = format!(
        "{}{}{}",
        square(1, 0.0, 0.0, 1.0),
        square(1, 0.0, 0.0, 1.0),
        closed_way(100, 1, &t("building", "yes"))
    );
    assert_eq!(osm(&body).0.buildings.len(), 1);
}
