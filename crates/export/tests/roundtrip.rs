//! Every format written from a small collection with Chinese text, integers, reals, booleans,
//! nulls and multipolygons beside polygons, then read back: by GDAL's `ogrinfo` where it is
//! installed (the test script installs it; `GRIDMAP_REQUIRE_GDAL=1` makes its absence a
//! failure), and by the writers' own crates otherwise. Refusals leave no file.
use gridmap_export::{write_file, ExportError, ExportOptions, Format, TextEncoding};
use gridmap_model::crs::Crs;
use std::path::Path;
use std::process::Command;

fn collection() -> geojson::FeatureCollection {
    let text = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","id":"w1","properties":{"name":"海淀区第一网格","households":312,"share":0.75,"in_band":true,"lead":null,"a_very_long_field_name":"x","FIXME":"check","fid":7},
       "geometry":{"type":"Polygon","coordinates":[[[116.30,39.98],[116.31,39.98],[116.31,39.99],[116.30,39.99],[116.30,39.98]]]}},
      {"type":"Feature","id":"w2","properties":{"name":"Fontvieille","households":288,"share":1,"in_band":false,"lead":"李四","a_very_long_field_name_too":"y","fixme":"ok"},
       "geometry":{"type":"MultiPolygon","coordinates":[[[[116.32,39.98],[116.33,39.98],[116.33,39.99],[116.32,39.98]]],[[[116.34,39.98],[116.35,39.98],[116.35,39.99],[116.34,39.98]]]]}}
    ]}"#;
    let g: geojson::GeoJson = text.parse().expect("valid GeoJSON");
    geojson::FeatureCollection::try_from(g).expect("a collection")
}

fn gdal() -> bool {
    let ok = Command::new("ogrinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var("GRIDMAP_REQUIRE_GDAL").as_deref() != Ok("1"),
        "GRIDMAP_REQUIRE_GDAL=1 but ogrinfo is not installed"
    );
    ok
}

/// `ogrinfo -al -so`'s summary plus the features, as text.
fn ogrinfo(path: &Path, extra: &[&str]) -> String {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al"])
        .args(extra)
        .arg(path)
        .output()
        .expect("ogrinfo runs");
    assert!(
        out.status.success(),
        "ogrinfo {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_format_is_read_back_by_gdal_with_its_features_fields_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let fc = collection();
    for format in Format::ALL {
        let path = dir.path().join(format!("grids.{}", format.extension()));
        let opts = ExportOptions::new("grids", Crs::Wgs84);
        let w = write_file(&fc, format, &path, &opts).unwrap();
        assert_eq!(w.features, 2);
        for f in &w.files {
            assert!(f.exists(), "{format:?}: {} missing", f.display());
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".part-"))
            .collect();
        assert!(leftovers.is_empty(), "{format:?} left {leftovers:?}");
        if !gdal() {
            continue;
        }
        let text = ogrinfo(&path, &[]);
        assert!(text.contains("Feature Count: 2"), "{format:?}:\n{text}");
        assert!(
            text.contains("海淀区第一网格"),
            "{format:?} lost the Chinese name:\n{text}"
        );
        assert!(text.contains("李四"), "{format:?}:\n{text}");
        if format != Format::Xlsx {
            assert!(
                text.contains("MULTIPOLYGON") || text.contains("POLYGON"),
                "{format:?}:\n{text}"
            );
        }
        match format {
            Format::FlatGeobuf | Format::GeoPackage | Format::GeoJson => {
                assert!(
                    text.contains("households (Integer") || text.contains("households (Integer64"),
                    "{format:?}:\n{text}"
                );
                assert!(text.contains("share (Real"), "{format:?}:\n{text}");
            }
            Format::Shapefile => {
                assert!(text.contains("a_very_lon"), "{text}");
                assert!(text.contains("a_very_l_1"), "{text}");
                assert!(
                    text.contains("WGS 84") || text.contains("WGS_1984"),
                    "{text}"
                );
                assert!(w
                    .warnings
                    .iter()
                    .any(|w| w.contains("a_very_long_field_name")));
            }
            _ => {}
        }
    }
}

#[test]
fn a_gbk_shapefile_says_so_and_reads_back_in_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gbk.shp");
    let mut opts = ExportOptions::new("gbk", Crs::Cgcs2000);
    opts.encoding = TextEncoding::Gbk;
    write_file(&collection(), Format::Shapefile, &path, &opts).unwrap();
    assert_eq!(
        std::fs::read_to_string(path.with_extension("cpg")).unwrap(),
        "GBK"
    );
    let dbf = std::fs::read(path.with_extension("dbf")).unwrap();
    let (gbk, _, _) = encoding_rs_gbk("海淀区第一网格");
    assert!(
        dbf.windows(gbk.len()).any(|w| w == gbk.as_slice()),
        "the .dbf holds GBK bytes"
    );
    assert!(std::fs::read_to_string(path.with_extension("prj"))
        .unwrap()
        .contains("China_2000"));
    if gdal() {
        let text = ogrinfo(&path, &[]);
        assert!(text.contains("海淀区第一网格"), "{text}");
    }
}

fn encoding_rs_gbk(s: &str) -> (Vec<u8>, bool, bool) {
    // The GBK bytes of a string, by the table GDAL and Windows use (code page 936).
    let mut out = Vec::new();
    let mut enc = encoding_rs::GBK.new_encoder();
    out.resize(s.len() * 2 + 8, 0);
    let (_, _, written, bad) = enc.encode_from_utf8(s, &mut out, true);
    out.truncate(written);
    (out, bad, false)
}

#[test]
fn text_gbk_cannot_hold_is_refused_naming_feature_and_field_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut fc = collection();
    if let Some(p) = fc.features[1].properties.as_mut() {
        p.insert("lead".into(), "Zoë 🙂".into());
    }
    let path = dir.path().join("bad.shp");
    let mut opts = ExportOptions::new("bad", Crs::Wgs84);
    opts.encoding = TextEncoding::Gbk;
    let e = write_file(&fc, Format::Shapefile, &path, &opts).unwrap_err();
    match &e {
        ExportError::Field { feature, field, .. } => {
            assert_eq!(feature, "'w2'");
            assert_eq!(field, "lead");
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn a_shapefile_of_mixed_geometry_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut fc = collection();
    fc.features[1].geometry = Some(geojson::Geometry::new(geojson::GeometryValue::new_point([
        116.3, 39.9,
    ])));
    let path = dir.path().join("mixed.shp");
    let e = write_file(
        &fc,
        Format::Shapefile,
        &path,
        &ExportOptions::new("m", Crs::Wgs84),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("'w2'") || e.to_string().contains("'w1'"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // The formats that hold any geometry take it.
    let gpkg = dir.path().join("mixed.gpkg");
    write_file(
        &fc,
        Format::GeoPackage,
        &gpkg,
        &ExportOptions::new("m", Crs::Wgs84),
    )
    .unwrap();
    if gdal() {
        assert!(ogrinfo(&gpkg, &[]).contains("Feature Count: 2"));
    }
}

#[test]
fn gcj02_and_bd09_are_named_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (crs, name) in [(Crs::Gcj02, "GCJ-02"), (Crs::Bd09, "BD-09")] {
        let path = dir.path().join(format!("{name}.gpkg"));
        write_file(
            &collection(),
            Format::GeoPackage,
            &path,
            &ExportOptions::new("g", crs),
        )
        .unwrap();
        if gdal() {
            let text = ogrinfo(&path, &["-so"]);
            assert!(text.contains(name), "{text}");
        }
    }
}
