//! GeoJSON input: every layer, layer inference, CRS handling, bad input, and export round trips.
use gridmap_import::{read_geojson, to_geojson, ImportError, ImportOptions, NoProgress};
use gridmap_model::crs::Crs;
use gridmap_model::{Dataset, HouseholdSource, Layer};
use serde_json::{json, Value};

fn write(name: &str, v: &Value) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    (dir, p)
}

fn read(v: &Value, opts: &ImportOptions) -> Result<Dataset, ImportError> {
    let (_d, p) = write("layer.geojson", v);
    read_geojson(&p, opts, &NoProgress).map(|(ds, _)| ds)
}

fn fc(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

fn square(x: f64, y: f64, s: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]]})
}

fn feat(geometry: Value, props: Value) -> Value {
    json!({"type": "Feature", "geometry": geometry, "properties": props})
}

#[test]
fn the_peer_kit_buildings_file_reads_with_imported_counts() {
    let v = fc(vec![
        feat(
            square(7.42, 43.73, 0.0002),
            json!({"id": "w1", "households": 12, "compound": "w9", "community": "Monte-Carlo", "area_m2": 300.5, "levels": 1.0}),
        ),
        feat(
            square(7.43, 43.73, 0.0002),
            json!({"id": "w2", "levels": 4, "building": "apartments"}),
        ),
    ]);
    let ds = read(&v, &ImportOptions::default()).unwrap();
    assert_eq!(ds.buildings.len(), 2);
    let (a, b) = (&ds.buildings[0], &ds.buildings[1]);
    assert_eq!(
        (a.households, a.households_source),
        (12, HouseholdSource::Imported)
    );
    assert_eq!(a.community.as_ref().unwrap().as_str(), "Monte-Carlo");
    assert_eq!(a.compound.as_ref().unwrap().as_str(), "w9");
    assert_eq!(b.households_source, HouseholdSource::Estimated);
    let want = gridmap_model::households::HouseholdRule::default().estimate(
        b.area_m2(),
        Some(4.0),
        Some("apartments"),
    );
    assert_eq!(b.households, want);
    assert!(b.households > 10);
}

#[test]
fn layers_are_inferred_from_geometry_and_properties() {
    let cases = [
        (
            fc(vec![feat(
                json!({"type": "Point", "coordinates": [1.0, 2.0]}),
                json!({"id": "f", "kind": "canteen"}),
            )]),
            Layer::Facilities,
        ),
        (
            fc(vec![feat(
                json!({"type": "LineString", "coordinates": [[1.0, 2.0], [1.1, 2.0]]}),
                json!({"length_m": 3.5}),
            )]),
            Layer::Network,
        ),
        (
            fc(vec![feat(
                square(0.0, 0.0, 1.0),
                json!({"id": "b", "households": 3}),
            )]),
            Layer::Buildings,
        ),
        (
            fc(vec![feat(
                square(0.0, 0.0, 1.0),
                json!({"id": "g", "code": "MC-01", "buildings": ["b"]}),
            )]),
            Layer::Grids,
        ),
        (
            fc(vec![feat(
                square(0.0, 0.0, 1.0),
                json!({"id": "c", "kind": "old", "community": "x"}),
            )]),
            Layer::Compounds,
        ),
        (
            fc(vec![feat(
                square(0.0, 0.0, 1.0),
                json!({"id": "s", "name": "X", "street": "st"}),
            )]),
            Layer::Communities,
        ),
    ];
    for (v, layer) in cases {
        let ds = read(&v, &ImportOptions::default()).unwrap();
        let n = match layer {
            Layer::Facilities => ds.facilities.len(),
            Layer::Network => ds.ways.len(),
            Layer::Buildings => ds.buildings.len(),
            Layer::Grids => ds.grids.len(),
            Layer::Compounds => ds.compounds.len(),
            Layer::Communities => ds.communities.len(),
            Layer::Streets => ds.streets.len(),
        };
        assert_eq!(n, 1, "{layer:?}");
    }
    let e = read(
        &fc(vec![feat(
            square(0.0, 0.0, 1.0),
            json!({"id": "x", "name": "?"}),
        )]),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, ImportError::AmbiguousLayer { .. }) && e.to_string().contains("--layer"),
        "{e}"
    );
    let opts = ImportOptions {
        layer: Some(Layer::Streets),
        ..ImportOptions::default()
    };
    let ds = read(
        &fc(vec![feat(
            square(0.0, 0.0, 1.0),
            json!({"id": "x", "name": "学院路街道"}),
        )]),
        &opts,
    )
    .unwrap();
    assert_eq!(ds.streets[0].name, "学院路街道");
}

