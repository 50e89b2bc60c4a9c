//! The in-memory entries (used by the fuzz targets in crates/fuzz) read exactly what the file
//! entries read, and their errors carry the given name and the same positions.
use gridmap_import::{
    read_geojson, read_geojson_bytes, read_household_csv, read_household_csv_from, read_osm_pbf,
    read_osm_pbf_from, read_osm_xml, read_osm_xml_bytes, ImportError, ImportOptions, NoProgress,
};

const OSM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lat="43.7300" lon="7.4200"/>
  <node id="2" lat="43.7300" lon="7.4203"/>
  <node id="3" lat="43.7303" lon="7.4203"/>
  <node id="4" lat="43.7303" lon="7.4200"/>
  <node id="5" lat="43.7301" lon="7.4201"><tag k="amenity" v="community_centre"/></node>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="building" v="apartments"/><tag k="building:flats" v="12"/></way>
</osm>
"#;

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn osm_xml_from_bytes_equals_the_file_reader() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "a.osm", OSM.as_bytes());
    let o = ImportOptions::default();
    let (from_file, _) = read_osm_xml(&p, &o, &NoProgress).unwrap();
    let (from_bytes, report) =
        read_osm_xml_bytes(OSM.as_bytes(), "mem.osm", &o, &NoProgress).unwrap();
    assert_eq!(from_file, from_bytes);
    assert_eq!(from_bytes.buildings.len(), 1);
    assert_eq!(report.file, "mem.osm");
}

#[test]
fn osm_xml_errors_from_bytes_have_the_same_line_and_column() {
    let bad = OSM.replace(r#"lon="7.4203"/>"#, r#"lon="x"/>"#);
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "bad.osm", bad.as_bytes());
    let o = ImportOptions::default();
    let a = read_osm_xml(&p, &o, &NoProgress).unwrap_err();
    let b = read_osm_xml_bytes(bad.as_bytes(), "bad.osm", &o, &NoProgress).unwrap_err();
    match (&a, &b) {
        (
            ImportError::Xml {
                line: l1,
                column: c1,
                ..
            },
            ImportError::Xml {
                line: l2,
                column: c2,
                file,
                ..
            },
        ) => {
            assert_eq!((l1, c1), (l2, c2));
            assert!((3..=4).contains(l2), "{b}");
            assert_eq!(file, "bad.osm");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn geojson_from_bytes_equals_the_file_reader() {
    let doc = br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"f1","kind":"canteen"},"geometry":{"type":"Point","coordinates":[7.42,43.73]}}]}"#;
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "f.geojson", doc);
    let o = ImportOptions::default();
    let (a, _) = read_geojson(&p, &o, &NoProgress).unwrap();
    let (b, _) = read_geojson_bytes(doc, "mem.geojson", &o, &NoProgress).unwrap();
    assert_eq!(a, b);
    assert_eq!(b.facilities.len(), 1);
    let e = read_geojson_bytes(b"{\"type\":", "mem.geojson", &o, &NoProgress).unwrap_err();
    assert!(e.to_string().starts_with("mem.geojson:1:"), "{e}");
}

#[test]
fn household_csv_from_a_reader_equals_the_file_reader() {
    let text = "building_id,households,elderly\nw1,10,2\nw2,,3\n";
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "hh.csv", text.as_bytes());
    let a = read_household_csv(&p, &NoProgress).unwrap();
    let b = read_household_csv_from(
        text.as_bytes(),
        text.len() as u64,
        &p.display().to_string(),
        "hh.csv",
        &NoProgress,
    )
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(b[1].origin, "hh.csv:3");
}

#[test]
fn osm_pbf_from_a_reader_equals_the_file_reader_and_garbage_is_an_error() {
    let o = ImportOptions::default();
    let e = read_osm_pbf_from(
        &b"\0\0\0\x0dnot a pbf at all"[..],
        "mem.osm.pbf",
        &o,
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(e, ImportError::Pbf { ref file, .. } if file == "mem.osm.pbf"),
        "{e}"
    );
    let tiny = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/haidian.osm.pbf"
    ));
    let (a, _) = read_osm_pbf(&tiny, &o, &NoProgress).unwrap();
    let bytes = std::fs::read(&tiny).unwrap();
    let (b, _) = read_osm_pbf_from(bytes.as_slice(), "haidian.osm.pbf", &o, &NoProgress).unwrap();
    assert_eq!(a, b);
    assert!(!b.buildings.is_empty());
}