#[test]
fn bad_geojson_errors_name_the_feature_and_the_field() {
    let o = ImportOptions::default();
    let b = ImportOptions {
        layer: Some(Layer::Buildings),
        ..ImportOptions::default()
    };
    // not JSON: line and column
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.geojson");
    std::fs::write(
        &p,
        "{\"type\": \"FeatureCollection\",\n \"features\": [ oops ]}",
    )
    .unwrap();
    let e = read_geojson(&p, &o, &NoProgress).unwrap_err();
    assert!(
        matches!(e, ImportError::Json { line: 2, .. }) && e.to_string().contains("broken.geojson"),
        "{e}"
    );
    // not a FeatureCollection
    let e = read(
        &json!({"type": "Feature", "geometry": null, "properties": {}}),
        &o,
    )
    .unwrap_err();
    assert!(matches!(e, ImportError::NotFeatureCollection { .. }), "{e}");
    // wrong geometry for the layer
    let e = read(
        &fc(vec![
            feat(square(0.0, 0.0, 1.0), json!({"id": "a", "households": 1})),
            feat(
                json!({"type": "Point", "coordinates": [0.0, 0.0]}),
                json!({"id": "b7"}),
            ),
        ]),
        &b,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ImportError::WrongGeometry { index: 1, .. })
            && e.to_string().contains("b7")
            && e.to_string().contains("Point"),
        "{e}"
    );
    // missing and ill-typed properties
    let e = read(
        &fc(vec![feat(square(0.0, 0.0, 1.0), json!({"households": 1}))]),
        &b,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ImportError::Property { field, index: 0, .. } if field == "id"),
        "{e}"
    );
    let e = read(
        &fc(vec![feat(
            square(0.0, 0.0, 1.0),
            json!({"id": "b1", "households": "many"}),
        )]),
        &b,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ImportError::Property { field, .. } if field == "households")
            && e.to_string().contains("b1"),
        "{e}"
    );
    let e = read(
        &fc(vec![feat(
            square(0.0, 0.0, 1.0),
            json!({"id": "b1", "households": -3}),
        )]),
        &b,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("households") && e.to_string().contains("-3"),
        "{e}"
    );
    let e = read(
        &fc(vec![feat(
            json!({"type": "Point", "coordinates": [0.0, 0.0]}),
            json!({"id": "f1"}),
        )]),
        &o,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ImportError::Property { field, .. } if field == "kind"),
        "{e}"
    );
    // duplicate id names both features
    let e = read(
        &fc(vec![
            feat(square(0.0, 0.0, 1.0), json!({"id": "b1", "households": 1})),
            feat(square(2.0, 0.0, 1.0), json!({"id": "b1", "households": 1})),
        ]),
        &b,
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            ImportError::DuplicateId {
                first: 0,
                second: 1,
                ..
            }
        ),
        "{e}"
    );
    // unknown CRS
    let mut v = fc(vec![feat(
        square(0.0, 0.0, 1.0),
        json!({"id": "b1", "households": 1}),
    )]);
    v["crs"] = json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}});
    let e = read(&v, &o).unwrap_err();
    assert!(
        matches!(&e, ImportError::UnknownCrs { name, .. } if name.contains("3857")),
        "{e}"
    );
    // a polygon that cannot be repaired (all points on a line)
    let flat = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 0.0]]]});
    let e = read(
        &fc(vec![feat(flat, json!({"id": "flat", "households": 1}))]),
        &b,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ImportError::InvalidGeometry { index: 0, .. })
            && e.to_string().contains("flat"),
        "{e}"
    );
}

#[test]
fn a_bow_tie_building_is_repaired_and_counted() {
    let bow = json!({"type": "Polygon", "coordinates": [[[116.3, 39.9], [116.3001, 39.9001], [116.3001, 39.9], [116.3, 39.9001], [116.3, 39.9]]]});
    let (_d, p) = write(
        "bow.geojson",
        &fc(vec![feat(bow, json!({"id": "b", "households": 2}))]),
    );
    let (ds, report) = read_geojson(&p, &ImportOptions::default(), &NoProgress).unwrap();
    assert_eq!(report.repaired_geometries, 1);
    assert_eq!(ds.buildings[0].footprint.0.len(), 2);
}

#[test]
fn a_building_given_in_gcj02_lands_at_its_wgs84_position() {
    let wgs = (116.3505, 40.0031);
    let gcj = Crs::Gcj02.from_wgs84(wgs.0, wgs.1);
    let (dx, dy) = (0.0001, 0.0001);
    let poly = json!({"type": "Polygon", "coordinates": [[[gcj.0, gcj.1], [gcj.0 + dx, gcj.1], [gcj.0 + dx, gcj.1 + dy], [gcj.0, gcj.1 + dy], [gcj.0, gcj.1]]]});
    let v = fc(vec![feat(poly, json!({"id": "b", "households": 9}))]);
    let opts = ImportOptions {
        crs: Crs::Gcj02,
        ..ImportOptions::default()
    };
    let ds = read(&v, &opts).unwrap();
    let corner = ds.buildings[0].footprint.0[0]
        .exterior()
        .0
        .iter()
        .copied()
        .min_by(|a, b| (a.x + a.y).total_cmp(&(b.x + b.y)))
        .unwrap();
    let metres = ((corner.x - wgs.0) * 111_320.0 * wgs.1.to_radians().cos())
        .hypot((corner.y - wgs.1) * 110_574.0);
    assert!(metres < 0.5, "{metres} m off");
    // the legacy crs member works the same way, and a conflicting --crs is refused
    let mut v2 = v.clone();
    v2["crs"] = json!({"type": "name", "properties": {"name": "GCJ02"}});
    assert_eq!(read(&v2, &ImportOptions::default()).unwrap(), ds);
    let e = read(
        &v2,
        &ImportOptions {
            crs: Crs::Bd09,
            ..ImportOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, ImportError::ConflictingCrs { .. }), "{e}");
    // and without the option the GCJ-02 shape would sit hundreds of metres off
    let raw = read(&v, &ImportOptions::default()).unwrap();
    assert_ne!(raw, ds);
}

#[test]
fn network_coordinates_are_kept_bit_for_bit() {
    let coords: [[f64; 2]; 3] = [
        [7.419_871_234_567_891, 43.731_234_567_890_12],
        [7.419_9, 43.731_3],
        [0.1 + 0.2, 43.7],
    ];
    let v = fc(vec![feat(
        json!({"type": "LineString", "coordinates": coords}),
        json!({"id": "e1", "length_m": 12.345, "highway": "footway", "lanes": 2}),
    )]);
    let ds = read(&v, &ImportOptions::default()).unwrap();
    let w = &ds.ways[0];
    for (c, want) in w.geometry.0.iter().zip(coords) {
        assert_eq!(
            (c.x.to_bits(), c.y.to_bits()),
            (want[0].to_bits(), want[1].to_bits())
        );
    }
    assert_eq!(w.length_m, Some(12.345));
    assert_eq!(w.tags.get("lanes").map(String::as_str), Some("2"));
    assert!(!w.tags.contains_key("id") && !w.tags.contains_key("length_m"));
    // ids are generated when absent
    let v = fc(vec![feat(
        json!({"type": "LineString", "coordinates": [[0.0, 0.0], [1.0, 1.0]]}),
        json!({}),
    )]);
    assert_eq!(
        read(&v, &ImportOptions::default()).unwrap().ways[0]
            .id
            .as_str(),
        "l0"
    );
}

fn sample_dataset() -> Dataset {
    // Build through the readers so every layer holds realistic values.
    let o = |l| ImportOptions {
        layer: Some(l),
        ..ImportOptions::default()
    };
    let mut ds = Dataset { buildings: read(&fc(vec![
        feat(square(116.35, 40.0, 0.0003), json!({"id": "w1", "households": 40, "elderly": 6, "levels": 6.5, "building": "apartments", "name": "3号楼", "address": "学院路17号", "steward": "王", "compound": "c1", "community": "k1", "entrance": [116.35, 40.0001]})),
        feat(square(116.351, 40.0, 0.0002), json!({"id": "w2"})),
        feat(json!({"type": "MultiPolygon", "coordinates": [[[[116.36, 40.0], [116.3601, 40.0], [116.3601, 40.0001], [116.36, 40.0]]], [[[116.37, 40.0], [116.3701, 40.0], [116.3701, 40.0001], [116.37, 40.0]]]]}), json!({"id": "r3", "households": 0})),
    ]), &o(Layer::Buildings)).unwrap().buildings, ..Dataset::default() };
    ds.facilities = read(&fc(vec![
        feat(json!({"type": "Point", "coordinates": [116.352, 40.001]}), json!({"id": "n1", "kind": "canteen", "name": "幸福食堂", "capacity": 80, "opening_hours": "Mo-Fr 11:00-13:00"})),
        feat(json!({"type": "Point", "coordinates": [116.353, 40.001]}), json!({"id": "n2", "kind": "pharmacy"})),
    ]), &o(Layer::Facilities)).unwrap().facilities;
    ds.compounds = read(
        &fc(vec![feat(
            square(116.349, 39.999, 0.003),
            json!({"id": "c1", "name": "富润家园", "kind": "work_unit", "community": "k1"}),
        )]),
        &o(Layer::Compounds),
    )
    .unwrap()
    .compounds;
    ds.communities = read(
        &fc(vec![
            feat(
                square(116.34, 39.99, 0.03),
                json!({"id": "k1", "name": "矿业大学社区", "street": "s1"}),
            ),
            feat(Value::Null, json!({"id": "k2", "name": "无边界社区"})),
        ]),
        &o(Layer::Communities),
    )
    .unwrap()
    .communities;
    ds.streets = read(
        &fc(vec![feat(
            square(116.3, 39.9, 0.2),
            json!({"id": "s1", "name": "学院路街道"}),
        )]),
        &o(Layer::Streets),
    )
    .unwrap()
    .streets;
    ds.grids = read(&fc(vec![
        feat(square(116.349, 39.999, 0.003), json!({"id": "g1", "code": "KD-01", "name": "一网格", "community": "k1", "buildings": ["w1", "w2"], "leads": ["li"], "version": 3})),
        feat(Value::Null, json!({"id": "g2", "code": "KD-02", "buildings": []})),
    ]), &o(Layer::Grids)).unwrap().grids;
    ds.ways = read(&fc(vec![
        feat(json!({"type": "LineString", "coordinates": [[116.35, 40.0], [116.350_123_456_789_1, 40.000_987_654_321]]}), json!({"id": "e1", "length_m": 14.2, "highway": "footway"})),
        feat(json!({"type": "LineString", "coordinates": [[116.35, 40.0], [116.36, 40.01]]}), json!({"id": "e2", "barrier": "wall"})),
    ]), &o(Layer::Network)).unwrap().ways;
    ds
}

#[test]
fn export_then_import_is_lossless_for_every_layer_and_crs() {
    let ds = sample_dataset();
    assert_eq!(
        ds.buildings[1].households_source,
        HouseholdSource::Estimated
    );
    for crs in [Crs::Wgs84, Crs::Cgcs2000, Crs::Gcj02, Crs::Bd09] {
        let mut back = Dataset::default();
        for layer in Layer::ALL {
            let text = serde_json::to_string(&to_geojson(&ds, layer, crs)).unwrap();
            let (_d, p) = write("export.geojson", &serde_json::from_str(&text).unwrap());
            let opts = ImportOptions {
                layer: Some(layer),
                ..ImportOptions::default()
            };
            let (part, _) = read_geojson(&p, &opts, &NoProgress).unwrap();
            match layer {
                Layer::Streets => back.streets = part.streets,
                Layer::Communities => back.communities = part.communities,
                Layer::Compounds => back.compounds = part.compounds,
                Layer::Buildings => back.buildings = part.buildings,
                Layer::Facilities => back.facilities = part.facilities,
                Layer::Grids => back.grids = part.grids,
                Layer::Network => back.ways = part.ways,
            }
        }
        if crs.is_wgs84_equivalent() {
            assert_eq!(back, ds, "{crs:?}");
        } else {
            // Through GCJ-02/BD-09 and back: the inverse is iterative, equal to well under 1 mm.
            assert_eq!(back.buildings.len(), ds.buildings.len());
            for (a, b) in back.facilities.iter().zip(&ds.facilities) {
                assert!(
                    (a.location.x() - b.location.x()).abs() < 1e-8
                        && (a.location.y() - b.location.y()).abs() < 1e-8,
                    "{crs:?}"
                );
                assert_eq!((&a.id, &a.kind, a.capacity), (&b.id, &b.kind, b.capacity));
            }
            assert_eq!(
                back.grids.iter().map(|g| &g.buildings).collect::<Vec<_>>(),
                ds.grids.iter().map(|g| &g.buildings).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn gzipped_geojson_reads_like_the_plain_file() {
    use std::io::Write;
    let ds = sample_dataset();
    let text = serde_json::to_string(&to_geojson(&ds, Layer::Buildings, Crs::Wgs84)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b.geojson.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&p).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
    let (back, _) =
        gridmap_import::import_file(&p, &ImportOptions::default(), &NoProgress).unwrap();
    assert_eq!(back.buildings, ds.buildings);
}
